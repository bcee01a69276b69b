"""What staff ask for when they create an event, however they ask (one-line form, guided
conversation, YAML or iCalendar import): one `EventDraft`, published by `events.publish_event`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_REMINDER_OFFSETS_MINUTES = (1440, 60)
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y.%m.%d %H:%M")
CAPACITY = re.compile(r"^(?:名额|人数|限|capacity|cap|max|places)?\s*[:：]?\s*(\d+)\s*(?:人|名)?$")


class EventFormError(ValueError):
    """An event request that cannot be read; carries the text key and its values."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before it is stored; times are naive wall times in the community's zone.

    Empty audience tuples mean "every residents' group"; `rrule` is an RFC 5545 RRULE value
    (without the "RRULE:" prefix) counted from `starts_local`.
    """

    title: str
    starts_local: datetime
    place: str | None = None
    capacity: int | None = None
    description: str = ""
    ends_local: datetime | None = None
    rrule: str | None = None
    audience_chats: tuple[str, ...] = ()
    audience_grids: tuple[str, ...] = ()
    audience_buildings: tuple[str, ...] = ()
    reminder_offsets_minutes: tuple[int, ...] = field(default=DEFAULT_REMINDER_OFFSETS_MINUTES)


def parse_event_line(argument: str) -> EventDraft:
    """Read "title | time | place | capacity"; place and capacity are optional."""
    parts = [part.strip() for part in re.split(r"[|｜]", argument)]
    if len(parts) < 2 or not parts[0] or len(parts) > 4:
        raise EventFormError("event.usage")
    place = parts[2] if len(parts) > 2 and parts[2] else None
    capacity = parse_capacity(parts[3]) if len(parts) > 3 and parts[3] else None
    return EventDraft(parts[0], parse_local_time(parts[1]), place, capacity)


def parse_local_time(raw: str) -> datetime:
    """'2023-07-25 19:30' (also with / or . and a full-width colon) as a naive wall time."""
    cleaned = re.sub(r"\s+", " ", raw.replace("：", ":")).strip()
    for layout in TIME_FORMATS:
        try:
            return datetime.strptime(cleaned, layout)
        except ValueError:
            continue
    raise EventFormError("event.bad_time", value=raw)


def parse_capacity(raw: str) -> int:
    """'名额 50', '50人', 'capacity 5' → the number."""
    match = CAPACITY.match(raw.strip().lower())
    if match is None or int(match[1]) < 1:
        raise EventFormError("event.bad_capacity", value=raw)
    return int(match[1])
