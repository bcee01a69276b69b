"""Commands: /start, /help, /report, /ticket, /mytickets, /events; staff: /open, /stats, /event."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Button, Outgoing
from handlers.community import CommunityConfig, Role
from handlers.event_changes import cancel_event_command, edit_event_command
from handlers.event_wizard import cancel_event_wizard
from handlers.events import announce_event, list_events
from handlers.group_intake import handle_chat_message, ticket_buttons
from handlers.messages import ChatKind, Incoming
from handlers.runtime import Runtime, queue, remember_person, role_in
from handlers.texts import normalise_language, text
from handlers.ticket_texts import grid_name, local_time, status_name, summary
from storage import conversations
from storage.models import Ticket, TicketStatus
from storage.people import find_person_by_account, get_person
from storage.tickets import (
    count_by_status,
    get_ticket_by_number,
    list_open_tickets,
    list_tickets_for_assignee,
    list_tickets_for_reporter,
    median_minutes_to_acknowledge,
)

HANDLING_ROLES = frozenset({Role.GRID_WORKER, Role.STAFF, Role.SECRETARY})
LIST_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer with buttons under it."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


Command = Callable[
    [Runtime, AsyncSession, CommunityConfig, Incoming, str, str], Awaitable[str | Reply]
]


async def handle_command(runtime: Runtime, message: Incoming) -> None:
    """Answer a command in the chat it came from."""
    if message.command == "report":
        await _report(runtime, message)
        return
    community = runtime.community_of_chat(message.chat_id) or runtime.community_of_user(
        message.platform.value, message.sender.user_id
    )
    command = COMMANDS.get(message.command or "")
    if community is None or command is None:
        return
    async with runtime.sessions() as session, session.begin():
        language = await _remember_sender(session, community, message)
        argument = _argument(message.text)
        answer = await command(runtime, session, community, message, language, argument)
        reply = answer if isinstance(answer, Reply) else Reply(answer)
        await queue(
            runtime,
            session,
            Outgoing(
                chat_id=message.chat_id,
                text=reply.text,
                reply_to=message.message_id,
                buttons=reply.buttons,
            ),
        )
    runtime.outbox_changed()


def _argument(raw: str) -> str:
    return re.sub(r"^/\S+\s*", "", raw.strip()).strip()


async def _remember_sender(
    session: AsyncSession, community: CommunityConfig, message: Incoming
) -> str:
    """Store the sender with their role and language; return the language to answer in."""
    await remember_person(
        session,
        community,
        platform=message.platform.value,
        user_id=message.sender.user_id,
        display_name=message.sender.display_name,
        language=message.sender.language,
    )
    if message.chat_kind is ChatKind.GROUP:
        return community.community.language
    return normalise_language(message.sender.language or community.community.language)


async def _report(runtime: Runtime, message: Incoming) -> None:
    """/report TEXT is an explicit report of TEXT."""
    await handle_chat_message(runtime, replace(message, text=_argument(message.text)))


async def _start(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    role = role_in(community, message.platform.value, message.sender.user_id)
    role_line = (
        text("cmd.role_line", language, role=text(f"role.{role.value}", language))
        if role is not Role.RESIDENT
        else ""
    )
    name = (
        community.community.name_en
        if language == "en" and community.community.name_en
        else community.community.name
    )
    return text(
        "cmd.start", language, name=message.sender.display_name, community=name, role_line=role_line
    )


async def _help(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    extra = text("cmd.help_staff", language) if _handles_tickets(community, message) else ""
    return text("cmd.help", language) + extra


async def _ticket(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str | Reply:
    """A ticket's details; staff and workers also get its buttons, on any platform."""
    # So a ticket reported on WeCom can be acknowledged on Telegram and the other way round.
    number = argument.lstrip("#")
    if not number.isdigit():
        return text("cmd.ticket_usage", language)
    ticket = await get_ticket_by_number(
        session, community_id=community.community.id, number=int(number)
    )
    if ticket is None or not await _may_see(session, community, message, ticket):
        return text("cmd.ticket_missing", language, number=number)
    handler = (
        await get_person(session, person_id=ticket.assignee_id) if ticket.assignee_id else None
    )
    detail = text(
        "cmd.ticket_detail",
        language,
        summary=summary(community, ticket, language),
        status=status_name(ticket.status, language),
        handler=handler.display_name if handler else text("ticket.unassigned", language),
        description=ticket.description,
        created=local_time(community, ticket.created_at),
    )
    if not _handles_tickets(community, message):
        return detail
    return Reply(detail, ticket_buttons(ticket, language))  # each press is checked as usual


def _handles_tickets(community: CommunityConfig, message: Incoming) -> bool:
    return role_in(community, message.platform.value, message.sender.user_id) in HANDLING_ROLES


async def _may_see(
    session: AsyncSession, community: CommunityConfig, message: Incoming, ticket: Ticket
) -> bool:
    """Staff and workers see every ticket; a resident sees the ones they reported or follow."""
    platform, user_id = message.platform.value, message.sender.user_id
    if _handles_tickets(community, message):
        return True
    person = await find_person_by_account(session, platform=platform, platform_user_id=user_id)
    if person is None:
        return False
    if ticket.reporter_id == person.id:
        return True
    followers = await conversations.subscribers(session, ticket_id=ticket.id)
    return any(follower.person_id == person.id for follower in followers)


async def _my_tickets(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    person = await find_person_by_account(
        session, platform=message.platform.value, platform_user_id=message.sender.user_id
    )
    if person is None:
        return text("cmd.no_tickets", language)
    tickets = await list_tickets_for_assignee(session, assignee_id=person.id)
    tickets += await list_tickets_for_reporter(session, reporter_id=person.id)
    by_id = {ticket.id: ticket for ticket in tickets}  # once each; table models are unhashable
    return _ticket_list(community, list(by_id.values()), language)


async def _open(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    if not _handles_tickets(community, message):
        return text("cmd.staff_only", language)
    grid_id = _grid_argument(community, argument)
    if argument and grid_id is None:
        return text("cmd.unknown_grid", language, grid=argument)
    tickets = await list_open_tickets(session, community_id=community.community.id, grid_id=grid_id)
    return _ticket_list(community, tickets, language)


def _grid_argument(community: CommunityConfig, argument: str) -> str | None:
    wanted = argument.strip().upper()
    return next((g.id for g in community.grids if g.id.upper() == wanted), None)


def _ticket_list(community: CommunityConfig, tickets: list[Ticket], language: str) -> str:
    if not tickets:
        return text("cmd.no_tickets", language)
    lines = [
        f"{summary(community, t, language)} · {status_name(t.status, language)}"
        for t in tickets[:LIST_LIMIT]
    ]
    if len(tickets) > LIST_LIMIT:
        lines.append(f"… +{len(tickets) - LIST_LIMIT}")
    return "\n".join(lines)


async def _stats(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    if not _handles_tickets(community, message):
        return text("cmd.staff_only", language)
    community_id = community.community.id
    counts = await count_by_status(session, community_id=community_id)
    open_tickets = await list_open_tickets(session, community_id=community_id)
    now = runtime.clock.now()
    overdue = [
        t
        for t in open_tickets
        if t.acknowledged_at is None
        and t.ack_due_at
        and t.ack_due_at < now
        and t.status is not TicketStatus.ACKNOWLEDGED
    ]
    per_grid = "\n".join(
        text(
            "cmd.stats_grid",
            language,
            grid=grid_name(community, grid.id, language),
            open=sum(1 for t in open_tickets if t.grid_id == grid.id),
        )
        for grid in community.grids
    )
    done = counts.get(TicketStatus.RESOLVED, 0) + counts.get(TicketStatus.CLOSED, 0)
    answer = text(
        "cmd.stats",
        language,
        total=sum(counts.values()),
        open=len(open_tickets),
        done=done,
        overdue=len(overdue),
        per_grid=per_grid,
    )
    minutes_to_acknowledge = await median_minutes_to_acknowledge(session, community_id=community_id)
    if minutes_to_acknowledge is not None:
        answer += f"\n⏱ {minutes_to_acknowledge:.0f} min"
    return answer


COMMANDS: dict[str, Command] = {
    "start": _start,
    "help": _help,
    "ticket": _ticket,
    "mytickets": _my_tickets,
    "open": _open,
    "stats": _stats,
    "event": announce_event,
    "events": list_events,
    "event_cancel": cancel_event_command,
    "event_edit": edit_event_command,
    "cancel": cancel_event_wizard,
}
