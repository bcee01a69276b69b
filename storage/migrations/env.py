"""Alembic environment: runs on a connection handed in by storage.database, or its own engine."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.database import create_engine, default_database_url

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    """URL given by storage.database, else sqlalchemy.url, else DATABASE_URL, else the default."""
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    return str(url or os.environ.get("DATABASE_URL") or default_database_url())


def run_migrations_offline() -> None:
    """Emit SQL for the migrations without connecting."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_on(connection: Connection) -> None:
    """Run the migrations on an open synchronous connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_with_own_engine() -> None:
    """Open an async engine for the configured URL and run the migrations on it."""
    engine = create_engine(database_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations_on)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif (given_connection := config.attributes.get("connection")) is not None:
    run_migrations_on(given_connection)
else:
    asyncio.run(run_migrations_with_own_engine())
