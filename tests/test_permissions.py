"""Who may do what: every ticket and event action against every role, from one table.

Each case gets a fresh copy of a migrated SQLite database, builds the state its action needs
(a ticket in grid G3 assigned to its first worker, a published event, a draft ...) and drives
the platform-neutral dispatcher (`handlers.dispatch`), where every permission check lives; the
Telegram and WeCom adapters only translate updates into these calls. An allowed action must
take effect, done by that person; a refused one must answer politely and change nothing.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.simulation import (
    OUTSIDER,
    RESIDENTS,
    RIDER,
    RIDER_2,
    SECRETARY,
    STAFF,
    START,
    WORKER_G1,
    WORKER_G3,
    WORKER_G3_B,
    WORKER_G4,
)
from handlers.actions import ButtonPress, Outgoing
from handlers.clock import FakeClock
from handlers.commands import COMMANDS
from handlers.community import CommunityConfig, load_community
from handlers.dispatch import handle_incoming, handle_press
from handlers.group_intake import ticket_buttons
from handlers.messages import Attachment, AttachmentKind, ChatKind, Incoming, Platform, Sender
from handlers.parsing.report_parser import ReportParser
from handlers.runtime import Runtime
from handlers.texts import text
from storage import conversations
from storage.database import create_engine, create_session_factory, upgrade_database_sync
from storage.models import (
    ConversationQuestion,
    Event,
    EventRsvp,
    EventStatus,
    OutboxMessage,
    RsvpStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from storage.people import find_person_by_account
from tests.conftest import SAMPLE_COMMUNITY

LANGUAGE = "zh"
# No community file lists residents: a resident is anyone who is neither staff nor a worker.
# The riders act in their group; the outsider (路人甲) presses buttons from a private chat.
ROLES: dict[str, int] = {
    "reporter": RIDER,  # reported the ticket
    "other_resident": RIDER_2,
    "other_grid_worker": WORKER_G1,
    "assigned_worker": WORKER_G3,
    "grid_colleague": WORKER_G3_B,  # the ticket's grid's second worker, not the assignee
    "staff": STAFF,
    "secretary": SECRETARY,
    "unknown": OUTSIDER,
}
ROLE_OF = {user: role for role, user in ROLES.items()}
EVERYONE = frozenset(ROLES)
RIDERS = frozenset({"reporter", "other_resident"})
MANAGERS = frozenset({"staff", "secretary"})
TICKET_HANDLERS = MANAGERS | {"assigned_worker", "grid_colleague"}
WORKERS_AND_MANAGERS = TICKET_HANDLERS | {"other_grid_worker"}

REPORT = "二期篮球场的铁丝网破了个大洞，麻烦修一下"  # grid G3: 王芳 (WORKER_G3) is assigned
NO_GRID_REPORT = "南门的路灯坏了"  # two grids have a 南门: staff choose the grid
EVENT_LINE = "/event 电影之夜 | 2023-07-11 19:30 | 扬帆公园 | 名额 50"  # the next evening
EVENT_TITLE = "电影之夜"
MOVED_PLACE = "扬帆公园东门"

DONE = text("press.done", LANGUAGE)
REFUSED = text("press.refused", LANGUAGE)


# --------------------------------------------------------------------------- the bench


MESSAGE_IDS = itertools.count(1)  # across cases: a restored snapshot has claimed earlier ids


class Bench:
    """One community on its own database: people say things and press buttons."""

    def __init__(self, runtime: Runtime, database: Path) -> None:
        self.runtime = runtime
        self.database = database

    @property
    def community(self) -> CommunityConfig:
        return self.runtime.communities[0]

    async def say(
        self, user: int, words: str, *, chat: int | None = None, photo: bool = False
    ) -> None:
        """A message from `user`, privately unless `chat` (a group) is given."""
        where = user if chat is None else chat
        await handle_incoming(
            self.runtime,
            Incoming(
                platform=Platform.TELEGRAM,
                chat_id=f"tg:{where}",
                chat_kind=ChatKind.GROUP if where < 0 else ChatKind.PRIVATE,
                sender=_sender(user),
                message_id=str(next(MESSAGE_IDS)),
                sent_at=self.runtime.clock.now(),
                text=words,
                attachments=(Attachment(AttachmentKind.PHOTO, "photo-1"),) if photo else (),
                command=words[1:].split()[0] if words.startswith("/") else None,
            ),
        )

    async def press(self, user: int, data: str, *, chat: int | None = None) -> str:
        """`user` presses a button carrying `data`; returns the toast they see."""
        where = user if chat is None else chat
        press = ButtonPress(
            platform="tg",
            chat_id=f"tg:{where}",
            message_id="1",
            sender=_sender(user),
            data=data,
            press_id=str(next(MESSAGE_IDS)),
        )
        return await handle_press(self.runtime, press)

    async def answers_to(self, chat: int) -> list[Outgoing]:
        """Everything the bot queued for a chat, oldest first."""
        async with self.runtime.sessions() as session:
            rows = await session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == f"tg:{chat}")
                .order_by(col(OutboxMessage.id))
            )
            return [Outgoing.from_json(row.payload) for row in rows]

    async def outbox_size(self) -> int:
        async with self.runtime.sessions() as session:
            return len(list(await session.exec(select(OutboxMessage.id))))

    async def last_answer(self, chat: int) -> str:
        answers = await self.answers_to(chat)
        return answers[-1].text if answers else ""

    async def button(self, chat: int, suffix: str) -> str:
        """The data of the newest button in a chat whose data ends with `suffix`."""
        for answer in reversed(await self.answers_to(chat)):
            for row in answer.buttons:
                for button in row:
                    if button.data.endswith(suffix):
                        return button.data
        raise AssertionError(f"no button ending {suffix!r} in chat {chat}")

    async def person_id(self, user: int) -> uuid.UUID | None:
        async with self.runtime.sessions() as session:
            person = await find_person_by_account(
                session, platform="tg", platform_user_id=str(user)
            )
            return person.id if person else None

    async def tickets(self) -> list[Ticket]:
        async with self.runtime.sessions() as session:
            return list(await session.exec(select(Ticket).order_by(col(Ticket.number))))

    async def audit(self, ticket_id: uuid.UUID) -> list[TicketEvent]:
        async with self.runtime.sessions() as session:
            rows = await session.exec(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(col(TicketEvent.id))
            )
            return list(rows)

    async def only_ticket(self) -> Ticket:
        [ticket] = await self.tickets()
        return ticket

    async def events(self) -> list[Event]:
        async with self.runtime.sessions() as session:
            return list(await session.exec(select(Event)))

    async def answers_for_event(self) -> list[EventRsvp]:
        async with self.runtime.sessions() as session:
            return list(await session.exec(select(EventRsvp)))

    async def draft_of(self, user: int) -> ConversationQuestion | None:
        """`user`'s open /event draft, if any."""
        async with self.runtime.sessions() as session:
            return await conversations.current_question(
                session,
                chat_id=f"tg:{user}",
                user_id=str(user),
                kind="event_draft",
                now=self.runtime.clock.now(),
            )


def _sender(user: int) -> Sender:
    return Sender(user_id=str(user), display_name=f"user {user}", language=LANGUAGE)


# --------------------------------------------------------------------------- states before acting
# Each is built once, saved as a database file, and copied for every role that acts on it.


async def nothing(bench: Bench) -> None:
    """No ticket, no event."""


async def assigned_ticket(bench: Bench) -> None:
    """A rider's report in grid G3, assigned to the grid's first worker; 孙浩 (G4) is known."""
    await bench.say(RIDER, REPORT, chat=RESIDENTS)
    ticket = await bench.only_ticket()
    assert ticket.status is TicketStatus.ASSIGNED
    assert ticket.assignee_id == await bench.person_id(WORKER_G3)
    await bench.say(WORKER_G4, "/start")  # stored, so a reassignment to him can be checked


async def acknowledged_ticket(bench: Bench) -> None:
    await assigned_ticket(bench)
    await worker_presses(bench, "ack")


async def resolved_ticket(bench: Bench) -> None:
    await acknowledged_ticket(bench)
    await worker_presses(bench, "resolve")


async def closed_ticket(bench: Bench) -> None:
    await resolved_ticket(bench)
    ticket = await bench.only_ticket()
    assert await bench.press(STAFF, f"t:{ticket.id.hex}:close") == DONE


async def worker_presses(bench: Bench, action: str) -> None:
    ticket = await bench.only_ticket()
    assert await bench.press(WORKER_G3, f"t:{ticket.id.hex}:{action}") == DONE


async def ticket_without_grid(bench: Bench) -> None:
    await bench.say(RIDER, NO_GRID_REPORT, chat=RESIDENTS)
    ticket = await bench.only_ticket()
    assert (ticket.grid_id, ticket.status) == (None, TicketStatus.REPORTED)


async def vague_photo(bench: Bench) -> None:
    """A rider's photo captioned only "look here": the bot asks whether it is a report."""
    await bench.say(RIDER, "看这里", chat=RESIDENTS, photo=True)
    assert await bench.button(RESIDENTS, ":y")


async def published_event(bench: Bench) -> None:
    await bench.say(STAFF, EVENT_LINE)
    assert len(await bench.events()) == 1


async def draft_started(bench: Bench) -> None:
    await bench.say(STAFF, "/event")
    assert await bench.draft_of(STAFF) is not None


async def draft_at_summary(bench: Bench) -> None:
    """Staff walk the guided /event up to its summary with 发布 / 取消 buttons."""
    await draft_started(bench)
    for answer in (EVENT_TITLE, "2023-07-11 19:30", "跳过", "跳过"):  # title, start, place, cap
        await bench.say(STAFF, answer)
    assert await bench.press(STAFF, await bench.button(STAFF, ":none")) == DONE  # no repeat
    for answer in ("全部", "默认"):  # audience, reminders
        await bench.say(STAFF, answer)
    assert await bench.button(STAFF, ":ok")


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True, slots=True)
class Pressed:
    """What one press on the ticket's button did."""

    toast: str
    before: Ticket
    after: Ticket
    audit: list[TicketEvent]  # rows the press added
    shown: list[Outgoing]  # what it queued in the chat where the button was pressed
    queued: int  # messages it queued anywhere


async def press_on_ticket(bench: Bench, actor: int, action: str) -> Pressed:
    """`actor` presses the ticket's `action` button where they would see it."""
    ticket = await bench.only_ticket()
    chat = home_chat(actor)
    audit_before = await bench.audit(ticket.id)
    shown_before = await bench.answers_to(chat)
    queued_before = await bench.outbox_size()
    toast = await bench.press(actor, f"t:{ticket.id.hex}:{action}", chat=chat)
    return Pressed(
        toast=toast,
        before=ticket,
        after=await bench.only_ticket(),
        audit=(await bench.audit(ticket.id))[len(audit_before) :],
        shown=(await bench.answers_to(chat))[len(shown_before) :],
        queued=await bench.outbox_size() - queued_before,
    )


def home_chat(actor: int) -> int:
    """Riders press under the bot's posts in their group; the others in private chats."""
    return RESIDENTS if ROLE_OF[actor] in RIDERS else actor


def expect_refused(pressed: Pressed) -> None:
    """A polite toast, and the ticket, its audit log and the outbox as they were."""
    assert pressed.toast == REFUSED
    assert pressed.after.model_dump() == pressed.before.model_dump()
    assert pressed.audit == []
    assert pressed.queued == 0


def expect_only_permitted_buttons(pressed: Pressed, actor: int) -> None:
    """The buttons the press brought up are ones the presser may press."""
    offered = {
        button.data.split(":")[2]
        for answer in pressed.shown
        for row in answer.buttons
        for button in row
        if button.data.startswith("t:")
    }
    role = ROLE_OF[actor]
    forbidden = {action for action in offered if role not in TABLE[BUTTON_ACTIONS[action]].allowed}
    assert forbidden == set()


async def expect_ticket_press(
    bench: Bench,
    actor: int,
    allowed: bool,
    action: str,
    took_effect: Callable[[Ticket], bool],
) -> None:
    """Allowed: done, changed, audited as the actor. Refused: the refusal, nothing changed."""
    pressed = await press_on_ticket(bench, actor, action)
    if not allowed:
        expect_refused(pressed)
        return
    assert pressed.toast == DONE
    assert took_effect(pressed.after)
    assert pressed.audit
    assert {row.actor_id for row in pressed.audit} == {await bench.person_id(actor)}
    expect_only_permitted_buttons(pressed, actor)


def has_status(status: TicketStatus) -> Callable[[Ticket], bool]:
    return lambda ticket: ticket.status is status


async def expect_command(
    bench: Bench, actor: int, allowed: bool, command: str, refusal: str
) -> str:
    """Send a command privately; a refused one is answered with `refusal`. Returns the answer."""
    await bench.say(actor, command)
    answer = await bench.last_answer(actor)
    assert (answer != refusal) is allowed
    return answer


# --------------------------------------------------------------------------- ticket actions


async def report(bench: Bench, actor: int, allowed: bool) -> None:
    """/report in the riders' group."""
    await bench.say(actor, f"/report {REPORT}", chat=RESIDENTS)
    reported = [t for t in await bench.tickets() if t.reporter_id == await bench.person_id(actor)]
    assert (len(reported) == 1) is allowed


async def confirm_report(bench: Bench, actor: int, allowed: bool) -> None:
    """是，登记工单 under "is this a report?" in the group."""
    data = await bench.button(RESIDENTS, ":y")
    toast = await bench.press(actor, data, chat=RESIDENTS)
    tickets = await bench.tickets()
    if allowed:
        assert toast == DONE
        [ticket] = tickets
        assert ticket.reporter_id == await bench.person_id(RIDER)  # the photo's sender
    else:
        assert toast == text("press.not_yours", LANGUAGE)
        assert tickets == []
        assert await bench.press(RIDER, data, chat=RESIDENTS) == DONE  # still open for her


async def acknowledge(bench: Bench, actor: int, allowed: bool) -> None:
    await expect_ticket_press(bench, actor, allowed, "ack", has_status(TicketStatus.ACKNOWLEDGED))


async def resolve(bench: Bench, actor: int, allowed: bool) -> None:
    await expect_ticket_press(bench, actor, allowed, "resolve", has_status(TicketStatus.RESOLVED))


async def reject(bench: Bench, actor: int, allowed: bool) -> None:
    await expect_ticket_press(bench, actor, allowed, "reject", has_status(TicketStatus.REJECTED))


async def close(bench: Bench, actor: int, allowed: bool) -> None:
    await expect_ticket_press(bench, actor, allowed, "close", has_status(TicketStatus.CLOSED))


async def reopen(bench: Bench, actor: int, allowed: bool) -> None:
    """Resolved, or closed: the Reopen button stays under the "resolved" update in the group."""
    await expect_ticket_press(bench, actor, allowed, "reopen", has_status(TicketStatus.REOPENED))


async def reassign(bench: Bench, actor: int, allowed: bool) -> None:
    """🔁 offers the presser every worker to choose from; nothing changes until they choose."""
    pressed = await press_on_ticket(bench, actor, "reassign")
    if not allowed:
        expect_refused(pressed)
        return
    assert pressed.toast == DONE
    assert any(":to:" in b.data for answer in pressed.shown for row in answer.buttons for b in row)
    assert pressed.after.model_dump() == pressed.before.model_dump()
    assert pressed.audit == []
    expect_only_permitted_buttons(pressed, actor)


async def assign_to_other_worker(bench: Bench, actor: int, allowed: bool) -> None:
    """Choose 孙浩 (grid G4) from the reassign list."""
    workers = [worker for grid in bench.community.grids for worker in grid.workers]
    index = next(i for i, worker in enumerate(workers) if worker.telegram_id == WORKER_G4)
    g4_worker = await bench.person_id(WORKER_G4)

    def handed_to_g4_worker(after: Ticket) -> bool:
        return after.assignee_id == g4_worker and after.status is TicketStatus.ASSIGNED

    await expect_ticket_press(bench, actor, allowed, f"to:{index}", handed_to_g4_worker)


async def choose_grid(bench: Bench, actor: int, allowed: bool) -> None:
    """Pick grid G2 for a report whose place names no single grid."""
    index = next(i for i, grid in enumerate(bench.community.grids) if grid.id == "G2")

    def routed_to_g2(after: Ticket) -> bool:
        return after.grid_id == "G2" and after.status is TicketStatus.ASSIGNED

    await expect_ticket_press(bench, actor, allowed, f"grid:{index}", routed_to_g2)


async def view(bench: Bench, actor: int, allowed: bool) -> None:
    """/ticket N: details to whoever may see it; buttons only to those who handle tickets."""
    ticket = await bench.only_ticket()
    missing = text("cmd.ticket_missing", LANGUAGE, number=ticket.number)
    answer = await expect_command(bench, actor, allowed, f"/ticket {ticket.number}", missing)
    assert (REPORT in answer) is allowed
    reply = (await bench.answers_to(actor))[-1]
    handles_tickets = actor in {ROLES[role] for role in WORKERS_AND_MANAGERS}
    assert bool(reply.buttons) is handles_tickets


async def my_tickets(bench: Bench, actor: int, allowed: bool) -> None:
    """/mytickets lists what one reported or is assigned, nothing else."""
    ticket = await bench.only_ticket()
    await bench.say(actor, "/mytickets")
    assert (f"#{ticket.number} " in await bench.last_answer(actor)) is allowed


async def open_tickets(bench: Bench, actor: int, allowed: bool) -> None:
    ticket = await bench.only_ticket()
    staff_only = text("cmd.staff_only", LANGUAGE)
    answer = await expect_command(bench, actor, allowed, "/open", staff_only)
    assert (f"#{ticket.number} " in answer) is allowed


async def stats(bench: Bench, actor: int, allowed: bool) -> None:
    staff_only = text("cmd.staff_only", LANGUAGE)
    answer = await expect_command(bench, actor, allowed, "/stats", staff_only)
    totals = text("cmd.stats", LANGUAGE, total=1, open=1, done=0, overdue=0, per_grid="")
    assert answer.startswith(totals.strip()) is allowed


# --------------------------------------------------------------------------- event actions


async def publish(bench: Bench, actor: int, allowed: bool) -> None:
    """The one-line /event."""
    await expect_command(bench, actor, allowed, EVENT_LINE, text("event.staff_only", LANGUAGE))
    assert len(await bench.events()) == (1 if allowed else 0)


async def start_wizard(bench: Bench, actor: int, allowed: bool) -> None:
    """/event alone starts the guided conversation in the sender's private chat."""
    await expect_command(bench, actor, allowed, "/event", text("event.staff_only", LANGUAGE))
    assert (await bench.draft_of(actor) is not None) is allowed


async def publish_from_wizard(bench: Bench, actor: int, allowed: bool) -> None:
    """发布 under staff's summary: a draft is its author's alone, whatever the presser's role."""
    toast = await bench.press(actor, await bench.button(STAFF, ":ok"))
    assert toast == (DONE if allowed else text("wizard.expired", LANGUAGE))
    assert len(await bench.events()) == (1 if allowed else 0)
    assert (await bench.draft_of(STAFF) is None) is allowed


async def drop_draft(bench: Bench, actor: int, allowed: bool) -> None:
    """/cancel drops the sender's own draft only."""
    nothing = text("wizard.nothing_to_cancel", LANGUAGE)
    await expect_command(bench, actor, allowed, "/cancel", nothing)
    assert (await bench.draft_of(STAFF) is None) is allowed


async def edit_event(bench: Bench, actor: int, allowed: bool) -> None:
    command = f"/event_edit 1 | 地点 | {MOVED_PLACE}"
    refusal = text("event.manage_staff_only", LANGUAGE)
    await expect_command(bench, actor, allowed, command, refusal)
    [event] = await bench.events()
    assert (event.place == MOVED_PLACE) is allowed


async def cancel_event(bench: Bench, actor: int, allowed: bool) -> None:
    refusal = text("event.manage_staff_only", LANGUAGE)
    await expect_command(bench, actor, allowed, "/event_cancel 1", refusal)
    [event] = await bench.events()
    assert (event.status is EventStatus.CANCELLED) is allowed


async def join(bench: Bench, actor: int, allowed: bool) -> None:
    """参加 under the invitation in the riders' group."""
    [event] = await bench.events()
    await bench.press(actor, f"e:{event.id.hex}:join", chat=RESIDENTS)
    assert (len(await answers_of(bench, actor, RsvpStatus.GOING)) == 1) is allowed


async def leave(bench: Bench, actor: int, allowed: bool) -> None:
    """不能来 after joining."""
    [event] = await bench.events()
    await bench.press(actor, f"e:{event.id.hex}:join", chat=RESIDENTS)
    await bench.press(actor, f"e:{event.id.hex}:no", chat=RESIDENTS)
    assert await answers_of(bench, actor, RsvpStatus.GOING) == []
    assert (len(await answers_of(bench, actor, RsvpStatus.DECLINED)) == 1) is allowed


async def answers_of(bench: Bench, actor: int, status: RsvpStatus) -> list[EventRsvp]:
    person = await bench.person_id(actor)
    answers = await bench.answers_for_event()
    return [answer for answer in answers if answer.person_id == person and answer.status == status]


async def calendar_file(bench: Bench, actor: int, allowed: bool) -> None:
    """The .ics button sends the calendar file to the presser's private chat."""
    [event] = await bench.events()
    await bench.press(actor, f"e:{event.id.hex}:ics", chat=RESIDENTS)
    files = [answer for answer in await bench.answers_to(actor) if answer.document is not None]
    assert (len(files) == 1) is allowed


async def list_events(bench: Bench, actor: int, allowed: bool) -> None:
    await bench.say(actor, "/events")
    assert (EVENT_TITLE in await bench.last_answer(actor)) is allowed


# --------------------------------------------------------------------------- the table

Prepare = Callable[[Bench], Awaitable[None]]
Check = Callable[[Bench, int, bool], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Rule:
    """How an action is taken, on what state, and who may take it."""

    via: str  # the command, or the data of the button pressed
    allowed: frozenset[str]
    prepare: Prepare
    check: Check


TABLE: dict[str, Rule] = {
    # tickets
    "report": Rule("/report TEXT", EVERYONE, nothing, report),
    "confirm_report": Rule(
        "r:<question>:y", WORKERS_AND_MANAGERS | {"reporter"}, vague_photo, confirm_report
    ),
    "acknowledge": Rule("t:<ticket>:ack", TICKET_HANDLERS, assigned_ticket, acknowledge),
    "resolve": Rule("t:<ticket>:resolve", TICKET_HANDLERS, acknowledged_ticket, resolve),
    "reject": Rule("t:<ticket>:reject", TICKET_HANDLERS, assigned_ticket, reject),
    "close": Rule("t:<ticket>:close", MANAGERS, resolved_ticket, close),
    "reopen": Rule("t:<ticket>:reopen", TICKET_HANDLERS | {"reporter"}, resolved_ticket, reopen),
    "reopen_closed": Rule(
        "t:<ticket>:reopen", TICKET_HANDLERS | {"reporter"}, closed_ticket, reopen
    ),
    "reassign": Rule("t:<ticket>:reassign", TICKET_HANDLERS, assigned_ticket, reassign),
    "assign_to_worker": Rule(
        "t:<ticket>:to:<worker>", TICKET_HANDLERS, assigned_ticket, assign_to_other_worker
    ),
    "choose_grid": Rule("t:<ticket>:grid:<grid>", MANAGERS, ticket_without_grid, choose_grid),
    "view": Rule("/ticket N", WORKERS_AND_MANAGERS | {"reporter"}, assigned_ticket, view),
    "mytickets": Rule(
        "/mytickets", frozenset({"reporter", "assigned_worker"}), assigned_ticket, my_tickets
    ),
    "open": Rule("/open", WORKERS_AND_MANAGERS, assigned_ticket, open_tickets),
    "stats": Rule("/stats", WORKERS_AND_MANAGERS, assigned_ticket, stats),
    # events
    "publish": Rule("/event title | time | place | capacity", MANAGERS, nothing, publish),
    "publish_wizard_start": Rule("/event", MANAGERS, nothing, start_wizard),
    "publish_wizard_confirm": Rule(
        "w:<question>:ok", frozenset({"staff"}), draft_at_summary, publish_from_wizard
    ),
    "drop_draft": Rule("/cancel", frozenset({"staff"}), draft_started, drop_draft),
    "edit": Rule("/event_edit N | field | value", MANAGERS, published_event, edit_event),
    "cancel": Rule("/event_cancel N", MANAGERS, published_event, cancel_event),
    "join": Rule("e:<event>:join", EVERYONE, published_event, join),
    "leave": Rule("e:<event>:no", EVERYONE, published_event, leave),
    "ics": Rule("e:<event>:ics", EVERYONE, published_event, calendar_file),
    "list": Rule("/events", EVERYONE, published_event, list_events),
}
UNGUARDED_COMMANDS = frozenset({"start", "help"})  # greetings; /help adds staff lines to staff

BUTTON_ACTIONS = {  # a ticket button's action → its row in the table
    "ack": "acknowledge",
    "resolve": "resolve",
    "reject": "reject",
    "close": "close",
    "reopen": "reopen",
    "reassign": "reassign",
    "to": "assign_to_worker",
    "grid": "choose_grid",
}

CASES = [
    pytest.param(action, role, id=f"{action}-by-{role}")
    for action, role in itertools.product(TABLE, ROLES)
]


# --------------------------------------------------------------------------- snapshots


class Snapshots:
    """Database files of each state before acting, built on first use and copied per case."""

    def __init__(self, folder: Path, community: CommunityConfig) -> None:
        self.folder = folder
        self.community = community
        self.parser = ReportParser(community)
        self.files: dict[Prepare, Path] = {}
        self.names = itertools.count(1)
        self.migrated = folder / "migrated.db"
        upgrade_database_sync(f"sqlite+aiosqlite:///{self.migrated}")

    @asynccontextmanager
    async def bench_after(self, prepare: Prepare) -> AsyncIterator[Bench]:
        """A bench on a private copy of the state `prepare` builds."""
        if prepare not in self.files:
            self.files[prepare] = await self._build(prepare)
        async with self._bench_on_copy_of(self.files[prepare]) as bench:
            yield bench

    async def _build(self, prepare: Prepare) -> Path:
        async with self._bench_on_copy_of(self.migrated, keep=True) as bench:
            await prepare(bench)
            return bench.database

    @asynccontextmanager
    async def _bench_on_copy_of(self, source: Path, *, keep: bool = False) -> AsyncIterator[Bench]:
        database = self.folder / f"{next(self.names)}.db"
        shutil.copyfile(source, database)
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        event.listen(engine.sync_engine, "connect", _skip_fsync)
        runtime = Runtime(
            communities=[self.community],
            sessions=create_session_factory(engine),
            clock=FakeClock(start=START),
            parsers={self.community.community.id: self.parser},
        )
        try:
            yield Bench(runtime, database)
        finally:
            await engine.dispose()  # the last connection folds the write-ahead log into the file
        assert not database.with_name(database.name + "-wal").exists()
        if not keep:
            database.unlink()


def _skip_fsync(dbapi_connection: Any, _connection_record: Any) -> None:
    """These files live for one case: waiting for the disk on each commit buys nothing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Snapshots:
    return Snapshots(tmp_path_factory.mktemp("permissions"), load_community(SAMPLE_COMMUNITY))


@pytest.mark.parametrize(("action", "role"), CASES)
async def test_who_may_take_each_action(snapshots: Snapshots, action: str, role: str) -> None:
    rule = TABLE[action]
    async with snapshots.bench_after(rule.prepare) as bench:
        await rule.check(bench, ROLES[role], role in rule.allowed)


def test_the_table_has_a_row_for_every_command_and_ticket_button() -> None:
    commands = {rule.via[1:].split()[0] for rule in TABLE.values() if rule.via.startswith("/")}
    assert set(COMMANDS) - UNGUARDED_COMMANDS <= commands
    pressed = {rule.via.split(":")[2] for rule in TABLE.values() if rule.via.startswith("t:")}
    for status in TicketStatus:
        shown = ticket_buttons(Ticket(id=uuid.uuid4(), status=status), LANGUAGE)
        assert {button.data.split(":")[2] for row in shown for button in row} <= pressed
    assert set(BUTTON_ACTIONS) == pressed
