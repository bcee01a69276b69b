"""Storage fixtures; the per-backend database fixtures live in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import (
    AsyncSession,
    create_engine,
    upgrade_database,
)
from storage.models import Ticket
from storage.tickets import create_ticket
from tests.storage.support import TicketFactory, postgres_schema, ticket_fields


@pytest.fixture
async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    """Migrated PostgreSQL engine, for tests about concurrent transactions."""
    async with postgres_schema() as url:
        await upgrade_database(url)
        engine = create_engine(url)
        yield engine
        await engine.dispose()


@pytest.fixture
def new_ticket(session: AsyncSession) -> TicketFactory:
    """Create a ticket in the test session; keyword arguments override the defaults."""

    async def create(**overrides: Any) -> Ticket:
        return await create_ticket(session, **ticket_fields(**overrides))

    return create
