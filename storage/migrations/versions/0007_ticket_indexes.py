"""Ticket indexes for a long history: the digest's day window and a worker's open queue.

The assignee index gains the status, so /mytickets reads a worker's open tickets without
visiting the thousands they have closed; it still serves every lookup by assignee.

Revision ID: 0007_ticket_indexes
Revises: 0006_event_series
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_ticket_indexes"
down_revision: str | Sequence[str] | None = "0006_event_series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_COLUMNS = ("created_at", "acknowledged_at", "resolved_at")


def upgrade() -> None:
    op.drop_index("ix_ticket_assignee_id", table_name="ticket")
    op.create_index("ix_ticket_assignee_id_status", "ticket", ["assignee_id", "status"])
    for column in DAY_COLUMNS:
        op.create_index(f"ix_ticket_community_id_{column}", "ticket", ["community_id", column])


def downgrade() -> None:
    for column in reversed(DAY_COLUMNS):
        op.drop_index(f"ix_ticket_community_id_{column}", table_name="ticket")
    op.drop_index("ix_ticket_assignee_id_status", table_name="ticket")
    op.create_index("ix_ticket_assignee_id", "ticket", ["assignee_id"])
