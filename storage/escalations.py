"""Escalation bookkeeping: which tickets are overdue, and a once-only claim per stage."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_types import require_aware
from storage.models import OPEN_STATUSES, Ticket

Stage = Literal["acknowledge", "resolve"]
STAGES: tuple[Stage, ...] = ("acknowledge", "resolve")


def _escalated_column(stage: Stage) -> str:
    """The ticket column that records this stage's escalation."""
    return "ack_escalated_at" if stage == "acknowledge" else "resolve_escalated_at"


async def claim_escalation(
    session: AsyncSession, *, ticket_id: uuid.UUID, stage: Stage, now: datetime
) -> bool:
    """Mark the stage escalated; True only for the one caller whose update set it."""
    column = getattr(Ticket, _escalated_column(stage))
    statement = (
        update(Ticket)
        .where(col(Ticket.id) == ticket_id, col(column).is_(None))
        .values({column: require_aware(now, name="now")})
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(statement)
    return bool(result.rowcount == 1)


def _ack_overdue(now: datetime) -> ColumnElement[bool]:
    return and_(
        col(Ticket.acknowledged_at).is_(None),
        col(Ticket.ack_due_at) < now,
        col(Ticket.ack_escalated_at).is_(None),
    )


def _resolve_overdue(now: datetime) -> ColumnElement[bool]:
    return and_(
        col(Ticket.acknowledged_at).is_not(None),
        col(Ticket.resolved_at).is_(None),
        col(Ticket.resolve_due_at) < now,
        col(Ticket.resolve_escalated_at).is_(None),
    )


def overdue_stage(ticket: Ticket, now: datetime) -> Stage | None:
    """Which stage of an open ticket is overdue and not yet escalated, if any."""
    if ticket.acknowledged_at is None:
        late = ticket.ack_due_at is not None and ticket.ack_due_at < now
        return "acknowledge" if late and ticket.ack_escalated_at is None else None
    late = ticket.resolve_due_at is not None and ticket.resolve_due_at < now
    pending = ticket.resolved_at is None and ticket.resolve_escalated_at is None
    return "resolve" if late and pending else None


async def overdue_tickets(
    session: AsyncSession, *, community_id: str, now: datetime
) -> list[tuple[Ticket, Stage]]:
    """Open tickets whose acknowledgement or resolution is overdue and not yet escalated."""
    moment = require_aware(now, name="now")
    statement = select(Ticket).where(
        Ticket.community_id == community_id,
        col(Ticket.status).in_(OPEN_STATUSES),
        or_(_ack_overdue(moment), _resolve_overdue(moment)),
    )
    found = []
    # Sorted here: an ORDER BY number lures SQLite into walking the whole
    # (community_id, number) index rather than reading the few open tickets.
    for ticket in sorted(await session.exec(statement), key=lambda t: t.number):
        stage = overdue_stage(ticket, moment)
        if stage is not None:
            found.append((ticket, stage))
    return found
