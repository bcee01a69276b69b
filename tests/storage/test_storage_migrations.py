"""The Alembic migrations build exactly the schema the models declare, and can be reverted."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.database import create_engine, downgrade_database, upgrade_database

MODEL_TABLES = {
    "person",
    "platform_account",
    "chat",
    "ticket",
    "ticket_attachment",
    "ticket_event",
    "processed_message",
    "outbox_message",
    "conversation_question",
    "pending_piece",
    "ticket_subscriber",
    "notice_sent",
    "event",
    "event_rsvp",
    "event_post",
    "reminder_sent",
}


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str, function: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(function)
    finally:
        await engine.dispose()


def test_models_declare_the_expected_tables() -> None:
    assert set(SQLModel.metadata.tables) == MODEL_TABLES


async def test_comparison_reports_missing_tables_before_migrating(database_url: str) -> None:
    differences = await _inspect(database_url, _schema_differences)

    added = {diff[1].name for diff in differences if diff[0] == "add_table"}
    assert added == MODEL_TABLES


async def test_migrated_schema_matches_models(database_url: str) -> None:
    await upgrade_database(database_url)

    assert await _inspect(database_url, _schema_differences) == []


async def test_downgrade_removes_every_table_and_upgrade_restores_them(database_url: str) -> None:
    await upgrade_database(database_url)
    await upgrade_database(database_url)  # already at head: nothing to do

    await downgrade_database(database_url)
    assert await _inspect(database_url, _table_names) == {"alembic_version"}

    await upgrade_database(database_url)
    assert await _inspect(database_url, _table_names) == MODEL_TABLES | {"alembic_version"}
    assert await _inspect(database_url, _schema_differences) == []
