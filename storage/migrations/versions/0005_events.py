"""Events: invitations, RSVPs with a waitlist, posted invitations and reminder claims.

Revision ID: 0005_events
Revises: 0004_escalation
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_events"
down_revision: str | Sequence[str] | None = "0004_escalation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=255), nullable=True),
        sa.Column("starts_at", timestamp(), nullable=False),
        sa.Column("ends_at", timestamp(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("audience_chat_ids", sa.Text(), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=True),
        sa.Column("reminder_offsets_minutes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["person.id"], name="fk_event_created_by_person"),
        sa.PrimaryKeyConstraint("id", name="pk_event"),
    )
    op.create_index("ix_event_community_id_starts_at", "event", ["community_id", "starts_at"])
    op.create_table(
        "event_rsvp",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_start", timestamp(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name="fk_event_rsvp_event_id_event"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name="fk_event_rsvp_person_id_person"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_event_rsvp"),
        sa.UniqueConstraint(
            "event_id",
            "occurrence_start",
            "person_id",
            name="uq_event_rsvp_event_id_occurrence_start_person_id",
        ),
    )
    op.create_index("ix_event_rsvp_person_id", "event_rsvp", ["person_id"])
    op.create_table(
        "event_post",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name="fk_event_post_event_id_event"),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox_message.id"], name="fk_event_post_outbox_id_outbox_message"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_event_post"),
    )
    op.create_index("ix_event_post_event_id", "event_post", ["event_id"])
    op.create_table(
        "reminder_sent",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_start", timestamp(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("sent_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name="fk_reminder_sent_event_id_event"
        ),
        sa.PrimaryKeyConstraint(
            "event_id", "occurrence_start", "offset_minutes", "target", name="pk_reminder_sent"
        ),
    )


def downgrade() -> None:
    op.drop_table("reminder_sent")
    op.drop_index("ix_event_post_event_id", table_name="event_post")
    op.drop_table("event_post")
    op.drop_index("ix_event_rsvp_person_id", table_name="event_rsvp")
    op.drop_table("event_rsvp")
    op.drop_index("ix_event_community_id_starts_at", table_name="event")
    op.drop_table("event")
