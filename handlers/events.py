"""Community events: /event to announce, /events to list, join / can't-come buttons.

Staff announce an event in one line, `/event 电影之夜 | 2023-07-25 19:30 | 扬帆公园 | 名额 50`.
The invitation goes to every residents' group with two buttons (data "e:<event hex>:join" and
"e:<event hex>:no"); each answer edits the posted invitations to show the live count.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Button, ButtonPress, Mention, Outgoing, is_group_chat
from handlers.community import CommunityConfig, Role
from handlers.event_form import EventDraft, EventFormError, choose_audience, parse_event_line
from handlers.messages import Incoming
from handlers.runtime import Runtime, queue, role_in
from handlers.texts import text
from storage.events import (
    CancelResult,
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
from storage.models import Event, EventStatus, Person, RsvpStatus
from storage.outbox import enqueue_outgoing, get_outbox_message
from storage.people import find_person_by_account, upsert_person

ORGANISERS = frozenset({Role.STAFF, Role.SECRETARY})
BUTTON_PREFIX = "e"


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


def invitation(
    community: CommunityConfig, event: Event, counts: RsvpCounts, chat_id: str
) -> Outgoing:
    """The invitation post for a chat, with the live count and the two buttons."""
    language = community.community.language
    body = text(
        "event.invitation",
        language,
        title=event.title,
        when=when_text(community, event.starts_at),
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

    Raises EventFormError("event.in_past") when it would start before now.
    """
    starts_at = draft.starts_local.replace(tzinfo=community.timezone_info)
    if starts_at <= runtime.clock.now():
        raise EventFormError("event.in_past", when=when_text(community, starts_at))
    ends_at = draft.ends_local.replace(tzinfo=community.timezone_info) if draft.ends_local else None
    event = await create_event(
        session,
        community_id=community.community.id,
        title=draft.title,
        description=draft.description,
        starts_at=starts_at,
        ends_at=ends_at,
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
    for chat_id in audience_of(event):
        post = invitation(community, event, RsvpCounts(0, 0), chat_id)
        row = await enqueue_outgoing(
            session, chat_id=chat_id, payload=post.to_json(), now=runtime.clock.now()
        )
        assert row.id is not None
        await add_event_post(session, event_id=event.id, chat_id=chat_id, outbox_id=row.id)


async def list_events(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    """/events: the upcoming events with time, place and count."""
    events = await upcoming_events(
        session, community_id=community.community.id, now=runtime.clock.now()
    )
    if not events:
        return text("event.list_empty", language)
    lines = [text("event.list_header", language)]
    for event in events:
        counts = await rsvp_counts(session, event_id=event.id, occurrence_start=event.starts_at)
        lines.append(
            text(
                "event.list_line",
                language,
                when=when_text(community, event.starts_at),
                title=event.title,
                place=place_text(event, language),
                count=count_text(event, counts, language),
            )
        )
    return "\n".join(lines)


async def press_event_button(runtime: Runtime, press: ButtonPress, key: str, action: str) -> str:
    """Join or decline an event from its invitation; returns the toast."""
    try:
        event_id = uuid.UUID(hex=key)
    except ValueError:
        return text("press.unknown", press.sender.language)
    async with runtime.sessions() as session, session.begin():
        toast = await _press(runtime, session, press, event_id, action)
    runtime.outbox_changed()
    return toast


async def _press(
    runtime: Runtime, session: AsyncSession, press: ButtonPress, event_id: uuid.UUID, action: str
) -> str:
    language = press.sender.language
    event = await get_event(session, event_id=event_id)
    community = next(
        (c for c in runtime.communities if event and c.community.id == event.community_id), None
    )
    if event is None or community is None or event.status is not EventStatus.ACTIVE:
        return text("event.gone", language)
    if event.starts_at <= runtime.clock.now():
        return text("event.started", language, title=event.title)
    if action not in {"join", "no"}:
        return text("press.unknown", language)
    person = await _presser(session, community, press)
    if action == "join":
        joined = await rsvp_join(
            session,
            event_id=event.id,
            occurrence_start=event.starts_at,
            person_id=person.id,
            now=runtime.clock.now(),
        )
        changed, toast = joined.changed, _join_toast(event, joined, language)
    else:
        cancelled = await rsvp_cancel(
            session,
            event_id=event.id,
            occurrence_start=event.starts_at,
            person_id=person.id,
            now=runtime.clock.now(),
        )
        await _tell_promoted(runtime, session, community, event, cancelled, press)
        changed = cancelled.previous in {RsvpStatus.GOING, RsvpStatus.WAITLIST}
        toast = text("event.declined", language, title=event.title)
    if changed:
        await refresh_invitations(runtime, session, community, event)
    return toast


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


def _join_toast(event: Event, joined: JoinResult, language: str | None) -> str:
    if joined.status is RsvpStatus.WAITLIST:
        key = "event.waitlisted" if joined.changed else "event.already_waiting"
        return text(key, language, title=event.title, rank=joined.rank)
    key = "event.joined" if joined.changed else "event.already_going"
    return text(key, language, title=event.title)


async def _tell_promoted(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    event: Event,
    cancelled: CancelResult,
    press: ButtonPress,
) -> None:
    """Tell the person moved up from the waitlist, privately (else in the group pressed in)."""
    if cancelled.promoted is None:
        return
    found = await people_with_accounts(session, person_ids=[cancelled.promoted.person_id])
    if not found:
        return
    person, account = found[0]
    language = person.language or community.community.language
    group = press.chat_id if is_group_chat(press.chat_id) else None
    notice = Outgoing(
        chat_id=f"{account.platform}:{account.platform_user_id}",
        text=text(
            "event.promoted",
            language,
            title=event.title,
            when=when_text(community, event.starts_at),
            place=place_text(event, language),
        ),
        fallback_chat_id=group,
        fallback_text=text(
            "event.promoted_fallback",
            community.community.language,
            name=person.display_name,
            title=event.title,
        ),
        mentions=(Mention(user_id=account.platform_user_id, name=person.display_name),),
    )
    await queue(runtime, session, notice)


async def refresh_invitations(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, event: Event
) -> None:
    """Queue an edit of every sent invitation so it shows the current count."""
    counts = await rsvp_counts(session, event_id=event.id, occurrence_start=event.starts_at)
    for post in await event_posts(session, event_id=event.id):
        row = await get_outbox_message(session, message_id=post.outbox_id)
        if row is None or row.sent_message_id is None:
            continue
        fresh = invitation(community, event, counts, post.chat_id)
        edit = Outgoing(
            chat_id=post.chat_id,
            text=fresh.text,
            buttons=fresh.buttons,
            edit_message_id=row.sent_message_id,
        )
        await queue(runtime, session, edit)
