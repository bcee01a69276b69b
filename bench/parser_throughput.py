"""Parser throughput on one core: messages per second over the bundled sample chat.

Run: `make bench` or `python bench/parser_throughput.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from common import ROOT, Row, format_table

from bot.export import read_export
from bot.reports_from_export import detect_reports
from handlers.community import load_community
from handlers.parsing.report_parser import ReportParser


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity here)"


@dataclass
class Figures:
    """What one parser run measured."""

    pinning: str
    worded: int
    rounds: int
    build_ms: float
    parse_rate: float
    pipeline_rate: float


def measure(rounds: int = 7, repeat: int = 30) -> Figures:
    """Parse the sample corpus `repeat` times per pass, `rounds` passes; medians."""
    pinning = pin_to_one_core()
    community = load_community(ROOT / "examples" / "community.yaml")
    started = time.perf_counter()
    parser = ReportParser(community)
    build_ms = (time.perf_counter() - started) * 1000
    messages = read_export(ROOT / "examples" / "corpus" / "result.json") * repeat
    worded = [m for m in messages if not m.is_media_only]

    for message in worded[:200]:  # warm regex caches
        parser.parse(message)
    parse_rates, pipeline_rates = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for message in worded:
            parser.parse(message)
        parse_rates.append(len(worded) / (time.perf_counter() - started))
        started = time.perf_counter()
        for _report in detect_reports(messages, parser):
            pass
        pipeline_rates.append(len(messages) / (time.perf_counter() - started))
    return Figures(
        pinning,
        len(worded),
        rounds,
        build_ms,
        statistics.median(parse_rates),
        statistics.median(pipeline_rates),
    )


def rows(rounds: int = 7, repeat: int = 30) -> list[Row]:
    """The parser figures as table rows (measured in a child process pinned to one core)."""
    with ProcessPoolExecutor(max_workers=1) as pool:  # pinning must not bind the caller
        f = pool.submit(measure, rounds, repeat).result()
    how = f"{f.worded} worded messages per pass, median of {f.rounds}, {f.pinning}"
    return [
        Row("parser", "parse one message, msg/s", f"{f.parse_rate:.0f}", how),
        Row("parser", "export pipeline (group + parse), msg/s", f"{f.pipeline_rate:.0f}", how),
        Row("parser", "set-up for the community ms", f"{f.build_ms:.1f}", "once per start"),
    ]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--rounds", type=int, default=7, help="timed passes (median reported)")
    options.add_argument("--repeat", type=int, default=30, help="corpus copies per pass")
    args = options.parse_args()
    print(format_table(rows(args.rounds, args.repeat)))


if __name__ == "__main__":
    main()
