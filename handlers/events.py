"""Community events: /event to announce, /events to list, join / can't-come buttons.

Staff announce an event in one line, `/event 电影之夜 | 2023-07-25 19:30 | 扬帆公园 | 名额 50`.
The invitation goes to every residents' group with two buttons (data "e:<event hex>:join" and
"e:<event hex>:no"); each answer edits the posted invitations to show the live count.

A recurring event (an RRULE) is one invitation: answers apply to its next occurrence, and the
post shows that occurrence, its count and how the event repeats. A new attendee is sent a
private note with an "add to calendar" button ("e:<event hex>:ics") that sends the .ics file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import (
    Button,
    ButtonPress,
    Document,
    Mention,
    Outgoing,
    is_group_chat,
    private_chat_id,
)
from handlers.community import CommunityConfig, Role
from handlers.event_calendar import MIME_TYPE as CALENDAR_MIME_TYPE
from handlers.event_calendar import calendar_file_name, event_calendar
from handlers.event_form import EventDraft, EventFormError, choose_audience, parse_event_line
from handlers.messages import Incoming
from handlers.recurrence import (
    RuleError,
    exists_locally,
    next_occurrence,
    plan_schedule,
    repeat_text,
)
from handlers.runtime import Runtime, queue, role_in
from handlers.texts import normalise_language, text
from storage.events import (
    JoinResult,
    RsvpCounts,
    add_event_post,
    audience_of,
    create_event,
    event_posts,
    get_event,
    people_with_accounts,
    rsvp_cancel,
    rsvp_counts,
    rsvp_join,
    upcoming_events,
)
from storage.models import Event, EventRsvp, EventStatus, Person, RsvpStatus
from storage.outbox import enqueue_outgoing, get_outbox_message
from storage.people import find_person_by_account, upsert_person

ORGANISERS = frozenset({Role.STAFF, Role.SECRETARY})
BUTTON_PREFIX = "e"
LIST_LIMIT = 20


def when_text(community: CommunityConfig, moment: datetime) -> str:
    """'07-11 19:30' in the community's time zone."""
    return moment.astimezone(community.timezone_info).strftime("%m-%d %H:%M")


def place_text(event: Event, language: str) -> str:
    """The event's place, or 'to be announced'."""
    return event.place or text("event.no_place", language)


def count_text(event: Event, counts: RsvpCounts, language: str) -> str:
    """'已报名 2/50，候补 1', or just '已报名 2' without a capacity."""
    if event.capacity is None:
        return text("event.count_open", language, going=counts.going)
    return text(
        "event.count_capacity",
        language,
        going=counts.going,
        capacity=event.capacity,
        waitlist=counts.waitlist,
    )


def schedule_text(
    community: CommunityConfig, event: Event, occurrence: datetime, language: str
) -> str:
    """'07-14 19:30', and for a series also how it repeats ('每周五 19:30')."""
    when = when_text(community, occurrence)
    if event.rrule is None:
        return when
    repeat = repeat_text(event, community.timezone_info, language)
    return text("event.when_series", language, when=when, repeat=repeat)


def invitation(
    community: CommunityConfig,
    event: Event,
    counts: RsvpCounts,
    chat_id: str,
    occurrence: datetime,
) -> Outgoing:
    """The post for a chat: one occurrence, its live count, buttons (none once cancelled)."""
    language = community.community.language
    when = schedule_text(community, event, occurrence, language)
    if event.status is EventStatus.CANCELLED:
        body = text(
            "event.invitation_cancelled",
            language,
            title=event.title,
            when=when,
            place=place_text(event, language),
        )
        return Outgoing(chat_id=chat_id, text=body)
    body = text(
        "event.invitation",
        language,
        title=event.title,
        when=when,
        place=place_text(event, language),
        count=count_text(event, counts, language),
    )
    key = f"{BUTTON_PREFIX}:{event.id.hex}"
    buttons = (
        Button(text("button.event_join", language), f"{key}:join"),
        Button(text("button.event_no", language), f"{key}:no"),
    )
    return Outgoing(chat_id=chat_id, text=body, buttons=(buttons,))


def may_organise(community: CommunityConfig, message: Incoming) -> bool:
    """Only community staff and the secretary announce events."""
    return role_in(community, message.platform.value, message.sender.user_id) in ORGANISERS


async def announce_event(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    """/event title | time | place | capacity: create the event and post its invitation.

    With no argument, the guided conversation asks for each field in turn.
    """
    if not may_organise(community, message):
        return text("event.staff_only", language)
    if not argument:
        from handlers.event_wizard import start_event_wizard  # it publishes through this module

        return await start_event_wizard(runtime, session, community, message)
    try:
        draft = parse_event_line(argument)
    except EventFormError as problem:
        return text(problem.key, language, **problem.values)
    organiser = await find_person_by_account(
        session, platform=message.platform.value, platform_user_id=message.sender.user_id
    )
    try:
        event = await publish_event(
            runtime, session, community, draft, organiser_id=organiser.id if organiser else None
        )
    except EventFormError as problem:
        return text(problem.key, language, **problem.values)
    return text(
        "event.created",
        language,
        title=event.title,
        when=when_text(community, event.starts_at),
        chats=len(audience_of(event)),
    )


async def publish_event(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    draft: EventDraft,
    *,
    organiser_id: uuid.UUID | None,
) -> Event:
    """Store a drafted event and queue its invitation to each audience chat.

    A series (`draft.rrule`) starts at the rule's first occurrence from `draft.starts_local`.
    Raises EventFormError: "event.in_past" when nothing of it is still to come,
    "event.bad_rrule" for an unusable rule, "event.no_such_time" for a local time the clocks
    skip.
    """
    zone = community.timezone_info
    if not exists_locally(draft.starts_local, zone):
        raise EventFormError("event.no_such_time", value=f"{draft.starts_local:%Y-%m-%d %H:%M}")
    try:
        schedule = plan_schedule(draft.starts_local, draft.rrule, zone)
    except RuleError as error:
        raise EventFormError("event.bad_rrule", value=draft.rrule or "") from error
    now = runtime.clock.now()
    if next_occurrence(schedule, zone, after=now) is None:
        raise EventFormError("event.in_past", when=when_text(community, schedule.starts_at))
    length = draft.ends_local - draft.starts_local if draft.ends_local else None
    event = await create_event(
        session,
        community_id=community.community.id,
        title=draft.title,
        description=draft.description,
        starts_at=schedule.starts_at,
        ends_at=schedule.starts_at + length if length is not None else None,
        rrule=schedule.rrule,
        last_starts_at=schedule.last_starts_at,
        place=draft.place,
        capacity=draft.capacity,
        audience_chat_ids=audience_chats(runtime, community, draft),
        reminder_offsets_minutes=draft.reminder_offsets_minutes,
        created_by=organiser_id,
        now=runtime.clock.now(),
    )
    await _post_invitations(runtime, session, community, event)
    return event


def audience_chats(runtime: Runtime, community: CommunityConfig, draft: EventDraft) -> list[str]:
    """The residents' groups this bot can post to for the draft's audience (groups, grids,
    buildings); raises EventFormError when a wanted grid or building has no group."""
    return choose_audience(community, draft, runtime.serves)


async def _post_invitations(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, event: Event
) -> None:
    """Queue the invitation to each audience chat and remember its outbox row."""
    occurrence = shown_occurrence(community, event, runtime.clock.now())
    counts = await rsvp_counts(session, event_id=event.id, occurrence_start=occurrence)
    for chat_id in audience_of(event):
        post = invitation(community, event, counts, chat_id, occurrence)
        row = await enqueue_outgoing(
            session, chat_id=chat_id, payload=post.to_json(), now=runtime.clock.now()
        )
        assert row.id is not None
        await add_event_post(session, event_id=event.id, chat_id=chat_id, outbox_id=row.id)


async def upcoming_listing(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig
) -> list[tuple[Event, datetime]]:
    """Each coming event with its next occurrence, soonest first: what /events numbers."""
    now = runtime.clock.now()
    events = await upcoming_events(session, community_id=community.community.id, now=now)
    listed = []
    for event in events:
        occurrence = next_occurrence(event, community.timezone_info, after=now)
        if occurrence is not None:
            listed.append((event, occurrence))
    listed.sort(key=lambda pair: pair[1])
    return listed[:LIST_LIMIT]


async def list_events(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    """/events: the next occurrence of each coming event, numbered, with place and count."""
    listed = await upcoming_listing(runtime, session, community)
    if not listed:
        return text("event.list_empty", language)
    lines = [text("event.list_header", language)]
    for number, (event, occurrence) in enumerate(listed, start=1):
        counts = await rsvp_counts(session, event_id=event.id, occurrence_start=occurrence)
        repeat = repeat_text(event, community.timezone_info, language) if event.rrule else ""
        lines.append(
            text(
                "event.list_line",
                language,
                number=number,
                when=when_text(community, occurrence),
                title=event.title,
                repeat=text("event.list_repeat", language, repeat=repeat) if repeat else "",
                place=place_text(event, language),
                count=count_text(event, counts, language),
            )
        )
    return "\n".join(lines)


async def press_event_button(runtime: Runtime, press: ButtonPress, key: str, action: str) -> str:
    """Join, decline or get the calendar file of an event from its buttons; returns the toast."""
    try:
        event_id = uuid.UUID(hex=key)
    except ValueError:
        return text("press.unknown", press.sender.language)
    async with runtime.sessions() as session, session.begin():
        toast = await _press(runtime, session, press, event_id, action)
    runtime.outbox_changed()
    return toast


def community_of_event(runtime: Runtime, event: Event | None) -> CommunityConfig | None:
    """The configured community an event belongs to."""
    return next(
        (c for c in runtime.communities if event and c.community.id == event.community_id), None
    )


async def _press(
    runtime: Runtime, session: AsyncSession, press: ButtonPress, event_id: uuid.UUID, action: str
) -> str:
    language = press.sender.language
    event = await get_event(session, event_id=event_id)
    community = community_of_event(runtime, event)
    if event is None or community is None or event.status is not EventStatus.ACTIVE:
        return text("event.gone", language)
    if action == "ics":
        return await _send_calendar(runtime, session, community, event, press)
    if action not in {"join", "no"}:
        return text("press.unknown", language)
    occurrence = next_occurrence(event, community.timezone_info, after=runtime.clock.now())
    if occurrence is None:
        return text("event.started", language, title=event.title)
    person = await _presser(session, community, press)
    if action == "join":
        changed, toast = await _join(runtime, session, community, event, occurrence, person, press)
    else:
        cancelled = await rsvp_cancel(
            session,
            event_id=event.id,
            occurrence_start=occurrence,
            person_id=person.id,
            now=runtime.clock.now(),
        )
        promoted = [cancelled.promoted] if cancelled.promoted else []
        group = press.chat_id if is_group_chat(press.chat_id) else None
        await tell_promoted(runtime, session, community, event, occurrence, promoted, group)
        changed = cancelled.previous in {RsvpStatus.GOING, RsvpStatus.WAITLIST}
        toast = text("event.declined", language, title=event.title)
    if changed:
        await refresh_invitations(runtime, session, community, event)
    return toast


async def _join(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    occurrence: datetime,
    person: Person,
    press: ButtonPress,
) -> tuple[bool, str]:
    """Join one occurrence; a new attendee gets a private note with the calendar button."""
    joined = await rsvp_join(
        session,
        event_id=event.id,
        occurrence_start=occurrence,
        person_id=person.id,
        now=runtime.clock.now(),
    )
    language = press.sender.language
    if joined.changed and joined.status is RsvpStatus.GOING:
        private = normalise_language(language or community.community.language)
        note = Outgoing(
            chat_id=private_chat_id(press.platform, press.sender.user_id),
            text=text(
                "event.join_confirmed",
                private,
                title=event.title,
                when=schedule_text(community, event, occurrence, private),
                place=place_text(event, private),
            ),
            buttons=(calendar_buttons(event, private),),
        )
        await queue(runtime, session, note)
    return joined.changed, _join_toast(community, event, occurrence, joined, language)


async def _presser(session: AsyncSession, community: CommunityConfig, press: ButtonPress) -> Person:
    return await upsert_person(
        session,
        community_id=community.community.id,
        display_name=press.sender.display_name or press.sender.user_id,
        role=role_in(community, press.platform, press.sender.user_id),
        platform=press.platform,
        platform_user_id=press.sender.user_id,
        language=press.sender.language,
    )


def _join_toast(
    community: CommunityConfig,
    event: Event,
    occurrence: datetime,
    joined: JoinResult,
    language: str | None,
) -> str:
    when = when_text(community, occurrence)
    if joined.status is RsvpStatus.WAITLIST:
        key = "event.waitlisted" if joined.changed else "event.already_waiting"
        return text(key, language, title=event.title, when=when, rank=joined.rank)
    key = "event.joined" if joined.changed else "event.already_going"
    return text(key, language, title=event.title, when=when)


def calendar_buttons(event: Event, language: str) -> tuple[Button, ...]:
    """The 'add to calendar' button (data "e:<event hex>:ics", 38 bytes)."""
    return (Button(text("button.event_ics", language), f"{BUTTON_PREFIX}:{event.id.hex}:ics"),)


async def _send_calendar(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    press: ButtonPress,
) -> str:
    """Send the event's .ics file privately to whoever pressed the button."""
    language = normalise_language(press.sender.language or community.community.language)
    calendar = event_calendar(community, event, now=runtime.clock.now())
    message = Outgoing(
        chat_id=private_chat_id(press.platform, press.sender.user_id),
        text=text("event.ics_caption", language, title=event.title),
        document=Document(
            file_name=calendar_file_name(event), content=calendar, mime_type=CALENDAR_MIME_TYPE
        ),
    )
    await queue(runtime, session, message)
    return text("event.ics_sent", language)


def group_on(event: Event, platform: str) -> str | None:
    """The event's first audience group on a platform (where a private notice falls back)."""
    return next((chat for chat in audience_of(event) if chat.startswith(f"{platform}:")), None)


async def tell_people(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    person_ids: Sequence[uuid.UUID],
    notice: Callable[[str], str],
    *,
    group: str | None = None,
    with_calendar: bool = False,
) -> int:
    """Tell each person privately, else by name in a group of the event; returns how many."""
    group_language = community.community.language
    people = await people_with_accounts(session, person_ids=list(dict.fromkeys(person_ids)))
    for person, account in people:
        language = normalise_language(person.language or group_language)
        message = Outgoing(
            chat_id=private_chat_id(account.platform, account.platform_user_id),
            text=notice(language),
            buttons=(calendar_buttons(event, language),) if with_calendar else (),
            fallback_chat_id=group or group_on(event, account.platform),
            fallback_text=text(
                "event.notice_fallback",
                group_language,
                name=person.display_name,
                notice=notice(group_language),
            ),
            mentions=(Mention(user_id=account.platform_user_id, name=person.display_name),),
        )
        await queue(runtime, session, message)
    return len(people)


async def tell_promoted(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    occurrence: datetime,
    promoted: Sequence[EventRsvp],
    group: str | None,
) -> None:
    """Tell the people moved up from the waitlist (falling back to `group`)."""

    def notice(language: str) -> str:
        return text(
            "event.promoted",
            language,
            title=event.title,
            when=when_text(community, occurrence),
            place=place_text(event, language),
        )

    person_ids = [rsvp.person_id for rsvp in promoted]
    await tell_people(
        runtime, session, community, event, person_ids, notice, group=group, with_calendar=True
    )


def shown_occurrence(community: CommunityConfig, event: Event, now: datetime) -> datetime:
    """The occurrence an invitation shows: the next one, else the last that was."""
    upcoming = next_occurrence(event, community.timezone_info, after=now)
    return upcoming or event.last_starts_at or event.starts_at


async def refresh_invitations(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, event: Event
) -> int:
    """Queue an edit of every sent invitation to show its state now; returns how many."""
    occurrence = shown_occurrence(community, event, runtime.clock.now())
    counts = await rsvp_counts(session, event_id=event.id, occurrence_start=occurrence)
    queued = 0
    for post in await event_posts(session, event_id=event.id):
        row = await get_outbox_message(session, message_id=post.outbox_id)
        if row is None or row.sent_message_id is None:
            continue
        fresh = invitation(community, event, counts, post.chat_id, occurrence)
        edit = Outgoing(
            chat_id=post.chat_id,
            text=fresh.text,
            buttons=fresh.buttons,
            edit_message_id=row.sent_message_id,
        )
        await queue(runtime, session, edit)
        queued += 1
    return queued
