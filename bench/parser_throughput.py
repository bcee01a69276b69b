"""Parser throughput on one core: messages per second over the bundled sample chat.

Run: `make bench` or `python bench/parser_throughput.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.export import read_export  # noqa: E402
from bot.reports_from_export import detect_reports  # noqa: E402
from handlers.community import load_community  # noqa: E402
from handlers.parsing.report_parser import ReportParser  # noqa: E402


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity here)"


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--rounds", type=int, default=7, help="timed passes (median reported)")
    options.add_argument("--repeat", type=int, default=30, help="corpus copies per pass")
    args = options.parse_args()

    pinning = pin_to_one_core()
    community = load_community(ROOT / "examples" / "community.yaml")
    started = time.perf_counter()
    parser = ReportParser(community)
    build_ms = (time.perf_counter() - started) * 1000
    messages = read_export(ROOT / "examples" / "corpus" / "result.json") * args.repeat
    worded = [m for m in messages if not m.is_media_only]

    for message in worded[:200]:  # warm regex caches
        parser.parse(message)
    parse_rates, pipeline_rates = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for message in worded:
            parser.parse(message)
        parse_rates.append(len(worded) / (time.perf_counter() - started))
        started = time.perf_counter()
        for _report in detect_reports(messages, parser):
            pass
        pipeline_rates.append(len(messages) / (time.perf_counter() - started))

    parse_rate = statistics.median(parse_rates)
    print(
        f"parser benchmark ({pinning}; {len(worded)} worded messages per pass, "
        f"{args.rounds} passes, median)"
    )
    print(f"  parser set-up for the community : {build_ms:8.1f} ms")
    print(
        f"  parse one message               : {parse_rate:8.0f} msg/s "
        f"({1e6 / parse_rate:.0f} µs each)"
    )
    print(f"  export pipeline (group + parse) : {statistics.median(pipeline_rates):8.0f} msg/s")


if __name__ == "__main__":
    main()
