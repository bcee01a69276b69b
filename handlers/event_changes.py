"""Staff change or cancel an event: `/event_edit N | field | value`, `/event_cancel N`.

N is the event's number in /events. Everyone going or waiting for an occurrence still to come
is told privately (else by name in the event's group) and the posted invitations are edited.
Answers and reminder claims are kept per occurrence start, so a new time is a new occurrence:
the answers move with it, and reminders sent for the old time do not hold back the new ones.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.community import CommunityConfig
from handlers.event_form import EventFormError, parse_capacity, parse_local_time
from handlers.events import (
    may_organise,
    place_text,
    refresh_invitations,
    tell_people,
    tell_promoted,
    upcoming_listing,
    when_text,
)
from handlers.messages import Incoming
from handlers.recurrence import (
    RuleError,
    exists_locally,
    first_occurrences,
    moved_schedule,
    next_occurrence,
    occurrences_between,
    repeat_text,
    wall_time,
)
from handlers.runtime import Runtime
from handlers.texts import text
from storage.events import answers_after, lock_event, move_answers, promote_waiting, save_event
from storage.models import Event, EventStatus, RsvpStatus

FIELDS = {
    **dict.fromkeys(("title", "name", "标题", "名称"), "title"),
    **dict.fromkeys(("time", "when", "时间"), "time"),
    **dict.fromkeys(("place", "where", "地点"), "place"),
    **dict.fromkeys(("capacity", "places", "名额", "人数"), "capacity"),
}
UNLIMITED = frozenset({"不限", "无限", "无", "unlimited", "none", "no limit"})
TEXT_LIMIT = 255  # the title and place columns
CLOCK_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")

Describe = Callable[[str], str]  # the change in a language, e.g. "地点改为 扬帆公园"


async def cancel_event_command(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    """/event_cancel N: cancel the event, tell its attendees, mark the invitations cancelled."""
    if not may_organise(community, message):
        return text("event.manage_staff_only", language)
    reference = argument.strip().lstrip("#")
    if not reference:
        return text("event.cancel_usage", language)
    event = await listed_event(runtime, session, community, reference)
    if event is None:
        return text("event.not_listed", language, reference=reference)
    now = runtime.clock.now()
    occurrence = next_occurrence(event, community.timezone_info, after=now) or event.starts_at
    event.status = EventStatus.CANCELLED
    await save_event(session, event=event, now=now)
    attendees = [
        answer.person_id for answer in await answers_after(session, event_id=event.id, after=now)
    ]

    def notice(notice_language: str) -> str:
        when = series_when(community, event, occurrence, notice_language)
        return text("event.cancelled_notice", notice_language, title=event.title, when=when)

    told = await tell_people(runtime, session, community, event, attendees, notice)
    await refresh_invitations(runtime, session, community, event)
    return text("event.cancel_done", language, title=event.title, people=told)


async def edit_event_command(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    """/event_edit N | field | value: change title, time, place or capacity."""
    if not may_organise(community, message):
        return text("event.manage_staff_only", language)
    parts = [part.strip() for part in re.split(r"[|｜]", argument)]
    if len(parts) != 3 or not all(parts) or parts[1].lower() not in FIELDS:
        return text("event.edit_usage", language)
    reference, field, value = parts[0].lstrip("#"), FIELDS[parts[1].lower()], parts[2]
    event = await listed_event(runtime, session, community, reference)
    if event is None:
        return text("event.not_listed", language, reference=reference)
    try:
        describe, told = await EDITS[field](runtime, session, community, event, value)
    except EventFormError as problem:
        return text(problem.key, language, **problem.values)
    await refresh_invitations(runtime, session, community, event)
    return text(
        "event.edit_done", language, title=event.title, change=describe(language), people=told
    )


async def listed_event(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, reference: str
) -> Event | None:
    """The event numbered `reference` in /events, locked for this transaction."""
    if not reference.isdigit():
        return None
    listed = await upcoming_listing(runtime, session, community)
    number = int(reference)
    if not 1 <= number <= len(listed):
        return None
    return await lock_event(session, event_id=listed[number - 1][0].id)


def series_when(
    community: CommunityConfig, event: Event, occurrence: datetime, language: str
) -> str:
    """'07-14 19:30', with ' · 🔁 每周五 19:30' for a series: one line for notices."""
    when = when_text(community, occurrence)
    if event.rrule is None:
        return when
    repeat = repeat_text(event, community.timezone_info, language)
    return when + text("event.list_repeat", language, repeat=repeat)


async def _tell_changed(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    describe: Describe,
) -> int:
    """Tell everyone going or waiting for a coming occurrence what changed and where it is now."""
    now = runtime.clock.now()
    occurrence = next_occurrence(event, community.timezone_info, after=now) or event.starts_at
    attendees = [
        answer.person_id for answer in await answers_after(session, event_id=event.id, after=now)
    ]

    def notice(language: str) -> str:
        return text(
            "event.changed_notice",
            language,
            change=describe(language),
            title=event.title,
            when=series_when(community, event, occurrence, language),
            place=place_text(event, language),
        )

    return await tell_people(runtime, session, community, event, attendees, notice)


def _checked_text(value: str) -> str:
    if not value.strip() or len(value.strip()) > TEXT_LIMIT:
        raise EventFormError("event.bad_value", limit=TEXT_LIMIT)
    return value.strip()


async def _retitle(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, event: Event, value: str
) -> tuple[Describe, int]:
    event.title = _checked_text(value)
    await save_event(session, event=event, now=runtime.clock.now())

    def describe(language: str) -> str:
        return text("event.change_title", language, new=event.title)

    return describe, await _tell_changed(runtime, session, community, event, describe)


async def _move_place(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, event: Event, value: str
) -> tuple[Describe, int]:
    event.place = _checked_text(value)
    await save_event(session, event=event, now=runtime.clock.now())

    def describe(language: str) -> str:
        return text("event.change_place", language, new=place_text(event, language))

    return describe, await _tell_changed(runtime, session, community, event, describe)


async def _resize(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, event: Event, value: str
) -> tuple[Describe, int]:
    """A new capacity; more room promotes from each waitlist (fewer never removes anyone)."""
    now = runtime.clock.now()
    event.capacity = None if value.strip().lower() in UNLIMITED else parse_capacity(value)
    await save_event(session, event=event, now=now)
    waiting = {
        answer.occurrence_start
        for answer in await answers_after(session, event_id=event.id, after=now)
        if answer.status is RsvpStatus.WAITLIST
    }
    promoted = 0
    for start in sorted(waiting):
        moved = await promote_waiting(session, event_id=event.id, occurrence_start=start, now=now)
        await tell_promoted(runtime, session, community, event, start, moved, None)
        promoted += len(moved)

    def describe(language: str) -> str:
        new = event.capacity or text("event.capacity_unlimited", language)
        return text("event.change_capacity", language, new=new)

    return describe, promoted


async def _move_time(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, event: Event, value: str
) -> tuple[Describe, int]:
    """A new start for the next occurrence ('20:00' keeps its date); a series moves with it."""
    zone, now = community.timezone_info, runtime.clock.now()
    current = next_occurrence(event, zone, after=now) or event.starts_at
    new_local = _new_local_start(value, wall_time(current, zone))
    if not exists_locally(new_local, zone):
        raise EventFormError("event.no_such_time", value=f"{new_local:%Y-%m-%d %H:%M}")
    answered = sorted(
        {a.occurrence_start for a in await answers_after(session, event_id=event.id, after=now)}
    )
    old_starts = occurrences_between(event, zone, after=now, until=answered[-1]) if answered else []
    try:
        schedule = moved_schedule(event, zone, new_local, now)
    except RuleError as error:
        raise EventFormError("event.bad_rrule", value=event.rrule or "") from error
    if schedule.starts_at <= now:
        raise EventFormError("event.in_past", when=when_text(community, schedule.starts_at))
    length = event.ends_at - event.starts_at if event.ends_at else None
    event.starts_at, event.rrule = schedule.starts_at, schedule.rrule
    event.last_starts_at = schedule.last_starts_at
    event.ends_at = schedule.starts_at + length if length is not None else None
    await save_event(session, event=event, now=now)
    new_starts = first_occurrences(event, zone, after=now, count=len(old_starts))
    moves = {old: new for old, new in zip(old_starts, new_starts, strict=False) if old != new}
    await move_answers(session, event_id=event.id, moves=moves, now=now)

    def describe(language: str) -> str:
        return text(
            "event.change_time",
            language,
            new=series_when(community, event, event.starts_at, language),
        )

    return describe, await _tell_changed(runtime, session, community, event, describe)


def _new_local_start(value: str, current: datetime) -> datetime:
    """'2023-07-26 19:30', or '20:00' on the current occurrence's date."""
    clock = CLOCK_TIME.match(value.strip())
    if clock is None:
        return parse_local_time(value)
    hour, minute = int(clock[1]), int(clock[2])
    if hour > 23 or minute > 59:
        raise EventFormError("event.bad_time", value=value)
    return datetime.combine(current.date(), time(hour, minute))


Edit = Callable[
    [Runtime, AsyncSession, CommunityConfig, Event, str], Awaitable[tuple[Describe, int]]
]
EDITS: dict[str, Edit] = {
    "title": _retitle,
    "place": _move_place,
    "capacity": _resize,
    "time": _move_time,
}
