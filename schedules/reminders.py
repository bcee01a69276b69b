"""Event reminders: each one goes out once per occurrence and target, across restarts and
several instances.

A reminder is due from `start - offset` until the occurrence starts. A recurring event has one
reminder set per occurrence, each at its own UTC instant (occurrences keep their local time
across DST changes). Each target (the audience groups and every attendee of that occurrence,
privately) is claimed in `reminder_sent` in the same transaction that queues the message, so a
second sweep, a restarted bot or a concurrent instance never repeats it. When several offsets
are due at once (the bot was down), only the nearest one is sent. Once an occurrence of a series
has started, its invitations are edited (once, by the same kind of claim) to show the next one.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Outgoing, private_chat_id
from handlers.community import CommunityConfig
from handlers.events import community_of_event, place_text, refresh_invitations, when_text
from handlers.recurrence import occurrences_between
from handlers.runtime import Runtime, queue
from handlers.texts import text
from storage.events import (
    active_events_between,
    audience_of,
    claim_reminder,
    claimed_targets,
    people_with_accounts,
    reminder_claimed,
    reminder_offsets,
    reminders_sent_since,
    rsvps_with_status,
)
from storage.models import Event, RsvpStatus

log = logging.getLogger(__name__)

MAX_LEAD = timedelta(days=7)  # offsets longer than this are not looked for
MISSED_LOOKBACK = timedelta(hours=6)  # started occurrences checked for a reminder never sent
MISSED_TARGET = "-missed-"  # claim that marks "skipped because the occurrence had started"
# Claim that marks "the invitations moved on from this occurrence"; no reminder has this offset.
ROLLED_ON_OFFSET, ROLLED_ON_TARGET = -1, "-invitations-"

Sent = set[tuple[uuid.UUID, datetime, int]]


async def send_due_reminders(runtime: Runtime) -> int:
    """Queue every reminder due now; returns how many messages were queued."""
    now = runtime.clock.now()
    after, until = now - MISSED_LOOKBACK, now + MAX_LEAD
    queued = edits = 0
    async with runtime.sessions() as session, session.begin():
        events = await active_events_between(session, after=after, until=until)
        # One query instead of one per occurrence and pass: reminders that already went out (or
        # were noted as missed) need no further work; per-target claims still guard races.
        sent = await reminders_sent_since(session, since=after)
        for event in events:
            community = community_of_event(runtime, event)
            if community is None:
                continue
            zone = community.timezone_info
            for start in occurrences_between(event, zone, after=after, until=until):
                if event.rrule and now >= start and (event.id, start, ROLLED_ON_OFFSET) not in sent:
                    edits += await _roll_on(runtime, session, community, event, start, now)
                if not _nothing_to_do(event, start, now, sent):
                    queued += await _remind(runtime, session, community, event, start, now)
    if queued or edits:
        runtime.outbox_changed()
    return queued


def _nothing_to_do(event: Event, start: datetime, now: datetime, sent: Sent) -> bool:
    """The occurrence has no reminder due now that has not gone out already."""
    if now >= start:
        offsets = reminder_offsets(event)
        return not offsets or (event.id, start, min(offsets)) in sent
    offset = due_offset(event, start, now)
    return offset is None or (event.id, start, offset) in sent


def due_offset(event: Event, start: datetime, now: datetime) -> int | None:
    """The nearest offset whose time has come, if the occurrence has not started."""
    if now >= start:
        return None
    due = [m for m in reminder_offsets(event) if now >= start - timedelta(minutes=m)]
    return min(due) if due else None


async def _remind(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    start: datetime,
    now: datetime,
) -> int:
    if now >= start:
        await _note_missed(session, event, start, now)
        return 0
    offset = due_offset(event, start, now)
    if offset is None:
        return 0
    queued = 0
    done = await claimed_targets(
        session, event_id=event.id, occurrence_start=start, offset_minutes=offset
    )
    for chat_id, language in await _targets(session, community, event, start):
        if chat_id in done:
            continue  # sent in an earlier pass: no failed insert every minute until the start
        claimed = await claim_reminder(
            session,
            event_id=event.id,
            occurrence_start=start,
            offset_minutes=offset,
            target=chat_id,
            now=now,
        )
        if claimed:
            message = reminder_text(community, event, start, now, language)
            await queue(runtime, session, Outgoing(chat_id=chat_id, text=message))
            queued += 1
    return queued


async def _roll_on(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    start: datetime,
    now: datetime,
) -> int:
    """Once per started occurrence of a series: edit the invitations to show the next one."""
    claimed = await claim_reminder(
        session,
        event_id=event.id,
        occurrence_start=start,
        offset_minutes=ROLLED_ON_OFFSET,
        target=ROLLED_ON_TARGET,
        now=now,
    )
    return await refresh_invitations(runtime, session, community, event) if claimed else 0


async def _note_missed(session: AsyncSession, event: Event, start: datetime, now: datetime) -> None:
    """Log once when an occurrence started before its nearest reminder could go out."""
    offsets = reminder_offsets(event)
    if not offsets:
        return
    nearest = min(offsets)
    if await reminder_claimed(
        session, event_id=event.id, occurrence_start=start, offset_minutes=nearest
    ):
        return
    if await claim_reminder(
        session,
        event_id=event.id,
        occurrence_start=start,
        offset_minutes=nearest,
        target=MISSED_TARGET,
        now=now,
    ):
        log.warning("event %s started at %s before its reminder went out", event.id, start)


async def _targets(
    session: AsyncSession, community: CommunityConfig, event: Event, start: datetime
) -> list[tuple[str, str]]:
    """(chat id, language) of the audience groups and of each attendee's private chat."""
    group_language: str = community.community.language
    targets = [(chat_id, group_language) for chat_id in audience_of(event)]
    going = await rsvps_with_status(
        session, event_id=event.id, occurrence_start=start, status=RsvpStatus.GOING
    )
    people = await people_with_accounts(session, person_ids=[r.person_id for r in going])
    for person, account in people:
        chat_id = private_chat_id(account.platform, account.platform_user_id)
        targets.append((chat_id, person.language or group_language))
    return targets


def lead_text(remaining: timedelta, language: str) -> str:
    """'1 小时后', '24 小时后', '45 分钟后' from the time left."""
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    if minutes >= 60 and (minutes % 60 == 0 or minutes >= 120):
        return text("event.lead_hours", language, hours=round(minutes / 60))
    return text("event.lead_minutes", language, minutes=minutes)


def reminder_text(
    community: CommunityConfig, event: Event, start: datetime, now: datetime, language: str
) -> str:
    """The reminder of one occurrence for one target, with the time left and the place."""
    return text(
        "event.reminder",
        language,
        title=event.title,
        lead=lead_text(start - now, language),
        when=when_text(community, start),
        place=place_text(event, language),
    )
