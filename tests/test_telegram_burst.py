"""A burst of 300 reports over 5 groups against the fake Bot API enforcing Telegram's limits.

Time is virtual (one clock for the bot, its flood control and the fake's limits), so the
minutes Telegram's limits impose pass in seconds. Nothing may be lost or doubled, no 429 may
happen, every ping must arrive and every report must be acknowledged in its group.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from bot.simulation import RIDER, RIDER_2, telegram_world
from handlers.community import CommunityConfig, load_communities
from storage.models import Ticket, TicketStatus
from tests.conftest import PARSER_SCORES, SAMPLE_COMMUNITY

GROUPS = 5
REPORTS_PER_GROUP = 60
TEMPLATES = (
    "{place}的路灯坏了，晚上黑漆漆的，麻烦修一下",
    "{place}的垃圾堆了两天没人收，臭得很",
    "{place}门口有辆货车乱停，把路堵死了",
    "{place}半夜还有人在装修打电钻，吵得睡不着",
    "{place}的草坪被人挖了种菜，麻烦管一下",
    "{place}的广告牌松了，风一吹就晃，下面有人，很危险",
)


def community_copies(tmp_path: Path) -> list[CommunityConfig]:
    """Five copies of the sample community, each with its own group, staff and workers."""
    sample = yaml.safe_load(SAMPLE_COMMUNITY.read_text(encoding="utf-8"))
    paths = []
    for index in range(GROUPS):
        copy = yaml.safe_load(yaml.safe_dump(sample))
        copy["community"]["id"] = f"burst{index}"
        copy["chats"] = [
            {
                "id": f"tg:-10020000000{index}",
                "title": f"第{index + 1}社区骑手群",
                "kind": "residents",
            },
            {"id": f"tg:-10029000000{index}", "title": f"第{index + 1}社区工作群", "kind": "staff"},
        ]
        for offset, person in enumerate(copy["staff"]):
            person["telegram_id"] = 5100000 + index * 100 + offset
            person["wecom_userid"] = f"staff{index}_{offset}"
        workers = [w for grid in copy["grids"] for w in grid["workers"]]
        for offset, worker in enumerate(workers):
            worker["telegram_id"] = 6100000 + index * 100 + offset
            worker["wecom_userid"] = f"worker{index}_{offset}"
        path = tmp_path / f"community{index}.yaml"
        path.write_text(yaml.safe_dump(copy, allow_unicode=True), encoding="utf-8")
        paths.append(path)
    return load_communities([str(p) for p in paths])


def distinct_reports(community: CommunityConfig) -> list[str]:
    """Reports with distinct (place, problem) pairs, so none is a duplicate of another."""
    places = [f"{n}栋" for grid in community.grids for n in grid.buildings]
    places += [
        landmark
        for grid in community.grids
        for landmark in grid.landmarks
        if not landmark.isascii()
    ]
    pairs = itertools.product(TEMPLATES, places)
    return [
        template.format(place=place)
        for template, place in itertools.islice(pairs, REPORTS_PER_GROUP)
    ]


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
        batches = [distinct_reports(c) for c in communities]
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
