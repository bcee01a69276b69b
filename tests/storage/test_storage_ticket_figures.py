"""Queries behind the digest and /stats: a day's tickets, counts, the median wait; their indexes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import AsyncSession
from storage.escalations import overdue_tickets
from storage.models import PersonRole, Ticket, TicketStatus
from storage.people import upsert_person
from storage.tickets import (
    count_by_status,
    list_open_tickets,
    list_tickets_for_assignee,
    median_minutes_to_acknowledge,
    tickets_of_day,
)
from tests.storage.support import COMMUNITY, NOW, TicketFactory

DAY_START = NOW - timedelta(hours=1)
DAY_END = DAY_START + timedelta(days=1)
LONG_AGO = NOW - timedelta(days=30)
DAY_COLUMNS = ("created_at", "acknowledged_at", "resolved_at")
CLOSED = TicketStatus.CLOSED


async def ticket(
    new_ticket: TicketFactory, created: datetime, community_id: str = COMMUNITY, **changes: Any
) -> Ticket:
    """A ticket created at `created`, then changed as given (flushed with the session)."""
    made = await new_ticket(now=created, community_id=community_id)
    for name, value in changes.items():
        setattr(made, name, value)
    return made


async def test_the_day_holds_open_tickets_and_those_created_acknowledged_or_resolved_then(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    await ticket(
        new_ticket, LONG_AGO, acknowledged_at=LONG_AGO, resolved_at=LONG_AGO, status=CLOSED
    )
    old_and_open = await ticket(new_ticket, LONG_AGO, status=TicketStatus.ACKNOWLEDGED)
    new_and_done = await ticket(new_ticket, DAY_START, resolved_at=DAY_START, status=CLOSED)
    resolved_then = await ticket(
        new_ticket, LONG_AGO, acknowledged_at=LONG_AGO, resolved_at=NOW, status=CLOSED
    )
    acknowledged_then = await ticket(
        new_ticket, LONG_AGO, acknowledged_at=NOW, resolved_at=DAY_END, status=CLOSED
    )
    await ticket(new_ticket, DAY_END, status=CLOSED)  # the next day
    await new_ticket(community_id="hillside")
    await session.flush()

    found = await tickets_of_day(session, community_id=COMMUNITY, start=DAY_START, end=DAY_END)

    wanted = [old_and_open, new_and_done, resolved_then, acknowledged_then]
    assert {t.id for t in found} == {t.id for t in wanted}


async def test_counts_by_status_and_the_median_wait_for_acknowledgement(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    assert await median_minutes_to_acknowledge(session, community_id=COMMUNITY) is None
    for minutes in (10, 30, 20):
        await ticket(
            new_ticket,
            NOW,
            acknowledged_at=NOW + timedelta(minutes=minutes),
            status=TicketStatus.ACKNOWLEDGED,
        )
    await ticket(new_ticket, NOW, "hillside", acknowledged_at=NOW + timedelta(days=9))
    await new_ticket()
    await session.flush()

    assert await median_minutes_to_acknowledge(session, community_id=COMMUNITY) == pytest.approx(20)
    await ticket(new_ticket, NOW, acknowledged_at=NOW + timedelta(minutes=50))
    await session.flush()
    assert await median_minutes_to_acknowledge(session, community_id=COMMUNITY) == pytest.approx(25)
    assert await count_by_status(session, community_id=COMMUNITY) == {
        TicketStatus.ACKNOWLEDGED: 3,
        TicketStatus.REPORTED: 2,
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_day_the_open_tickets_and_a_workers_queue_are_read_through_their_indexes(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    worker = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="张敏",
        role=PersonRole.GRID_WORKER,
        platform="tg",
        platform_user_id="6000001",
    )
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await tickets_of_day(session, community_id=COMMUNITY, start=DAY_START, end=DAY_END)
        await list_open_tickets(session, community_id=COMMUNITY, grid_id="G1")
        await overdue_tickets(session, community_id=COMMUNITY, now=NOW)
        await list_tickets_for_assignee(session, assignee_id=worker.id)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    day, open_ones, overdue, queue = [await query_plan(session, *run) for run in statements]

    for index in ("community_id_status", *(f"community_id_{c}" for c in DAY_COLUMNS)):
        assert f"USING INDEX ix_ticket_{index} (community_id=? AND" in day
    for plan in (open_ones, overdue):  # not a walk through every ticket to skip a sort
        assert plan.startswith("SEARCH ticket USING INDEX ix_ticket_community_id_status ")
    assert "USING INDEX ix_ticket_assignee_id_status (assignee_id=? AND status=?)" in queue
    assert "SCAN ticket" not in day + open_ones + overdue + queue


async def query_plan(session: AsyncSession, statement: str, parameters: Any) -> str:
    """SQLite's plan for a statement as it was run, one step per line."""
    connection = await session.connection()
    result = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    return "\n".join(str(row[-1]) for row in result)
