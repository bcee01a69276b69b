"""What staff ask for when they create an event, however they ask (one-line form, guided
conversation, YAML or iCalendar import): one `EventDraft`, published by `events.publish_event`.

The one-line form is `title | time | place | capacity` followed by optional `key value`
segments in any order: `结束 21:00`, `每周五`, `提醒 24h,1h`, `网格 G1`, `楼栋 3栋`, `群 …`,
`说明 …` (English keys too: end, every Friday, remind, grid, building, group, note).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time

from handlers.community import ChatAudience, ChatConfig, CommunityConfig, GridConfig
from handlers.parsing.text import chinese_number, fold_width

DEFAULT_REMINDER_OFFSETS_MINUTES = (1440, 60)
TITLE_LIMIT, PLACE_LIMIT, DESCRIPTION_LIMIT = 120, 200, 2000
LONGEST_REMINDER_MINUTES = 30 * 1440
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y.%m.%d %H:%M")
CAPACITY = re.compile(r"^(?:名额|人数|限|capacity|cap|max|places)?\s*[:：]?\s*(\d+)\s*(?:人|名)?$")
SEPARATOR = re.compile(r"[|｜]")
LIST_SEPARATOR = re.compile(r"\s*[,，、;；]\s*")

# Keys of the optional segments, per field. English keys and free-text fields need a space or
# colon after the key, so a place like 群众文化广场 is not read as the group "众文化广场" (nor
# "Endeavour Hall" as an end time); 结束21:00 and 提醒24h need none.
SEGMENT_KEYS: dict[str, tuple[str, ...]] = {
    "end": ("结束时间", "结束", "ends", "end"),
    "repeat": ("重复", "repeats", "repeat"),
    "rrule": ("rrule",),
    "remind": ("提醒", "reminders", "reminder", "remind"),
    "grid": ("网格", "grids", "grid"),
    "building": ("楼栋", "buildings", "building"),
    "group": ("群", "groups", "group"),
    "note": ("说明", "备注", "描述", "description", "notes", "note"),
    "place": ("地点", "location"),
    "capacity": ("名额", "人数", "capacity", "places"),
}
FREE_TEXT_FIELDS = frozenset({"group", "note", "place"})
_KEY_FIELD = {key: name for name, keys in SEGMENT_KEYS.items() for key in keys}
KEYED_SEGMENT = re.compile(
    r"^(?P<key>" + "|".join(sorted(map(re.escape, _KEY_FIELD), key=len, reverse=True)) + r")"
    r"(?P<separator>\s*[:：=]\s*|\s+|)(?P<value>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)

WEEKDAYS = {
    **dict(zip("一二三四五六日天", ("MO", "TU", "WE", "TH", "FR", "SA", "SU", "SU"), strict=True)),
    **dict(zip("1234567", ("MO", "TU", "WE", "TH", "FR", "SA", "SU"), strict=True)),
    **{
        name: code
        for code, names in {
            "MO": ("monday", "mon"),
            "TU": ("tuesday", "tues", "tue"),
            "WE": ("wednesday", "wed"),
            "TH": ("thursday", "thurs", "thur", "thu"),
            "FR": ("friday", "fri"),
            "SA": ("saturday", "sat"),
            "SU": ("sunday", "sun"),
        }.items()
        for name in names
    },
}
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
NO_REPEAT = ""
REPEAT_WORDS = {
    **dict.fromkeys(("不重复", "一次", "单次", "once", "none", "no", "never"), NO_REPEAT),
    **dict.fromkeys(("每天", "每日", "daily", "every day"), "FREQ=DAILY"),
    **dict.fromkeys(("每周", "每星期", "每礼拜", "weekly", "every week"), "FREQ=WEEKLY"),
    **dict.fromkeys(("每月", "每个月", "monthly", "every month"), "FREQ=MONTHLY"),
}
CHINESE_WEEKLY = re.compile(r"^每(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])$")
ENGLISH_WEEKLY = re.compile(r"^(?:(?:every|each)\s+(?P<day>[a-z]+?)s?|(?P<plural>[a-z]+day)s)$")
RRULE_VALUE = re.compile(r"^[A-Z]+=[A-Z0-9,+\-]+(?:;[A-Z]+=[A-Z0-9,+\-]+)*$")
RRULE_FREQUENCIES = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY"})

DURATION_UNITS = {
    **dict.fromkeys(("d", "day", "days", "天", "日"), 1440),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "小时", "个小时", "钟头"), 60),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "分钟", "分"), 1),
}
DURATION = re.compile(
    r"(\d+)\s*(" + "|".join(sorted(map(re.escape, DURATION_UNITS), key=len, reverse=True)) + r")",
    re.IGNORECASE,
)
REMINDER_GLUE = re.compile(r"(?:[\s,，、;；]|和|and)*")
NO_REMINDERS = frozenset({"无", "不提醒", "不用", "none", "no", "off"})

BUILDING_WORDS = re.compile(
    r"^(?:第|building|bldg\.?|block|no\.?)?\s*(.+?)\s*(?:号楼|号栋|栋|幢|#)?$", re.IGNORECASE
)


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


# --------------------------------------------------------------------------- the one-line form


def parse_event_line(argument: str) -> EventDraft:
    """Read "title | time | place | capacity | key value …"; all but title and time optional."""
    parts = [part.strip() for part in SEPARATOR.split(argument)]
    if len(parts) < 2 or not parts[0]:
        raise EventFormError("event.usage")
    draft = EventDraft(check_title(parts[0]), parse_local_time(parts[1]))
    seen: set[str] = set()
    for index, segment in enumerate(parts[2:], start=2):
        if not segment:
            continue
        name, value = _segment_field(segment, index)
        slot = "repeat" if name == "rrule" else name  # both fill the draft's rrule
        if slot in seen:
            raise EventFormError("form.repeated_segment", segment=segment)
        seen.add(slot)
        draft = _apply_segment(draft, name, value, segment)
    return draft


def _segment_field(segment: str, index: int) -> tuple[str, str]:
    """(field, value) of one segment after the time; the first unkeyed one is the place."""
    keyed = KEYED_SEGMENT.match(segment)
    if keyed and not (keyed["separator"] == "" and _needs_separator(keyed["key"])):
        return _KEY_FIELD[keyed["key"].lower()], keyed["value"].strip()
    if read_repeat(segment) is not None:
        return "repeat", segment
    if CAPACITY.match(segment.lower()):
        return "capacity", segment
    if index == 2:
        return "place", segment
    raise EventFormError("form.unknown_segment", segment=segment)


def _needs_separator(key: str) -> bool:
    """English keys, and Chinese keys of free-text fields, need a space or colon after them."""
    return _KEY_FIELD[key.lower()] in FREE_TEXT_FIELDS or key.isascii()


def _apply_segment(draft: EventDraft, name: str, value: str, segment: str) -> EventDraft:
    """The draft with one optional field filled from its segment."""
    if name == "place":
        return replace(draft, place=check_place(value))
    if name == "capacity":
        return replace(draft, capacity=parse_capacity(value))
    if name == "end":
        return replace(draft, ends_local=parse_end_time(value, draft.starts_local))
    if name == "rrule":
        return replace(draft, rrule=parse_rrule(value))
    if name == "repeat":
        rule = parse_repeat(value)
        check_repeat_weekday(rule, value, draft.starts_local)
        return replace(draft, rrule=rule or None)
    if name == "remind":
        return replace(draft, reminder_offsets_minutes=parse_reminders(value))
    if name == "note":
        return replace(draft, description=check_description(value))
    values = split_list(value)
    if not values:
        raise EventFormError("form.unknown_segment", segment=segment)
    if name == "grid":
        return replace(draft, audience_grids=values)
    if name == "building":
        return replace(draft, audience_buildings=values)
    return replace(draft, audience_chats=values)


def check_repeat_weekday(rule: str, phrase: str, starts_local: datetime) -> None:
    """'每周五' with a Tuesday start is a mistake worth pointing out, not a silent shift."""
    match = re.fullmatch(r"FREQ=WEEKLY;BYDAY=([A-Z]{2})", rule)
    if match and match[1] != WEEKDAY_CODES[starts_local.weekday()]:
        raise EventFormError(
            "form.repeat_weekday", date=starts_local.strftime("%Y-%m-%d"), repeat=phrase
        )


# --------------------------------------------------------------------------- single fields


def check_title(raw: str) -> str:
    """The title, stripped; EventFormError when empty or too long."""
    title = raw.strip()
    if not title or len(title) > TITLE_LIMIT:
        raise EventFormError("form.bad_title", limit=TITLE_LIMIT)
    return title


def check_place(raw: str) -> str:
    """The place, stripped; EventFormError when too long."""
    if len(raw.strip()) > PLACE_LIMIT:
        raise EventFormError("form.bad_place", limit=PLACE_LIMIT)
    return raw.strip()


def check_description(raw: str) -> str:
    """The note, stripped; EventFormError when too long."""
    if len(raw.strip()) > DESCRIPTION_LIMIT:
        raise EventFormError("form.bad_description", limit=DESCRIPTION_LIMIT)
    return raw.strip()


def parse_local_time(raw: str) -> datetime:
    """'2023-07-25 19:30' (also with / or . and a full-width colon) as a naive wall time."""
    cleaned = re.sub(r"\s+", " ", raw.replace("：", ":")).strip()
    for layout in TIME_FORMATS:
        try:
            return datetime.strptime(cleaned, layout)
        except ValueError:
            continue
    raise EventFormError("event.bad_time", value=raw)


def parse_end_time(raw: str, starts_local: datetime) -> datetime:
    """'21:00' on the start's day, or a full date and time; must be after the start."""
    cleaned = raw.replace("：", ":").strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", cleaned):
            hour, minute = (int(part) for part in cleaned.split(":"))
            ends = datetime.combine(starts_local.date(), time(hour, minute))
        else:
            ends = parse_local_time(cleaned)
    except ValueError:  # EventFormError is one too
        raise EventFormError("form.bad_end", value=raw) from None
    if ends <= starts_local:
        raise EventFormError("form.end_before_start", value=raw)
    return ends


def parse_capacity(raw: str) -> int:
    """'名额 50', '50人', 'capacity 5' → the number."""
    match = CAPACITY.match(raw.strip().lower())
    if match is None or int(match[1]) < 1:
        raise EventFormError("event.bad_capacity", value=raw)
    return int(match[1])


def read_repeat(raw: str) -> str | None:
    """'每周五' → 'FREQ=WEEKLY;BYDAY=FR', '不重复' → '' (NO_REPEAT); not a repeat → None."""
    cleaned = re.sub(r"\s+", " ", fold_width(raw).strip().lower())
    if cleaned in REPEAT_WORDS:
        return REPEAT_WORDS[cleaned]
    chinese = CHINESE_WEEKLY.match(cleaned)
    if chinese:
        return f"FREQ=WEEKLY;BYDAY={WEEKDAYS[chinese[1]]}"
    english = ENGLISH_WEEKLY.match(cleaned)
    day = english and (english["day"] or english["plural"])
    if day and day in WEEKDAYS:
        return f"FREQ=WEEKLY;BYDAY={WEEKDAYS[day]}"
    return None


def parse_repeat(raw: str) -> str:
    """A repeat phrase as an RRULE value ('' for none); EventFormError when unreadable."""
    rule = read_repeat(raw)
    if rule is None:
        raise EventFormError("form.bad_repeat", value=raw)
    return rule


def parse_rrule(raw: str) -> str:
    """'RRULE:FREQ=WEEKLY;BYDAY=FR' or the bare value, checked for shape and a known FREQ."""
    value = re.sub(r"\s+", "", raw).upper().removeprefix("RRULE:")
    parts = dict(part.split("=", 1) for part in value.split(";") if "=" in part)
    frequency = parts.get("FREQ", "")
    if RRULE_VALUE.match(value) is None or frequency not in RRULE_FREQUENCIES | {"YEARLY"}:
        raise EventFormError("form.bad_rrule", value=raw)
    return value


def parse_reminders(raw: str) -> tuple[int, ...]:
    """'24h, 1h', '1天 30分钟', 'none' → minutes before the start, largest first."""
    cleaned = fold_width(raw).strip().lower()
    if cleaned in NO_REMINDERS:
        return ()
    found = DURATION.findall(cleaned)
    if not found or not REMINDER_GLUE.fullmatch(DURATION.sub("", cleaned)):
        raise EventFormError("form.bad_reminders", value=raw)
    minutes = {int(amount) * DURATION_UNITS[unit.lower()] for amount, unit in found}
    if any(value < 1 or value > LONGEST_REMINDER_MINUTES for value in minutes):
        raise EventFormError("form.bad_reminders", value=raw)
    return tuple(sorted(minutes, reverse=True))


def split_list(raw: str) -> tuple[str, ...]:
    """'G1,G2', 'G1、G2' → ('G1', 'G2'); blanks dropped, order and first copies kept."""
    return tuple(dict.fromkeys(item for item in LIST_SEPARATOR.split(raw.strip()) if item))


# --------------------------------------------------------------------------- audience


def choose_audience(
    community: CommunityConfig, draft: EventDraft, serves: Callable[[str], bool]
) -> list[str]:
    """Ids of the residents' groups a draft goes to, in config order.

    No audience in the draft: every residents' group this bot can post to. Otherwise the
    groups named, plus the groups tagged with a wanted grid or building (a building matches a
    group tagged with it or with its grid). Anything that names no reachable group raises.
    """
    residents = [
        chat for chat in community.chats if chat.kind is ChatAudience.RESIDENTS and serves(chat.id)
    ]
    if not (draft.audience_chats or draft.audience_grids or draft.audience_buildings):
        return [chat.id for chat in residents]
    chosen: set[str] = set()
    for name in draft.audience_chats:
        chosen.add(_named_group(community, name, serves).id)
    for raw in draft.audience_grids:
        grid = find_grid(community, raw)
        if grid is None:
            raise EventFormError("audience.unknown_grid", grid=raw)
        serving = [c.id for c in residents if serves_grid(c, grid)]
        if not serving:
            raise EventFormError("audience.no_group_for_grid", grid=raw)
        chosen.update(serving)
    for raw in draft.audience_buildings:
        found = find_building(community, raw)
        if found is None:
            raise EventFormError("audience.unknown_building", building=raw)
        serving = [c.id for c in residents if serves_building(c, *found)]
        if not serving:
            raise EventFormError("audience.no_group_for_building", building=raw)
        chosen.update(serving)
    return [chat.id for chat in community.chats if chat.id in chosen]


def _named_group(
    community: CommunityConfig, name: str, serves: Callable[[str], bool]
) -> ChatConfig:
    """The residents' group with this id or title; it must be one this bot can post to."""
    wanted = name.strip().casefold()
    chat = next(
        (
            chat
            for chat in community.chats
            if chat.kind is ChatAudience.RESIDENTS
            and wanted in {chat.id.casefold(), chat.title.casefold()}
        ),
        None,
    )
    if chat is None:
        raise EventFormError("audience.unknown_group", group=name)
    if not serves(chat.id):
        raise EventFormError("audience.group_unreachable", group=chat.title)
    return chat


def serves_grid(chat: ChatConfig, grid: GridConfig) -> bool:
    """A group tagged with the grid or with one of its buildings."""
    return grid.id in chat.grids or bool(set(chat.buildings) & set(grid.buildings))


def serves_building(chat: ChatConfig, grid: GridConfig, building: str) -> bool:
    """A group tagged with the building or with the grid that contains it."""
    return grid.id in chat.grids or building in chat.buildings


def find_grid(community: CommunityConfig, raw: str) -> GridConfig | None:
    """A grid by id (any case) or by its Chinese or English name."""

    def folded(name: str) -> str:
        return fold_width(name).strip().casefold()

    wanted = folded(raw)
    return next(
        (
            grid
            for grid in community.grids
            if wanted in {folded(grid.id), folded(grid.name), folded(grid.name_en or "")}
        ),
        None,
    )


def find_building(community: CommunityConfig, raw: str) -> tuple[GridConfig, str] | None:
    """(grid, configured name) of a building written as '3', '3栋', '三号楼', 'Building 3'."""
    wanted = building_key(raw)
    for grid in community.grids:
        for building in grid.buildings:
            if building == raw.strip() or building_key(building) == wanted:
                return grid, building
    return None


def building_key(raw: str) -> str:
    """'3栋', '三号楼', 'Building 3', '第3幢' → '3'; named blocks ('A座') stay as written."""
    match = BUILDING_WORDS.match(fold_width(raw).strip())
    core = match[1] if match else raw.strip()
    number = chinese_number(core)
    if number is not None:
        return str(number)
    return str(int(core)) if core.isdigit() else core.casefold()
