"""Ticket lifecycle: allowed moves, refused moves that change nothing, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from storage.database import AsyncSession
from storage.errors import InvalidTransition
from storage.lifecycle import (
    ALLOWED_TRANSITIONS,
    assign_ticket,
    can_transition,
    change_ticket_status,
    mark_ticket_duplicate,
)
from storage.models import Person, PersonRole, Ticket, TicketAction, TicketStatus
from storage.people import upsert_person
from storage.tickets import get_ticket, ticket_history
from tests.storage.support import COMMUNITY, NOW, TicketFactory

S = TicketStatus


async def _worker(session: AsyncSession, user_id: str = "9001") -> Person:
    return await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name=f"网格员{user_id}",
        role=PersonRole.GRID_WORKER,
        platform="tg",
        platform_user_id=user_id,
    )


async def _ticket_in(
    session: AsyncSession, new_ticket: TicketFactory, status: TicketStatus
) -> Ticket:
    """A ticket brought to `status` through the lifecycle."""
    worker = await _worker(session)
    original = await new_ticket()
    ticket = await new_ticket()
    paths = {
        S.REPORTED: [],
        S.ASSIGNED: [S.ASSIGNED],
        S.ACKNOWLEDGED: [S.ASSIGNED, S.ACKNOWLEDGED],
        S.RESOLVED: [S.ASSIGNED, S.ACKNOWLEDGED, S.RESOLVED],
        S.CLOSED: [S.ASSIGNED, S.ACKNOWLEDGED, S.RESOLVED, S.CLOSED],
        S.REOPENED: [S.ASSIGNED, S.ACKNOWLEDGED, S.RESOLVED, S.REOPENED],
        S.REJECTED: [S.REJECTED],
        S.DUPLICATE: [S.DUPLICATE],
    }
    for step in paths[status]:
        if step == S.ASSIGNED:
            await assign_ticket(session, ticket=ticket, assignee_id=worker.id, now=NOW)
        elif step == S.DUPLICATE:
            await mark_ticket_duplicate(session, ticket=ticket, original=original, now=NOW)
        else:
            await change_ticket_status(session, ticket=ticket, to_status=step, now=NOW)
    assert ticket.status == status
    return ticket


def test_transition_table_follows_the_lifecycle() -> None:
    assert {s for s in S if can_transition(s, S.REJECTED)} == {
        S.REPORTED,
        S.ASSIGNED,
        S.ACKNOWLEDGED,
        S.REOPENED,
    }
    assert {s for s in S if can_transition(s, S.DUPLICATE)} == {S.REPORTED, S.ASSIGNED}
    assert {s for s in S if can_transition(s, S.REOPENED)} == {S.RESOLVED, S.CLOSED}
    assert ALLOWED_TRANSITIONS[S.REOPENED] >= {S.ASSIGNED, S.ACKNOWLEDGED}
    assert ALLOWED_TRANSITIONS[S.REJECTED] == ALLOWED_TRANSITIONS[S.DUPLICATE] == frozenset()
    assert set(ALLOWED_TRANSITIONS) == set(S)


async def test_full_lifecycle_sets_timestamps_and_writes_one_event_per_step(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    new_ticket: TicketFactory,
) -> None:
    worker = await _worker(session)
    ticket = await new_ticket()
    at = [NOW + timedelta(minutes=m) for m in range(8)]

    await assign_ticket(session, ticket=ticket, assignee_id=worker.id, now=at[1], platform="tg")
    await change_ticket_status(
        session, ticket=ticket, to_status=S.ACKNOWLEDGED, now=at[2], actor_id=worker.id
    )
    await change_ticket_status(
        session, ticket=ticket, to_status=S.RESOLVED, now=at[3], actor_id=worker.id, note="已修好"
    )
    await change_ticket_status(session, ticket=ticket, to_status=S.CLOSED, now=at[4])
    assert (ticket.acknowledged_at, ticket.resolved_at, ticket.closed_at) == (at[2], at[3], at[4])

    await change_ticket_status(session, ticket=ticket, to_status=S.REOPENED, now=at[5])
    assert (ticket.resolved_at, ticket.closed_at) == (None, None)
    await change_ticket_status(session, ticket=ticket, to_status=S.ACKNOWLEDGED, now=at[6])
    await change_ticket_status(session, ticket=ticket, to_status=S.RESOLVED, now=at[7])
    await session.commit()

    async with session_factory() as fresh:
        stored = await get_ticket(fresh, ticket_id=ticket.id)
        history = await ticket_history(fresh, ticket_id=ticket.id)
    assert stored is not None
    assert (stored.status, stored.assignee_id, stored.updated_at) == (S.RESOLVED, worker.id, at[7])
    assert (stored.acknowledged_at, stored.resolved_at, stored.closed_at) == (at[6], at[7], None)
    assert [(e.from_status, e.to_status, e.at) for e in history] == [
        (None, S.REPORTED, NOW),
        (S.REPORTED, S.ASSIGNED, at[1]),
        (S.ASSIGNED, S.ACKNOWLEDGED, at[2]),
        (S.ACKNOWLEDGED, S.RESOLVED, at[3]),
        (S.RESOLVED, S.CLOSED, at[4]),
        (S.CLOSED, S.REOPENED, at[5]),
        (S.REOPENED, S.ACKNOWLEDGED, at[6]),
        (S.ACKNOWLEDGED, S.RESOLVED, at[7]),
    ]
    assert history[1].action == TicketAction.ASSIGNED
    assert history[1].platform == "tg"
    assert history[2].actor_id == worker.id
    assert history[3].note == "已修好"


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.REPORTED, S.ACKNOWLEDGED),
        (S.REPORTED, S.RESOLVED),
        (S.REPORTED, S.REOPENED),
        (S.ASSIGNED, S.CLOSED),
        (S.ACKNOWLEDGED, S.DUPLICATE),
        (S.RESOLVED, S.REJECTED),
        (S.CLOSED, S.RESOLVED),
        (S.REOPENED, S.CLOSED),
        (S.REJECTED, S.REOPENED),
        (S.DUPLICATE, S.ASSIGNED),
    ],
)
async def test_refused_transition_raises_and_changes_nothing(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    new_ticket: TicketFactory,
    start: TicketStatus,
    target: TicketStatus,
) -> None:
    ticket = await _ticket_in(session, new_ticket, start)
    await session.commit()
    events_before = len(await ticket_history(session, ticket_id=ticket.id))
    snapshot = ticket.model_dump()

    with pytest.raises(InvalidTransition, match=f"from {start} to {target}"):
        await change_ticket_status(
            session, ticket=ticket, to_status=target, now=NOW + timedelta(days=1)
        )
    await session.commit()

    assert ticket.model_dump() == snapshot
    async with session_factory() as fresh:
        stored = await get_ticket(fresh, ticket_id=ticket.id)
        assert stored is not None
        assert stored.status == start
        assert len(await ticket_history(fresh, ticket_id=ticket.id)) == events_before


async def test_assigned_status_needs_an_assignee(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket()

    with pytest.raises(InvalidTransition, match="no assignee"):
        await change_ticket_status(session, ticket=ticket, to_status=S.ASSIGNED, now=NOW)
    assert ticket.status == S.REPORTED


async def test_duplicate_status_needs_a_link_to_the_original(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket()

    with pytest.raises(InvalidTransition, match="mark_ticket_duplicate"):
        await change_ticket_status(session, ticket=ticket, to_status=S.DUPLICATE, now=NOW)
    assert ticket.status == S.REPORTED


async def test_marking_a_duplicate_links_it_to_the_original(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    original = await new_ticket()
    repeat = await new_ticket()

    event = await mark_ticket_duplicate(session, ticket=repeat, original=original, now=NOW)

    assert (repeat.status, repeat.duplicate_of_id) == (S.DUPLICATE, original.id)
    assert (event.action, event.note) == (TicketAction.MARKED_DUPLICATE, "duplicate of #1")


async def test_a_ticket_cannot_duplicate_itself_or_another_community(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket()
    elsewhere = await new_ticket(community_id="hillside")

    for original in (ticket, elsewhere):
        with pytest.raises(InvalidTransition, match="same community"):
            await mark_ticket_duplicate(session, ticket=ticket, original=original, now=NOW)
    assert (ticket.status, ticket.duplicate_of_id) == (S.REPORTED, None)


async def test_reassigning_an_acknowledged_ticket_needs_a_new_acknowledgement(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await _ticket_in(session, new_ticket, S.ACKNOWLEDGED)
    first_worker = ticket.assignee_id
    replacement = await _worker(session, user_id="9002")

    event = await assign_ticket(
        session, ticket=ticket, assignee_id=replacement.id, now=NOW, note="休假"
    )

    assert (ticket.status, ticket.assignee_id, ticket.acknowledged_at) == (
        S.ASSIGNED,
        replacement.id,
        None,
    )
    assert (event.action, event.from_status, event.to_status) == (
        TicketAction.REASSIGNED,
        S.ACKNOWLEDGED,
        S.ASSIGNED,
    )
    assert event.note == f"assignee {first_worker} → {replacement.id}; 休假"


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED, S.REJECTED, S.DUPLICATE])
async def test_finished_tickets_cannot_be_assigned(
    session: AsyncSession, new_ticket: TicketFactory, status: TicketStatus
) -> None:
    ticket = await _ticket_in(session, new_ticket, status)
    worker = await _worker(session, user_id="9003")
    assignee_before = ticket.assignee_id

    with pytest.raises(InvalidTransition, match="cannot be assigned"):
        await assign_ticket(session, ticket=ticket, assignee_id=worker.id, now=NOW)
    assert (ticket.status, ticket.assignee_id) == (status, assignee_before)
