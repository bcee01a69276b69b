"""Buttons on tickets: acknowledge, resolve, reject, close, reopen, reassign, choose a grid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Button, ButtonPress, Outgoing, is_group_chat
from handlers.community import CommunityConfig, PersonConfig, Role
from handlers.group_intake import (
    GROUP_REPLY,
    QUESTION_LIFETIME,
    ping_worker,
    route_ticket,
    ticket_buttons,
)
from handlers.reports import assign_grid_worker
from handlers.runtime import (
    Runtime,
    account_of,
    language_of,
    queue,
    remember_person,
    role_in,
)
from handlers.texts import text
from handlers.ticket_texts import grid_name, status_name, summary
from storage import conversations
from storage.errors import InvalidTransition
from storage.lifecycle import assign_ticket, change_ticket_status
from storage.models import Person, Ticket, TicketStatus
from storage.tickets import lock_ticket

MANAGERS = frozenset({Role.STAFF, Role.SECRETARY})
# Choosing a grid, and closing: a resolved ticket is checked by staff before it is closed
# (GB/T 30428's 核查 → 结案), so its handler cannot close their own work.
MANAGER_ACTIONS = frozenset({"grid", "close"})
TARGET_STATUS = {
    "ack": TicketStatus.ACKNOWLEDGED,
    "resolve": TicketStatus.RESOLVED,
    "reject": TicketStatus.REJECTED,
    "close": TicketStatus.CLOSED,
    "reopen": TicketStatus.REOPENED,
}
UPDATE_TEXT = {
    TicketStatus.ACKNOWLEDGED: "update.acknowledged",
    TicketStatus.RESOLVED: "update.resolved",
    TicketStatus.REJECTED: "update.rejected",
    TicketStatus.CLOSED: "update.closed",
    TicketStatus.REOPENED: "update.reopened",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who pressed: their stored person, configured role and language."""

    person: Person
    role: Role
    language: str
    platform: str
    user_id: str


async def press_ticket_button(
    runtime: Runtime, press: ButtonPress, ticket_key: str, action: str, argument: str | None
) -> str:
    """Apply a ticket button; returns the toast to show the presser."""
    async with runtime.sessions() as session, session.begin():
        toast = await _press(runtime, session, press, ticket_key, action, argument)
    runtime.outbox_changed()
    return toast


async def _press(
    runtime: Runtime,
    session: AsyncSession,
    press: ButtonPress,
    ticket_key: str,
    action: str,
    argument: str | None,
) -> str:
    ticket = await _ticket(session, ticket_key)
    community = next(
        (c for c in runtime.communities if ticket and c.community.id == ticket.community_id), None
    )
    if ticket is None or community is None:
        return text("press.unknown", press.sender.language)
    actor = await _actor(session, community, press)
    if not _may(actor, ticket, action, community):
        return text("press.refused", actor.language)
    try:
        if action in TARGET_STATUS:
            await _change_status(runtime, session, community, ticket, actor, action, press)
        elif action == "reassign":
            await _offer_workers(runtime, session, community, ticket, actor, press)
        elif action == "to" and argument is not None and argument.isdigit():
            await _assign_to(runtime, session, community, ticket, actor, int(argument))
        elif action == "grid" and argument is not None and argument.isdigit():
            await _choose_grid(runtime, session, community, ticket, actor, int(argument))
        else:
            return text("press.unknown", actor.language)
    except InvalidTransition:
        return text(
            "press.invalid",
            actor.language,
            number=ticket.number,
            status=status_name(ticket.status, actor.language),
        )
    return text("press.done", actor.language)


async def _ticket(session: AsyncSession, key: str) -> Ticket | None:
    """The pressed ticket, locked until the press is handled (two presses cannot interleave)."""
    try:
        ticket_id = uuid.UUID(hex=key)
    except ValueError:
        return None
    return await lock_ticket(session, ticket_id=ticket_id)


async def _actor(session: AsyncSession, community: CommunityConfig, press: ButtonPress) -> Actor:
    role = role_in(community, press.platform, press.sender.user_id)
    person = await remember_person(
        session,
        community,
        platform=press.platform,
        user_id=press.sender.user_id,
        display_name=press.sender.display_name,
        language=press.sender.language,
    )
    language = await language_of(
        session, press.platform, press.sender.user_id, community.community.language
    )
    return Actor(
        person=person,
        role=role,
        language=language,
        platform=press.platform,
        user_id=press.sender.user_id,
    )


def _may(actor: Actor, ticket: Ticket, action: str, community: CommunityConfig) -> bool:
    """Staff and the secretary may do anything; the grid's workers their tickets' steps up to
    resolving; the reporter may reopen."""
    if actor.role in MANAGERS:
        return True
    if action in MANAGER_ACTIONS:
        return False
    if ticket.assignee_id == actor.person.id or _works_in_grid(actor, ticket, community):
        return True
    return action == "reopen" and ticket.reporter_id == actor.person.id


def _works_in_grid(actor: Actor, ticket: Ticket, community: CommunityConfig) -> bool:
    if actor.role is not Role.GRID_WORKER or ticket.grid_id is None:
        return False
    return any(
        account_of(worker, actor.platform) == actor.user_id
        for worker in community.workers_of(ticket.grid_id)
    )


async def _change_status(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    actor: Actor,
    action: str,
    press: ButtonPress,
) -> None:
    now = runtime.clock.now()
    target = TARGET_STATUS[action]
    if (
        target is TicketStatus.ACKNOWLEDGED
        and ticket.assignee_id != actor.person.id
        and actor.role is Role.GRID_WORKER
    ):
        await assign_ticket(
            session,
            ticket=ticket,
            assignee_id=actor.person.id,
            now=now,
            actor_id=actor.person.id,
            platform=press.platform,
        )
    await change_ticket_status(
        session,
        ticket=ticket,
        to_status=target,
        now=now,
        actor_id=actor.person.id,
        platform=press.platform,
    )
    await _tell_everyone(
        runtime, session, community, ticket, UPDATE_TEXT[target], actor=actor.person.display_name
    )
    await _show_next_buttons(runtime, session, community, ticket, actor, press.chat_id)
    if target is TicketStatus.RESOLVED:
        await _ask_after_photo(runtime, session, ticket, actor, press)
    if target is TicketStatus.REOPENED:
        await route_ticket(runtime, session, community, ticket)


async def _show_next_buttons(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    actor: Actor,
    chat_id: str,
) -> None:
    """Give the presser the buttons for the ticket's new state that they may press."""
    rows = ticket_buttons(ticket, actor.language)
    mine = [tuple(b for b in row if _may(actor, ticket, _action_of(b), community)) for row in rows]
    buttons = tuple(row for row in mine if row)
    if not buttons:
        return
    await queue(
        runtime,
        session,
        Outgoing(
            chat_id=chat_id,
            text=f"{summary(community, ticket, actor.language)} · "
            f"{status_name(ticket.status, actor.language)}",
            buttons=buttons,
        ),
        ticket_id=ticket.id,
    )


def _action_of(button: Button) -> str:
    """The action of a ticket button ("t:<ticket hex>:<action>")."""
    return button.data.split(":")[2]


async def _ask_after_photo(
    runtime: Runtime, session: AsyncSession, ticket: Ticket, actor: Actor, press: ButtonPress
) -> None:
    now = runtime.clock.now()
    await conversations.open_question(
        session,
        chat_id=press.chat_id,
        user_id=press.sender.user_id,
        kind="after_photo",
        ticket_id=ticket.id,
        now=now,
        expires_at=now + QUESTION_LIFETIME,
    )
    await queue(
        runtime,
        session,
        Outgoing(
            chat_id=press.chat_id,
            text=text("resolve.ask_photo", actor.language, number=ticket.number),
        ),
        ticket_id=ticket.id,
    )


async def _tell_everyone(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    key: str,
    **values: object,
) -> None:
    """Update the report's thread and every subscribed reporter of a duplicate.

    A resolved ticket's update carries a Reopen button for the reporter.
    """
    language = community.community.language
    buttons: tuple[tuple[Button, ...], ...] = ()
    if ticket.status is TicketStatus.RESOLVED:
        buttons = ((Button(text("button.reopen", language), f"t:{ticket.id.hex}:reopen"),),)
    threads = {ticket.source_chat_id: ticket.source_message_id}
    for subscriber in await conversations.subscribers(session, ticket_id=ticket.id):
        threads.setdefault(subscriber.chat_id, subscriber.message_id)  # one update per chat
    for chat_id, message_id in threads.items():
        await queue(
            runtime,
            session,
            Outgoing(
                chat_id=chat_id,
                text=text(key, language, number=ticket.number, **values),
                reply_to=message_id,
                buttons=buttons,
                coalesce_key=GROUP_REPLY if is_group_chat(chat_id) and not buttons else None,
            ),
            ticket_id=ticket.id,
        )


def _all_workers(community: CommunityConfig) -> list[tuple[str, PersonConfig]]:
    return [(grid.id, worker) for grid in community.grids for worker in grid.workers]


async def _offer_workers(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    actor: Actor,
    press: ButtonPress,
) -> None:
    buttons = tuple(
        (
            Button(
                f"{worker.name} · {grid_name(community, grid_id, actor.language)}",
                f"t:{ticket.id.hex}:to:{index}",
            ),
        )
        for index, (grid_id, worker) in enumerate(_all_workers(community))
    )
    await queue(
        runtime,
        session,
        Outgoing(
            chat_id=press.chat_id,
            text=text("press.choose_worker", actor.language),
            buttons=buttons,
        ),
        ticket_id=ticket.id,
    )


async def _assign_to(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    actor: Actor,
    index: int,
) -> None:
    workers = _all_workers(community)
    if not 0 <= index < len(workers):
        raise InvalidTransition("no such worker")
    grid_id, worker = workers[index]
    await _assign(runtime, session, community, ticket, actor, ticket.grid_id or grid_id, worker)


async def _assign(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    actor: Actor,
    grid_id: str,
    worker: PersonConfig | None,
) -> None:
    assigned = await assign_grid_worker(
        session,
        community=community,
        ticket=ticket,
        grid_id=grid_id,
        now=runtime.clock.now(),
        actor_id=actor.person.id,
        worker=worker,
    )
    if assigned is None:
        await route_ticket(runtime, session, community, ticket)
        return
    await _tell_everyone(
        runtime,
        session,
        community,
        ticket,
        "update.assigned",
        worker=assigned.name,
        actor=actor.person.display_name,
    )
    await _ping_assignee(runtime, session, community, ticket, assigned)


async def _choose_grid(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    actor: Actor,
    grid_index: int,
) -> None:
    if not 0 <= grid_index < len(community.grids):
        raise InvalidTransition("no such grid")
    if ticket.grid_id is not None and ticket.assignee_id is not None:
        raise InvalidTransition("the ticket already has a grid and a handler")
    await _assign(runtime, session, community, ticket, actor, community.grids[grid_index].id, None)


async def _ping_assignee(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    worker: PersonConfig,
) -> None:
    await ping_worker(
        runtime, session, community, ticket, worker.name, account_of(worker, ticket.source_platform)
    )
