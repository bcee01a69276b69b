"""The daily digest: per grid, what came in, what is open or late, what got done."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from handlers.actions import Outgoing
from handlers.community import CommunityConfig
from handlers.runtime import Runtime, queue
from handlers.texts import text
from handlers.ticket_texts import grid_name
from storage import conversations
from storage.models import OPEN_STATUSES, Ticket, TicketStatus
from storage.tickets import tickets_of_day

NO_FIGURE = "—"


@dataclass(frozen=True)
class DayWindow:
    """One local day of a community as a half-open UTC interval."""

    start: datetime
    end: datetime

    def holds(self, moment: datetime | None) -> bool:
        """Whether a moment falls on this day."""
        return moment is not None and self.start <= moment < self.end


def day_window(community: CommunityConfig, day: date) -> DayWindow:
    """Local midnight to the next local midnight."""
    zone = community.timezone_info
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return DayWindow(start, end)


def digest_key(community_id: str, day: date) -> str:
    """The once-only notice key of one community's digest for one day."""
    return f"digest:{community_id}:{day.isoformat()}"


async def send_daily_digest(runtime: Runtime, community: CommunityConfig, *, day: date) -> bool:
    """Queue the day's digest to the staff group once; False if already sent or nowhere to send."""
    chats = [chat for chat in community.staff_chats() if runtime.serves(chat.id)]
    if not chats:
        return False
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        key = digest_key(community.community.id, day)
        if not await conversations.first_notice(session, key=key, now=now):
            return False
        window = day_window(community, day)
        tickets = await tickets_of_day(
            session, community_id=community.community.id, start=window.start, end=window.end
        )
        body = digest_text(community, tickets, day, now, community.community.language)
        for chat in chats:
            await queue(runtime, session, Outgoing(chat_id=chat.id, text=body))
    runtime.outbox_changed()
    return True


def digest_text(
    community: CommunityConfig, tickets: Sequence[Ticket], day: date, now: datetime, language: str
) -> str:
    """The header and one line per grid (and one for tickets without a grid, if any)."""
    window = day_window(community, day)
    name = (community.community.name_en if language == "en" else None) or community.community.name
    lines = [text("digest.header", language, community=name, day=day.isoformat())]
    grid_ids: list[str | None] = [grid.id for grid in community.grids]
    if any(t.grid_id is None for t in tickets):
        grid_ids.append(None)
    for grid_id in grid_ids:
        mine = [t for t in tickets if t.grid_id == grid_id]
        lines.append(_grid_line(community, grid_id, mine, window, now, language))
    return "\n".join(lines)


def _grid_line(
    community: CommunityConfig,
    grid_id: str | None,
    tickets: Sequence[Ticket],
    window: DayWindow,
    now: datetime,
    language: str,
) -> str:
    open_tickets = [t for t in tickets if t.status in OPEN_STATUSES]
    return text(
        "digest.grid",
        language,
        grid=grid_name(community, grid_id, language),
        new=sum(1 for t in tickets if window.holds(t.created_at) and not _duplicate(t)),
        open=len(open_tickets),
        overdue=sum(1 for t in open_tickets if is_overdue(t, now)),
        resolved=sum(1 for t in tickets if window.holds(t.resolved_at)),
        median=_median_ack(tickets, window, language),
    )


def _duplicate(ticket: Ticket) -> bool:
    return ticket.status is TicketStatus.DUPLICATE


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    """An open ticket past its acknowledge deadline, or acknowledged and past its resolve one."""
    if ticket.acknowledged_at is None:
        return ticket.ack_due_at is not None and ticket.ack_due_at < now
    unresolved = ticket.resolved_at is None
    return unresolved and ticket.resolve_due_at is not None and ticket.resolve_due_at < now


def _median_ack(tickets: Sequence[Ticket], window: DayWindow, language: str) -> str:
    """Median minutes from report to acknowledgement, over tickets acknowledged that day."""
    waits = [
        (t.acknowledged_at - t.created_at).total_seconds() / 60
        for t in tickets
        if t.acknowledged_at is not None and window.holds(t.acknowledged_at)
    ]
    if not waits:
        return NO_FIGURE
    return text("duration.minutes", language, minutes=round(statistics.median(waits)))
