"""Tickets: creation with per-community numbers, queries, description edits, attachments, audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_types import require_aware
from storage.models import (
    OPEN_STATUSES,
    TICKET_NUMBER_CONSTRAINT,
    AttachmentKind,
    Ticket,
    TicketAction,
    TicketAttachment,
    TicketEvent,
    TicketStatus,
)

# Each failed attempt means another transaction took the number; it then commits or gives up,
# so a handful of retries covers bursts of concurrent reports in one community.
TICKET_NUMBER_ATTEMPTS = 10


async def create_ticket(
    session: AsyncSession,
    *,
    community_id: str,
    category: str,
    urgent: bool,
    description: str,
    source_platform: str,
    source_chat_id: str,
    source_message_id: str,
    now: datetime,
    grid_id: str | None = None,
    reporter_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    place_text: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    ack_due_at: datetime | None = None,
    resolve_due_at: datetime | None = None,
) -> Ticket:
    """Insert a ticket with the community's next number and its "created" audit event."""
    created_at = require_aware(now, name="now")
    status = TicketStatus.REPORTED if assignee_id is None else TicketStatus.ASSIGNED
    for attempt in range(1, TICKET_NUMBER_ATTEMPTS + 1):
        ticket = Ticket(
            community_id=community_id,
            number=await _next_ticket_number(session, community_id),
            category=category,
            urgent=urgent,
            status=status,
            grid_id=grid_id,
            assignee_id=assignee_id,
            reporter_id=reporter_id,
            place_text=place_text,
            latitude=latitude,
            longitude=longitude,
            description=description,
            source_platform=source_platform,
            source_chat_id=source_chat_id,
            source_message_id=source_message_id,
            created_at=created_at,
            updated_at=created_at,
            ack_due_at=ack_due_at,
            resolve_due_at=resolve_due_at,
        )
        try:
            async with session.begin_nested():
                session.add(ticket)
        except IntegrityError as error:
            if not _is_ticket_number_conflict(error) or attempt == TICKET_NUMBER_ATTEMPTS:
                raise
            continue
        record_ticket_event(
            session, ticket=ticket, action=TicketAction.CREATED, at=created_at, to_status=status
        )
        await session.flush()
        return ticket
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _next_ticket_number(session: AsyncSession, community_id: str) -> int:
    statement = select(func.coalesce(func.max(Ticket.number), 0)).where(
        Ticket.community_id == community_id
    )
    highest: int = (await session.exec(statement)).one()
    return highest + 1


def _is_ticket_number_conflict(error: IntegrityError) -> bool:
    message = str(error.orig)
    # PostgreSQL names the constraint; SQLite names the columns.
    return TICKET_NUMBER_CONSTRAINT in message or "ticket.community_id, ticket.number" in message


def record_ticket_event(
    session: AsyncSession,
    *,
    ticket: Ticket,
    action: TicketAction,
    at: datetime,
    actor_id: uuid.UUID | None = None,
    platform: str | None = None,
    from_status: TicketStatus | None = None,
    to_status: TicketStatus | None = None,
    note: str | None = None,
) -> TicketEvent:
    """Add an audit row for `ticket` to the session (flushed with the caller's next flush)."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=at,
        actor_id=actor_id,
        platform=platform,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    session.add(event)
    return event


async def get_ticket(session: AsyncSession, *, ticket_id: uuid.UUID) -> Ticket | None:
    """A ticket by id, or None."""
    return await session.get(Ticket, ticket_id)


async def lock_ticket(session: AsyncSession, *, ticket_id: uuid.UUID) -> Ticket | None:
    """The ticket, locked for this transaction (PostgreSQL: FOR UPDATE) so changes serialise."""
    statement = select(Ticket).where(Ticket.id == ticket_id).with_for_update()
    return (await session.exec(statement)).first()


async def get_ticket_by_number(
    session: AsyncSession, *, community_id: str, number: int
) -> Ticket | None:
    """A ticket by its human-readable number within a community, or None."""
    statement = select(Ticket).where(Ticket.community_id == community_id, Ticket.number == number)
    return (await session.exec(statement)).first()


async def list_open_tickets(
    session: AsyncSession, *, community_id: str, grid_id: str | None = None
) -> list[Ticket]:
    """Tickets still needing work (not resolved, closed, rejected or duplicate), oldest first."""
    statement = select(Ticket).where(
        Ticket.community_id == community_id, col(Ticket.status).in_(OPEN_STATUSES)
    )
    if grid_id is not None:
        statement = statement.where(Ticket.grid_id == grid_id)
    # Sorted here: an ORDER BY created_at lures SQLite into walking the whole
    # (community_id, created_at) index rather than reading the few open tickets.
    return sorted(await session.exec(statement), key=lambda t: (t.created_at, t.number))


async def list_recent_open_tickets(
    session: AsyncSession,
    *,
    community_id: str,
    grid_id: str,
    category: str,
    since: datetime,
) -> list[Ticket]:
    """Open tickets of one grid and category created since `since`, oldest first."""
    statement = select(Ticket).where(
        Ticket.community_id == community_id,
        col(Ticket.status).in_(OPEN_STATUSES),
        Ticket.grid_id == grid_id,
        Ticket.category == category,
        col(Ticket.created_at) >= require_aware(since, name="since"),
    )
    return sorted(await session.exec(statement), key=lambda t: (t.created_at, t.number))


async def list_tickets_for_reporter(
    session: AsyncSession, *, reporter_id: uuid.UUID, open_only: bool = False
) -> list[Ticket]:
    """Tickets a person reported, newest first."""
    statement = select(Ticket).where(Ticket.reporter_id == reporter_id)
    if open_only:
        statement = statement.where(col(Ticket.status).in_(OPEN_STATUSES))
    statement = statement.order_by(col(Ticket.created_at).desc(), col(Ticket.number).desc())
    return list(await session.exec(statement))


async def list_tickets_for_assignee(
    session: AsyncSession, *, assignee_id: uuid.UUID, open_only: bool = True
) -> list[Ticket]:
    """A worker's tickets, oldest first (their queue); only open ones unless told otherwise."""
    statement = select(Ticket).where(Ticket.assignee_id == assignee_id)
    if open_only:
        statement = statement.where(col(Ticket.status).in_(OPEN_STATUSES))
    statement = statement.order_by(col(Ticket.created_at), col(Ticket.number))
    return list(await session.exec(statement))


async def update_ticket_description(
    session: AsyncSession,
    *,
    ticket: Ticket,
    new_text: str,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    platform: str | None = None,
) -> TicketEvent:
    """Replace the description; the audit event's note keeps the old text."""
    at = require_aware(now, name="now")
    event = record_ticket_event(
        session,
        ticket=ticket,
        action=TicketAction.DESCRIPTION_UPDATED,
        at=at,
        actor_id=actor_id,
        platform=platform,
        note=ticket.description,
    )
    ticket.description = new_text
    ticket.updated_at = at
    session.add(ticket)
    await session.flush()
    return event


async def ticket_history(session: AsyncSession, *, ticket_id: uuid.UUID) -> list[TicketEvent]:
    """A ticket's audit events in the order they happened."""
    statement = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(col(TicketEvent.at), col(TicketEvent.id))
    )
    return list(await session.exec(statement))


async def add_attachment(
    session: AsyncSession,
    *,
    ticket_id: uuid.UUID,
    kind: AttachmentKind,
    platform: str,
    file_id: str,
    now: datetime,
    sha256: str | None = None,
    media_path: str | None = None,
    size_bytes: int | None = None,
    mime: str | None = None,
) -> TicketAttachment:
    """Attach a platform file (and optionally its stored copy) to a ticket."""
    attachment = TicketAttachment(
        ticket_id=ticket_id,
        kind=kind,
        platform=platform,
        file_id=file_id,
        sha256=sha256,
        media_path=media_path,
        size_bytes=size_bytes,
        mime=mime,
        created_at=require_aware(now, name="now"),
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def list_attachments(
    session: AsyncSession, *, ticket_id: uuid.UUID
) -> list[TicketAttachment]:
    """A ticket's attachments in the order they were added."""
    statement = (
        select(TicketAttachment)
        .where(TicketAttachment.ticket_id == ticket_id)
        .order_by(col(TicketAttachment.id))
    )
    return list(await session.exec(statement))


async def tickets_of_day(
    session: AsyncSession, *, community_id: str, start: datetime, end: datetime
) -> list[Ticket]:
    """Tickets still open, or created, acknowledged or resolved in [start, end), in any order."""

    def in_community(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        # In every branch, so SQLite too reads each branch from its own index.
        return and_(col(Ticket.community_id) == community_id, condition)

    def within(column: Mapped[datetime | None]) -> ColumnElement[bool]:
        return in_community(and_(column >= start, column < end))

    statement = select(Ticket).where(
        or_(
            in_community(col(Ticket.status).in_(OPEN_STATUSES)),
            within(col(Ticket.created_at)),
            within(col(Ticket.acknowledged_at)),
            within(col(Ticket.resolved_at)),
        )
    )
    return list(await session.exec(statement))


async def count_by_status(session: AsyncSession, *, community_id: str) -> dict[TicketStatus, int]:
    """How many of a community's tickets are in each status (statuses with none are left out)."""
    statement = (
        select(col(Ticket.status), func.count())
        .where(col(Ticket.community_id) == community_id)
        .group_by(col(Ticket.status))
    )
    return {status: count for status, count in await session.exec(statement)}


class MinutesBetween(FunctionElement[float]):
    """Minutes from the first timestamp to the second, computed by the database."""

    type = sa.Float()
    name = "minutes_between"
    inherit_cache = True


@compiles(MinutesBetween, "sqlite")
def _minutes_between_on_sqlite(element: MinutesBetween, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 1440.0)"


@compiles(MinutesBetween, "postgresql")
def _minutes_between_on_postgresql(
    element: MinutesBetween, compiler: SQLCompiler, **kw: Any
) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST(EXTRACT(EPOCH FROM {end} - {start}) AS DOUBLE PRECISION) / 60)"


async def median_minutes_to_acknowledge(
    session: AsyncSession, *, community_id: str
) -> float | None:
    """Median minutes from report to acknowledgement over all acknowledged tickets, or None."""
    acknowledged = (
        col(Ticket.community_id) == community_id,
        col(Ticket.acknowledged_at).is_not(None),
    )
    count = (await session.exec(select(func.count()).where(*acknowledged))).one()
    if not count:
        return None
    wait = MinutesBetween(col(Ticket.created_at), col(Ticket.acknowledged_at))
    # Only the middle one or two waits leave the database, not every wait of years of tickets.
    middle = (
        select(wait)
        .where(*acknowledged)
        .order_by(wait)
        .offset((count - 1) // 2)
        .limit(2 - count % 2)
    )
    waits = list(await session.exec(middle))
    return sum(waits) / len(waits)


async def tickets_of_community(session: AsyncSession, *, community_id: str) -> list[Ticket]:
    """Every ticket of a community, oldest first (for statistics)."""
    statement = (
        select(Ticket)
        .where(Ticket.community_id == community_id)
        .order_by(col(Ticket.created_at), col(Ticket.number))
    )
    return list(await session.exec(statement))
