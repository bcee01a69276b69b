"""Event series: the start of an event's final occurrence (NULL for a series without end).

Revision ID: 0006_event_series
Revises: 0005_events
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_event_series"
down_revision: str | Sequence[str] | None = "0005_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("last_starts_at", sa.DateTime(timezone=True), nullable=True))
    # Events stored before series existed are one-off: their final occurrence is their start.
    op.execute("UPDATE event SET last_starts_at = starts_at WHERE rrule IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("last_starts_at")
