"""Initial schema: people, accounts, chats, tickets, attachments, audit events, intake keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Enum columns are plain VARCHAR(32): new values need no migration.
ENUM = sa.String(length=32)


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat"),
    )
    op.create_index("ix_chat_community_id", "chat", ["community_id"])

    op.create_table(
        "person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_person"),
    )
    op.create_index("ix_person_community_id", "person", ["community_id"])

    op.create_table(
        "platform_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name="fk_platform_account_person_id_person"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_platform_account"),
        sa.UniqueConstraint(
            "platform",
            "platform_user_id",
            name="uq_platform_account_platform_platform_user_id",
        ),
    )
    op.create_index("ix_platform_account_person_id", "platform_account", ["person_id"])

    op.create_table(
        "ticket",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("grid_id", sa.String(length=64), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("reporter_id", sa.Uuid(), nullable=True),
        sa.Column("place_text", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_platform", sa.String(length=16), nullable=False),
        sa.Column("source_chat_id", sa.String(length=128), nullable=False),
        sa.Column("source_message_id", sa.String(length=128), nullable=False),
        sa.Column("duplicate_of_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.Column("ack_due_at", timestamp(), nullable=True),
        sa.Column("resolve_due_at", timestamp(), nullable=True),
        sa.Column("acknowledged_at", timestamp(), nullable=True),
        sa.Column("resolved_at", timestamp(), nullable=True),
        sa.Column("closed_at", timestamp(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["person.id"], name="fk_ticket_assignee_id_person"
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["ticket.id"], name="fk_ticket_duplicate_of_id_ticket"
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["person.id"], name="fk_ticket_reporter_id_person"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket"),
        sa.UniqueConstraint("community_id", "number", name="uq_ticket_community_id_number"),
    )
    op.create_index("ix_ticket_assignee_id", "ticket", ["assignee_id"])
    op.create_index("ix_ticket_reporter_id", "ticket", ["reporter_id"])
    op.create_index("ix_ticket_community_id_status", "ticket", ["community_id", "status"])

    op.create_table(
        "processed_message",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("processed_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name="fk_processed_message_ticket_id_ticket"
        ),
        sa.PrimaryKeyConstraint(
            "platform", "chat_id", "message_id", name="pk_processed_message"
        ),
    )
    op.create_index("ix_processed_message_ticket_id", "processed_message", ["ticket_id"])

    op.create_table(
        "ticket_attachment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("media_path", sa.String(length=1024), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("mime", sa.String(length=255), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name="fk_ticket_attachment_ticket_id_ticket"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_attachment"),
    )
    op.create_index("ix_ticket_attachment_ticket_id", "ticket_attachment", ["ticket_id"])

    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("at", timestamp(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", ENUM, nullable=True),
        sa.Column("to_status", ENUM, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["person.id"], name="fk_ticket_event_actor_id_person"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name="fk_ticket_event_ticket_id_ticket"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_event"),
    )
    op.create_index("ix_ticket_event_ticket_id", "ticket_event", ["ticket_id"])


def downgrade() -> None:
    # Tables go in reverse dependency order; their indexes go with them.
    for table in (
        "ticket_event",
        "ticket_attachment",
        "processed_message",
        "ticket",
        "platform_account",
        "person",
        "chat",
    ):
        op.drop_table(table)
