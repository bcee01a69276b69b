"""Scale benchmark: with 100,000 tickets stored, the time of a new report, /open, /mytickets,
/stats, the daily digest and the escalation sweep, on SQLite and on PostgreSQL.

The fill is shaped like two years of real intake in the sample community: every ticket with
its reporter, audit rows and processed_message claim (plus the group chatter intake also
claims), some with a photo. Most tickets are closed; the last days' are still in progress and
a few stuck ones are overdue (and already escalated, as the minute-by-minute sweep would have).
Rows go in with bulk inserts in one transaction. Each timing is the median of warm runs through
the real handler or job, each run rolled back so every run sees the same database.

Run: `python bench/scale_bench.py [--tickets 100000] [--runs 7] [--backend sqlite]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from common import ROOT, Row, format_table, fresh_postgres_database
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from handlers.clock import FakeClock
from handlers.community import CommunityConfig, PersonConfig, load_community
from handlers.dispatch import handle_incoming
from handlers.messages import ChatKind, Incoming, Platform, Sender
from handlers.runtime import Runtime
from schedules.digest import send_daily_digest
from schedules.escalation import escalate_overdue
from storage.database import AsyncSession, create_engine, upgrade_database
from storage.models import (
    Person,
    PersonRole,
    PlatformAccount,
    ProcessedMessage,
    Ticket,
    TicketAction,
    TicketAttachment,
    TicketEvent,
    TicketStatus,
)

BENCH = "scale"
SAMPLE = ROOT / "examples" / "community.yaml"
POSTGRES_DATABASE = "bench_scale"
NOW = datetime(2025, 6, 30, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai: the digest's hour
HISTORY = timedelta(days=730)
CHUNK = 5_000
STAFF_GROUP = "tg:-1001000000009"
STAFF_MEMBER = "5000002"  # 刘洋, staff
GRID_WORKER = "6000001"  # 张敏, the first worker of G1, the busiest grid
GRID_SHARES = {"G1": 30, "G2": 25, "G3": 25, "G4": 15, None: 5}  # None: never routed
# Where reports come from: (chat, share); the estate's group only speaks for G2 and G3.
RIDERS_GROUP = "tg:-1001000000001"
SOURCES = ((RIDERS_GROUP, 55), ("wecom:wrOgQhDgAAyangfan01", 15))
NEW_REPORT = "夜市南门的广告牌松了，快来人！"  # urgent, G1: routed, replied to, worker pinged
NEW_RIDER = "7999999"  # a first-time reporter
ESTATE_GROUP = "tg:-1001000000002"
CATEGORIES = (
    "facility_damage",
    "sanitation",
    "traffic_order",
    "safety_hazard",
    "noise_nuisance",
    "greenery",
    "neighbourhood_dispute",
    "vulnerable_person",
    "other",
)
TEXTS = ("路灯不亮了", "垃圾桶满了没人收", "电动车堵住消防通道", "井盖松了", "树枝快断了")
SWEEP_DELAY = timedelta(seconds=30)  # the escalation sweep runs every minute


# --- the fill ---


@dataclass
class Fill:
    """Rows to insert, per table, in foreign-key order."""

    people: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    processed: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[sa.Table, list[dict[str, Any]]]]:
        """Each table with its rows, parents first."""
        yield table_of(Person), self.people
        yield table_of(PlatformAccount), self.accounts
        yield table_of(Ticket), self.tickets
        yield table_of(TicketEvent), self.events
        yield table_of(TicketAttachment), self.attachments
        yield table_of(ProcessedMessage), self.processed


def table_of(model: Any) -> sa.Table:
    """The SQLAlchemy table behind a SQLModel class."""
    table: sa.Table = model.__table__
    return table


@dataclass
class People:
    """Person ids: configured people by their platform accounts, residents by platform."""

    by_account: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)
    residents: dict[str, list[uuid.UUID]] = field(default_factory=dict)

    def of(self, person: PersonConfig) -> uuid.UUID:
        """The id of a configured staff member or worker."""
        return self.by_account[next(person.ids())]


def add_people(
    fill: Fill, community: CommunityConfig, residents: int, rng: random.Random
) -> People:
    """Staff and workers with all their accounts (as remember_person keeps them), and residents."""
    people = People()
    configured: list[tuple[PersonConfig, PersonRole]] = [
        (person, PersonRole(person.role.value)) for person in community.staff
    ]
    configured += [(w, PersonRole.GRID_WORKER) for g in community.grids for w in g.workers]
    for person, role in configured:
        person_id = add_person(fill, community, person.name, role, NOW - HISTORY)
        for platform, user_id in person.ids():
            add_account(fill, person_id, platform, user_id)
            people.by_account[(platform, user_id)] = person_id
    for index in range(residents):
        platform = "wecom" if rng.random() < 0.2 else "tg"
        joined = NOW - HISTORY * rng.random()
        person_id = add_person(fill, community, f"居民{index}", PersonRole.RESIDENT, joined)
        user_id = f"resident{index}" if platform == "wecom" else str(7_000_000 + index)
        add_account(fill, person_id, platform, user_id)
        people.residents.setdefault(platform, []).append(person_id)
    return people


def add_person(
    fill: Fill, community: CommunityConfig, name: str, role: PersonRole, at: datetime
) -> uuid.UUID:
    person_id = uuid.uuid4()
    fill.people.append(
        {
            "id": person_id,
            "community_id": community.community.id,
            "display_name": name,
            "role": role,
            "language": None,
            "created_at": at,
        }
    )
    return person_id


def add_account(fill: Fill, person_id: uuid.UUID, platform: str, user_id: str) -> None:
    fill.accounts.append(
        {
            "id": uuid.uuid4(),
            "person_id": person_id,
            "platform": platform,
            "platform_user_id": user_id,
        }
    )


@dataclass
class Intake:
    """What the ticket builder needs besides the ticket's own dice."""

    community: CommunityConfig
    people: People
    rng: random.Random
    message_ids: dict[str, int] = field(default_factory=dict)
    last_of_grid: dict[str | None, uuid.UUID] = field(default_factory=dict)

    def next_message_id(self, chat_id: str) -> str:
        """Chats number their messages in order."""
        self.message_ids[chat_id] = self.message_ids.get(chat_id, 0) + 1
        return str(self.message_ids[chat_id])


def build_fill(community: CommunityConfig, count: int, chatter: int, seed: int = 6) -> Fill:
    """People and `count` tickets created over two years, with their audit and intake rows."""
    rng = random.Random(seed)
    fill = Fill()
    people = add_people(fill, community, residents=max(50, count // 20), rng=rng)
    intake = Intake(community, people, rng)
    created = sorted(NOW - HISTORY * rng.random() for _ in range(count))
    for number, at in enumerate(created, start=1):
        add_ticket(fill, intake, number, at)
    chats = [chat for chat, _share in SOURCES] + [ESTATE_GROUP]
    for _ in range(count * chatter):  # messages that were not reports: claimed all the same
        chat = rng.choice(chats)
        fill.processed.append(processed_row(intake, chat, None, NOW - HISTORY * rng.random()))
    return fill


def processed_row(
    intake: Intake, chat_id: str, ticket_id: uuid.UUID | None, at: datetime
) -> dict[str, Any]:
    return {
        "platform": chat_id.partition(":")[0],
        "chat_id": chat_id,
        "message_id": intake.next_message_id(chat_id),
        "ticket_id": ticket_id,
        "processed_at": at,
    }


def add_ticket(fill: Fill, intake: Intake, number: int, created: datetime) -> None:
    """One report taken in at `created`, then lived through until NOW."""
    rng, community = intake.rng, intake.community
    grid_id = rng.choices(list(GRID_SHARES), weights=list(GRID_SHARES.values()))[0]
    chat_id = source_chat(grid_id, rng)
    platform = chat_id.partition(":")[0]
    urgent = rng.random() < 0.1
    levels = community.service_levels
    ack_minutes = levels.acknowledge.urgent if urgent else levels.acknowledge.normal
    resolve_minutes = levels.resolve.urgent if urgent else levels.resolve.normal
    workers = community.workers_of(grid_id) if grid_id else []
    worker = workers[-1] if len(workers) > 1 and rng.random() < 0.1 else next(iter(workers), None)
    ticket_id = uuid.uuid4()
    ticket: dict[str, Any] = {
        "id": ticket_id,
        "community_id": community.community.id,
        "number": number,
        "category": rng.choice(CATEGORIES),
        "urgent": urgent,
        "status": TicketStatus.ASSIGNED if worker else TicketStatus.REPORTED,
        "grid_id": grid_id,
        "assignee_id": intake.people.of(worker) if worker else None,
        "reporter_id": rng.choice(intake.people.residents[platform]),
        "place_text": None,
        "latitude": None,
        "longitude": None,
        "description": rng.choice(TEXTS),
        "source_platform": platform,
        "source_chat_id": chat_id,
        "source_message_id": "",
        "duplicate_of_id": None,
        "created_at": created,
        "updated_at": created,
        "ack_due_at": created + timedelta(minutes=ack_minutes),
        "resolve_due_at": created + timedelta(minutes=resolve_minutes),
        "acknowledged_at": None,
        "resolved_at": None,
        "closed_at": None,
        "ack_escalated_at": None,
        "resolve_escalated_at": None,
    }
    claim = processed_row(intake, chat_id, ticket_id, created)
    ticket["source_message_id"] = claim["message_id"]
    fill.processed.append(claim)
    fill.tickets.append(ticket)
    story = Story(fill, ticket)
    story.event(TicketAction.CREATED, created, None, ticket["status"])
    if rng.random() < 0.35:
        add_photo(fill, ticket, rng)
    live(story, intake)
    intake.last_of_grid[grid_id] = ticket_id


def source_chat(grid_id: str | None, rng: random.Random) -> str:
    if grid_id in ("G2", "G3") and rng.random() < 0.6:
        return ESTATE_GROUP
    return rng.choices([c for c, _ in SOURCES], weights=[w for _, w in SOURCES])[0]


def add_photo(fill: Fill, ticket: dict[str, Any], rng: random.Random) -> None:
    digest = f"{rng.getrandbits(256):064x}"
    fill.attachments.append(
        {
            "ticket_id": ticket["id"],
            "kind": "photo",
            "platform": ticket["source_platform"],
            "file_id": f"file-{digest[:24]}",
            "sha256": digest,
            "media_path": f"media/{digest[:2]}/{digest}.jpg",
            "size_bytes": rng.randint(80_000, 900_000),
            "mime": "image/jpeg",
            "created_at": ticket["created_at"],
        }
    )


@dataclass
class Story:
    """A ticket row and the audit rows of what happened to it."""

    fill: Fill
    ticket: dict[str, Any]

    def event(
        self,
        action: TicketAction,
        at: datetime,
        from_status: TicketStatus | None,
        to_status: TicketStatus,
        actor_id: uuid.UUID | None = None,
    ) -> None:
        self.fill.events.append(
            {
                "ticket_id": self.ticket["id"],
                "at": at,
                "actor_id": actor_id,
                "platform": None if actor_id is None else self.ticket["source_platform"],
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "note": None,
            }
        )

    def move(self, to_status: TicketStatus, at: datetime, actor_id: uuid.UUID | None) -> bool:
        """Change the status at `at` if that is before NOW; False (nothing done) if not."""
        if at > NOW:
            return False
        action = TicketAction.STATUS_CHANGED
        if to_status is TicketStatus.DUPLICATE:
            action = TicketAction.MARKED_DUPLICATE
        self.event(action, at, self.ticket["status"], to_status, actor_id)
        self.ticket["status"] = to_status
        self.ticket["updated_at"] = at
        column = {
            TicketStatus.ACKNOWLEDGED: "acknowledged_at",
            TicketStatus.RESOLVED: "resolved_at",
            TicketStatus.CLOSED: "closed_at",
        }.get(to_status)
        if column:
            self.ticket[column] = at
        return True


def live(story: Story, intake: Intake) -> None:
    """Staff turn down unrouted reports; the rest are duplicates, rejected or worked through."""
    rng, ticket = intake.rng, story.ticket
    staff = intake.people.of(intake.community.staff[-1])
    created: datetime = ticket["created_at"]
    if ticket["assignee_id"] is None:
        story.move(TicketStatus.REJECTED, created + timedelta(hours=rng.uniform(1, 24)), staff)
        return
    fate = rng.random()
    if fate < 0.03 and ticket["grid_id"] in intake.last_of_grid:
        ticket["duplicate_of_id"] = intake.last_of_grid[ticket["grid_id"]]
        story.move(TicketStatus.DUPLICATE, created + minutes(rng.expovariate(1 / 20)), staff)
        return
    if fate < 0.05:
        story.move(TicketStatus.REJECTED, created + minutes(rng.expovariate(1 / 60)), staff)
        return
    worker = ticket["assignee_id"]
    stuck = rng.random()
    if stuck < 0.003:  # never acknowledged
        escalate(ticket)
        return
    acknowledged = story.move(
        TicketStatus.ACKNOWLEDGED, created + minutes(rng.expovariate(1 / 40)), worker
    )
    if acknowledged and stuck >= 0.01:  # else: acknowledged but never resolved
        resolved_at = ticket["acknowledged_at"] + timedelta(hours=rng.expovariate(1 / 20))
        if story.move(TicketStatus.RESOLVED, resolved_at, worker) and rng.random() < 0.92:
            closed_at = resolved_at + timedelta(hours=rng.expovariate(1 / 24))
            story.move(TicketStatus.CLOSED, closed_at, ticket["reporter_id"])
    escalate(ticket)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def escalate(ticket: dict[str, Any]) -> None:
    """Stamp the escalations the sweep would have made for each stage that went overdue."""
    acknowledged, resolved = ticket["acknowledged_at"], ticket["resolved_at"]
    ack_sweep = ticket["ack_due_at"] + SWEEP_DELAY
    if ack_sweep < min(acknowledged or NOW, NOW):
        ticket["ack_escalated_at"] = ack_sweep
    if acknowledged is not None:
        resolve_sweep = max(ticket["resolve_due_at"] + SWEEP_DELAY, acknowledged)
        if resolve_sweep < min(resolved or NOW, NOW):
            ticket["resolve_escalated_at"] = resolve_sweep


async def insert_fill(engine: AsyncEngine, fill: Fill) -> None:
    """Everything in one transaction, in chunks of multi-row inserts."""
    async with engine.begin() as connection:
        for table, rows in fill.tables():
            for start in range(0, len(rows), CHUNK):
                await connection.execute(sa.insert(table), rows[start : start + CHUNK])


# --- the databases ---


def sqlite_url() -> str:
    return f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='scale_bench_')}/bench.db"


async def analyse(engine: AsyncEngine) -> None:
    """PostgreSQL's autovacuum would analyse a table this changed within a minute."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")


# --- the timings ---


@asynccontextmanager
async def rolled_back_runtime(
    engine: AsyncEngine, community: CommunityConfig
) -> AsyncIterator[Runtime]:
    """A runtime whose every commit is a savepoint of one transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        sessions = async_sessionmaker(
            bind=connection,
            class_=AsyncSession,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield Runtime(
                communities=[community],
                sessions=sessions,
                clock=FakeClock(start=NOW),
                platforms=frozenset({"tg", "wecom"}),
            )
        finally:
            await transaction.rollback()


def message(text: str, chat_id: str, user_id: str) -> Incoming:
    """A message (a command if it starts with /) as the Telegram adapter hands it over."""
    private = chat_id == f"tg:{user_id}"
    return Incoming(
        platform=Platform.TELEGRAM,
        chat_id=chat_id,
        chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
        sender=Sender(user_id=user_id, display_name="bench"),
        message_id=str(uuid.uuid4()),
        sent_at=NOW,
        text=text,
        command=text.split()[0].lstrip("/") if text.startswith("/") else None,
    )


async def run_digest(runtime: Runtime) -> None:
    community = runtime.communities[0]
    day = runtime.clock.now().astimezone(community.timezone_info).date()  # as the job does
    if not await send_daily_digest(runtime, community, day=day):
        raise AssertionError("the digest was not queued")


Task = Callable[[Runtime], Awaitable[object]]
TASKS: dict[str, Task] = {
    "a new report (G1, riders' group)": lambda r: handle_incoming(
        r, message(NEW_REPORT, RIDERS_GROUP, NEW_RIDER)
    ),
    "/open G1 (staff, staff group)": lambda r: handle_incoming(
        r, message("/open G1", STAFF_GROUP, STAFF_MEMBER)
    ),
    "/mytickets (G1 worker, private)": lambda r: handle_incoming(
        r, message("/mytickets", f"tg:{GRID_WORKER}", GRID_WORKER)
    ),
    "/stats (staff, staff group)": lambda r: handle_incoming(
        r, message("/stats", STAFF_GROUP, STAFF_MEMBER)
    ),
    "daily digest": run_digest,
    "escalation sweep": escalate_overdue,
}


async def time_task(
    engine: AsyncEngine, community: CommunityConfig, task: Task, runs: int
) -> list[float]:
    """Seconds of each of `runs` warm runs (one untimed warm-up first)."""
    seconds = []
    for run in range(runs + 1):
        async with rolled_back_runtime(engine, community) as runtime:
            started = time.perf_counter()
            await task(runtime)
            if run:
                seconds.append(time.perf_counter() - started)
    return seconds


async def backend_rows(
    backend: str, url: str, community: CommunityConfig, tickets: int, runs: int, chatter: int
) -> list[Row]:
    """Fill one database and time every task on it."""
    started = time.perf_counter()
    fill = build_fill(community, tickets, chatter)
    built = time.perf_counter() - started
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        await insert_fill(engine, fill)
        inserted = time.perf_counter() - started
        await analyse(engine)
        size = f"{len(fill.tickets):,} tickets, {len(fill.events):,} events, "
        size += f"{len(fill.processed):,} processed messages"
        rows = [
            Row(
                BENCH,
                f"{backend}: fill",
                f"{inserted:.1f} s",
                f"{size}; rows built in {built:.1f} s",
            )
        ]
        for name, task in TASKS.items():
            seconds = await time_task(engine, community, task, runs)
            rows.append(timing_row(backend, name, seconds))
        return rows
    finally:
        await engine.dispose()


def timing_row(backend: str, name: str, seconds: list[float]) -> Row:
    median = statistics.median(seconds) * 1000
    note = f"median of {len(seconds)} warm runs (max {max(seconds) * 1000:.1f} ms), rolled back"
    return Row(BENCH, f"{backend}: {name}", f"{median:.1f} ms", note)


async def measure(backends: list[str], tickets: int, runs: int, chatter: int) -> list[Row]:
    community = load_community(SAMPLE)
    rows = []
    for backend in backends:
        url = (
            sqlite_url()
            if backend == "sqlite"
            else await fresh_postgres_database(POSTGRES_DATABASE)
        )
        rows += await backend_rows(backend, url, community, tickets, runs, chatter)
    return rows


def rows(
    tickets: int = 100_000,
    runs: int = 7,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    chatter: int = 2,
) -> list[Row]:
    """Fill each database with `tickets` tickets and time the commands and jobs on it."""
    return asyncio.run(measure(list(backends), tickets, runs, chatter))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--tickets", type=int, default=100_000)
    options.add_argument("--runs", type=int, default=7, help="timed runs per measure (median)")
    options.add_argument(
        "--chatter", type=int, default=2, help="non-report group messages claimed per ticket"
    )
    options.add_argument(
        "--backend", choices=("sqlite", "postgresql"), action="append", help="default: both"
    )
    args = options.parse_args()
    backends = tuple(args.backend or ("sqlite", "postgresql"))
    print(format_table(rows(args.tickets, args.runs, backends, args.chatter)))


if __name__ == "__main__":
    main()
