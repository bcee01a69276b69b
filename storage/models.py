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
        # The daily digest's day: what came in, was acknowledged or was resolved that day.
        sa.Index("ix_ticket_community_id_created_at", "community_id", "created_at"),
        sa.Index("ix_ticket_community_id_acknowledged_at", "community_id", "acknowledged_at"),
        sa.Index("ix_ticket_community_id_resolved_at", "community_id", "resolved_at"),
        # A worker's open queue among the thousands of tickets they have closed.
        sa.Index("ix_ticket_assignee_id_status", "assignee_id", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    community_id: str = Field(max_length=64)
    number: int
    category: str = Field(max_length=64)
    urgent: bool = False
    status: TicketStatus = Field(default=TicketStatus.REPORTED, sa_type=string_enum(TicketStatus))
    grid_id: str | None = Field(default=None, max_length=64)
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="person.id")
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
    ack_escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolve_escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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


# --- Outbox ---


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    COALESCED = "coalesced"


class OutboxMessage(SQLModel, table=True):
    """A message waiting to be sent (or its record once sent), committed with its cause.

    `payload` is the neutral message as JSON; storage keeps it opaque. A row is `pending`
    until a sender marks it `sent`, `failed`, or `coalesced` into the row `coalesced_into_id`.
    `lease_owner`/`lease_until` mark a claim; an expired lease makes the row claimable again.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_status_due_at", "status", "due_at"),)

    # A sequence, not a UUID: a chat's messages are sent in the order they were queued.
    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(max_length=128, index=True)
    payload: str = Field(sa_type=sa.Text)
    coalesce_key: str | None = Field(default=None, max_length=128)
    ticket_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id", index=True)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=string_enum(OutboxStatus))
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    sent_message_id: str | None = Field(default=None, max_length=128)
    coalesced_into_id: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)


# --- Conversations: what the bot is waiting for ---


class ConversationQuestion(SQLModel, table=True):
    """A question the bot asked someone in a chat ("is this a report?", "where is it?")."""

    __tablename__ = "conversation_question"
    __table_args__ = (sa.Index("ix_conversation_question_chat_user", "chat_id", "user_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(max_length=128)
    user_id: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    ticket_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id")
    payload: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    closed: bool = False


class PendingPiece(SQLModel, table=True):
    """A photo or pin without words, kept until its author says what it shows."""

    __tablename__ = "pending_piece"
    __table_args__ = (sa.Index("ix_pending_piece_chat_user", "chat_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(max_length=128)
    user_id: str = Field(max_length=128)
    message_id: str = Field(max_length=128)
    payload: str = Field(sa_type=sa.Text)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    asked: bool = False


class TicketSubscriber(SQLModel, table=True):
    """Someone to tell about a ticket's progress besides its reporter (duplicate reporters)."""

    __tablename__ = "ticket_subscriber"

    ticket_id: uuid.UUID = Field(foreign_key="ticket.id", primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True)
    chat_id: str = Field(max_length=128)
    message_id: str = Field(max_length=128)
    joined_at: datetime = Field(sa_type=UTCDateTime)


class NoticeSent(SQLModel, table=True):
    """A one-off notice already given (e.g. "this group is not registered"), by key."""

    __tablename__ = "notice_sent"

    key: str = Field(max_length=255, primary_key=True)
    sent_at: datetime = Field(sa_type=UTCDateTime)


# --- Events, RSVPs and reminders ---


class EventStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class RsvpStatus(StrEnum):
    GOING = "going"
    WAITLIST = "waitlist"
    DECLINED = "declined"


DEFAULT_REMINDER_OFFSETS = "[1440, 60]"


class Event(SQLModel, table=True):
    """A community event; JSON text columns hold the audience chats and reminder offsets.

    `starts_at` is the first occurrence; a series (`rrule`) repeats it in the community's wall
    time until `last_starts_at`, its final occurrence (None: the series has no end).
    """

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_community_id_starts_at", "community_id", "starts_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    community_id: str = Field(max_length=64)
    title: str = Field(max_length=255)
    description: str = Field(default="", sa_type=sa.Text)
    place: str | None = Field(default=None, max_length=255)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    capacity: int | None = None
    audience_chat_ids: str = Field(default="[]", sa_type=sa.Text)
    rrule: str | None = Field(default=None, sa_type=sa.Text)
    last_starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminder_offsets_minutes: str = Field(default=DEFAULT_REMINDER_OFFSETS, sa_type=sa.Text)
    status: EventStatus = Field(default=EventStatus.ACTIVE, sa_type=string_enum(EventStatus))
    created_by: uuid.UUID | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class EventRsvp(SQLModel, table=True):
    """One person's answer for one occurrence; `position` orders the waitlist."""

    __tablename__ = "event_rsvp"
    __table_args__ = (sa.UniqueConstraint("event_id", "occurrence_start", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id")
    occurrence_start: datetime = Field(sa_type=UTCDateTime)
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    status: RsvpStatus = Field(sa_type=string_enum(RsvpStatus))
    position: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class EventPost(SQLModel, table=True):
    """An invitation posted to a chat; its outbox row gives the sent message id to edit."""

    __tablename__ = "event_post"

    id: int | None = Field(default=None, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True)
    chat_id: str = Field(max_length=128)
    outbox_id: int = Field(foreign_key="outbox_message.id")


class ReminderSent(SQLModel, table=True):
    """A reminder claimed for one target; the key makes each reminder go out once."""

    __tablename__ = "reminder_sent"

    event_id: uuid.UUID = Field(foreign_key="event.id", primary_key=True)
    occurrence_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    offset_minutes: int = Field(primary_key=True)
    target: str = Field(max_length=128, primary_key=True)
    sent_at: datetime = Field(sa_type=UTCDateTime)
