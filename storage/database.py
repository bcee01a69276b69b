"""Engines, sessions and schema migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = [
    "AsyncSession",
    "alembic_config",
    "create_engine",
    "create_session_factory",
    "default_database_url",
    "downgrade_database",
    "to_async_url",
    "upgrade_database",
    "upgrade_database_sync",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def default_database_url() -> str:
    """SQLite file under ./data, used when DATABASE_URL is not set."""
    return "sqlite+aiosqlite:///./data/bot.db"


def to_async_url(url: str | URL) -> URL:
    """Map postgresql:// and sqlite:// URLs to their asyncpg/aiosqlite drivers."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use postgresql://, postgresql+asyncpg://, sqlite:// or sqlite+aiosqlite://"
        )
    return parsed.set(drivername=driver)


def create_engine(url: str) -> AsyncEngine:
    """Async engine for `url`; SQLite gets its directory, foreign keys and WAL set up."""
    async_url = to_async_url(url)
    if async_url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(async_url)
    return _create_postgres_engine(async_url)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory whose objects stay readable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def _create_postgres_engine(url: URL) -> AsyncEngine:
    connect_args: dict[str, Any] = {}
    options = url.query.get("options")
    if options is not None:
        # libpq's `options=-csearch_path=x` is not understood by asyncpg; translate it.
        if not isinstance(options, str):
            raise ValueError("the database URL may contain only one 'options' parameter")
        connect_args["server_settings"] = _server_settings_from_libpq_options(options)
        url = url.difference_update_query(["options"])
    return create_async_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _server_settings_from_libpq_options(options: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    tokens = iter(shlex.split(options))
    for token in tokens:
        if token == "-c":
            setting = next(tokens, "")
        elif token.startswith(("-c", "--")):
            setting = token[2:]
        else:
            raise ValueError(f"unsupported token {token!r} in the database URL's 'options'")
        name, separator, value = setting.partition("=")
        if not name or not separator:
            raise ValueError(
                f"expected name=value in the database URL's 'options', got {setting!r}"
            )
        settings[name.replace("-", "_")] = value
    return settings


def _create_sqlite_engine(url: URL) -> AsyncEngine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # SQLite has one writer at a time and every transaction here takes the write lock (BEGIN
    # IMMEDIATE). With several connections, waiters sleep in SQLite's busy handler (up to
    # 100 ms a try); one pooled connection makes them queue in asyncio instead, first come
    # first served. Other processes (the CLI) still meet busy_timeout.
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _connection_record: Any) -> None:
    # The sqlite3 module's own implicit BEGIN breaks SAVEPOINT; SQLAlchemy emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so two read-then-write transactions queue on
    # busy_timeout instead of one failing with SQLITE_BUSY when it tries to upgrade its lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# --- Migrations ---


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes["database_url"] = url
    return config


async def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (default: the newest)."""
    await _run_migration_command(url, command.upgrade, revision)


async def downgrade_database(url: str, revision: str = "base") -> None:
    """Revert migrations down to `revision` (default: an empty database)."""
    await _run_migration_command(url, command.downgrade, revision)


def upgrade_database_sync(url: str, revision: str = "head") -> None:
    """Blocking `upgrade_database` for scripts and start-up code outside an event loop."""
    asyncio.run(upgrade_database(url, revision))


async def _run_migration_command(
    url: str, alembic_command: Callable[[Config, str], None], revision: str
) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_with_connection, alembic_command, revision)
    finally:
        await engine.dispose()


def _run_with_connection(
    connection: Connection, alembic_command: Callable[[Config, str], None], revision: str
) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    alembic_command(config, revision)
