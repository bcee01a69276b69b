"""The offline demo behind `make run`: every report becomes one ticket, a rerun adds none."""

from __future__ import annotations

from pathlib import Path

from bot.demo import run_demo
from bot.export import read_export
from bot.reports_from_export import detect_reports
from bot.settings import Settings
from handlers.community import load_community
from handlers.parsing.report_parser import ReportParser
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
