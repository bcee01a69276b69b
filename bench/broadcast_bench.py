"""Broadcast benchmark: one event invitation to 1,000 groups, the fake enforcing Telegram's limits.

A staff member sends the one-line `/event` form in the staff group; with no audience named the
invitation goes to every residents' group. The fake Bot API answers 429 to anything beyond
30 messages a second (20 a minute per group) and the bot's flood control paces itself to the
same limits. Time is virtual (one clock for the bot, its flood control and the fake), so the
half minute the limits impose passes in a few real seconds; both are reported.

Run: `python bench/broadcast_bench.py [--groups 1000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.common import Row, format_table  # noqa: E402
from bot.fake_telegram import FloodLimits as FakeLimits  # noqa: E402
from bot.simulation import World, telegram_world  # noqa: E402
from handlers.community import CommunityConfig, load_communities  # noqa: E402
from schedules.flood_control import FloodLimits  # noqa: E402

BENCH = "broadcast"
SAMPLE = ROOT / "examples" / "community.yaml"
FIRST_GROUP = -1003000000000
STAFF_GROUP = -1003900000000
ORGANISER = 5000002  # 刘洋, staff in the sample community
TITLE = "社区消夏晚会"
EVENT_LINE = f"/event {TITLE} | 2023-07-15 19:30 | 社区广场 | 500"


@dataclass(frozen=True)
class Broadcast:
    """What one broadcast run measured (seconds are virtual unless named wall)."""

    groups: int
    delivered: int
    lost: int
    duplicates: int
    too_many_requests: int
    seconds: float
    allowed_rate: float
    wall_seconds: float
    cpu_seconds: float
    setup_wall_seconds: float

    @property
    def rate(self) -> float:
        """Messages per second from publishing to the last delivery (first one goes at 0)."""
        return (self.delivered - 1) / self.seconds if self.seconds > 0 else 0.0


def community_with_groups(directory: Path, groups: int) -> CommunityConfig:
    """The sample community with `groups` Telegram residents' groups and one staff group."""
    config = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    config["chats"] = [
        {"id": f"tg:{FIRST_GROUP - index}", "title": f"第{index + 1}居民群", "kind": "residents"}
        for index in range(groups)
    ]
    config["chats"].append({"id": f"tg:{STAFF_GROUP}", "title": "社区工作群", "kind": "staff"})
    path = directory / "broadcast.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    [community] = load_communities([str(path)])
    return community


def invitations_per_group(world: World, groups: int) -> Counter[int]:
    """How many invitations each residents' group received."""
    wanted = {FIRST_GROUP - index for index in range(groups)}
    return Counter(
        message["chat"]["id"]
        for message in world.fake.sent_messages()
        if message["chat"]["id"] in wanted and TITLE in (message.get("text") or "")
    )


def last_delivery(world: World, groups: int) -> float:
    """The clock's monotonic() when the last invitation was accepted."""
    wanted = {FIRST_GROUP - index for index in range(groups)}
    return max(
        (
            call.at
            for call in world.fake.calls
            if call.method == "sendMessage"
            and call.status == 200
            and int(call.params.get("chat_id", 0)) in wanted
        ),
        default=0.0,
    )


async def broadcast(
    groups: int, database_url: str, media_dir: Path, community: CommunityConfig
) -> Broadcast:
    """Publish one event to every group and let the bot deliver it."""
    started = time.perf_counter()
    limits = FloodLimits()
    async with telegram_world(
        community, database_url, media_dir, fake_limits=FakeLimits(), flood_limits=limits
    ) as world:
        ready, cpu = time.perf_counter(), time.process_time()
        published_at = world.clock.monotonic()
        world.send(STAFF_GROUP, ORGANISER, EVENT_LINE)
        await world.service.wait_handled(world.updates, seconds=120)
        await world.settle(max_rounds=100_000)
        wall, cpu = time.perf_counter() - ready, time.process_time() - cpu
        received = invitations_per_group(world, groups)
        seconds = last_delivery(world, groups) - published_at
        too_many = world.fake.too_many_requests()
    return Broadcast(
        groups=groups,
        delivered=sum(received.values()),
        lost=groups - len(received),
        duplicates=sum(count - 1 for count in received.values() if count > 1),
        too_many_requests=too_many,
        seconds=seconds,
        allowed_rate=float(limits.per_second_overall),
        wall_seconds=wall,
        cpu_seconds=cpu,
        setup_wall_seconds=ready - started,
    )


async def measure(groups: int) -> Broadcast:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        community = community_with_groups(folder, groups)
        url = f"sqlite+aiosqlite:///{folder / 'data' / 'bot.db'}"
        return await broadcast(groups, url, folder / "media", community)


def rows(groups: int = 1000) -> list[Row]:
    """Broadcast one invitation to `groups` groups and report rate, 429s and losses."""
    run = asyncio.run(measure(groups))
    ratio = run.rate / run.allowed_rate
    throughput = run.delivered / run.wall_seconds if run.wall_seconds > 0 else 0.0
    return [
        Row(BENCH, "invitations delivered", f"{run.delivered} of {run.groups}", "sqlite"),
        Row(BENCH, "publish → last delivery", f"{run.seconds:.1f} s", "virtual seconds"),
        Row(BENCH, "achieved rate", f"{run.rate:.1f} msg/s", "(delivered − 1) / that time"),
        Row(BENCH, "allowed rate", f"{run.allowed_rate:.0f} msg/s", "Telegram: 30 msg/s per bot"),
        Row(BENCH, "achieved / allowed", f"{ratio:.2f}", "virtual time"),
        Row(BENCH, "429s received", str(run.too_many_requests), "answered by the fake"),
        Row(BENCH, "messages lost", str(run.lost), "groups with no invitation"),
        Row(BENCH, "duplicates", str(run.duplicates), "extra invitations in one group"),
        Row(BENCH, "wall time", f"{run.wall_seconds:.1f} s", "real, publish to settled"),
        Row(
            BENCH,
            "real-time throughput",
            f"{throughput:.1f} msg/s",
            "delivered / wall time; the sender keeps up with 30/s only if this is above 30",
        ),
        Row(BENCH, "CPU time", f"{run.cpu_seconds:.1f} s", "this process: bot and fake"),
        Row(BENCH, "setup wall time", f"{run.setup_wall_seconds:.1f} s", "fake and bot start"),
    ]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--groups", type=int, default=1000)
    args = options.parse_args()
    print(format_table(rows(args.groups)))


if __name__ == "__main__":
    main()
