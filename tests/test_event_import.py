"""`python -m bot events import`: YAML and iCalendar files become events, once, all or nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select

from bot.__main__ import main
from bot.event_import import EventImportError, import_events, read_events
from handlers.clock import FakeClock
from handlers.community import CommunityConfig
from handlers.runtime import Runtime
from storage.database import AsyncSession
from storage.models import Event, NoticeSent, OutboxMessage
from tests.conftest import REPO_ROOT, SAMPLE_COMMUNITY

EXAMPLE_YAML = REPO_ROOT / "examples" / "events.yaml"
EXAMPLE_ICS = REPO_ROOT / "examples" / "events.ics"
BEFORE_THE_EXAMPLES = datetime(2026, 12, 1, tzinfo=UTC)
RIDERS_GROUP, ESTATE_GROUP = "tg:-1001000000001", "tg:-1001000000002"


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def calendar(*events: str) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event.strip().splitlines(), "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def runtime_on(
    sample_community: CommunityConfig, sessions: async_sessionmaker[AsyncSession]
) -> Runtime:
    return Runtime(
        communities=[sample_community],
        sessions=sessions,
        clock=FakeClock(start=BEFORE_THE_EXAMPLES),
    )


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


# --------------------------------------------------------------------------- reading


def test_the_yaml_example_reads_as_drafts(sample_community: CommunityConfig) -> None:
    items, notes = read_events(EXAMPLE_YAML, sample_community)

    assert notes == []
    talk, movies, haircuts, sports = (item.draft for item in items)
    assert (talk.title, talk.starts_local, talk.capacity) == (
        "灵活就业与社保政策宣讲",
        datetime(2027, 3, 15, 19, 30),
        40,
    )
    assert talk.ends_local == datetime(2027, 3, 15, 21, 0)
    assert talk.reminder_offsets_minutes == (1440, 60)
    assert (movies.rrule, movies.reminder_offsets_minutes) == ("FREQ=WEEKLY;BYDAY=FR", (120,))
    assert (haircuts.rrule, haircuts.audience_buildings) == ("FREQ=MONTHLY", ("3", "5"))
    assert sports.audience_chats == ("扬帆社区红色之家（骑手群）",)
    assert sports.reminder_offsets_minutes == (1440, 120)
    assert len({item.key for item in items}) == 4


def test_the_ics_example_reads_in_the_communitys_wall_time(
    sample_community: CommunityConfig,
) -> None:
    items, notes = read_events(EXAMPLE_ICS, sample_community)

    assert notes == ["events[2] 防汛应急演练: left out (cancelled in the file)"]
    checkup, talk = (item.draft for item in items)
    assert checkup.starts_local == datetime(2027, 1, 10, 9, 0)  # 01:00 UTC
    assert checkup.ends_local == datetime(2027, 1, 10, 12, 0)  # DURATION:PT3H
    assert checkup.rrule == "FREQ=MONTHLY;BYMONTHDAY=10"
    assert checkup.reminder_offsets_minutes == (1440, 60)  # no VALARM: the default
    assert (talk.starts_local, talk.place) == (datetime(2027, 3, 20, 19, 30), "二期物业会议室")
    assert talk.reminder_offsets_minutes == (1440, 60)  # from the two VALARMs


def test_ics_times_and_alarms_are_converted(
    sample_community: CommunityConfig, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "berlin.ics",
        calendar(
            """
UID:a
SUMMARY:Berlin call
DTSTART;TZID=Europe/Berlin:20270708T130000
DTEND;TZID=Europe/Berlin:20270708T140000
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER;RELATED=END:-PT90M
END:VALARM
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER;VALUE=DATE-TIME:20270707T110000Z
END:VALARM
""",
            """
SUMMARY:Floating tea
DTSTART:20270709T150000
""",
        ),
    )
    items, _ = read_events(path, sample_community)

    call, tea = (item.draft for item in items)
    assert call.starts_local == datetime(2027, 7, 8, 19, 0)  # CEST +2 → Shanghai +8
    assert call.reminder_offsets_minutes == (1440, 30)
    assert tea.starts_local == datetime(2027, 7, 9, 15, 0)  # floating: already wall time


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ("events:\n  - start: '2027-01-01 10:00'\n", "events[0].title", "required"),
        ("events:\n  - {title: a, start: soon}\n", "events[0].start", "cannot read the time"),
        ("events:\n  - {title: a, start: 2027-01-01}\n", "events[0].start", "time of day"),
        (
            "events:\n  - {title: a, start: '2027-01-01 10:00', colour: red}\n",
            "events[0].colour",
            "unknown key",
        ),
        (
            "events:\n  - {title: a, start: '2027-01-01 10:00', capacity: lots}\n",
            "events[0].capacity",
            "capacity",
        ),
        (
            "events:\n  - {title: a, start: '2027-01-01 10:00', reminders: [soon]}\n",
            "events[0].reminders",
            "reminders",
        ),
        (
            "events:\n  - {title: a, start: '2027-01-01 10:00', end: '09:00'}\n",
            "events[0].end",
            "not after",
        ),
        (
            "events:\n  - {title: a, start: '2027-01-01 10:00', repeat: daily, rrule: x}\n",
            "events[0].rrule",
            "either",
        ),
        (
            "events:\n  - {title: a, start: '2027-01-01 10:00', repeat: sometimes}\n",
            "events[0].repeat",
            "repeat",
        ),
        (
            "events:\n  - {title: [a], start: '2027-01-01 10:00'}\n",
            "events[0].title",
            "must be text",
        ),
        ("events: []\n", "events", "non-empty list"),
        ("- a\n", "", "top level must be a mapping"),
        ("events:\n  - {title: a\n", "line 3, column 1", "YAML syntax error"),
    ],
)
def test_bad_yaml_names_the_file_and_field(
    sample_community: CommunityConfig, tmp_path: Path, body: str, field: str, problem: str
) -> None:
    path = write(tmp_path, "events.yaml", body)
    with pytest.raises(EventImportError) as caught:
        read_events(path, sample_community)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("event", "field", "problem"),
    [
        ("SUMMARY:x\nDTSTART;VALUE=DATE:20270101", "events[0].DTSTART", "all-day"),
        ("DTSTART:20270101T100000Z", "events[0].SUMMARY", "missing"),
        ("SUMMARY:x", "events[0].DTSTART", "missing"),
        ("SUMMARY:x\nDTSTART:20270101T100000Z\nDTEND:20270101T090000Z", "events[0].DTEND", "after"),
        (
            "SUMMARY:x\nDTSTART:20270101T100000Z\nRRULE:FREQ=WEEKLY\nEXDATE:20270108T100000Z",
            "events[0].EXDATE",
            "not supported",
        ),
        (
            "SUMMARY:x\nDTSTART:20270101T100000Z\nBEGIN:VALARM\nTRIGGER:PT5M\nEND:VALARM",
            "events[0].VALARM[0].TRIGGER",
            "before the start",
        ),
    ],
)
def test_bad_ics_names_the_event_and_property(
    sample_community: CommunityConfig, tmp_path: Path, event: str, field: str, problem: str
) -> None:
    path = write(tmp_path, "events.ics", calendar(event))
    with pytest.raises(EventImportError) as caught:
        read_events(path, sample_community)
    assert (caught.value.field, problem in caught.value.problem) == (field, True)


# --------------------------------------------------------------------------- storing


async def test_an_import_creates_each_event_once(
    sample_community: CommunityConfig, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    runtime = runtime_on(sample_community, session_factory)
    items, _ = read_events(EXAMPLE_YAML, sample_community)

    first = await import_events(runtime, sample_community, EXAMPLE_YAML, items, dry_run=False)
    again = await import_events(runtime, sample_community, EXAMPLE_YAML, items, dry_run=False)

    assert [(o.status, o.chats) for o in first] == [
        ("created", 2),
        ("created", 2),
        ("created", 1),
        ("created", 1),
    ]
    assert [o.status for o in again] == ["exists"] * 4
    async with session_factory() as session:
        events = {e.title: e for e in await session.exec(select(Event))}
    assert len(events) == 4
    assert json.loads(events["老人免费理发"].audience_chat_ids) == [ESTATE_GROUP]
    assert json.loads(events["Riders' sports day"].audience_chat_ids) == [RIDERS_GROUP]
    starts = events["灵活就业与社保政策宣讲"].starts_at
    assert starts.astimezone(ZoneInfo("Asia/Shanghai")) == datetime(
        2027, 3, 15, 19, 30, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert await count(session_factory, OutboxMessage) == 6  # invitations wait for the bot


async def test_a_dry_run_or_one_bad_event_stores_nothing(
    sample_community: CommunityConfig,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    runtime = runtime_on(sample_community, session_factory)
    items, _ = read_events(EXAMPLE_ICS, sample_community)
    dry = await import_events(runtime, sample_community, EXAMPLE_ICS, items, dry_run=True)
    assert [o.status for o in dry] == ["created", "created"]

    mixed = write(
        tmp_path,
        "mixed.yaml",
        "events:\n  - {title: ok, start: '2027-01-05 10:00'}\n"
        "  - {title: night market, start: '2027-01-06 10:00', grids: [G1]}\n",
    )
    bad_items, _ = read_events(mixed, sample_community)
    with pytest.raises(EventImportError) as caught:
        await import_events(runtime, sample_community, mixed, bad_items, dry_run=False)

    assert caught.value.field == "events[1].grids"
    assert "No residents' group serves grid “G1”" in caught.value.problem
    for model in (Event, OutboxMessage, NoticeSent):
        assert await count(session_factory, model) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_events_already_over_are_skipped_and_not_claimed(
    sample_community: CommunityConfig,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    runtime = runtime_on(sample_community, session_factory)
    path = write(tmp_path, "old.yaml", "events:\n  - {title: old, start: '2026-01-05 10:00'}\n")
    items, _ = read_events(path, sample_community)

    [outcome] = await import_events(runtime, sample_community, path, items, dry_run=False)

    assert outcome.status == "over"
    assert await count(session_factory, NoticeSent) == 0


# --------------------------------------------------------------------------- the command


@pytest.fixture
def keep_log_levels() -> Iterator[None]:
    """main() tunes the process's loggers as a real run would; undo that for the next tests."""
    names = ("", "alembic", "apscheduler", "telegram.ext", "httpx")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def run_import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`python -m bot events import …` in this process: (exit code, stdout, stderr)."""
    code = main(["events", "import", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.usefixtures("keep_log_levels")
def test_the_command_imports_once_and_explains_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("COMMUNITY_CONFIG", str(SAMPLE_COMMUNITY))
    soon = (datetime.now(UTC) + timedelta(days=30)).astimezone(ZoneInfo("Asia/Shanghai"))
    good = write(
        tmp_path,
        "events.yaml",
        f"events:\n  - title: 电影之夜\n    start: '{soon:%Y-%m-%d} 19:30'\n    grids: [G2]\n",
    )
    bad = write(
        tmp_path, "bad.yaml", "events:\n  - {title: a, start: '2027-01-01 10:00'}\n  - {title: b}\n"
    )

    code, out, _ = run_import(capsys, str(good), "--dry-run")
    assert code == 0 and "would create: " in out and "nothing was stored" in out
    code, out, _ = run_import(capsys, str(good))
    assert code == 0 and "电影之夜 → 1 group(s)" in out and "1 created" in out
    code, out, _ = run_import(capsys, str(good), "--community", str(SAMPLE_COMMUNITY))
    assert code == 0 and "0 created, 1 already imported" in out
    code, _, err = run_import(capsys, str(bad))
    assert code == 2
    assert err.strip() == f"error: {bad}: events[1].start: required key is missing"


@pytest.mark.usefixtures("keep_log_levels")
def test_the_example_files_pass_a_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    for example in (EXAMPLE_YAML, EXAMPLE_ICS):
        code, out, err = run_import(capsys, str(example), "--dry-run")
        assert code == 0, err
        assert "nothing was stored" in out


def test_events_import_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["events", "import", "--help"])
    assert exited.value.code == 0
    assert "--dry-run" in capsys.readouterr().out
