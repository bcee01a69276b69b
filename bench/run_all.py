"""`make bench`: every benchmark in one run, printed as one Markdown table.

1. intake: 2,000 reports, ours vs a minimal PTB echo bot, SQLite and PostgreSQL
2. broadcast: one invitation to 1,000 groups against Telegram's limits
3. parser: messages per second on one core
4. reminders: 10,000 pending reminders, lateness and restart reload
5. scale: /open and the daily digest with 100,000 tickets stored

`--quick` runs every benchmark small (a smoke test of the harness, not figures to quote).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import broadcast_bench
import intake_bench
import parser_throughput
import reminders_bench
import scale_bench
from common import Row, format_table


def benchmarks(quick: bool) -> list[tuple[str, Callable[[], list[Row]]]]:
    return [
        ("intake", lambda: intake_bench.rows(200 if quick else 2000)),
        ("broadcast", lambda: broadcast_bench.rows(**({"groups": 100} if quick else {}))),
        ("parser", lambda: parser_throughput.rows(*((2, 3) if quick else (7, 30)))),
        ("reminders", lambda: reminders_bench.rows(500 if quick else 10_000)),
        ("scale", lambda: scale_bench.rows(**({"tickets": 5000} if quick else {}))),
        ("scale-memory", lambda: intake_bench.memory_rows(*((5000, 200) if quick else ()))),
    ]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--quick", action="store_true", help="small sizes, to try the harness")
    options.add_argument("--only", help="comma-separated benchmark names")
    args = options.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    rows: list[Row] = []
    for name, run in benchmarks(args.quick):
        if wanted and name not in wanted:
            continue
        started = time.perf_counter()
        rows += run()
        print(f"{name}: done in {time.perf_counter() - started:.0f} s", flush=True)
    print(format_table(rows))


if __name__ == "__main__":
    main()
