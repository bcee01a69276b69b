"""Escalation: when a ticket's overdue acknowledgement or resolution was escalated.

Revision ID: 0004_escalation
Revises: 0003_conversations
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_escalation"
down_revision: str | Sequence[str] | None = "0003_conversations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("ack_escalated_at", "resolve_escalated_at")


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
