"""Helpers for the storage tests: backends, sample values, PostgreSQL lock watching."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import AsyncSession, create_engine
from storage.models import Ticket

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
POSTGRES_REQUIRED = os.environ.get("REQUIRE_POSTGRES", "").lower() in {"1", "true", "yes"}
CONNECT_TIMEOUT_SECONDS = 5
LOCK_WAIT_TIMEOUT_SECONDS = 10

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
COMMUNITY = "riverside"

TicketFactory = Callable[..., Awaitable[Ticket]]

_postgres_unreachable_reason: str | None = None


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """URL whose search_path is a new, empty schema, dropped (CASCADE) afterwards."""
    admin = create_engine(POSTGRES_URL)
    try:
        await _require_postgres(admin)
        schema = f"test_{uuid.uuid4().hex[:12]}"
        async with admin.begin() as connection:
            await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False)
        finally:
            async with admin.begin() as connection:
                await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.dispose()


async def _require_postgres(engine: AsyncEngine) -> None:
    global _postgres_unreachable_reason
    if _postgres_unreachable_reason is None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS), engine.connect():
                return
        except (OSError, TimeoutError, SQLAlchemyError) as error:
            shown_url = make_url(POSTGRES_URL).render_as_string(hide_password=True)
            _postgres_unreachable_reason = (
                f"PostgreSQL not reachable at {shown_url} ({type(error).__name__}: {error})"
            )
    if POSTGRES_REQUIRED:
        pytest.fail(f"{_postgres_unreachable_reason}; REQUIRE_POSTGRES is set", pytrace=False)
    pytest.skip(f"{_postgres_unreachable_reason}; set REQUIRE_POSTGRES=1 to make this a failure")


def ticket_fields(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for create_ticket with sensible defaults."""
    fields: dict[str, Any] = {
        "community_id": COMMUNITY,
        "category": "streetlight",
        "urgent": False,
        "description": "路灯不亮",
        "source_platform": "tg",
        "source_chat_id": "tg:-1001000000001",
        "source_message_id": str(uuid.uuid4()),
        "now": NOW,
    }
    fields.update(overrides)
    return fields


async def backend_pid(session: AsyncSession) -> int:
    """PostgreSQL backend pid of the connection the session's transaction is using."""
    connection = await session.connection()
    pid: int = await connection.scalar(text("SELECT pg_backend_pid()"))
    return pid


async def wait_until_blocked(engine: AsyncEngine, pid: int) -> None:
    """Return once backend `pid` is waiting for a lock another transaction holds."""
    async with asyncio.timeout(LOCK_WAIT_TIMEOUT_SECONDS), engine.connect() as observer:
        query = text("SELECT cardinality(pg_blocking_pids(:pid)) > 0")
        # Each round trip yields to the event loop, so the task being watched keeps running.
        while not await observer.scalar(query, {"pid": pid}):
            pass
