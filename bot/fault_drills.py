"""Fault drills: the real bot process under a report burst while things break.

The fake Telegram runs here, on real time and enforcing Telegram's limits. The bot runs as
`python -m bot run` in a child process, configured only through its environment as a user
would, so it can be killed with SIGKILL and started again. Afterwards every report must have
exactly one ticket, every ticket its worker ping and group reply, and a message may go twice
only if it was in flight at a kill. Used by `make chaos` (bench/chaos.py) and, shorter, the suite.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select

from bot.fake_telegram import FakeTelegram
from bot.simulation import RIDER, RIDER_2, populate
from bot.workload import distinct_reports, residents_group_id, write_community_copies
from handlers.community import CommunityConfig, load_communities
from storage.database import AsyncSession, create_engine, create_session_factory
from storage.models import OutboxMessage, OutboxStatus, Ticket

Disruption = Callable[["Drill"], Awaitable[None]]


@dataclass
class DrillCounts:
    """What a drill sent, what came out, and what went wrong."""

    name: str
    reports_sent: int = 0
    tickets: int = 0
    lost: int = 0
    duplicate_tickets: int = 0
    pings_missing: int = 0
    replies_missing: int = 0
    duplicate_messages: int = 0
    disruptions: int = 0
    restarts: int = 0
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """No report lost or doubled, every ping and reply sent, doubles only in flight."""
        return (
            self.lost == 0
            and self.duplicate_tickets == 0
            and self.pings_missing == 0
            and self.replies_missing == 0
            and self.duplicate_messages <= self.in_flight_allowance
        )

    @property
    def in_flight_allowance(self) -> int:
        """Up to 8 chats may be mid-send (the sender's concurrency) when the bot dies or loses
        its database: sent, but not yet recorded as sent, so sent again."""
        return 8 * self.disruptions

    def line(self) -> str:
        return (
            f"{self.name}: reports sent {self.reports_sent}, tickets {self.tickets}, "
            f"lost {self.lost}, duplicate tickets {self.duplicate_tickets}, "
            f"pings missing {self.pings_missing}, group replies missing {self.replies_missing}, "
            f"messages sent twice {self.duplicate_messages} (allowed {self.in_flight_allowance}), "
            f"disruptions {self.disruptions}, restarts {self.restarts}, {self.seconds:.1f} s"
        )


async def intake_progress(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int] | None:
    """(tickets stored, outbox messages pending); None while the database cannot answer."""
    try:
        async with sessions() as session:
            tickets = await session.scalar(select(func.count()).select_from(Ticket))
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
            )
    except Exception:  # no tables before the bot migrated; or the database is restarting
        return None
    return tickets or 0, pending or 0


def bot_environment(
    fake: FakeTelegram, database_url: str, community_paths: Sequence[Path], workdir: Path
) -> dict[str, str]:
    """The settings a user would give `python -m bot run`, pointing it at the fake."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "WECOM_", "DATABASE_", "COMMUNITY_"))
    }
    environment.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.root_url,
        DATABASE_URL=database_url,
        COMMUNITY_CONFIG=",".join(str(p) for p in community_paths),
        MEDIA_DIR=str(workdir / "media"),
        LOG_LEVEL="WARNING",
        BOT_INSTANCE="drill",
    )
    return environment


class BotProcess:
    """`python -m bot run` in a child process, configured through its environment."""

    def __init__(
        self, environment: dict[str, str], workdir: Path, command: Sequence[str] = ()
    ) -> None:
        self._environment = environment
        self._workdir = workdir
        self._command = list(command) or [sys.executable, "-m", "bot", "run"]
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        log = (self._workdir / f"bot-{self.starts}.log").open("wb")
        self._process = subprocess.Popen(
            self._command,
            env=self._environment,
            cwd=self._workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait()

    async def terminate(self) -> int:
        """SIGTERM and wait (the fake keeps answering meanwhile); returns the exit code."""
        process = self._process
        if process is None or process.poll() is not None:
            return process.returncode if process else 0
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def memory_kib(self) -> dict[str, int]:
        """The process's resident set now (VmRSS) and at its peak (VmHWM), in KiB (Linux)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def exited(self) -> int | None:
        return self._process.poll() if self._process else None

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self._workdir.glob("bot-*.log"))
        )


@dataclass
class Drill:
    """One drill: a burst over community copies while a disruption strikes."""

    name: str
    workdir: Path
    database_url: str
    communities: int = 10
    reports_per_community: int = 100
    rate_per_second: float = 200.0
    disruption: Disruption | None = None
    deadline_seconds: float = 300.0
    seed: int = 6
    fake: FakeTelegram = field(init=False)
    process: BotProcess = field(init=False)
    configs: list[CommunityConfig] = field(init=False)
    reports: list[tuple[int, int]] = field(default_factory=list)  # (group, message id)
    counts: DrillCounts = field(init=False)
    random: random.Random = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    exit_code: int | None = None

    async def run(self) -> DrillCounts:
        """Burst, disrupt, let the bot finish, count; the bot is stopped afterwards."""
        self.counts = DrillCounts(self.name)
        self.random = random.Random(self.seed)
        paths = write_community_copies(self.workdir / "communities", self.communities)
        self.configs = load_communities([str(p) for p in paths])
        started = time.monotonic()
        engine = create_engine(self.database_url)  # connects lazily, after the bot migrated
        self.sessions = create_session_factory(engine)
        try:
            await self._run_with_the_fake(paths)
        finally:
            await engine.dispose()
        self.counts.restarts = self.process.starts - 1
        self.counts.seconds = time.monotonic() - started
        return self.counts

    async def _run_with_the_fake(self, paths: Sequence[Path]) -> None:
        async with FakeTelegram() as self.fake:
            populate(self.fake, self.configs)
            self.process = BotProcess(
                bot_environment(self.fake, self.database_url, paths, self.workdir), self.workdir
            )
            self.process.start()
            try:
                burst = asyncio.create_task(self._burst())
                if self.disruption is not None:
                    await self.disruption(self)
                await burst
                await self._wait_until_done()
            finally:
                self.exit_code = await self.process.terminate()
            await self._count()

    async def _burst(self) -> None:
        """Riders post the reports of every community, interleaved, at the drill's rate."""
        batches = [distinct_reports(c, self.reports_per_community) for c in self.configs]
        for texts in zip(*batches, strict=True):
            for index, text in enumerate(texts):
                group = residents_group_id(index)
                rider = RIDER if len(text) % 2 else RIDER_2
                message = self.fake.user_sends(group, rider, text)
                self.reports.append((group, message["message_id"]))
                self.counts.reports_sent += 1
                await asyncio.sleep(1 / self.rate_per_second)

    async def sleep_random(self, low: float, high: float) -> None:
        await asyncio.sleep(self.random.uniform(low, high))

    async def wait_for_tickets(self, *, at_least: int) -> None:
        """Until the bot has stored `at_least` tickets: it is mid-burst, connected, busy."""
        while True:
            progress = await intake_progress(self.sessions)
            if progress is not None and progress[0] >= at_least:
                return
            await asyncio.sleep(0.1)

    def retries_logged(self) -> int:
        """Log lines where the bot met a failure and retried (the disruption was felt)."""
        markers = ("will be retried", "drain failed", "failed:")
        return sum(
            1 for line in self.process.logs().splitlines() if any(m in line for m in markers)
        )

    async def _wait_until_done(self) -> None:
        """Until every report has a ticket and the outbox is empty, or the deadline passes."""
        deadline = time.monotonic() + self.deadline_seconds
        while time.monotonic() < deadline:
            if self.process.exited() is not None:
                raise RuntimeError(f"the bot exited:\n{self.process.logs()[-3000:]}")
            if await intake_progress(self.sessions) == (len(self.reports), 0):
                return
            await asyncio.sleep(0.5)

    async def _count(self) -> None:
        async with self.sessions() as session:
            tickets = list(await session.exec(select(Ticket)))
        per_report = Counter((t.source_chat_id, t.source_message_id) for t in tickets)
        self.counts.tickets = len(tickets)
        self.counts.lost = sum(1 for g, m in self.reports if (f"tg:{g}", str(m)) not in per_report)
        self.counts.duplicate_tickets = sum(n - 1 for n in per_report.values())
        self._count_messages(tickets)

    def _count_messages(self, tickets: Sequence[Ticket]) -> None:
        sent = self.fake.sent_messages()
        text_by_chat: dict[int, list[str]] = {}
        for message in sent:
            text = message.get("text") or message.get("caption") or ""
            text_by_chat.setdefault(message["chat"]["id"], []).append(text)
        joined = {chat: "\n".join(texts) for chat, texts in text_by_chat.items()}
        by_id = {c.community.id: c for c in self.configs}
        for ticket in tickets:
            number = re.compile(rf"#{ticket.number}(?!\d)")
            group = int(ticket.source_chat_id.removeprefix("tg:"))
            if not number.search(joined.get(group, "")):
                self.counts.replies_missing += 1
            for worker in by_id[ticket.community_id].workers_of(ticket.grid_id or ""):
                if not number.search(joined.get(worker.telegram_id or 0, "")):
                    self.counts.pings_missing += 1
        repeats = Counter((chat, text) for chat, texts in text_by_chat.items() for text in texts)
        self.counts.duplicate_messages = sum(n - 1 for n in repeats.values())


def sigkill_during_burst(kills: int, *, low: float = 1.0, high: float = 4.0) -> Disruption:
    """Kill the bot with SIGKILL `kills` times at random moments, restarting it each time."""

    async def disrupt(drill: Drill) -> None:
        for _ in range(kills):
            await drill.sleep_random(low, high)
            drill.process.kill()
            drill.counts.disruptions += 1
            await drill.sleep_random(0.0, 0.5)
            drill.process.start()

    return disrupt


def database_outage(
    outage: Callable[[], Awaitable[None]], *, times: int = 1, apart: float = 0.5
) -> Disruption:
    """Run `outage` (restart PostgreSQL, or cut every connection) mid-burst, `times` times."""

    async def disrupt(drill: Drill) -> None:
        await drill.wait_for_tickets(at_least=3)
        for _ in range(times):
            await outage()
            drill.counts.disruptions += 1
            await asyncio.sleep(apart)

    return disrupt


async def restart_postgres() -> None:
    """`pg_ctlcluster ... restart` of this machine's cluster (needs the rights to do so)."""
    versions = sorted(os.listdir("/etc/postgresql"))
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {error.decode(errors='replace')}")


def terminate_connections(admin_url: str) -> Callable[[], Awaitable[None]]:
    """An outage that ends every other connection to the database, as a restart would."""

    async def outage() -> None:
        engine = create_engine(admin_url)
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        finally:
            await engine.dispose()

    return outage
