"""Event storage: capacity and waitlist, promotion on cancel, reminder claims, row locking."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import AsyncSession, create_session_factory
from storage.events import (
    claim_reminder,
    create_event,
    rsvp_cancel,
    rsvp_counts,
    rsvp_join,
    upcoming_events,
)
from storage.models import Event, Person, PersonRole, RsvpStatus
from tests.storage.support import backend_pid, wait_until_blocked

NOW = datetime(2023, 7, 10, 12, 0, tzinfo=UTC)
START = NOW + timedelta(days=1)


async def person(session: AsyncSession, name: str) -> uuid.UUID:
    someone = Person(community_id="yangfan", display_name=name, role=PersonRole.RESIDENT)
    session.add(someone)
    await session.flush()
    return someone.id


async def event_for(session: AsyncSession, capacity: int | None) -> Event:
    return await create_event(
        session,
        community_id="yangfan",
        title="电影之夜",
        starts_at=START,
        now=NOW,
        capacity=capacity,
    )


async def test_a_full_event_waitlists_and_a_cancel_promotes_the_first_waiting(
    session: AsyncSession,
) -> None:
    event = await event_for(session, capacity=1)
    a, b, c = [await person(session, name) for name in "abc"]
    at = {"event_id": event.id, "occurrence_start": START, "now": NOW}

    assert (await rsvp_join(session, person_id=a, **at)).status is RsvpStatus.GOING
    second = await rsvp_join(session, person_id=b, **at)
    third = await rsvp_join(session, person_id=c, **at)
    assert (second.status, second.rank, third.rank) == (RsvpStatus.WAITLIST, 1, 2)

    cancelled = await rsvp_cancel(session, person_id=a, **at)
    assert cancelled.previous is RsvpStatus.GOING
    assert cancelled.promoted is not None and cancelled.promoted.person_id == b
    assert (await rsvp_join(session, person_id=c, **at)).rank == 1
    counts = await rsvp_counts(session, event_id=event.id, occurrence_start=START)
    assert (counts.going, counts.waitlist) == (1, 1)
    assert [e.id for e in await upcoming_events(session, community_id="yangfan", now=NOW)] == [
        event.id
    ]
    assert await upcoming_events(session, community_id="yangfan", now=START) == []


async def test_a_reminder_is_claimed_once_per_target(session: AsyncSession) -> None:
    event = await event_for(session, capacity=None)
    claim = {"event_id": event.id, "occurrence_start": START, "offset_minutes": 60, "now": NOW}

    assert await claim_reminder(session, target="tg:1", **claim)
    assert not await claim_reminder(session, target="tg:1", **claim)
    assert await claim_reminder(session, target="tg:2", **claim)


async def test_concurrent_joins_on_postgresql_never_overfill(
    postgres_engine: AsyncEngine,
) -> None:
    factory = create_session_factory(postgres_engine)
    async with factory() as setup:
        event = await event_for(setup, capacity=1)
        a, b = await person(setup, "a"), await person(setup, "b")
        await setup.commit()
    at = {"event_id": event.id, "occurrence_start": START, "now": NOW}
    async with factory() as first, factory() as second:
        first_join = await rsvp_join(first, person_id=a, **at)
        pid = await backend_pid(second)
        second_join = asyncio.create_task(rsvp_join(second, person_id=b, **at))
        await wait_until_blocked(postgres_engine, pid)  # waits on the event row lock
        await first.commit()
        assert (await second_join).status is RsvpStatus.WAITLIST
        await second.commit()
    assert first_join.status is RsvpStatus.GOING
