"""Offline demo: replay a chat export through the parser and intake into the local database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.export import read_export
from bot.reports_from_export import DetectedReport, detect_reports
from bot.settings import Settings, mask_url_password
from handlers.categories import load_categories
from handlers.community import CommunityConfig, load_communities
from handlers.parsing.report_parser import ReportParser
from handlers.reports import IntakeResult, take_report
from storage.database import create_engine, create_session_factory, upgrade_database

Printer = Callable[[str], None]


def _community_for(communities: list[CommunityConfig], chat_id: str) -> CommunityConfig:
    """The community that lists the chat, else the first one configured."""
    return next((c for c in communities if c.chat(chat_id)), communities[0])


def _local(community: CommunityConfig, moment: datetime) -> str:
    return moment.astimezone(community.timezone_info).strftime("%m-%d %H:%M")


def _describe(community: CommunityConfig, report: DetectedReport, result: IntakeResult) -> str:
    ticket = result.ticket
    verdict = report.verdict
    if ticket is None:
        return "   (already processed earlier; its ticket could not be found)"
    category = load_categories()[ticket.category].zh
    grid = community.grid(ticket.grid_id) if ticket.grid_id else None
    where = grid.name if grid else "网格未知 → 工作群分派"
    handler = result.assignee.name if result.assignee else "待分派"
    urgency = "紧急" if ticket.urgent else "普通"
    media = f" · {report.attachment_count} 个附件" if report.attachment_count else ""
    due = _local(community, ticket.ack_due_at) if ticket.ack_due_at else "—"
    state = "新建" if result.created else "已存在(未重复建单)"
    place = f" · 地点「{verdict.place_text}」" if verdict.place_text else ""
    return (
        f"   → 工单 #{ticket.number} [{state}] {category} · {urgency} · {where}{place}{media}"
        f" · 处理人 {handler} · 确认时限 {due}"
    )


async def run_demo(settings: Settings, *, export_path: Path, echo: Printer = print) -> int:
    """Replay the export; a second run finds every message already processed."""
    communities = load_communities([str(p) for p in settings.community_config_paths])
    messages = read_export(export_path)
    community = _community_for(communities, messages[0].chat_id if messages else "")
    parser = ReportParser(community)
    await upgrade_database(settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    echo(
        f"演示 / demo: 没有设置 TELEGRAM_BOT_TOKEN，回放 {export_path}（{len(messages)} 条消息）"
        f"到 {mask_url_password(settings.database_url)}；不会向任何平台发送消息。"
    )
    echo(f"社区 {community.community.name}，{len(community.grids)} 个网格\n")
    counts: Counter[str] = Counter()
    try:
        for report in detect_reports(messages, parser):
            message = report.message
            async with sessions() as session, session.begin():
                result = await take_report(
                    session,
                    community=community,
                    message=message,
                    verdict=report.verdict,
                    now=message.sent_at,
                    pieces=report.pieces,
                )
            counts["created" if result.created else "existing"] += 1
            counts["urgent"] += bool(report.verdict.urgent)
            counts["no_grid"] += report.verdict.grid_id is None
            sent = _local(community, message.sent_at)
            echo(f"[{sent}] {message.sender.display_name}：{message.text}")
            echo(_describe(community, report, result))
    finally:
        await engine.dispose()
    reports = counts["created"] + counts["existing"]
    echo(
        f"\n{len(messages)} 条消息 → {reports} 条报事（新建 {counts['created']}，"
        f"已存在 {counts['existing']}；紧急 {counts['urgent']}，网格未知 {counts['no_grid']}）；"
        f"其余 {len(messages) - reports} 条为闲聊、问答或通知。"
    )
    return 0
