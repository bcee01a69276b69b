"""Outbox: messages to send, committed in the same transaction as the change that causes them.

Revision ID: 0002_outbox
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_outbox"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Enum columns are plain VARCHAR(32): new values need no migration.
ENUM = sa.String(length=32)


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("coalesce_key", sa.String(length=128), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("due_at", timestamp(), nullable=False),
        sa.Column("sent_at", timestamp(), nullable=True),
        sa.Column("lease_until", timestamp(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("sent_message_id", sa.String(length=128), nullable=True),
        sa.Column("coalesced_into_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name="fk_outbox_message_ticket_id_ticket"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_message"),
    )
    op.create_index("ix_outbox_message_chat_id", "outbox_message", ["chat_id"])
    op.create_index("ix_outbox_message_ticket_id", "outbox_message", ["ticket_id"])
    op.create_index("ix_outbox_message_status_due_at", "outbox_message", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("outbox_message")
