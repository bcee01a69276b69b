"""Intake: 2,000 reports through the whole bot, side by side with a minimal PTB echo bot.

Both run as child processes polling their own fresh fake Telegram, flood limits off on both
sides, so the pipeline is measured and not Telegram's limits. Ours: update → parse → ticket
stored → worker ping and group reply sent. Echo: one reply per message. Throughput: reports
handled per second of a burst (2,000 queued at once, one in five with a photo). Latency: report
to worker ping (echo: to its reply) on a paced stream of 10 reports a second, well below
capacity, so it shows the path and not the queue. Memory: the bot's resident set idle after
start, after the runs, and its peak.

Run: `python bench/intake_bench.py [--reports N] [--databases sqlite,postgresql]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import scale_bench
from common import Row, format_table, fresh_postgres_database, percentile
from sqlmodel import select

from bot.fake_telegram import FakeTelegram, FloodLimits
from bot.fault_drills import BotProcess, bot_environment, intake_progress
from bot.simulation import RIDER, RIDER_2, populate
from bot.workload import (
    SAMPLE_COMMUNITY,
    distinct_reports,
    residents_group_id,
    write_community_copies,
)
from handlers.community import CommunityConfig, load_communities, load_community
from storage.database import create_engine, create_session_factory, upgrade_database
from storage.models import Ticket

BENCH = Path(__file__).resolve().parent
COMMUNITIES = 10
PHOTO_EVERY = 5
PHOTO = b"\xff\xd8\xff\xe0" + os.urandom(30_000)
PACED_PER_SECOND = 10
TELEGRAM_MESSAGES_PER_SECOND = 30
SENDING = {"sendmessage", "sendphoto", "sendmediagroup", "sendvideo"}


@dataclass
class Measured:
    """One bot's figures."""

    throughput: float = 0.0
    startup_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    memory_kib: dict[str, int] = field(default_factory=dict)
    idle_kib: int = 0
    cpu_ms_per_report: float = 0.0
    messages_per_report: float = 0.0


@dataclass
class Stream:
    """Reports queued at the fake, with when each was sent and its text."""

    fake: FakeTelegram
    configs: Sequence[CommunityConfig]
    sent_at: dict[tuple[int, int], float] = field(default_factory=dict)
    text_of: dict[tuple[int, int], str] = field(default_factory=dict)
    used: int = 0  # reports per community used so far (each text once)

    async def send(self, per_community: int, per_second: float | None = None) -> None:
        batches = [distinct_reports(c)[self.used : self.used + per_community] for c in self.configs]
        self.used += per_community
        for texts in zip(*batches, strict=True):
            for index, text in enumerate(texts):
                self._one(residents_group_id(index), text)
                if per_second:
                    await asyncio.sleep(1 / per_second)

    def _one(self, group: int, text: str) -> None:
        rider = RIDER if len(text) % 2 else RIDER_2
        if len(self.sent_at) % PHOTO_EVERY == 0:
            message = self.fake.user_sends(group, rider, photo=PHOTO, caption=text)
        else:
            message = self.fake.user_sends(group, rider, text)
        key = (group, message["message_id"])
        self.sent_at[key] = time.monotonic()
        self.text_of[key] = text


def bot_sends(fake: FakeTelegram) -> list[tuple[float, int, str]]:
    """(time, chat, text or caption) of every message the bot got accepted."""
    return [
        (
            call.at,
            int(call.params.get("chat_id", 0)),
            str(call.params.get("text") or call.params.get("caption") or ""),
        )
        for call in fake.calls
        if call.method.lower() in SENDING and call.status == 200
    ]


async def until(done: Callable[[], Awaitable[bool]], seconds: float = 900) -> None:
    deadline = time.monotonic() + seconds
    while not await done():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not finish in time")
        await asyncio.sleep(0.05)


async def first_poll(fake: FakeTelegram) -> float:
    """When the bot's first getUpdates arrived: it is up."""

    async def polled() -> bool:
        return any(c.method.lower() == "getupdates" for c in fake.calls)

    await until(polled, seconds=60)
    return next(c.at for c in fake.calls if c.method.lower() == "getupdates")


class Ours:
    """The real bot (`bench/intake_bot.py`): done when every report is a ticket, outbox empty."""

    name = "ours"

    def __init__(self, database_url: str, stored: int = 0) -> None:
        self.database_url = database_url
        self.stored = stored  # tickets in the database before the stream

    def command(self) -> list[str]:
        return [sys.executable, str(BENCH / "intake_bot.py")]

    async def __aenter__(self) -> Ours:
        self.engine = create_engine(self.database_url)
        self.sessions = create_session_factory(self.engine)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.engine.dispose()

    async def done(self, stream: Stream) -> bool:
        return await intake_progress(self.sessions) == (self.stored + len(stream.sent_at), 0)

    async def latencies(self, stream: Stream, keys: Sequence[tuple[int, int]]) -> list[float]:
        """Report to the first ping of its ticket to a worker."""
        async with self.sessions() as session:
            tickets = {
                (int(t.source_chat_id.removeprefix("tg:")), int(t.source_message_id)): t
                for t in await session.exec(select(Ticket))
                if t.source_chat_id.removeprefix("tg:").lstrip("-").isdigit()
            }
        communities = {c.community.id: c for c in stream.configs}
        sent = bot_sends(stream.fake)
        result = []
        for key in keys:
            ticket = tickets[key]
            workers = {
                w.telegram_id
                for w in communities[ticket.community_id].workers_of(ticket.grid_id or "")
            }
            number = re.compile(rf"#{ticket.number}(?!\d)")
            ping = min(at for at, chat, text in sent if chat in workers and number.search(text))
            result.append((ping - stream.sent_at[key]) * 1000)
        return result


class Echo:
    """The minimal echo bot: done when every report got its reply."""

    name = "echo"

    def command(self) -> list[str]:
        return [sys.executable, str(BENCH / "echo_bot.py")]

    async def __aenter__(self) -> Echo:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def done(self, stream: Stream) -> bool:
        return len(bot_sends(stream.fake)) >= len(stream.sent_at)

    async def latencies(self, stream: Stream, keys: Sequence[tuple[int, int]]) -> list[float]:
        """Report to its echo."""
        first_reply: dict[tuple[int, str], float] = {}
        for at, chat, text in bot_sends(stream.fake):
            first_reply.setdefault((chat, text), at)
        return [
            (first_reply[(key[0], stream.text_of[key])] - stream.sent_at[key]) * 1000
            for key in keys
        ]


async def measure(
    bot: Ours | Echo, database_url: str, reports: int, workdir: Path, *, stored: int = 0
) -> Measured:
    """Start the bot idle, send the burst, then the paced stream; stop it.

    `stored` tickets of the sample community (served too) are in the database beforehand.
    """
    paths = write_community_copies(workdir / "communities", COMMUNITIES)
    configs = load_communities([str(p) for p in paths])
    served = list(paths)
    if stored:
        await store_tickets(database_url, stored)
        served.append(SAMPLE_COMMUNITY)
    figures = Measured()
    async with FakeTelegram(limits=FloodLimits(enforce=False)) as fake, bot:
        populate(fake, load_communities([str(p) for p in served]))
        environment = bot_environment(fake, database_url, served, workdir)
        process = BotProcess(environment, workdir, bot.command())
        started = time.monotonic()
        process.start()
        try:
            figures.startup_seconds = await first_poll(fake) - started
            await asyncio.sleep(1.0)
            figures.idle_kib = process.memory_kib()["VmRSS"]
            stream = Stream(fake, configs)
            begin, cpu_before = time.monotonic(), process.cpu_seconds()
            await stream.send(reports // COMMUNITIES)
            await until(lambda: bot.done(stream))
            end = max(at for at, _, _ in bot_sends(fake))
            burst = len(stream.sent_at)
            figures.throughput = burst / (end - begin)
            figures.cpu_ms_per_report = (process.cpu_seconds() - cpu_before) * 1000 / burst
            figures.messages_per_report = len(bot_sends(fake)) / burst
            before = set(stream.sent_at)
            await stream.send(10, per_second=PACED_PER_SECOND)
            await until(lambda: bot.done(stream))
            paced = [key for key in stream.sent_at if key not in before]
            figures.latencies_ms = await bot.latencies(stream, paced)
            figures.memory_kib = process.memory_kib()
        finally:
            await process.terminate()
    return figures


async def store_tickets(database_url: str, count: int) -> None:
    """`count` tickets of the sample community with their audit and intake rows (scale bench)."""
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    try:
        fill = scale_bench.build_fill(load_community(SAMPLE_COMMUNITY), count, chatter=2)
        await scale_bench.insert_fill(engine, fill)
    finally:
        await engine.dispose()


async def memory_with_stored_tickets(stored: int, reports: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="intake-") as directory:
        workdir = Path(directory)
        url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
        ours = await measure(Ours(url, stored), url, reports, workdir, stored=stored)
    mib = {name: kib / 1024 for name, kib in ours.memory_kib.items()}
    return [
        Row(
            "scale (sqlite)",
            f"bot RSS with {stored:,} tickets: idle / after intake / peak MiB",
            f"{ours.idle_kib / 1024:.0f} / {mib['VmRSS']:.0f} / {mib['VmHWM']:.0f}",
            f"the bot serving that community; then {reports} reports as in the intake bench",
        ),
        Row(
            "scale (sqlite)",
            f"intake with {stored:,} tickets stored, reports/s",
            f"{ours.throughput:.0f}",
            f"CPU {ours.cpu_ms_per_report:.1f} ms per report",
        ),
    ]


def memory_rows(stored: int = 100_000, reports: int = 2000) -> list[Row]:
    """The bot's memory (and intake) with `stored` tickets in its database."""
    return asyncio.run(memory_with_stored_tickets(stored, reports))


async def compare(database: str, reports: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="intake-") as directory:
        workdir = Path(directory)
        if database == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'ours' / 'bot.db'}"
        else:
            url = await fresh_postgres_database("bench_intake")
        ours = await measure(Ours(url), url, reports, workdir / "ours")
        echo = await measure(Echo(), url, reports, workdir / "echo")
    return figures_rows(f"intake ({database})", reports, ours, echo)


def p50_p99(values: Sequence[float]) -> str:
    return f"{percentile(values, 0.5):.0f} / {percentile(values, 0.99):.0f}"


def figures_rows(bench: str, reports: int, ours: Measured, echo: Measured) -> list[Row]:
    """The table rows of one database's side-by-side run."""
    mib = {name: kib / 1024 for name, kib in ours.memory_kib.items()}
    burst = f"{reports} reports, 1 in {PHOTO_EVERY} with a photo, queued at once"
    paced = f"{len(ours.latencies_ms)} reports at {PACED_PER_SECOND}/s"
    return [
        Row(bench, "ours, reports/s", f"{ours.throughput:.0f}", burst),
        Row(bench, "echo bot, messages/s", f"{echo.throughput:.0f}", "same stream, PTB defaults"),
        Row(bench, "ratio ours / echo", f"{ours.throughput / echo.throughput:.2f}", "same run"),
        Row(
            bench,
            "bot CPU ms per report, ours / echo",
            f"{ours.cpu_ms_per_report:.1f} / {echo.cpu_ms_per_report:.1f}",
            f"messages sent per report: ours {ours.messages_per_report:.2f}, echo "
            f"{echo.messages_per_report:.2f}",
        ),
        Row(
            bench,
            "reports/s Telegram lets out",
            f"{TELEGRAM_MESSAGES_PER_SECOND / ours.messages_per_report:.1f}",
            f"{TELEGRAM_MESSAGES_PER_SECOND} msg/s per bot ÷ messages per report: the ceiling "
            "of sustained intake, whatever the bot's own speed",
        ),
        Row(bench, "report→ping p50 / p99 ms", p50_p99(ours.latencies_ms), paced),
        Row(bench, "echo report→reply p50 / p99 ms", p50_p99(echo.latencies_ms), paced),
        Row(
            bench,
            "bot RSS idle / after / peak MiB",
            f"{ours.idle_kib / 1024:.0f} / {mib['VmRSS']:.0f} / {mib['VmHWM']:.0f}",
            f"start-up {ours.startup_seconds:.1f} s; echo bot idle {echo.idle_kib / 1024:.0f} MiB",
        ),
    ]


def rows(reports: int = 2000, databases: Sequence[str] = ("sqlite", "postgresql")) -> list[Row]:
    result: list[Row] = []
    for database in databases:
        result += asyncio.run(compare(database, reports))
    return result


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--reports", type=int, default=2000)
    options.add_argument("--databases", default="sqlite,postgresql")
    options.add_argument(
        "--stored", type=int, default=0, help="instead: the bot's memory with N tickets stored"
    )
    args = options.parse_args()
    if args.stored:
        print(format_table(memory_rows(args.stored, args.reports)))
        return
    print(format_table(rows(args.reports, args.databases.split(","))))


if __name__ == "__main__":
    main()
