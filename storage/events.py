"""Events: creation, RSVPs with capacity and a waitlist, posted invitations, reminder claims.

RSVP changes lock the event row first (PostgreSQL: SELECT … FOR UPDATE; SQLite serialises
writing transactions anyway), so concurrent joins never overfill an event. A recurring event is
one row; its answers and reminder claims are kept per occurrence (`occurrence_start`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.claims import insert_once
from storage.column_types import require_aware
from storage.errors import NotFound
from storage.models import (
    Event,
    EventPost,
    EventRsvp,
    EventStatus,
    Person,
    PlatformAccount,
    ReminderSent,
    RsvpStatus,
)

DEFAULT_OFFSETS = (1440, 60)


@dataclass(frozen=True, slots=True)
class RsvpCounts:
    """How many are going and waiting for one occurrence."""

    going: int
    waitlist: int


@dataclass(frozen=True, slots=True)
class JoinResult:
    """Where a join put the person; `rank` is their place on the waitlist (0 when going)."""

    status: RsvpStatus
    rank: int
    changed: bool


@dataclass(frozen=True, slots=True)
class CancelResult:
    """What a cancel changed: the person's previous answer and whoever was promoted."""

    previous: RsvpStatus | None
    promoted: EventRsvp | None


async def create_event(
    session: AsyncSession,
    *,
    community_id: str,
    title: str,
    starts_at: datetime,
    now: datetime,
    place: str | None = None,
    description: str = "",
    ends_at: datetime | None = None,
    capacity: int | None = None,
    audience_chat_ids: Sequence[str] = (),
    reminder_offsets_minutes: Sequence[int] = DEFAULT_OFFSETS,
    created_by: uuid.UUID | None = None,
    rrule: str | None = None,
    last_starts_at: datetime | None = None,
) -> Event:
    """Add an active event (a series: its rrule and final start, None if endless)."""
    created_at = require_aware(now, name="now")
    first = require_aware(starts_at, name="starts_at")
    if rrule is None:
        last_starts_at = first
    event = Event(
        community_id=community_id,
        title=title,
        description=description,
        place=place,
        starts_at=first,
        ends_at=require_aware(ends_at, name="ends_at") if ends_at else None,
        rrule=rrule,
        last_starts_at=require_aware(last_starts_at, name="last_starts_at")
        if last_starts_at
        else None,
        capacity=capacity,
        audience_chat_ids=json.dumps(list(audience_chat_ids)),
        reminder_offsets_minutes=json.dumps(list(reminder_offsets_minutes)),
        created_by=created_by,
        created_at=created_at,
        updated_at=created_at,
    )
    session.add(event)
    await session.flush()
    return event


def audience_of(event: Event) -> list[str]:
    """The chat ids an event is announced and reminded in."""
    return [str(chat_id) for chat_id in json.loads(event.audience_chat_ids)]


def reminder_offsets(event: Event) -> list[int]:
    """Minutes before the start at which to remind, largest first."""
    return sorted((int(m) for m in json.loads(event.reminder_offsets_minutes)), reverse=True)


async def get_event(session: AsyncSession, *, event_id: uuid.UUID) -> Event | None:
    """An event by id, or None."""
    return await session.get(Event, event_id)


async def lock_event(session: AsyncSession, *, event_id: uuid.UUID) -> Event:
    """The event, locked for this transaction; raises NotFound."""
    statement = select(Event).where(Event.id == event_id).with_for_update()
    event = (await session.exec(statement)).first()
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    return event


async def save_event(session: AsyncSession, *, event: Event, now: datetime) -> Event:
    """Store changes made to an event, recording when."""
    event.updated_at = require_aware(now, name="now")
    session.add(event)
    await session.flush()
    return event


def _running_after(moment: datetime) -> ColumnElement[bool]:
    """The event has an occurrence starting after `moment` (its series has not ended)."""
    return or_(col(Event.last_starts_at).is_(None), col(Event.last_starts_at) > moment)


async def upcoming_events(
    session: AsyncSession, *, community_id: str, now: datetime
) -> list[Event]:
    """A community's active events with an occurrence still to come, by first start."""
    statement = (
        select(Event)
        .where(
            Event.community_id == community_id,
            Event.status == EventStatus.ACTIVE,
            _running_after(require_aware(now, name="now")),
        )
        .order_by(col(Event.starts_at))
    )
    return list(await session.exec(statement))


async def active_events_between(
    session: AsyncSession, *, after: datetime, until: datetime
) -> list[Event]:
    """Active events (series still running included) that may start in (after, until]."""
    # One-off events in the window, series begun by `until` and not ended by `after`; the
    # caller expands a series into its occurrences.
    statement = (
        select(Event)
        .where(
            Event.status == EventStatus.ACTIVE,
            Event.starts_at <= require_aware(until, name="until"),
            _running_after(require_aware(after, name="after")),
        )
        .order_by(col(Event.starts_at))
    )
    return list(await session.exec(statement))


async def _rsvp_of(
    session: AsyncSession, event_id: uuid.UUID, occurrence_start: datetime, person_id: uuid.UUID
) -> EventRsvp | None:
    statement = select(EventRsvp).where(
        EventRsvp.event_id == event_id,
        EventRsvp.occurrence_start == occurrence_start,
        EventRsvp.person_id == person_id,
    )
    return (await session.exec(statement)).first()


def _of_occurrence(
    event_id: uuid.UUID, occurrence_start: datetime, status: RsvpStatus
) -> tuple[ColumnElement[bool], ...]:
    return (
        col(EventRsvp.event_id) == event_id,
        col(EventRsvp.occurrence_start) == occurrence_start,
        col(EventRsvp.status) == status,
    )


async def rsvp_counts(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_start: datetime
) -> RsvpCounts:
    """Going and waitlisted counts of one occurrence."""
    start = require_aware(occurrence_start, name="occurrence_start")
    statement = (
        select(EventRsvp.status, func.count())
        .where(EventRsvp.event_id == event_id, EventRsvp.occurrence_start == start)
        .group_by(col(EventRsvp.status))
    )
    counts = {str(status): int(count) for status, count in (await session.exec(statement)).all()}
    return RsvpCounts(
        going=counts.get(RsvpStatus.GOING.value, 0),
        waitlist=counts.get(RsvpStatus.WAITLIST.value, 0),
    )


async def rsvps_with_status(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_start: datetime, status: RsvpStatus
) -> list[EventRsvp]:
    """One occurrence's answers with a status, in waitlist order then join order."""
    start = require_aware(occurrence_start, name="occurrence_start")
    statement = (
        select(EventRsvp)
        .where(*_of_occurrence(event_id, start, status))
        .order_by(col(EventRsvp.position), col(EventRsvp.id))
    )
    return list(await session.exec(statement))


async def _waitlist_rank(session: AsyncSession, rsvp: EventRsvp) -> int:
    statement = select(func.count()).where(
        *_of_occurrence(rsvp.event_id, rsvp.occurrence_start, RsvpStatus.WAITLIST),
        col(EventRsvp.position) <= rsvp.position,
    )
    return int((await session.exec(statement)).one())


async def _last_position(session: AsyncSession, event_id: uuid.UUID, start: datetime) -> int:
    statement = select(func.max(EventRsvp.position)).where(
        *_of_occurrence(event_id, start, RsvpStatus.WAITLIST)
    )
    return int((await session.exec(statement)).one() or 0)


async def rsvp_join(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    occurrence_start: datetime,
    person_id: uuid.UUID,
    now: datetime,
) -> JoinResult:
    """Going if there is room, else on the waitlist; joining twice changes nothing."""
    event = await lock_event(session, event_id=event_id)
    start = require_aware(occurrence_start, name="occurrence_start")
    rsvp = await _rsvp_of(session, event_id, start, person_id)
    if rsvp is not None and rsvp.status is not RsvpStatus.DECLINED:
        rank = await _waitlist_rank(session, rsvp) if rsvp.status is RsvpStatus.WAITLIST else 0
        return JoinResult(status=rsvp.status, rank=rank, changed=False)
    counts = await rsvp_counts(session, event_id=event_id, occurrence_start=start)
    full = event.capacity is not None and counts.going >= event.capacity
    status = RsvpStatus.WAITLIST if full else RsvpStatus.GOING
    position = await _last_position(session, event_id, start) + 1 if full else 0
    rsvp = await _save_rsvp(session, rsvp, event_id, start, person_id, status, position, now)
    rank = await _waitlist_rank(session, rsvp) if full else 0
    return JoinResult(status=status, rank=rank, changed=True)


async def _save_rsvp(
    session: AsyncSession,
    rsvp: EventRsvp | None,
    event_id: uuid.UUID,
    start: datetime,
    person_id: uuid.UUID,
    status: RsvpStatus,
    position: int,
    now: datetime,
) -> EventRsvp:
    moment = require_aware(now, name="now")
    if rsvp is None:
        rsvp = EventRsvp(
            event_id=event_id,
            occurrence_start=start,
            person_id=person_id,
            status=status,
            created_at=moment,
            updated_at=moment,
        )
    rsvp.status, rsvp.position, rsvp.updated_at = status, position, moment
    session.add(rsvp)
    await session.flush()
    return rsvp


async def rsvp_cancel(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    occurrence_start: datetime,
    person_id: uuid.UUID,
    now: datetime,
) -> CancelResult:
    """Record "not coming"; a freed place goes to the first on the waitlist, returned."""
    event = await lock_event(session, event_id=event_id)
    start = require_aware(occurrence_start, name="occurrence_start")
    rsvp = await _rsvp_of(session, event_id, start, person_id)
    previous = rsvp.status if rsvp else None
    await _save_rsvp(session, rsvp, event_id, start, person_id, RsvpStatus.DECLINED, 0, now)
    promoted = None
    if previous is RsvpStatus.GOING:
        promoted = await _promote_first(session, event, start, now)
    return CancelResult(previous=previous, promoted=promoted)


async def _promote_first(
    session: AsyncSession, event: Event, start: datetime, now: datetime
) -> EventRsvp | None:
    counts = await rsvp_counts(session, event_id=event.id, occurrence_start=start)
    if event.capacity is not None and counts.going >= event.capacity:
        return None
    waiting = await rsvps_with_status(
        session, event_id=event.id, occurrence_start=start, status=RsvpStatus.WAITLIST
    )
    if not waiting:
        return None
    first = waiting[0]
    return await _save_rsvp(
        session, first, event.id, start, first.person_id, RsvpStatus.GOING, 0, now
    )


async def promote_waiting(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_start: datetime, now: datetime
) -> list[EventRsvp]:
    """Move the first on the waitlist to going while there is room; returns who moved."""
    event = await lock_event(session, event_id=event_id)
    start = require_aware(occurrence_start, name="occurrence_start")
    promoted = []
    while (moved := await _promote_first(session, event, start, now)) is not None:
        promoted.append(moved)
    return promoted


async def answers_after(
    session: AsyncSession, *, event_id: uuid.UUID, after: datetime
) -> list[EventRsvp]:
    """Going and waitlisted answers for occurrences starting after `after`, by occurrence."""
    statement = (
        select(EventRsvp)
        .where(
            EventRsvp.event_id == event_id,
            col(EventRsvp.occurrence_start) > require_aware(after, name="after"),
            col(EventRsvp.status).in_([RsvpStatus.GOING, RsvpStatus.WAITLIST]),
        )
        .order_by(col(EventRsvp.occurrence_start), col(EventRsvp.position), col(EventRsvp.id))
    )
    return list(await session.exec(statement))


async def move_answers(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    moves: Mapping[datetime, datetime],
    now: datetime,
) -> int:
    """Carry each occurrence's answers to its new start; returns how many moved."""
    # Someone who already answered for the new start keeps that answer.
    await lock_event(session, event_id=event_id)
    old_starts = [require_aware(old, name="moves") for old in moves]
    statement = select(EventRsvp).where(
        EventRsvp.event_id == event_id, col(EventRsvp.occurrence_start).in_(old_starts)
    )
    rows = list(await session.exec(statement))
    # Clear the old rows first so a chain of moves (A→B, B→C) never collides with itself.
    for row in rows:
        await session.delete(row)
    await session.flush()
    targets = [require_aware(new, name="moves") for new in moves.values()]
    kept = select(EventRsvp.occurrence_start, EventRsvp.person_id).where(
        EventRsvp.event_id == event_id, col(EventRsvp.occurrence_start).in_(targets)
    )
    taken = set((await session.exec(kept)).all())
    moment = require_aware(now, name="now")
    moved = 0
    for row in rows:
        new_start = require_aware(moves[row.occurrence_start], name="moves")
        if (new_start, row.person_id) in taken:
            continue
        session.add(
            EventRsvp(
                event_id=event_id,
                occurrence_start=new_start,
                person_id=row.person_id,
                status=row.status,
                position=row.position,
                created_at=row.created_at,
                updated_at=moment,
            )
        )
        taken.add((new_start, row.person_id))
        moved += 1
    await session.flush()
    return moved


async def add_event_post(
    session: AsyncSession, *, event_id: uuid.UUID, chat_id: str, outbox_id: int
) -> EventPost:
    """Remember the outbox row that carries an event's invitation to a chat."""
    post = EventPost(event_id=event_id, chat_id=chat_id, outbox_id=outbox_id)
    session.add(post)
    await session.flush()
    return post


async def event_posts(session: AsyncSession, *, event_id: uuid.UUID) -> list[EventPost]:
    """An event's posted invitations, in the order they were queued."""
    statement = select(EventPost).where(EventPost.event_id == event_id).order_by(col(EventPost.id))
    return list(await session.exec(statement))


async def claim_reminder(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    occurrence_start: datetime,
    offset_minutes: int,
    target: str,
    now: datetime,
) -> bool:
    """Claim one reminder for one target: True the first time (safe under races), else False."""
    claim = ReminderSent(
        event_id=event_id,
        occurrence_start=require_aware(occurrence_start, name="occurrence_start"),
        offset_minutes=offset_minutes,
        target=target,
        sent_at=require_aware(now, name="now"),
    )
    return await insert_once(session, claim)


async def reminder_claimed(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_start: datetime, offset_minutes: int
) -> bool:
    """Whether any target was claimed for this reminder."""
    return bool(
        await claimed_targets(
            session,
            event_id=event_id,
            occurrence_start=occurrence_start,
            offset_minutes=offset_minutes,
        )
    )


async def claimed_targets(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_start: datetime, offset_minutes: int
) -> set[str]:
    """The targets already claimed for this reminder (so a pass tries only the others)."""
    statement = select(ReminderSent.target).where(
        ReminderSent.event_id == event_id,
        ReminderSent.occurrence_start == require_aware(occurrence_start, name="occurrence_start"),
        ReminderSent.offset_minutes == offset_minutes,
    )
    return set((await session.exec(statement)).all())


async def reminders_sent_since(
    session: AsyncSession, *, since: datetime
) -> set[tuple[uuid.UUID, datetime, int]]:
    """(event, occurrence start, offset) of each reminder claimed for occurrences from `since`."""
    statement = (
        select(ReminderSent.event_id, ReminderSent.occurrence_start, ReminderSent.offset_minutes)
        .where(ReminderSent.occurrence_start >= require_aware(since, name="since"))
        .distinct()
    )
    return {
        (event_id, start, offset)
        for event_id, start, offset in (await session.exec(statement)).all()
    }


async def people_with_accounts(
    session: AsyncSession, *, person_ids: Sequence[uuid.UUID]
) -> list[tuple[Person, PlatformAccount]]:
    """Each person with one platform account (the first by platform name), in the given order."""
    statement = (
        select(Person, PlatformAccount)
        .join(PlatformAccount, col(PlatformAccount.person_id) == col(Person.id))
        .where(col(Person.id).in_(person_ids))
        .order_by(col(PlatformAccount.platform), col(PlatformAccount.id))
    )
    first: dict[uuid.UUID, tuple[Person, PlatformAccount]] = {}
    for person, account in (await session.exec(statement)).all():
        first.setdefault(person.id, (person, account))
    return [first[person_id] for person_id in person_ids if person_id in first]
