"""Reports arriving in chats become tickets: pieces joined, duplicates linked, workers pinged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Button, MediaRef, Mention, Outgoing, private_chat_id
from handlers.community import CommunityConfig, Role
from handlers.geo import wgs84
from handlers.grouping import PIECE_WINDOW, merge_pieces
from handlers.messages import AttachmentKind as MediaKind
from handlers.messages import ChatKind, Incoming, incoming_from_json, incoming_to_json
from handlers.parsing.places import PlaceMatcher
from handlers.parsing.report_parser import ParsedReport
from handlers.reports import (
    assign_grid_worker,
    store_attachments,
    take_report,
    ticket_of_message,
)
from handlers.runtime import (
    Runtime,
    account_of,
    language_of,
    queue,
    role_in,
    staff_chat_id,
)
from handlers.texts import normalise_language, text
from handlers.ticket_texts import grid_name, local_time, summary
from storage import conversations
from storage.inbound import (
    claim_inbound_message,
    link_inbound_message_to_ticket,
)
from storage.lifecycle import mark_ticket_duplicate
from storage.models import AttachmentKind, Ticket, TicketStatus
from storage.people import find_person_by_account, get_person
from storage.tickets import (
    get_ticket,
    list_attachments,
    list_recent_open_tickets,
    update_ticket_description,
)

ASKED_PIECE_WINDOW = timedelta(minutes=30)
QUESTION_LIFETIME = timedelta(minutes=30)
DUPLICATE_WINDOW = timedelta(hours=24)
DUPLICATE_ANY_PLACE_WINDOW = timedelta(hours=1)
GROUP_REPLY = "group-reply"
PING_DESCRIPTION_LIMIT = 600


async def handle_chat_message(runtime: Runtime, message: Incoming) -> None:
    """Take one message from a group (or a private chat) that is not a command."""
    community = _community_for(runtime, message)
    if community is None:
        await _unknown_chat(runtime, message)
        return
    async with runtime.sessions() as session, session.begin():
        await _take_message(runtime, session, community, message)
    runtime.outbox_changed()


def _community_for(runtime: Runtime, message: Incoming) -> CommunityConfig | None:
    if message.chat_kind is ChatKind.PRIVATE:
        return runtime.community_of_user(message.platform.value, message.sender.user_id)
    return runtime.community_of_chat(message.chat_id)


async def _take_message(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, message: Incoming
) -> None:
    now = runtime.clock.now()
    if message.edited:
        await _apply_edit(runtime, session, message)
        return
    if not await claim_inbound_message(
        session,
        platform=message.platform.value,
        chat_id=message.chat_id,
        message_id=message.message_id,
        now=now,
    ):
        return  # a redelivered update: already handled
    if await _answers_question(runtime, session, community, message):
        return
    if message.is_media_only:
        await _take_piece(runtime, session, community, message)
        return
    pieces = await _pending_pieces_of(session, message, now)
    if message.command == "report" and not message.text.strip() and not pieces:
        await _reply(runtime, session, community, message, "cmd.report_empty")
        return
    merged = merge_pieces(message, pieces)
    verdict = runtime.parser_for(community).parse(merged)
    explicit = message.command == "report" or message.mentions_bot
    if not verdict.is_report:
        if explicit or message.chat_kind is ChatKind.PRIVATE:
            await _reply(runtime, session, community, message, "report.not_recognised")
        return
    if not verdict.confident and not explicit:
        await _ask_to_confirm(runtime, session, community, merged, pieces)
        return
    await open_ticket(runtime, session, community, merged, verdict, pieces)


async def open_ticket(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    verdict: ParsedReport,
    pieces: tuple[Incoming, ...] | list[Incoming] = (),
) -> Ticket | None:
    """Create the ticket (once per message) and queue every message it causes."""
    now = runtime.clock.now()
    existing = await ticket_of_message(session, message)
    if existing is not None:
        return existing
    original = await _find_duplicate(runtime, session, community, verdict, message)
    result = await take_report(
        session,
        community=community,
        message=message,
        verdict=verdict,
        now=now,
        pieces=tuple(pieces),
        already_claimed=True,
    )
    ticket = result.ticket
    if not result.created or ticket is None:
        return ticket
    language = community.community.language
    if original is not None:
        await _link_duplicate(runtime, session, community, message, ticket, original, language)
        return ticket
    handler = result.assignee.name if result.assignee else text("report.handler_staff", language)
    await _reply(
        runtime,
        session,
        community,
        message,
        "report.created",
        ticket=ticket,
        summary=summary(community, ticket, language),
        handler=handler,
    )
    if verdict.needs_place and message.location is None:
        await _ask_for_place(runtime, session, community, message, ticket)
    await route_ticket(runtime, session, community, ticket)
    return ticket


async def route_ticket(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, ticket: Ticket
) -> None:
    """Ping the grid's workers privately, or ask staff to choose a grid."""
    if ticket.grid_id is None:
        await _ask_staff_for_grid(runtime, session, community, ticket)
        return
    for worker in community.workers_of(ticket.grid_id):
        await ping_worker(  # every worker of the grid may take it; the first is assigned
            runtime,
            session,
            community,
            ticket,
            worker.name,
            account_of(worker, ticket.source_platform),
        )


async def ping_worker(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    name: str,
    user_id: str | None,
) -> None:
    platform = ticket.source_platform
    staff_chat = staff_chat_id(community, platform)
    fallback_text = text(
        "ping.fallback",
        community.community.language,
        name=name,
        summary=summary(community, ticket, community.community.language),
    )
    if user_id is None:  # no account on this platform: the staff group passes it on
        if staff_chat:
            await queue(
                runtime,
                session,
                Outgoing(chat_id=staff_chat, text=fallback_text),
                ticket_id=ticket.id,
            )
        return
    language = await language_of(session, platform, user_id, community.community.language)
    reporter = await _reporter_name(session, ticket)
    line = summary(community, ticket, language)
    media = await media_of(session, ticket)
    ping = Outgoing(
        chat_id=private_chat_id(platform, user_id),
        text=text(
            "ping.worker",
            language,
            summary=line,
            description=shorten(ticket.description, PING_DESCRIPTION_LIMIT),
            reporter=reporter,
            time=local_time(community, ticket.created_at),
            due=local_time(community, ticket.ack_due_at),
        ),
        buttons=ticket_buttons(ticket, language),
        media=media[:1],
        fallback_chat_id=staff_chat,
        fallback_text=fallback_text,
        mentions=(Mention(user_id=user_id, name=name),),
    )
    await queue(runtime, session, ping, ticket_id=ticket.id)
    await send_media(runtime, session, ticket, private_chat_id(platform, user_id), media[1:])


async def send_media(
    runtime: Runtime, session: AsyncSession, ticket: Ticket, chat_id: str, media: Sequence[MediaRef]
) -> None:
    """Each further photo or video as its own message (paced like any other)."""
    for item in media:
        await queue(
            runtime,
            session,
            Outgoing(chat_id=chat_id, text=f"#{ticket.number}", media=(item,)),
            ticket_id=ticket.id,
        )


def shorten(value: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def ticket_buttons(ticket: Ticket, language: str) -> tuple[tuple[Button, ...], ...]:
    """The buttons a handler sees for a ticket in its current state."""
    key = ticket.id.hex

    def button(action: str) -> Button:
        return Button(text(f"button.{action}", language), f"t:{key}:{action}")

    if ticket.status in {TicketStatus.REPORTED, TicketStatus.ASSIGNED, TicketStatus.REOPENED}:
        return ((button("ack"), button("reassign"), button("reject")),)
    if ticket.status is TicketStatus.ACKNOWLEDGED:
        return ((button("resolve"), button("reassign"), button("reject")),)
    if ticket.status is TicketStatus.RESOLVED:
        return ((button("close"), button("reopen")),)
    if ticket.status is TicketStatus.CLOSED:
        return ((button("reopen"),),)
    return ()


async def media_of(session: AsyncSession, ticket: Ticket) -> tuple[MediaRef, ...]:
    attachments = await list_attachments(session, ticket_id=ticket.id)
    return tuple(
        MediaRef(kind=MediaKind(a.kind.value), file_id=a.file_id)
        for a in attachments
        if a.platform == ticket.source_platform
        and a.kind in {AttachmentKind.PHOTO, AttachmentKind.VIDEO}
    )[:10]


async def _reporter_name(session: AsyncSession, ticket: Ticket) -> str:
    person = await get_person(session, person_id=ticket.reporter_id) if ticket.reporter_id else None
    return person.display_name if person else "—"


async def _ask_staff_for_grid(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, ticket: Ticket
) -> None:
    chat = staff_chat_id(community, ticket.source_platform)
    if chat is None:
        return
    language = community.community.language
    buttons = tuple(
        (Button(grid_name(community, grid.id, language), f"t:{ticket.id.hex}:grid:{index}"),)
        for index, grid in enumerate(community.grids)
    )
    await queue(
        runtime,
        session,
        Outgoing(
            chat_id=chat,
            text=text("staff.no_grid", language, summary=summary(community, ticket, language)),
            buttons=buttons,
        ),
        ticket_id=ticket.id,
    )


async def _reply(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    key: str,
    *,
    ticket: Ticket | None = None,
    buttons: tuple[tuple[Button, ...], ...] = (),
    **values: object,
) -> None:
    """Answer in the chat, threaded to the message; group replies may be coalesced."""
    language = _chat_language(community, message)
    await queue(
        runtime,
        session,
        Outgoing(
            chat_id=message.chat_id,
            text=text(key, language, **values),
            reply_to=message.message_id,
            buttons=buttons,
            coalesce_key=GROUP_REPLY
            if message.chat_kind is ChatKind.GROUP and not buttons
            else None,
        ),
        ticket_id=ticket.id if ticket else None,
    )


def _chat_language(community: CommunityConfig, message: Incoming) -> str:
    if message.chat_kind is ChatKind.PRIVATE and message.sender.language:
        return normalise_language(message.sender.language)
    return community.community.language


# --- duplicates ---


async def _find_duplicate(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    verdict: ParsedReport,
    message: Incoming,
) -> Ticket | None:
    """An open ticket of the same grid and category, recent, about the same place.

    Places match by canonical name (公园 is 扬帆公园, 12幢 is 十二栋); a report naming no
    place matches only a very recent one.
    """
    if verdict.grid_id is None or verdict.category is None:
        return None
    places = runtime.parser_for(community).places
    own = _place_keys(places, verdict.place_text)
    now = runtime.clock.now()
    candidates = await list_recent_open_tickets(
        session,
        community_id=community.community.id,
        grid_id=verdict.grid_id,
        category=verdict.category,
        since=now - DUPLICATE_WINDOW,
    )
    for ticket in reversed(candidates):
        age = now - ticket.created_at
        theirs = _place_keys(places, ticket.place_text)
        if own & theirs or ((not own or not theirs) and age <= DUPLICATE_ANY_PLACE_WINDOW):
            return ticket
    return None


def _place_keys(places: PlaceMatcher, place_text: str | None) -> frozenset[str]:
    return frozenset(key for match in places.find(place_text or "") for key in match.keys)


async def _link_duplicate(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    ticket: Ticket,
    original: Ticket,
    language: str,
) -> None:
    await mark_ticket_duplicate(session, ticket=ticket, original=original, now=runtime.clock.now())
    if ticket.reporter_id is not None:
        await conversations.subscribe(
            session,
            ticket_id=original.id,
            person_id=ticket.reporter_id,
            chat_id=message.chat_id,
            message_id=message.message_id,
            now=runtime.clock.now(),
        )
    status = text(f"status.{original.status.value}", language)
    await _reply(
        runtime,
        session,
        community,
        message,
        "report.duplicate",
        ticket=original,
        number=original.number,
        status=status,
    )


# --- pieces: photos and pins without words ---


async def _pending_pieces_of(
    session: AsyncSession, message: Incoming, now: datetime
) -> list[Incoming]:
    stored = await conversations.take_pending_pieces(
        session,
        chat_id=message.chat_id,
        user_id=message.sender.user_id,
        since=now - PIECE_WINDOW,
        asked_since=now - ASKED_PIECE_WINDOW,
    )
    if message.reply_to:  # a description given as a reply to a waiting photo
        stored += await conversations.take_piece_by_message(
            session, chat_id=message.chat_id, message_id=message.reply_to
        )
    return [incoming_from_json(piece.payload) for piece in stored]


async def _take_piece(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, piece: Incoming
) -> None:
    """A photo or pin: add it to the author's fresh ticket, or keep it for their next words."""
    now = runtime.clock.now()
    ticket = await _fresh_ticket_of(session, piece, now)
    if ticket is None:
        await conversations.keep_pending_piece(
            session,
            chat_id=piece.chat_id,
            user_id=piece.sender.user_id,
            message_id=piece.message_id,
            payload=incoming_to_json(piece),
            now=now,
        )
        return
    await _add_piece_to_ticket(runtime, session, community, ticket, piece)


async def _fresh_ticket_of(session: AsyncSession, piece: Incoming, now: datetime) -> Ticket | None:
    person = await find_person_by_account(
        session, platform=piece.platform.value, platform_user_id=piece.sender.user_id
    )
    if person is None:
        return None
    ticket = await conversations.latest_ticket_from(
        session, chat_id=piece.chat_id, reporter_id=person.id, since=now - PIECE_WINDOW
    )
    if ticket is not None and ticket.duplicate_of_id is not None:  # the photo is for the original
        return await get_ticket(session, ticket_id=ticket.duplicate_of_id)
    return ticket


async def _add_piece_to_ticket(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    piece: Incoming,
) -> None:
    now = runtime.clock.now()
    await link_inbound_message_to_ticket(
        session,
        platform=piece.platform.value,
        chat_id=piece.chat_id,
        message_id=piece.message_id,
        ticket_id=ticket.id,
    )
    await store_attachments(session, ticket_id=ticket.id, message=piece, now=now)
    if piece.location is not None and ticket.latitude is None:
        await _place_from_pin(runtime, session, community, ticket, piece)
    await _forward_media_to_handlers(runtime, session, community, ticket, piece)


async def _forward_media_to_handlers(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    piece: Incoming,
) -> None:
    """A photo added after the ping also reaches the grid's workers."""
    media = tuple(
        MediaRef(kind=a.kind, file_id=a.file_id)
        for a in piece.attachments
        if a.kind in {MediaKind.PHOTO, MediaKind.VIDEO}
    )
    if not media or ticket.grid_id is None:
        return
    for worker in community.workers_of(ticket.grid_id):
        user_id = account_of(worker, ticket.source_platform)
        if user_id is not None:
            await send_media(
                runtime, session, ticket, private_chat_id(ticket.source_platform, user_id), media
            )


# --- questions the bot asked: confirm a report, give a place ---


async def _ask_to_confirm(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    pieces: list[Incoming],
) -> None:
    state = await conversations.open_question(
        session,
        chat_id=message.chat_id,
        user_id=message.sender.user_id,
        kind="confirm",
        payload=json.dumps(
            {"message": incoming_to_json(message), "pieces": [incoming_to_json(p) for p in pieces]}
        ),
        now=runtime.clock.now(),
        expires_at=runtime.clock.now() + QUESTION_LIFETIME,
    )
    language = _chat_language(community, message)
    buttons = (
        (
            Button(text("button.yes_report", language), f"r:{state.id}:y"),
            Button(text("button.not_report", language), f"r:{state.id}:n"),
        ),
    )
    await _reply(runtime, session, community, message, "report.ask_confirm", buttons=buttons)


async def answer_confirmation(
    runtime: Runtime,
    session: AsyncSession,
    question_id: int,
    yes: bool,
    *,
    platform: str,
    user_id: str,
) -> str:
    """A press on "is this a report?"; returns the toast key."""
    now = runtime.clock.now()
    state = await conversations.get_question(session, question_id=question_id, now=now)
    if state is None or state.kind != "confirm" or state.payload is None:
        return "press.unknown"
    stored = json.loads(state.payload)
    message = incoming_from_json(stored["message"])
    community = runtime.community_of_chat(message.chat_id) or runtime.community_of_user(
        platform, user_id
    )
    if community is None:
        return "press.unknown"
    allowed = user_id == state.user_id or role_in(community, platform, user_id) in {
        Role.STAFF,
        Role.SECRETARY,
        Role.GRID_WORKER,
    }
    if not allowed:
        return "press.not_yours"
    await conversations.close_question(session, question_id=question_id)
    if yes:
        pieces = [incoming_from_json(p) for p in stored["pieces"]]
        pieces += await _pending_pieces_of(session, message, now)  # album items that came later
        verdict = runtime.parser_for(community).parse(message)
        confirmed = replace(
            verdict, is_report=True, confidence=1.0, category=verdict.category or "other"
        )
        await open_ticket(runtime, session, community, message, confirmed, pieces)
    return "press.done"


async def _ask_for_place(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    ticket: Ticket,
) -> None:
    await conversations.open_question(
        session,
        chat_id=message.chat_id,
        user_id=message.sender.user_id,
        kind="place",
        ticket_id=ticket.id,
        now=runtime.clock.now(),
        expires_at=runtime.clock.now() + QUESTION_LIFETIME,
    )
    await _reply(
        runtime,
        session,
        community,
        message,
        "report.ask_place",
        ticket=ticket,
        number=ticket.number,
    )


async def _answers_question(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, message: Incoming
) -> bool:
    """The author's answer to "where is it?" (a pin or a place name), or an after photo."""
    now = runtime.clock.now()
    for kind in ("place", "after_photo"):
        state = await conversations.current_question(
            session, chat_id=message.chat_id, user_id=message.sender.user_id, kind=kind, now=now
        )
        if state is None or state.ticket_id is None or state.id is None:
            continue
        ticket = await get_ticket(session, ticket_id=state.ticket_id)
        if ticket is None:
            continue
        if kind == "after_photo" and message.media_count:
            await _save_after_photo(runtime, session, community, message, ticket, state.id)
            return True
        if kind == "place" and await _fill_place(runtime, session, community, message, ticket):
            await conversations.close_question(session, question_id=state.id)
            return True
    return False


async def _fill_place(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    ticket: Ticket,
) -> bool:
    if message.location is not None:
        return await _place_from_pin(runtime, session, community, ticket, message)
    parser = runtime.parser_for(community)
    place = parser.places.locate(message.text)
    if place.place_text is None or parser.parse(message).is_report:
        return False
    ticket.place_text = place.place_text
    await _set_grid(runtime, session, community, ticket, place.grid_id, message)
    return True


async def _place_from_pin(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    message: Incoming,
) -> bool:
    if message.location is None:
        return False
    longitude, latitude = wgs84(message.location)
    ticket.latitude, ticket.longitude = latitude, longitude
    grid = community.grid_at(longitude, latitude)
    await _set_grid(runtime, session, community, ticket, grid.id if grid else None, message)
    return True


async def _set_grid(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    grid_id: str | None,
    message: Incoming,
) -> None:
    """Record the place; a newly known grid assigns its worker and pings them."""
    session.add(ticket)
    if grid_id is None or ticket.grid_id is not None:
        await session.flush()
        return
    await assign_grid_worker(
        session, community=community, ticket=ticket, grid_id=grid_id, now=runtime.clock.now()
    )
    language = community.community.language
    await _reply(
        runtime,
        session,
        community,
        message,
        "report.place_filled",
        ticket=ticket,
        number=ticket.number,
        place=ticket.place_text or "📍",
        grid=grid_name(community, grid_id, language),
    )
    await route_ticket(runtime, session, community, ticket)


async def _save_after_photo(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    ticket: Ticket,
    question_id: int,
) -> None:
    now = runtime.clock.now()
    await store_attachments(session, ticket_id=ticket.id, message=message, now=now)
    await conversations.close_question(session, question_id=question_id)
    await _reply(
        runtime,
        session,
        community,
        message,
        "resolve.photo_saved",
        ticket=ticket,
        number=ticket.number,
    )


# --- edits and strangers ---


async def _apply_edit(runtime: Runtime, session: AsyncSession, message: Incoming) -> bool:
    """An edited report updates its ticket; the old text stays in the audit log."""
    ticket = await ticket_of_message(session, message)
    if ticket is None:
        return False
    if ticket.description == message.text or not message.text:
        return True
    await update_ticket_description(
        session,
        ticket=ticket,
        new_text=message.text,
        now=runtime.clock.now(),
        platform=message.platform.value,
    )
    return True


async def _unknown_chat(runtime: Runtime, message: Incoming) -> None:
    if message.chat_kind is ChatKind.GROUP:
        await notice_unknown_chat(
            runtime, message.chat_id, message.chat_title or "", message.platform.value
        )


async def notice_unknown_chat(runtime: Runtime, chat_id: str, title: str, platform: str) -> None:
    """Say once, politely, that this group is not served, and tell staff; ignore it after."""
    if runtime.community_of_chat(chat_id) is not None:
        return
    community = runtime.default_community
    async with runtime.sessions() as session, session.begin():
        if not await conversations.first_notice(
            session, key=f"unknown-chat:{chat_id}", now=runtime.clock.now()
        ):
            return
        language = community.community.language
        await queue(
            runtime, session, Outgoing(chat_id=chat_id, text=text("chat.unknown", language))
        )
        staff_chat = staff_chat_id(community, platform)
        if staff_chat:
            await queue(
                runtime,
                session,
                Outgoing(
                    chat_id=staff_chat,
                    text=text(
                        "staff.unknown_chat", language, title=title or chat_id, chat_id=chat_id
                    ),
                ),
            )
    runtime.outbox_changed()


async def sweep_orphan_pieces(runtime: Runtime) -> int:
    """Ask once about photos and pins nobody explained in time; forget stale ones."""
    now = runtime.clock.now()
    asked = 0
    async with runtime.sessions() as session, session.begin():
        await conversations.forget_pieces_before(session, before=now - ASKED_PIECE_WINDOW)
        pieces = await conversations.unasked_pieces_before(session, before=now - PIECE_WINDOW)
        first_of_author: dict[tuple[str, str], Incoming] = {}
        for stored in pieces:
            first_of_author.setdefault(
                (stored.chat_id, stored.user_id), incoming_from_json(stored.payload)
            )
        for piece in first_of_author.values():
            community = _community_for(runtime, piece)
            if community is not None:
                await _reply(runtime, session, community, piece, "report.ask_piece")
                asked += 1
        await conversations.mark_pieces_asked(
            session, piece_ids=[p.id for p in pieces if p.id is not None]
        )
    if asked:
        runtime.outbox_changed()
    return asked
