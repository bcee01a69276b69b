"""Ticket lifecycle: reported → assigned → acknowledged → resolved → closed, plus side exits.

Every change is checked against `ALLOWED_TRANSITIONS` before anything is modified and leaves
one audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_types import require_aware
from storage.errors import InvalidTransition
from storage.models import Ticket, TicketAction, TicketEvent, TicketStatus
from storage.tickets import record_ticket_event

ALLOWED_TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.REPORTED: frozenset(
        {TicketStatus.ASSIGNED, TicketStatus.REJECTED, TicketStatus.DUPLICATE}
    ),
    TicketStatus.ASSIGNED: frozenset(
        {TicketStatus.ACKNOWLEDGED, TicketStatus.REJECTED, TicketStatus.DUPLICATE}
    ),
    TicketStatus.ACKNOWLEDGED: frozenset({TicketStatus.RESOLVED, TicketStatus.REJECTED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.REOPENED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.REOPENED}),
    TicketStatus.REOPENED: frozenset(
        {TicketStatus.ASSIGNED, TicketStatus.ACKNOWLEDGED, TicketStatus.REJECTED}
    ),
    TicketStatus.REJECTED: frozenset(),
    TicketStatus.DUPLICATE: frozenset(),
}

# Statuses from which `assign_ticket` may (re)assign; both end in ASSIGNED.
_ASSIGNABLE = frozenset({TicketStatus.REPORTED, TicketStatus.REOPENED})
_REASSIGNABLE = frozenset({TicketStatus.ASSIGNED, TicketStatus.ACKNOWLEDGED})


def can_transition(from_status: TicketStatus, to_status: TicketStatus) -> bool:
    """Whether the lifecycle allows going from `from_status` to `to_status`."""
    return to_status in ALLOWED_TRANSITIONS[from_status]


def _check_transition(ticket: Ticket, to_status: TicketStatus) -> None:
    if not can_transition(ticket.status, to_status):
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[ticket.status])) or "nothing"
        raise InvalidTransition(
            f"ticket #{ticket.number} cannot go from {ticket.status} to {to_status} "
            f"(allowed: {allowed})"
        )


async def change_ticket_status(
    session: AsyncSession,
    *,
    ticket: Ticket,
    to_status: TicketStatus,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    platform: str | None = None,
    note: str | None = None,
) -> TicketEvent:
    """Move a ticket along its lifecycle; InvalidTransition (and no change) if not allowed."""
    at = require_aware(now, name="now")
    _check_transition(ticket, to_status)
    if to_status == TicketStatus.ASSIGNED and ticket.assignee_id is None:
        raise InvalidTransition(f"ticket #{ticket.number} has no assignee; use assign_ticket")
    if to_status == TicketStatus.DUPLICATE and ticket.duplicate_of_id is None:
        raise InvalidTransition(
            f"ticket #{ticket.number} is not linked to an original; use mark_ticket_duplicate"
        )
    return await _apply_status(
        session,
        ticket=ticket,
        to_status=to_status,
        action=TicketAction.STATUS_CHANGED,
        at=at,
        actor_id=actor_id,
        platform=platform,
        note=note,
    )


async def assign_ticket(
    session: AsyncSession,
    *,
    ticket: Ticket,
    assignee_id: uuid.UUID,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    platform: str | None = None,
    note: str | None = None,
) -> TicketEvent:
    """Give a reported/reopened ticket to a worker, or hand an active one to another worker.

    Either way the ticket ends ASSIGNED and the (new) assignee has to acknowledge it.
    """
    at = require_aware(now, name="now")
    if ticket.status in _ASSIGNABLE:
        action = TicketAction.ASSIGNED
    elif ticket.status in _REASSIGNABLE:
        action = TicketAction.REASSIGNED
        ticket.acknowledged_at = None
    else:
        raise InvalidTransition(
            f"ticket #{ticket.number} is {ticket.status} and cannot be assigned"
        )
    previous = ticket.assignee_id
    ticket.assignee_id = assignee_id
    assignee_note = f"assignee {previous or '-'} → {assignee_id}"
    return await _apply_status(
        session,
        ticket=ticket,
        to_status=TicketStatus.ASSIGNED,
        action=action,
        at=at,
        actor_id=actor_id,
        platform=platform,
        note=assignee_note if note is None else f"{assignee_note}; {note}",
    )


async def mark_ticket_duplicate(
    session: AsyncSession,
    *,
    ticket: Ticket,
    original: Ticket,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    platform: str | None = None,
    note: str | None = None,
) -> TicketEvent:
    """Close a ticket as a duplicate of `original` (same community, not itself a duplicate)."""
    at = require_aware(now, name="now")
    _check_transition(ticket, TicketStatus.DUPLICATE)
    if original.id == ticket.id or original.community_id != ticket.community_id:
        raise InvalidTransition(
            f"ticket #{ticket.number} cannot duplicate ticket #{original.number}: "
            "it must be another ticket of the same community"
        )
    if original.status == TicketStatus.DUPLICATE:
        raise InvalidTransition(f"ticket #{original.number} is itself a duplicate")
    ticket.duplicate_of_id = original.id
    return await _apply_status(
        session,
        ticket=ticket,
        to_status=TicketStatus.DUPLICATE,
        action=TicketAction.MARKED_DUPLICATE,
        at=at,
        actor_id=actor_id,
        platform=platform,
        note=note or f"duplicate of #{original.number}",
    )


async def _apply_status(
    session: AsyncSession,
    *,
    ticket: Ticket,
    to_status: TicketStatus,
    action: TicketAction,
    at: datetime,
    actor_id: uuid.UUID | None,
    platform: str | None,
    note: str | None,
) -> TicketEvent:
    from_status = ticket.status
    ticket.status = to_status
    ticket.updated_at = at
    if to_status == TicketStatus.ACKNOWLEDGED:
        ticket.acknowledged_at = at
    elif to_status == TicketStatus.RESOLVED:
        ticket.resolved_at = at
    elif to_status == TicketStatus.CLOSED:
        ticket.closed_at = at
    elif to_status == TicketStatus.REOPENED:
        ticket.resolved_at = None
        ticket.closed_at = None
    session.add(ticket)
    event = record_ticket_event(
        session,
        ticket=ticket,
        action=action,
        at=at,
        actor_id=actor_id,
        platform=platform,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    await session.flush()
    return event
