"""Short fault drills: the real bot process is killed, or loses PostgreSQL, during a burst.

`make chaos` runs the full drills (1,000 reports, five kills, a real PostgreSQL restart).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.fault_drills import (
    Drill,
    DrillCounts,
    database_outage,
    sigkill_during_burst,
    terminate_connections,
)
from tests.conftest import PARSER_SCORES


def assert_nothing_lost(counts: DrillCounts) -> None:
    PARSER_SCORES[counts.name] = {
        "reports": counts.reports_sent,
        "tickets": counts.tickets,
        "lost": counts.lost,
        "duplicate_tickets": counts.duplicate_tickets,
        "pings_missing": counts.pings_missing,
        "replies_missing": counts.replies_missing,
        "sent_twice": counts.duplicate_messages,
        "disruptions": counts.disruptions,
    }
    assert counts.disruptions > 0
    assert counts.tickets == counts.reports_sent, counts.line()
    assert counts.passed, counts.line()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_reports_survive_sigkills_during_a_burst(database_url: str, tmp_path: Path) -> None:
    drill = Drill(
        "SIGKILL drill (short)",
        tmp_path,
        database_url,
        communities=3,
        reports_per_community=10,
        rate_per_second=30,
        disruption=sigkill_during_burst(2, low=0.5, high=1.5),
        deadline_seconds=90,
    )
    assert_nothing_lost(await drill.run())
    assert drill.exit_code == 0  # the last run stopped cleanly on SIGTERM


async def test_reports_survive_losing_every_database_connection(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("cutting server connections is a PostgreSQL drill")
    drill = Drill(
        "PostgreSQL connections cut (short)",
        tmp_path,
        database_url,
        communities=3,
        reports_per_community=10,
        rate_per_second=30,
        disruption=database_outage(terminate_connections(database_url), times=3, apart=0.3),
        deadline_seconds=90,
    )
    assert_nothing_lost(await drill.run())
    PARSER_SCORES[drill.name]["retries_logged"] = drill.retries_logged()
