"""A burst of 300 reports over 5 groups against the fake Bot API enforcing Telegram's limits.

Time is virtual (one clock for the bot, its flood control and the fake's limits), so the
minutes Telegram's limits impose pass in seconds. Nothing may be lost or doubled, no 429 may
happen, every ping must arrive and every report must be acknowledged in its group.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.simulation import RIDER, RIDER_2, telegram_world
from bot.workload import distinct_reports, write_community_copies
from handlers.community import CommunityConfig, load_communities
from storage.models import Ticket, TicketStatus
from tests.conftest import PARSER_SCORES

GROUPS = 5
REPORTS_PER_GROUP = 60


def community_copies(tmp_path: Path) -> list[CommunityConfig]:
    """Five copies of the sample community, each with its own group, staff and workers."""
    paths = write_community_copies(tmp_path, GROUPS)
    return load_communities([str(p) for p in paths])


def lower_bound_seconds(sent: list[dict[str, Any]]) -> float:
    """The least time Telegram's limits allow for these messages (30/s; 20/min/group; 1/s)."""
    per_chat = Counter(m["chat"]["id"] for m in sent)
    overall = (len(sent) - 1) / 30
    groups = [(math.ceil(n / 20) - 1) * 60 for chat, n in per_chat.items() if chat < 0]
    privates = [n - 1 for chat, n in per_chat.items() if chat > 0]
    return max([overall, *groups, *privates])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_burst_of_300_reports_over_5_groups(database_url: str, tmp_path: Path) -> None:
    communities = community_copies(tmp_path)
    async with telegram_world(communities, database_url, tmp_path / "media") as world:
        start = world.clock.monotonic()
        batches = [distinct_reports(c, REPORTS_PER_GROUP) for c in communities]
        groups = [int(c.chats[0].id.removeprefix("tg:")) for c in communities]
        for round_texts in zip(*batches, strict=True):
            for group, text in zip(groups, round_texts, strict=True):
                world.send(group, RIDER if len(text) % 2 else RIDER_2, text)
        await world.service.wait_handled(world.updates, seconds=240)
        await world.settle(max_rounds=20000)
        elapsed = world.clock.monotonic() - start

        async with world.service.runtime.sessions() as session:
            tickets = list(await session.exec(select(Ticket)))
        sent = world.fake.sent_messages()

    assert len(tickets) == GROUPS * REPORTS_PER_GROUP  # none lost
    assert len({(t.source_chat_id, t.source_message_id) for t in tickets}) == len(tickets)
    assert all(t.status is TicketStatus.ASSIGNED for t in tickets)  # routed, none a duplicate
    assert world.fake.too_many_requests() == 0

    by_chat: dict[int, str] = {}
    for message in sent:
        by_chat[message["chat"]["id"]] = (
            by_chat.get(message["chat"]["id"], "")
            + "\n"
            + (message.get("text") or message.get("caption") or "")
        )
    for ticket in tickets:
        community = next(c for c in communities if c.community.id == ticket.community_id)
        number = re.compile(rf"#{ticket.number}(?!\d)")
        group = int(ticket.source_chat_id.removeprefix("tg:"))
        assert number.search(by_chat[group]), f"report {ticket.number} not acknowledged"
        for worker in community.workers_of(ticket.grid_id or ""):
            assert number.search(by_chat.get(worker.telegram_id or 0, "")), "ping missing"

    group_messages = sum(1 for m in sent if m["chat"]["id"] in groups)
    assert group_messages < GROUPS * REPORTS_PER_GROUP  # replies were coalesced
    bound = lower_bound_seconds(sent)
    PARSER_SCORES["telegram burst"] = {
        "reports": len(tickets),
        "messages_sent": len(sent),
        "group_messages": group_messages,
        "too_many_requests": world.fake.too_many_requests(),
        "virtual_seconds": round(elapsed, 1),
        "limit_minimum_seconds": round(bound, 1),
        "ratio": round(elapsed / bound, 2) if bound else 0.0,
    }
    assert elapsed <= 3 * bound + 60
