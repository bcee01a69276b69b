"""`python -m bot events import FILE`: events from a YAML or iCalendar (.ics) file.

Every event in the file is read and checked first; then all are published in one transaction
through `handlers.events.publish_event` (invitations wait in the outbox for the running bot).
Any bad event stops the whole import with "FILE: events[3].start: …" and stores nothing.
Re-importing the same file creates nothing new: each event is claimed once under a key (its
iCalendar UID, else community + title + start). Events already over are skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.community import CommunityConfig, CommunityConfigError, read_yaml_mapping
from handlers.event_form import (
    DEFAULT_REMINDER_OFFSETS_MINUTES,
    LONGEST_REMINDER_MINUTES,
    EventDraft,
    EventFormError,
    check_description,
    check_place,
    check_title,
    parse_capacity,
    parse_end_time,
    parse_local_time,
    parse_reminders,
    parse_repeat,
    parse_rrule,
    split_list,
)
from handlers.events import publish_event
from handlers.runtime import Runtime
from handlers.texts import text
from storage.conversations import first_notice
from storage.events import audience_of

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
ICS_SUFFIXES = frozenset({".ics", ".ical", ".ifb", ".icalendar"})
YAML_FIELDS = (
    "title",
    "description",
    "start",
    "end",
    "place",
    "capacity",
    "repeat",
    "rrule",
    "grids",
    "buildings",
    "groups",
    "reminders",
)
# Which field of the file a problem found while publishing belongs to (YAML name, iCal name).
PROBLEM_FIELDS = {
    "event.no_such_time": ("start", "DTSTART"),
    "event.bad_rrule": ("rrule", "RRULE"),
    "audience.unknown_grid": ("grids", ""),
    "audience.no_group_for_grid": ("grids", ""),
    "audience.unknown_building": ("buildings", ""),
    "audience.no_group_for_building": ("buildings", ""),
    "audience.unknown_group": ("groups", ""),
    "audience.group_unreachable": ("groups", ""),
}
UNSUPPORTED_ICS = ("EXDATE", "RDATE")


class EventImportError(Exception):
    """A file that cannot be imported; names the file and the field."""

    def __init__(self, path: Path, field: str, problem: str) -> None:
        self.path, self.field, self.problem = path, field, problem
        super().__init__(": ".join(part for part in (str(path), field, problem) if part))


@dataclass(frozen=True, slots=True)
class ImportItem:
    """One event of the file: where it is, its once-only key, the draft, the file's format."""

    where: str
    key: str
    draft: EventDraft
    ics: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one item: created, exists, over, or skipped (with why)."""

    item: ImportItem
    status: str
    chats: int = 0
    note: str = ""


# --------------------------------------------------------------------------- reading


def read_events(path: Path, community: CommunityConfig) -> tuple[list[ImportItem], list[str]]:
    """The file's events as drafts, plus notes on events left out; EventImportError if bad."""
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return read_yaml_events(path, community), []
    if suffix in ICS_SUFFIXES:
        return read_ics_events(path, community)
    raise EventImportError(path, "", "unknown file type: use .yaml/.yml or .ics")


def read_yaml_events(path: Path, community: CommunityConfig) -> list[ImportItem]:
    """`events:` — a list of mappings with the draft's fields."""
    try:
        data = read_yaml_mapping(path)
    except CommunityConfigError as error:
        raise EventImportError(path, error.field, error.problem) from None
    unknown = sorted(set(data) - {"events"})
    if unknown:
        raise EventImportError(path, str(unknown[0]), "unknown key (the file lists `events:`)")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise EventImportError(path, "events", "must be a non-empty list of events")
    return [_yaml_item(path, community, index, entry) for index, entry in enumerate(events)]


def _yaml_item(path: Path, community: CommunityConfig, index: int, entry: object) -> ImportItem:
    where = f"events[{index}]"
    if not isinstance(entry, dict):
        raise EventImportError(path, where, "must be a mapping of event fields")
    for key in entry:
        if key not in YAML_FIELDS:
            raise EventImportError(path, f"{where}.{key}", "unknown key")
    for required in ("title", "start"):
        if entry.get(required) in (None, ""):
            raise EventImportError(path, f"{where}.{required}", "required key is missing")
    if "repeat" in entry and "rrule" in entry:
        raise EventImportError(path, f"{where}.rrule", "give either repeat or rrule, not both")

    def field(name: str, read: Callable[[Any], Any]) -> Any:
        try:
            return read(entry[name])
        except (EventFormError, TypeError) as problem:
            raise EventImportError(path, f"{where}.{name}", _problem_text(problem)) from None

    zone = community.timezone_info
    starts = field("start", lambda value: _wall_time(value, zone))
    draft = EventDraft(field("title", lambda value: check_title(_text(value))), starts)
    readers: dict[str, Callable[[Any], dict[str, Any]]] = {
        "description": lambda v: {"description": check_description(_text(v))},
        "end": lambda v: {"ends_local": _end_time(v, starts, zone)},
        "place": lambda v: {"place": check_place(_text(v)) or None},
        "capacity": lambda v: {"capacity": parse_capacity(str(v))},
        "repeat": lambda v: {"rrule": parse_repeat(_text(v)) or None},
        "rrule": lambda v: {"rrule": parse_rrule(_text(v))},
        "grids": lambda v: {"audience_grids": _names(v)},
        "buildings": lambda v: {"audience_buildings": _names(v)},
        "groups": lambda v: {"audience_chats": _names(v)},
        "reminders": lambda v: {"reminder_offsets_minutes": _reminders(v)},
    }
    for name, read in readers.items():
        if entry.get(name) is not None:
            draft = replace(draft, **field(name, read))
    identity = f"{community.community.id}\n{draft.title}\n{draft.starts_local.isoformat()}"
    return ImportItem(where, _key(identity), draft)


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError("must be text")
    return str(value)


def _wall_time(value: object, zone: ZoneInfo) -> datetime:
    """'2027-03-15 19:30' or a YAML timestamp, as the community's wall time."""
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        raise TypeError("needs a time of day too, like '2027-03-15 19:30'")
    return parse_local_time(_text(value))


def _end_time(value: object, starts: datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        value = _wall_time(value, zone).strftime("%Y-%m-%d %H:%M")
    return parse_end_time(_text(value), starts)


def _names(value: object) -> tuple[str, ...]:
    """A YAML list (numbers allowed, for buildings) or one comma-separated string."""
    if isinstance(value, list):
        return tuple(dict.fromkeys(_text(item).strip() for item in value if str(item).strip()))
    return split_list(_text(value))


def _reminders(value: object) -> tuple[int, ...]:
    """['24h', '1h'], '24h, 1h', 'none' or [] → minutes before the start."""
    if isinstance(value, list):
        return parse_reminders(", ".join(_text(item) for item in value)) if value else ()
    return parse_reminders(_text(value))


def read_ics_events(path: Path, community: CommunityConfig) -> tuple[list[ImportItem], list[str]]:
    """VEVENTs: SUMMARY, DESCRIPTION, DTSTART/DTEND or DURATION, LOCATION, RRULE, VALARMs."""
    try:
        calendar = Calendar.from_ical(path.read_bytes())
    except OSError as error:
        raise EventImportError(path, "", f"cannot read file: {error.strerror or error}") from None
    except ValueError as error:
        raise EventImportError(path, "", f"not an iCalendar file: {error}") from None
    items: list[ImportItem] = []
    notes: list[str] = []
    for index, component in enumerate(calendar.walk("VEVENT")):
        where = f"events[{index}]"
        title = str(component.get("SUMMARY", "")).strip() or "?"
        if "RECURRENCE-ID" in component:
            notes.append(f"{where} {title}: left out (it changes one occurrence of a series)")
        elif str(component.get("STATUS", "")).upper() == "CANCELLED":
            notes.append(f"{where} {title}: left out (cancelled in the file)")
        else:
            items.append(_ics_item(path, community, where, component))
    if not items and not notes:
        raise EventImportError(path, "", "no VEVENT in the file")
    return items, notes


def _ics_item(
    path: Path, community: CommunityConfig, where: str, component: Component
) -> ImportItem:
    def fail(name: str, problem: str) -> EventImportError:
        return EventImportError(path, f"{where}.{name}", problem)

    def checked(name: str, read: Callable[[str], Any]) -> Any:
        try:
            return read(str(component.get(name, "")))
        except EventFormError as problem:
            raise fail(name, _problem_text(problem)) from None

    for name in UNSUPPORTED_ICS:
        if name in component:
            raise fail(name, "not supported: remove it, or split the series into events")
    if not str(component.get("SUMMARY", "")).strip():
        raise fail("SUMMARY", "required property is missing")
    zone = community.timezone_info
    starts = _ics_time(component, "DTSTART", zone, fail)
    if starts is None:
        raise fail("DTSTART", "required property is missing")
    ends = _ics_end(component, starts, zone, fail)
    draft = EventDraft(
        checked("SUMMARY", check_title),
        starts,
        place=checked("LOCATION", check_place) or None,
        description=checked("DESCRIPTION", check_description),
        ends_local=ends,
        rrule=_ics_rrule(component, fail),
        reminder_offsets_minutes=_ics_reminders(component, starts, ends, zone, fail),
    )
    uid = str(component.get("UID", "")).strip()
    identity = f"uid\n{uid}" if uid else f"{draft.title}\n{draft.starts_local.isoformat()}"
    return ImportItem(where, _key(f"{community.community.id}\n{identity}"), draft, ics=True)


def _ics_time(
    component: Component, name: str, zone: ZoneInfo, fail: Callable[[str, str], Exception]
) -> datetime | None:
    """A DTSTART/DTEND as community wall time (TZID and UTC converted, floating kept)."""
    prop = component.get(name)
    if prop is None:
        return None
    moment = prop.dt
    if not isinstance(moment, datetime):
        raise fail(name, "all-day events are not supported: give a start time")
    return moment.astimezone(zone).replace(tzinfo=None) if moment.tzinfo else moment


def _ics_end(
    component: Component, starts: datetime, zone: ZoneInfo, fail: Callable[[str, str], Exception]
) -> datetime | None:
    ends = _ics_time(component, "DTEND", zone, fail)
    if ends is None and "DURATION" in component:
        ends = starts + component.get("DURATION").dt
    if ends is not None and ends <= starts:
        raise fail("DTEND", "must be after DTSTART")
    return ends


def _ics_rrule(component: Component, fail: Callable[[str, str], Exception]) -> str | None:
    rules = component.get("RRULE")
    if rules is None:
        return None
    if isinstance(rules, list):
        raise fail("RRULE", "only one RRULE per event is supported")
    try:
        return parse_rrule(rules.to_ical().decode())
    except EventFormError as problem:
        raise fail("RRULE", _problem_text(problem)) from None


def _ics_reminders(
    component: Component,
    starts: datetime,
    ends: datetime | None,
    zone: ZoneInfo,
    fail: Callable[[str, str], Exception],
) -> tuple[int, ...]:
    """Each VALARM TRIGGER as minutes before the start; no VALARM → the default reminders."""
    alarms = [c for c in component.subcomponents if c.name == "VALARM"]
    if not alarms:
        return DEFAULT_REMINDER_OFFSETS_MINUTES
    minutes: set[int] = set()
    for index, alarm in enumerate(alarms):
        trigger = alarm.get("TRIGGER")
        name = f"VALARM[{index}].TRIGGER"
        if trigger is None:
            raise fail(name, "required property is missing")
        before = _minutes_before(trigger.dt, trigger.params.get("RELATED"), starts, ends, zone)
        if before is None or not 1 <= before <= LONGEST_REMINDER_MINUTES:
            raise fail(name, "must be between 1 minute and 30 days before the start")
        minutes.add(before)
    return tuple(sorted(minutes, reverse=True))


def _minutes_before(
    trigger: object, related: object, starts: datetime, ends: datetime | None, zone: ZoneInfo
) -> int | None:
    if isinstance(trigger, datetime):
        moment = trigger.astimezone(zone).replace(tzinfo=None) if trigger.tzinfo else trigger
        return int((starts - moment).total_seconds() // 60)
    if not isinstance(trigger, timedelta):
        return None
    if str(related).upper() == "END":
        if ends is None:
            return None
        trigger += ends - starts
    return int(-trigger.total_seconds() // 60)


def _key(identity: str) -> str:
    return "event-import:" + hashlib.sha256(identity.encode()).hexdigest()


def _problem_text(problem: Exception) -> str:
    if isinstance(problem, EventFormError):
        return text(problem.key, "en", **problem.values)
    return str(problem)


# --------------------------------------------------------------------------- storing


async def import_events(
    runtime: Runtime,
    community: CommunityConfig,
    path: Path,
    items: list[ImportItem],
    *,
    dry_run: bool,
) -> list[Outcome]:
    """Publish every new item in one transaction (rolled back for a dry run or any error)."""
    async with runtime.sessions() as session:
        outcomes = [await _import_one(runtime, session, community, path, item) for item in items]
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
    if not dry_run:
        runtime.outbox_changed()
    return outcomes


async def _import_one(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    path: Path,
    item: ImportItem,
) -> Outcome:
    savepoint = await session.begin_nested()
    if not await first_notice(session, key=item.key, now=runtime.clock.now()):
        await savepoint.rollback()
        return Outcome(item, "exists")
    try:
        event = await publish_event(runtime, session, community, item.draft, organiser_id=None)
    except EventFormError as problem:
        await savepoint.rollback()  # not claimed: a corrected file may bring it later
        if problem.key == "event.in_past":
            return Outcome(item, "over")
        names = PROBLEM_FIELDS.get(problem.key, ("", ""))
        name = names[1] if item.ics else names[0]
        field = f"{item.where}.{name}" if name else item.where
        raise EventImportError(path, field, _problem_text(problem)) from None
    await savepoint.commit()
    return Outcome(item, "created", chats=len(audience_of(event)))


def describe(outcome: Outcome, *, dry_run: bool) -> str:
    """One line per event for the command's output."""
    draft = outcome.item.draft
    what = f"{draft.starts_local:%Y-%m-%d %H:%M} {draft.title}"
    if outcome.status == "created":
        verb = "would create" if dry_run else "created"
        return f"{verb}: {what} → {outcome.chats} group(s)"
    if outcome.status == "exists":
        return f"already imported: {what}"
    return f"skipped, already over: {what}"


def summary(outcomes: list[Outcome], *, dry_run: bool) -> str:
    """The last line: how many were created (or would be) and how many were there already."""
    counts: Mapping[str, int] = {
        status: sum(1 for o in outcomes if o.status == status)
        for status in ("created", "exists", "over")
    }
    created = f"{counts['created']} would be created" if dry_run else f"{counts['created']} created"
    tail = " (dry run: nothing was stored)" if dry_run else ""
    return f"{created}, {counts['exists']} already imported, {counts['over']} already over{tail}"
