"""How a ticket reads in a chat: summary line, status name, handler, local times."""

from __future__ import annotations

from datetime import datetime

from handlers.categories import load_categories
from handlers.community import CommunityConfig
from handlers.texts import normalise_language, text
from storage.models import Ticket, TicketStatus


def grid_name(community: CommunityConfig, grid_id: str | None, language: str) -> str:
    """The grid's display name, or "grid unknown"."""
    grid = community.grid(grid_id) if grid_id else None
    if grid is None:
        return text("ticket.no_grid", language)
    english = normalise_language(language) == "en"
    return (grid.name_en if english else None) or grid.name


def status_name(status: TicketStatus, language: str) -> str:
    """A status as people say it."""
    return text(f"status.{status.value}", language)


def local_time(community: CommunityConfig, moment: datetime | None) -> str:
    """Month-day hour:minute in the community's time zone."""
    if moment is None:
        return "—"
    return moment.astimezone(community.timezone_info).strftime("%m-%d %H:%M")


def summary(community: CommunityConfig, ticket: Ticket, language: str) -> str:
    """'#12 安全隐患（紧急） · 第一网格 · 夜市南门'."""
    category = load_categories().get(ticket.category)
    return text(
        "ticket.summary",
        language,
        number=ticket.number,
        category=category.name(language) if category else ticket.category,
        urgent=text("ticket.urgent_mark", language) if ticket.urgent else "",
        grid=grid_name(community, ticket.grid_id, language),
        place=text("ticket.place_inline", language, place=ticket.place_text)
        if ticket.place_text
        else "",
    )
