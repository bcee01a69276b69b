"""SQLModel tables: people and their platform accounts, chats, tickets and their audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.column_types import UTCDateTime, string_enum

# Deterministic constraint names: the migrations refer to them and SQLite batch mode needs them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TICKET_NUMBER_CONSTRAINT = "uq_ticket_community_id_number"


def utc_now() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


# --- Enumerations (stored as VARCHAR values) ---


class PersonRole(StrEnum):
    RESIDENT = "resident"
    GRID_WORKER = "grid_worker"
    STAFF = "staff"
    SECRETARY = "secretary"


class ChatKind(StrEnum):
    RESIDENTS = "residents"
    STAFF = "staff"
    PRIVATE = "private"


class TicketStatus(StrEnum):
    REPORTED = "reported"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


FINISHED_STATUSES = frozenset(
    {TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.REJECTED, TicketStatus.DUPLICATE}
)
OPEN_STATUSES = frozenset(set(TicketStatus) - FINISHED_STATUSES)


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    VOICE = "voice"
    FILE = "file"


class TicketAction(StrEnum):
    """Values of `TicketEvent.action`, a plain string column: new actions need no migration."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    MARKED_DUPLICATE = "marked_duplicate"
    DESCRIPTION_UPDATED = "description_updated"


# --- People and chats ---


class Person(SQLModel, table=True):
    __tablename__ = "person"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    community_id: str = Field(max_length=64, index=True)
    display_name: str = Field(max_length=255)
    role: PersonRole = Field(sa_type=string_enum(PersonRole))
    language: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class PlatformAccount(SQLModel, table=True):
    """One person's identity on one platform (a Telegram user id, a WeCom userid)."""

    __tablename__ = "platform_account"
    __table_args__ = (sa.UniqueConstraint("platform", "platform_user_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=128)


class Chat(SQLModel, table=True):
    """A group or private chat the bot serves, keyed by its namespaced id ("tg:-100…")."""

    __tablename__ = "chat"

    id: str = Field(max_length=128, primary_key=True)
    community_id: str = Field(max_length=64, index=True)
    title: str = Field(max_length=255)
    kind: ChatKind = Field(sa_type=string_enum(ChatKind))


# --- Tickets ---


class Ticket(SQLModel, table=True):
    """A resident's report and its progress; `number` is what people see ("#12")."""

    __tablename__ = "ticket"
    __table_args__ = (
        sa.UniqueConstraint("community_id", "number"),
        sa.Index("ix_ticket_community_id_status", "community_id", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    community_id: str = Field(max_length=64)
    number: int
    category: str = Field(max_length=64)
    urgent: bool = False
    status: TicketStatus = Field(default=TicketStatus.REPORTED, sa_type=string_enum(TicketStatus))
    grid_id: str | None = Field(default=None, max_length=64)
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    reporter_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    place_text: str | None = Field(default=None, sa_type=sa.Text)
    latitude: float | None = Field(default=None, sa_type=sa.Double)
    longitude: float | None = Field(default=None, sa_type=sa.Double)
    description: str = Field(sa_type=sa.Text)
    source_platform: str = Field(max_length=16)
    source_chat_id: str = Field(max_length=128)
    source_message_id: str = Field(max_length=128)
    duplicate_of_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolve_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketAttachment(SQLModel, table=True):
    """A photo/video/voice/file sent with a report; `file_id` lets us forward without re-upload."""

    __tablename__ = "ticket_attachment"

    # A sequence, not a UUID: an album's files keep the order they were added in.
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: uuid.UUID = Field(foreign_key="ticket.id", index=True)
    kind: AttachmentKind = Field(sa_type=string_enum(AttachmentKind))
    platform: str = Field(max_length=16)
    file_id: str = Field(max_length=512)
    sha256: str | None = Field(default=None, max_length=64)
    media_path: str | None = Field(default=None, max_length=1024)
    size_bytes: int | None = Field(default=None, sa_type=sa.BigInteger)
    mime: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class TicketEvent(SQLModel, table=True):
    """Audit row: who did what to a ticket, when, from which platform, old → new status."""

    __tablename__ = "ticket_event"

    # A sequence, not a UUID: it orders events that share the same `at`.
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: uuid.UUID = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="person.id")
    platform: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=32)
    from_status: TicketStatus | None = Field(default=None, sa_type=string_enum(TicketStatus))
    to_status: TicketStatus | None = Field(default=None, sa_type=string_enum(TicketStatus))
    note: str | None = Field(default=None, sa_type=sa.Text)


# --- Intake bookkeeping ---


class ProcessedMessage(SQLModel, table=True):
    """An inbound message already taken in; its key makes redelivered updates no-ops."""

    __tablename__ = "processed_message"

    platform: str = Field(max_length=16, primary_key=True)
    chat_id: str = Field(max_length=128, primary_key=True)
    message_id: str = Field(max_length=128, primary_key=True)
    ticket_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id", index=True)
    processed_at: datetime = Field(sa_type=UTCDateTime)
