"""Reminders benchmark: 10,000 pending reminders, lateness (median, p99) and restart reload.

A pass runs every 60 s of virtual time (as the scheduler does). A reminder's lateness is the
virtual time from when it was due to the pass that queued it, plus that pass's real run time.
"Reload" is the first pass of a freshly started bot: the database is the schedule, so a
restart only has to scan it.

Run: `python bench/reminders_bench.py [--reminders 10000] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta

from common import ROOT, Row, format_table, percentile
from sqlmodel import select

from handlers.clock import FakeClock
from handlers.community import load_community
from handlers.runtime import Runtime
from schedules.reminders import send_due_reminders
from storage.database import create_engine, create_session_factory, upgrade_database
from storage.events import create_event
from storage.models import ReminderSent

PASS_SECONDS = 60
OFFSET_MINUTES = 60


async def seed(runtime: Runtime, count: int, spread: timedelta) -> None:
    """`count` events, each with one reminder due somewhere in the next `spread`."""
    community = runtime.communities[0]
    group = community.chats[0].id
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        for index in range(count):
            due = now + timedelta(seconds=30) + spread * (index / count)
            await create_event(
                session,
                community_id=community.community.id,
                title=f"活动 {index}",
                starts_at=due + timedelta(minutes=OFFSET_MINUTES),
                now=now,
                audience_chat_ids=[group],
                reminder_offsets_minutes=[OFFSET_MINUTES],
            )


def runtime_for(url: str, clock: FakeClock) -> tuple[Runtime, object]:
    engine = create_engine(url)
    community = load_community(ROOT / "examples" / "community.yaml")
    return Runtime(
        communities=[community], sessions=create_session_factory(engine), clock=clock
    ), engine


@dataclass
class Figures:
    """What one reminders run measured."""

    url: str
    reminders: int
    hours: float
    seeded: float
    reload_seconds: float
    pass_seconds: list[float]
    fired: int
    lateness: list[float]


async def measure(reminders: int, hours: float, url: str) -> Figures:
    """Seed `reminders` reminders due over `hours`, restart, and run the passes."""
    args = argparse.Namespace(reminders=reminders, hours=hours)
    await upgrade_database(url)
    clock = FakeClock()
    runtime, engine = runtime_for(url, clock)
    started = time.perf_counter()
    await seed(runtime, args.reminders, timedelta(hours=args.hours))
    seeded = time.perf_counter() - started
    await engine.dispose()  # type: ignore[attr-defined]

    runtime, engine = runtime_for(url, clock)  # a restarted bot: nothing in memory
    started = time.perf_counter()
    await send_due_reminders(runtime)
    reload_seconds = time.perf_counter() - started

    pass_runtime: dict[float, float] = {}
    passes = int(args.hours * 3600 / PASS_SECONDS) + 2
    for _ in range(passes):
        clock.advance(PASS_SECONDS)
        started = time.perf_counter()
        await send_due_reminders(runtime)
        pass_runtime[clock.monotonic()] = time.perf_counter() - started

    async with runtime.sessions() as session:
        claims = list(await session.exec(select(ReminderSent)))
    await engine.dispose()  # type: ignore[attr-defined]
    origin = clock.now() - timedelta(seconds=clock.monotonic())
    lateness = []
    for claim in claims:
        due = claim.occurrence_start - timedelta(minutes=claim.offset_minutes)
        virtual = (claim.sent_at - due).total_seconds()
        pass_at = (claim.sent_at - origin).total_seconds()
        lateness.append(virtual + pass_runtime.get(pass_at, reload_seconds))
    return Figures(
        url,
        reminders,
        hours,
        seeded,
        reload_seconds,
        list(pass_runtime.values()),
        len(claims),
        lateness,
    )


def rows(reminders: int = 10_000, hours: float = 2.0, url: str | None = None) -> list[Row]:
    """The reminders figures as table rows."""
    url = url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    f = asyncio.run(measure(reminders, hours, url))
    setting = f"{f.reminders} reminders due over {f.hours:g} h, a pass every {PASS_SECONDS} s"
    return [
        Row("reminders", "restart reload (1st pass) ms", f"{f.reload_seconds * 1000:.0f}", setting),
        Row(
            "reminders",
            "pass run time median / max ms",
            f"{statistics.median(f.pass_seconds) * 1000:.0f} / {max(f.pass_seconds) * 1000:.0f}",
            url.split("://")[0],
        ),
        Row("reminders", "fired / due", f"{f.fired} / {f.reminders}", "each once (claims)"),
        Row(
            "reminders",
            "lateness median / p99 s",
            f"{percentile(f.lateness, 0.5):.1f} / {percentile(f.lateness, 0.99):.1f}",
            "virtual wait for the pass + the pass's real run time",
        ),
    ]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--reminders", type=int, default=10_000)
    options.add_argument("--hours", type=float, default=2.0, help="how far ahead they are due")
    options.add_argument("--database-url", default=None)
    args = options.parse_args()
    print(format_table(rows(args.reminders, args.hours, args.database_url)))


if __name__ == "__main__":
    main()
