"""What every benchmark reports: rows of one table that `make bench` prints side by side."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class Row:
    """One measured figure: which benchmark, what was measured, the value and how it was got."""

    bench: str
    measure: str
    value: str
    note: str = ""


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction 0.5 = median, 0.99 = p99) of non-empty values."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table of the rows, ready to paste into an issue note."""
    header = ("benchmark", "measure", "value", "how")
    lines = [f"| {' | '.join(header)} |", f"|{'|'.join('---' for _ in header)}|"]
    lines += [f"| {r.bench} | {r.measure} | {r.value} | {r.note} |" for r in rows]
    return "\n".join(lines)


async def fresh_postgres_database(name: str) -> str:
    """The URL of an empty PostgreSQL database `name` (dropped and created again)."""
    from sqlalchemy.engine import make_url

    from storage.database import create_engine

    admin = create_engine(POSTGRES_URL)
    try:
        async with admin.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await autocommit.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
