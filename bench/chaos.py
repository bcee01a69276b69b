"""`make chaos`: the full fault drills against the real bot process.

1. SIGKILL five times at random moments during a 1,000-report burst (SQLite).
2. The same burst on PostgreSQL, restarted with pg_ctlcluster in the middle (needs the rights to
   restart this machine's cluster; skipped with a reason otherwise).
3. The same burst on PostgreSQL with every connection cut three times.
Prints each drill's counts and exits 1 if any drill lost or doubled a report.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from common import fresh_postgres_database

from bot.fault_drills import (
    Drill,
    DrillCounts,
    database_outage,
    restart_postgres,
    sigkill_during_burst,
    terminate_connections,
)

DRILL_DATABASE = "bench_chaos"


async def run_drills(
    reports: int, kills: int, workdir: Path, only: str | None
) -> list[DrillCounts]:
    communities = 10
    per_community = reports // communities
    results: list[DrillCounts] = []
    if only not in (None, "kill"):
        return results + await postgres_drills(communities, per_community, workdir, only)
    sqlite = f"sqlite+aiosqlite:///{workdir / 'kill' / 'bot.db'}"
    kill = Drill(
        f"SIGKILL x{kills}, SQLite",
        workdir / "kill",
        sqlite,
        communities=communities,
        reports_per_community=per_community,
        disruption=sigkill_during_burst(kills),
    )
    results.append(await kill.run())
    print(results[-1].line(), flush=True)
    if only is None:
        results += await postgres_drills(communities, per_community, workdir, only)
    return results


async def postgres_drills(
    communities: int, per_community: int, workdir: Path, only: str | None
) -> list[DrillCounts]:
    results = []
    drills = {
        "restart": ("PostgreSQL restarted mid-burst", restart_postgres),
        "cut": ("PostgreSQL connections cut x3", None),
    }
    for key, (name, outage) in drills.items():
        if only not in (None, key):
            continue
        url = await fresh_postgres_database(DRILL_DATABASE)
        drill = Drill(
            name,
            workdir / name.split()[1],
            url,
            communities=communities,
            reports_per_community=per_community,
            disruption=database_outage(
                outage or terminate_connections(url), times=1 if outage else 3
            ),
        )
        results.append(await drill.run())
        print(f"{results[-1].line()}; failures retried in the log: {drill.retries_logged()}")
    return results


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--reports", type=int, default=1000)
    options.add_argument("--kills", type=int, default=5)
    options.add_argument("--only", choices=("kill", "restart", "cut"), help="run one drill")
    args = options.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    try:
        results = asyncio.run(run_drills(args.reports, args.kills, workdir, args.only))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [r.name for r in results if not r.passed or r.tickets != r.reports_sent]
    print("all drills passed" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
