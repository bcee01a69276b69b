"""The demos: `make run`'s simulated chats (Telegram and WeCom) and the export replay."""

from __future__ import annotations

import re
from pathlib import Path

from bot.demo import run_demo
from bot.demo_chat import play_demo
from bot.export import read_export
from bot.reports_from_export import detect_reports
from bot.settings import Settings
from handlers.community import load_community
from handlers.parsing.report_parser import ReportParser
from storage.database import create_engine, create_session_factory
from storage.models import TicketStatus
from storage.tickets import get_ticket_by_number, ticket_history
from tests.conftest import SAMPLE_COMMUNITY, SAMPLE_EXPORT


async def test_demo_replays_the_sample_chat_once(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        community_config=str(SAMPLE_COMMUNITY),
    )
    parser = ReportParser(load_community(SAMPLE_COMMUNITY))
    reports = sum(1 for _ in detect_reports(read_export(SAMPLE_EXPORT), parser))
    first: list[str] = []
    await run_demo(settings, export_path=SAMPLE_EXPORT, echo=first.append)
    assert any("工单 #1 [新建]" in line for line in first)
    assert f"{reports} 条报事（新建 {reports}，已存在 0" in first[-1]
    second: list[str] = []
    await run_demo(settings, export_path=SAMPLE_EXPORT, echo=second.append)
    assert f"新建 0，已存在 {reports}" in second[-1]
    assert not any("[新建]" in line for line in second)


async def test_demo_speaks_english_when_asked(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        community_config=str(SAMPLE_COMMUNITY),
    )
    lines: list[str] = []
    await run_demo(settings, export_path=SAMPLE_EXPORT, echo=lines.append, language="en")
    assert lines[0].startswith("Demo: no TELEGRAM_BOT_TOKEN set")
    assert any("ticket #1 [new] Broken facility" in line for line in lines)
    assert "messages →" in lines[-1]


async def test_make_run_demo_shows_wecom_beside_telegram(tmp_path: Path) -> None:
    """The no-token demo: a WeCom report, acknowledged on Telegram, is one ticket, one log."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    lines: list[str] = []
    await play_demo(load_community(SAMPLE_COMMUNITY), database, tmp_path / "media", lines.append)
    transcript = "\n".join(lines)

    assert "[扬帆社区红色之家（骑手群）] 🤖 bot: ✅ 已登记工单 #1" in transcript  # Telegram
    made = re.search(r"\[企业微信 私聊 美团-胡师傅\] 🤖 bot: ✅ 已登记工单 #(\d+)", transcript)
    assert made, transcript
    number = int(made.group(1))
    assert "[企业微信 私聊 张敏] 🤖 bot: 🔔 新工单" in transcript  # the card, with buttons
    assert f"[私聊 张敏] 张敏: /ticket {number}" in transcript  # the same person, on Telegram
    assert f"[企业微信 私聊 美团-胡师傅] 🤖 bot: 👷 工单 #{number} 已由 张敏 确认受理" in transcript
    assert (
        "[企业微信 群 扬帆社区居民群（企业微信）（智能机器人）] 🤖 bot: ✅ 已登记工单" in transcript
    )
    assert lines[-1].endswith("429 次数：0")

    engine = create_engine(database)
    try:
        async with create_session_factory(engine)() as session:
            ticket = await get_ticket_by_number(session, community_id="yangfan", number=number)
            assert ticket is not None and ticket.source_platform == "wecom"
            assert ticket.status is TicketStatus.ACKNOWLEDGED
            history = await ticket_history(session, ticket_id=ticket.id)
    finally:
        await engine.dispose()
    assert [event.to_status for event in history] == [
        TicketStatus.ASSIGNED,
        TicketStatus.ACKNOWLEDGED,
    ]
    assert history[-1].platform == "tg"
    shown = [line for line in lines if "企业微信 · rider_hu" in line or "Telegram · 张敏" in line]
    assert len(shown) == 2  # the audit log, printed: made on WeCom, acknowledged on Telegram
