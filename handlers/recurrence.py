"""Recurring events: RFC 5545 RRULEs expanded in the community's local wall time.

A series is anchored at a local start ("every Friday 19:30" means 19:30 on each Friday's clock)
and each occurrence is converted to UTC on its own, so it keeps its local time across a DST
change. As RFC 5545 says, a local time that does not exist (clocks go forward) is read with the
offset before the gap and a repeated one as its first instance: one UTC instant per occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from itertools import islice
from typing import Protocol

from dateutil.rrule import rrulestr

from handlers.texts import text

FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_EXPANSION = 10_000  # a bounded series longer than this is treated as one without end
UNTIL_FORMAT = "%Y%m%dT%H%M%SZ"
# Offsets change by at most a day's worth around a DST switch: widen local windows by this.
WINDOW_MARGIN = timedelta(days=1)
ORDINAL_DAY = re.compile(r"^([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)$")


class Series(Protocol):
    """What expanding occurrences needs: a stored event or a planned schedule."""

    @property
    def starts_at(self) -> datetime: ...

    @property
    def rrule(self) -> str | None: ...

    @property
    def last_starts_at(self) -> datetime | None: ...


class RuleError(ValueError):
    """An RRULE this bot cannot use (unreadable, too frequent, or without any occurrence)."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """When an event happens: first start and final start in UTC (None: no end), its rule."""

    starts_at: datetime
    last_starts_at: datetime | None
    rrule: str | None


def wall_time(moment: datetime, zone: tzinfo) -> datetime:
    """The naive local wall time of a UTC instant."""
    return moment.astimezone(zone).replace(tzinfo=None)


def utc_instant(local: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a naive local wall time (a gap reads with the offset before it)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def exists_locally(local: datetime, zone: tzinfo) -> bool:
    """False for a wall time skipped when the clocks go forward."""
    return wall_time(utc_instant(local, zone), zone) == local.replace(fold=0)


def rule_parts(rule: str) -> dict[str, str]:
    """'FREQ=WEEKLY;BYDAY=FR' as {'FREQ': 'WEEKLY', 'BYDAY': 'FR'}; raises RuleError."""
    parts: dict[str, str] = {}
    for piece in rule.strip().removeprefix("RRULE:").split(";"):
        name, equals, value = piece.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise RuleError(f"not NAME=VALUE: {piece!r}")
        parts[name.strip().upper()] = value.strip().upper()
    return parts


def normalise_rule(rule: str, zone: tzinfo) -> str:
    """The rule as stored: upper case, no 'RRULE:' prefix, UNTIL as a UTC date-time."""
    parts = rule_parts(rule.strip().upper())
    if parts.get("FREQ") not in FREQUENCIES:
        raise RuleError(f"FREQ must be one of {sorted(FREQUENCIES)}")
    if "UNTIL" in parts:
        parts["UNTIL"] = _until_utc(parts["UNTIL"], zone).strftime(UNTIL_FORMAT)
    return ";".join(f"{name}={value}" for name, value in parts.items())


def _until_utc(value: str, zone: tzinfo) -> datetime:
    """UNTIL as UTC: '…Z' is UTC already, a local date-time is converted, a date ends its day."""
    try:
        if value.endswith("Z"):
            return datetime.strptime(value, UNTIL_FORMAT).replace(tzinfo=UTC)
        if "T" in value:
            return utc_instant(datetime.strptime(value, "%Y%m%dT%H%M%S"), zone)
        day = datetime.strptime(value, "%Y%m%d").date()
    except ValueError as error:
        raise RuleError(f"UNTIL {value!r} is not a date") from error
    return utc_instant(datetime.combine(day, time(23, 59, 59)), zone)


def _local_starts(rule: str, anchor: datetime, zone: tzinfo) -> Iterator[datetime]:
    """The naive local starts of a stored rule counted from its local anchor."""

    def local_until(found: re.Match[str]) -> str:
        return "UNTIL=" + wall_time(_until_utc(found[1], zone), zone).strftime("%Y%m%dT%H%M%S")

    local_rule = re.sub(r"UNTIL=(\d{8}T\d{6}Z)", local_until, rule)
    try:
        expanded = rrulestr(local_rule, dtstart=anchor)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise RuleError(str(error)) from error
    return iter(expanded)


def plan_schedule(first_local: datetime, rule: str | None, zone: tzinfo) -> Schedule:
    """The stored schedule from a naive local first start; raises RuleError for a bad rule."""
    # A series starts at the rule's first occurrence from `first_local`, so DTSTART matches it.
    if not rule or not rule.strip():
        start = utc_instant(first_local, zone)
        return Schedule(starts_at=start, last_starts_at=start, rrule=None)
    stored = normalise_rule(rule, zone)
    starts = list(islice(_local_starts(stored, first_local, zone), MAX_EXPANSION + 1))
    if not starts:
        raise RuleError("the rule has no occurrence")
    bounded = ("COUNT" in stored or "UNTIL" in stored) and len(starts) <= MAX_EXPANSION
    return Schedule(
        starts_at=utc_instant(starts[0], zone),
        last_starts_at=utc_instant(starts[-1], zone) if bounded else None,
        rrule=stored,
    )


def occurrences_between(
    event: Series, zone: tzinfo, *, after: datetime, until: datetime
) -> list[datetime]:
    """UTC starts of the event's occurrences in (after, until], in order."""
    if event.rrule is None:
        return [event.starts_at] if after < event.starts_at <= until else []
    low, high = wall_time(after, zone) - WINDOW_MARGIN, wall_time(until, zone) + WINDOW_MARGIN
    found = []
    for local in _local_starts(event.rrule, wall_time(event.starts_at, zone), zone):
        if local > high:
            break
        start = utc_instant(local, zone)
        if local >= low and after < start <= until:
            found.append(start)
    return found


def next_occurrence(event: Series, zone: tzinfo, *, after: datetime) -> datetime | None:
    """The first occurrence starting after `after`, or None when the event is over."""
    if event.rrule is None:
        return event.starts_at if event.starts_at > after else None
    if event.last_starts_at is not None and event.last_starts_at <= after:
        return None
    for local in _local_starts(event.rrule, wall_time(event.starts_at, zone), zone):
        start = utc_instant(local, zone)
        if start > after:
            return start
    return None


def occurrences_done(event: Series, zone: tzinfo, *, until: datetime) -> int:
    """How many occurrences started at or before `until`."""
    if event.rrule is None:
        return int(event.starts_at <= until)
    earlier = event.starts_at - timedelta(microseconds=1)
    return len(occurrences_between(event, zone, after=earlier, until=until))


def moved_schedule(event: Series, zone: tzinfo, new_local: datetime, now: datetime) -> Schedule:
    """The schedule once the next occurrence moves to `new_local`; a COUNT keeps what is left."""
    if event.rrule is None:
        return plan_schedule(new_local, None, zone)
    parts = rule_parts(event.rrule)
    if "COUNT" in parts:
        left = int(parts["COUNT"]) - occurrences_done(event, zone, until=now)
        parts["COUNT"] = str(max(1, left))
    return plan_schedule(new_local, ";".join(f"{k}={v}" for k, v in parts.items()), zone)


def repeat_text(event: Series, zone: tzinfo, language: str) -> str:
    """'每周五 19:30' / 'every Friday 19:30' for common rules, else the raw rule."""
    assert event.rrule is not None
    parts = rule_parts(event.rrule)
    anchor = wall_time(event.starts_at, zone)
    described = _described(parts, anchor, language)
    if described is None:
        return text("event.repeat_rule", language, rule=event.rrule)
    if "COUNT" in parts:
        described += text("event.repeat_count", language, count=parts["COUNT"])
    elif "UNTIL" in parts:
        last = event.last_starts_at or _until_utc(parts["UNTIL"], zone)
        until = wall_time(last, zone).date()
        described += text("event.repeat_until", language, until=until.strftime("%Y-%m-%d"))
    return described


SIMPLE_KEYS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"})


def _described(parts: dict[str, str], anchor: datetime, language: str) -> str | None:
    """The human text of DAILY, WEEKLY(BYDAY) and MONTHLY rules repeating every time."""
    if parts.get("INTERVAL", "1") != "1":
        return None
    clock = anchor.strftime("%H:%M")
    extra = set(parts) - SIMPLE_KEYS
    frequency = parts["FREQ"]
    if frequency == "DAILY" and not extra:
        return text("event.repeat_daily", language, time=clock)
    if frequency in {"DAILY", "WEEKLY"} and extra <= {"BYDAY"}:
        days = parts.get("BYDAY", WEEKDAYS[anchor.weekday()]).split(",")
        if not all(day in WEEKDAYS for day in days):
            return None
        names = [text(f"event.weekday_{day.lower()}", language) for day in days]
        joined = text("event.weekday_separator", language).join(names)
        return text("event.repeat_weekly", language, days=joined, time=clock)
    if frequency == "MONTHLY":
        return _monthly(parts, extra, anchor, clock, language)
    return None


def _monthly(
    parts: dict[str, str], extra: set[str], anchor: datetime, clock: str, language: str
) -> str | None:
    """'每月 15 日 19:30' or '每月第一个周六 19:30'."""
    if not extra or (extra == {"BYMONTHDAY"} and parts["BYMONTHDAY"].isdigit()):
        day = int(parts.get("BYMONTHDAY", anchor.day))
        return text("event.repeat_monthly_day", language, day=day, time=clock)
    if extra - {"BYDAY", "BYSETPOS"} or "BYDAY" not in extra:
        return None
    found = ORDINAL_DAY.match(parts["BYDAY"])
    nth = parts.get("BYSETPOS") or (found[1] if found else None)
    if found is None or nth not in {"1", "2", "3", "4", "-1", "+1", "+2", "+3", "+4"}:
        return None
    return text(
        "event.repeat_monthly_weekday",
        language,
        nth=text(f"event.nth_{int(nth)}", language),
        weekday=text(f"event.weekday_{found[2].lower()}", language),
        time=clock,
    )


def first_occurrences(
    event: Series, zone: tzinfo, *, after: datetime, count: int
) -> list[datetime]:
    """The first `count` occurrences starting after `after` (fewer when the series ends)."""
    found: list[datetime] = []
    moment = after
    while len(found) < count and (start := next_occurrence(event, zone, after=moment)):
        found.append(start)
        moment = start
    return found
