"""Offline demo: replay a chat export through the parser and intake into the local database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bot.export import read_export
from bot.reports_from_export import DetectedReport, detect_reports
from bot.settings import Settings, mask_url_password
from handlers.categories import load_categories
from handlers.community import CommunityConfig, load_communities
from handlers.parsing.report_parser import ReportParser
from handlers.reports import IntakeResult, take_report
from handlers.texts import normalise_language, text
from handlers.ticket_texts import grid_name, local_time
from storage.database import create_engine, create_session_factory, upgrade_database

Printer = Callable[[str], None]


def _community_for(communities: list[CommunityConfig], chat_id: str) -> CommunityConfig:
    """The community that lists the chat, else the first one configured."""
    return next((c for c in communities if c.chat(chat_id)), communities[0])


def _community_name(community: CommunityConfig, language: str) -> str:
    info = community.community
    return (info.name_en if normalise_language(language) == "en" else None) or info.name


def _describe(
    community: CommunityConfig, report: DetectedReport, result: IntakeResult, language: str
) -> str:
    ticket = result.ticket
    if ticket is None:
        return text("demo.missing_ticket", language)
    place = report.verdict.place_text
    return text(
        "demo.ticket",
        language,
        number=ticket.number,
        state=text("ticket.state.new" if result.created else "ticket.state.known", language),
        category=load_categories()[ticket.category].name(language),
        urgency=text("ticket.urgent" if ticket.urgent else "ticket.normal", language),
        grid=grid_name(community, ticket.grid_id, language),
        place=text("ticket.place", language, place=place) if place else "",
        media=text("ticket.media", language, count=report.attachment_count)
        if report.attachment_count
        else "",
        handler=result.assignee.name if result.assignee else text("ticket.unassigned", language),
        due=local_time(community, ticket.ack_due_at),
    )


async def run_demo(
    settings: Settings, *, export_path: Path, echo: Printer = print, language: str | None = None
) -> int:
    """Replay the export; a second run finds every message already processed."""
    communities = load_communities([str(p) for p in settings.community_config_paths])
    messages = read_export(export_path)
    community = _community_for(communities, messages[0].chat_id if messages else "")
    parser = ReportParser(community)
    language = language or community.community.language
    await upgrade_database(settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    echo(
        text(
            "demo.header",
            language,
            export=export_path,
            count=len(messages),
            database=mask_url_password(settings.database_url),
        )
    )
    echo(
        text(
            "demo.community",
            language,
            name=_community_name(community, language),
            grids=len(community.grids),
        )
        + "\n"
    )
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
            counts["in_reports"] += len(report.message_ids)
            counts["urgent"] += bool(report.verdict.urgent)
            counts["no_grid"] += report.verdict.grid_id is None
            sent = local_time(community, message.sent_at)
            echo(f"[{sent}] {message.sender.display_name}：{message.text}")
            echo(_describe(community, report, result, language))
    finally:
        await engine.dispose()
    reports = counts["created"] + counts["existing"]
    echo(
        "\n"
        + text(
            "demo.summary",
            language,
            messages=len(messages),
            reports=reports,
            created=counts["created"],
            existing=counts["existing"],
            urgent=counts["urgent"],
            no_grid=counts["no_grid"],
            others=len(messages) - counts["in_reports"],
        )
    )
    return 0
