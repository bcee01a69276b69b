"""URL handling, engine set-up and the migration helpers."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import (
    AsyncSession,
    create_engine,
    default_database_url,
    to_async_url,
    upgrade_database_sync,
)
from storage.models import TicketEvent
from tests.storage.support import NOW, postgres_schema


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@db/bot", "postgresql+asyncpg"),
        ("postgres://u:p@db/bot", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u:p@db/bot", "postgresql+asyncpg"),
        ("sqlite:///./data/bot.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///./data/bot.db", "sqlite+aiosqlite"),
    ],
)
def test_plain_urls_map_to_async_drivers(given: str, driver: str) -> None:
    url = to_async_url(given)

    assert url.drivername == driver
    assert url.database == to_async_url(url).database


def test_default_url_is_a_sqlite_file_under_data() -> None:
    assert default_database_url() == "sqlite+aiosqlite:///./data/bot.db"


def test_unsupported_scheme_is_rejected_with_the_scheme_named() -> None:
    with pytest.raises(ValueError, match="'mysql'"):
        to_async_url("mysql://u@db/bot")


async def test_libpq_options_in_the_url_reach_postgresql() -> None:
    async with postgres_schema() as url:
        options = str(make_url(url).query["options"])
        with_timeout = make_url(url).update_query_dict(
            {"options": f"{options} -c statement_timeout=4321"}
        )
        engine = create_engine(with_timeout.render_as_string(hide_password=False))
        try:
            async with engine.connect() as connection:
                search_path = await connection.scalar(text("SHOW search_path"))
                statement_timeout = await connection.scalar(text("SHOW statement_timeout"))
        finally:
            await engine.dispose()

    assert search_path == options.removeprefix("-csearch_path=")
    assert statement_timeout == "4321ms"


def test_malformed_libpq_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="name=value"):
        create_engine("postgresql://u@db/bot?options=-c%20search_path")


async def test_sqlite_engine_creates_the_directory_and_enables_foreign_keys_and_wal(
    tmp_path: Path,
) -> None:
    database = tmp_path / "nested" / "dir" / "bot.db"
    engine = create_engine(f"sqlite:///{database}")
    try:
        async with engine.connect() as connection:
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
            journal_mode = await connection.scalar(text("PRAGMA journal_mode"))
    finally:
        await engine.dispose()

    assert database.parent.is_dir()
    assert (foreign_keys, journal_mode) == (1, "wal")


async def test_foreign_keys_are_enforced(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        session.add(TicketEvent(ticket_id=uuid.uuid4(), at=NOW, action="created"))
        with pytest.raises(IntegrityError):
            await session.flush()


def test_sync_upgrade_helper_migrates_outside_an_event_loop(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"

    upgrade_database_sync(f"sqlite:///{database}")

    with closing(sqlite3.connect(database)) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert versions == [("0007_ticket_indexes",)]
