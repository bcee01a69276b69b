"""Conversations: open questions, wordless pieces, ticket subscribers, one-off notices.

Revision ID: 0003_conversations
Revises: 0002_outbox
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_conversations"
down_revision: str | Sequence[str] | None = "0002_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversation_question",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name="fk_conversation_question_ticket_id_ticket"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_question"),
    )
    op.create_index(
        "ix_conversation_question_chat_user",
        "conversation_question",
        ["chat_id", "user_id", "kind"],
    )
    op.create_table(
        "pending_piece",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", timestamp(), nullable=False),
        sa.Column("asked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_piece"),
    )
    op.create_index("ix_pending_piece_chat_user", "pending_piece", ["chat_id", "user_id"])
    op.create_index("ix_pending_piece_received_at", "pending_piece", ["received_at"])
    op.create_table(
        "ticket_subscriber",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("joined_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name="fk_ticket_subscriber_ticket_id_ticket"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name="fk_ticket_subscriber_person_id_person"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "person_id", name="pk_ticket_subscriber"),
    )
    op.create_table(
        "notice_sent",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("sent_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_notice_sent"),
    )


def downgrade() -> None:
    op.drop_table("notice_sent")
    op.drop_table("ticket_subscriber")
    op.drop_table("pending_piece")
    op.drop_table("conversation_question")
