"""Storm drill: the fake Bot API answers 500s, then 429s, for minutes; nothing may be lost.

Reports arrive in three groups and workers ask the bot about tickets in private while the fake
answers every message with 500 / 502 for a minute, then with 429 "retry after 30" for two
minutes, then recovers.
Afterwards every message must have arrived exactly once, each chat's in the order the outbox
queued them. Time is virtual: one clock for the bot, its flood control and the fake.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

from sqlmodel import col, select

from bot.simulation import RIDER, RIDER_2, World, telegram_world
from bot.workload import distinct_reports, write_community_copies
from handlers.actions import Outgoing
from handlers.community import CommunityConfig, load_communities
from storage.models import OutboxMessage, OutboxStatus, Ticket, TicketStatus
from storage.outbox import next_due_at
from tests.conftest import PARSER_SCORES

GROUPS = 3
REPORTS_PER_GROUP_PER_WAVE = 10
SERVER_ERROR_STORM = (0.0, 60.0)  # virtual seconds from the start: 500 / 502 answers
FLOOD_STORM = (60.0, 180.0)  # 429 "retry after 30"
FLOOD_RETRY_AFTER = 30
REPORT_WAVES_AT = (0.0, 75.0)  # one in each storm
QUESTIONS_AT = (30.0, 120.0)
ASKING_WORKERS = 3  # per community, in private chats that also get the pings


async def drive_until(world: World, moment: float) -> None:
    """Let the sender work, moving the virtual clock, until it reads `moment`."""
    while (left := moment - world.clock.monotonic()) > 0:
        if (await world.service.sender.drain_once()).claimed:
            continue
        async with world.service.runtime.sessions() as session:
            due = await next_due_at(session)
        wait = left if due is None else (due - world.clock.now()).total_seconds()
        world.clock.advance(min(left, max(wait, 0.001)))


def send_reports(world: World, communities: list[CommunityConfig], wave: int) -> None:
    """One wave of distinct reports, round-robin over the communities' residents groups."""
    first = wave * REPORTS_PER_GROUP_PER_WAVE
    last = first + REPORTS_PER_GROUP_PER_WAVE
    batches = [distinct_reports(c, last)[first:] for c in communities]
    for round_texts in zip(*batches, strict=True):
        for community, text in zip(communities, round_texts, strict=True):
            world.send(residents_group(community), RIDER if len(text) % 2 else RIDER_2, text)


def ask_about_tickets(
    world: World, communities: list[CommunityConfig], number: int
) -> list[tuple[int, int]]:
    """Workers ask the bot in private about ticket `number`; the (chat, message id) asked."""
    asked = []
    for community in communities:
        workers = [w for grid in community.grids for w in grid.workers]
        for worker in workers[:ASKING_WORKERS]:
            chat = worker.telegram_id or 0
            message = world.send(chat, chat, f"/ticket {number}")
            asked.append((chat, int(message["message_id"])))
    return asked


def residents_group(community: CommunityConfig) -> int:
    return int(community.chats[0].id.removeprefix("tg:"))


def sent_rows_by_chat(rows: list[OutboxMessage]) -> dict[int, list[OutboxMessage]]:
    """The sent (not edit) rows of each chat, in queue order."""
    by_chat: dict[int, list[OutboxMessage]] = {}
    for row in sorted(rows, key=lambda r: r.id or 0):
        if (
            row.status is OutboxStatus.SENT
            and Outgoing.from_json(row.payload).edit_message_id is None
        ):
            by_chat.setdefault(int(row.chat_id.removeprefix("tg:")), []).append(row)
    return by_chat


def out_of_order(world: World, rows_by_chat: dict[int, list[OutboxMessage]]) -> int:
    """Messages that reached their chat before one queued ahead of them (or as another text)."""
    misplaced = 0
    for chat, rows in rows_by_chat.items():
        arrived = {m["message_id"]: m for m in world.messages_to(chat)}
        ids = [int(row.sent_message_id or 0) for row in rows]
        misplaced += sum(1 for before, after in itertools.pairwise(ids) if after < before)
        for row, message_id in zip(rows, ids, strict=True):
            message = arrived.get(message_id, {})
            if (message.get("text") or message.get("caption")) != payload_text(row):
                misplaced += 1
    return misplaced


def payload_text(row: OutboxMessage) -> str:
    return Outgoing.from_json(row.payload).text


def duplicates(world: World, rows_by_chat: dict[int, list[OutboxMessage]]) -> int:
    """Messages that arrived more often than the outbox queued them (by chat and text)."""
    queued = Counter((chat, payload_text(r)) for chat, rows in rows_by_chat.items() for r in rows)
    arrived = Counter(
        (m["chat"]["id"], m.get("text") or m.get("caption") or "")
        for m in world.fake.sent_messages()
    )
    return sum(max(0, count - queued[key]) for key, count in arrived.items())


def missing(world: World, communities: list[CommunityConfig], tickets: list[Ticket]) -> int:
    """Group acknowledgements and worker pings that never arrived."""
    lost = 0
    for ticket in tickets:
        community = next(c for c in communities if c.community.id == ticket.community_id)
        number = re.compile(rf"#{ticket.number}(?!\d)")
        chats = [int(ticket.source_chat_id.removeprefix("tg:"))]
        chats += [w.telegram_id or 0 for w in community.workers_of(ticket.grid_id or "")]
        lost += sum(1 for chat in chats if not number.search("\n".join(world.texts_to(chat))))
    return lost


def unanswered(world: World, questions: list[tuple[int, int]]) -> int:
    """Private questions the bot never replied to."""
    replied = {
        (m["chat"]["id"], m["reply_to_message"]["message_id"])
        for m in world.fake.sent_messages()
        if "reply_to_message" in m
    }
    return sum(1 for question in questions if question not in replied)


async def test_a_500_then_429_storm_loses_nothing_and_keeps_each_chats_order(
    database_url: str, tmp_path: Path
) -> None:
    communities = load_communities([str(p) for p in write_community_copies(tmp_path, GROUPS)])
    async with telegram_world(communities, database_url, tmp_path / "media") as world:
        start = world.clock.monotonic()
        world.fake.fail_during(
            SERVER_ERROR_STORM[1] - SERVER_ERROR_STORM[0], statuses=(500, 502, 500)
        )
        world.fake.fail_during(
            FLOOD_STORM[1] - FLOOD_STORM[0],
            statuses=(429,),
            retry_after=FLOOD_RETRY_AFTER,
            start_in=FLOOD_STORM[0],
        )
        questions: list[tuple[int, int]] = []
        events = sorted(
            [(at, "reports", wave) for wave, at in enumerate(REPORT_WAVES_AT)]
            + [(at, "questions", wave) for wave, at in enumerate(QUESTIONS_AT)]
        )
        for at, kind, wave in events:
            await drive_until(world, start + at)
            if kind == "reports":
                send_reports(world, communities, wave)
            else:
                questions += ask_about_tickets(world, communities, wave + 1)
            await world.service.wait_handled(world.updates, seconds=60)
        await world.settle(max_rounds=20000)
        elapsed = world.clock.monotonic() - start

        async with world.service.runtime.sessions() as session:
            tickets = list(await session.exec(select(Ticket)))
            rows = list(await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        statuses = Counter(call.status for call in world.fake.calls)
        flood_storm = (start + FLOOD_STORM[0], start + FLOOD_STORM[1])
        refused_outside = [
            call
            for call in world.fake.calls
            if call.status == 429 and not flood_storm[0] <= call.at < flood_storm[1]
        ]

    reports = len(REPORT_WAVES_AT) * GROUPS * REPORTS_PER_GROUP_PER_WAVE
    rows_by_chat = sent_rows_by_chat(rows)
    unsent = [row for row in rows if row.status in (OutboxStatus.PENDING, OutboxStatus.FAILED)]
    lost = len(unsent) + missing(world, communities, tickets) + unanswered(world, questions)
    figures = {
        "reports": reports,
        "tickets": len(tickets),
        "messages_sent": len(world.fake.sent_messages()),
        "server_errors_answered": statuses[500] + statuses[502],
        "too_many_requests_answered": statuses[429],
        "too_many_requests_outside_storm": len(refused_outside),
        "lost": lost,
        "duplicates": duplicates(world, rows_by_chat),
        "out_of_order": out_of_order(world, rows_by_chat),
        "virtual_seconds": round(elapsed, 1),
    }
    PARSER_SCORES["storm drill"] = figures
    print("storm drill:", ", ".join(f"{name} {value}" for name, value in figures.items()))

    assert len(tickets) == reports
    assert len({(t.source_chat_id, t.source_message_id) for t in tickets}) == reports
    assert all(t.status is TicketStatus.ASSIGNED for t in tickets)
    assert figures["server_errors_answered"] > 0 and figures["too_many_requests_answered"] > 0
    assert figures["too_many_requests_outside_storm"] == 0  # recovery kept to the limits
    assert lost == 0
    assert figures["duplicates"] == 0
    assert figures["out_of_order"] == 0
    assert elapsed > FLOOD_STORM[1]  # the storms really held the messages back
