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
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from handlers.clock import FakeClock  # noqa: E402
from handlers.community import load_community  # noqa: E402
from handlers.runtime import Runtime  # noqa: E402
from schedules.reminders import send_due_reminders  # noqa: E402
from storage.database import create_engine, create_session_factory, upgrade_database  # noqa: E402
from storage.events import create_event  # noqa: E402
from storage.models import ReminderSent  # noqa: E402

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


async def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--reminders", type=int, default=10_000)
    options.add_argument("--hours", type=float, default=2.0, help="how far ahead they are due")
    options.add_argument("--database-url", default=None)
    args = options.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
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
    lateness.sort()
    p99 = lateness[int(len(lateness) * 0.99) - 1] if lateness else 0.0
    print(
        f"reminders benchmark ({url.split('://')[0]}, {args.reminders} reminders due over "
        f"{args.hours:g} h, a pass every {PASS_SECONDS} s)"
    )
    print(f"  seeding                   : {seeded:8.2f} s")
    print(f"  restart reload (1st pass) : {reload_seconds * 1000:8.0f} ms")
    print(
        f"  pass run time  median/max : {statistics.median(pass_runtime.values()) * 1000:8.0f}"
        f" / {max(pass_runtime.values()) * 1000:.0f} ms"
    )
    print(f"  fired                     : {len(claims):8d} of {args.reminders}")
    print(f"  lateness median / p99     : {statistics.median(lateness):8.1f} / {p99:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
