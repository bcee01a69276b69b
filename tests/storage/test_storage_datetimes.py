"""Datetimes go in aware, come back aware UTC on both backends; naive ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select

from storage.database import AsyncSession
from storage.models import Ticket
from storage.tickets import get_ticket
from tests.storage.support import NOW, TicketFactory

SHANGHAI_MORNING = datetime(2025, 3, 1, 12, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_aware_datetime_comes_back_as_the_same_instant_in_utc(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    new_ticket: TicketFactory,
) -> None:
    ticket = await new_ticket(
        now=SHANGHAI_MORNING, ack_due_at=SHANGHAI_MORNING + timedelta(hours=2)
    )
    await session.commit()

    async with session_factory() as fresh:
        stored = await get_ticket(fresh, ticket_id=ticket.id)
    assert stored is not None
    assert stored.created_at == SHANGHAI_MORNING
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at.hour == 4
    assert stored.ack_due_at is not None
    assert stored.ack_due_at.tzinfo is UTC
    assert stored.ack_due_at == datetime(2025, 3, 1, 6, 30, tzinfo=UTC)
    assert stored.acknowledged_at is None


async def test_database_holds_utc(session: AsyncSession, new_ticket: TicketFactory) -> None:
    await new_ticket(now=SHANGHAI_MORNING)
    await session.commit()
    connection = await session.connection()

    if connection.dialect.name == "sqlite":
        raw = await connection.scalar(text("SELECT created_at FROM ticket"))
        assert str(raw).startswith("2025-03-01 04:30:00")
    else:
        column_type = await connection.scalar(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() "
                "AND table_name = 'ticket' AND column_name = 'created_at'"
            )
        )
        utc_wall_time = await connection.scalar(
            text("SELECT to_char(created_at AT TIME ZONE 'UTC', 'HH24:MI') FROM ticket")
        )
        assert (column_type, utc_wall_time) == ("timestamp with time zone", "04:30")


async def test_filtering_by_aware_datetime_compares_instants(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    early = await new_ticket(now=SHANGHAI_MORNING)
    await new_ticket(now=SHANGHAI_MORNING + timedelta(hours=1))
    await session.commit()

    cutoff = datetime(2025, 3, 1, 5, 0, tzinfo=UTC)
    before = (await session.exec(select(Ticket).where(col(Ticket.created_at) < cutoff))).all()

    assert [t.id for t in before] == [early.id]


async def test_repository_refuses_a_naive_now(new_ticket: TicketFactory) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await new_ticket(now=datetime(2025, 3, 1, 9, 0))


async def test_column_type_refuses_a_naive_datetime_on_write(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket(now=NOW)
    ticket.resolve_due_at = datetime(2025, 3, 2, 9, 0)
    session.add(ticket)

    with pytest.raises(StatementError, match="timezone-aware") as raised:
        await session.flush()
    assert isinstance(raised.value.orig, ValueError)
