"""Community configuration: grids, people, chats and service levels, validated on load.

A community is described by one YAML file (see ``examples/community.yaml``). Loading
checks the shape with pydantic and then the meaning (unique ids, closed polygons, one
grid per building, ...). Every problem is raised as :class:`CommunityConfigError`,
whose message names the file and the field, e.g.::

    examples/community.yaml: grids[1].polygon: ring is not closed (first point != last point)
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import shapely
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from shapely.validation import explain_validity

from handlers.messages import Platform
from storage.models import PersonRole

__all__ = [
    "ChatAudience",
    "ChatConfig",
    "CommunityConfig",
    "CommunityConfigError",
    "CommunityInfo",
    "GridConfig",
    "PersonConfig",
    "Role",
    "ServiceLevels",
    "StaffConfig",
    "StageLevels",
    "load_communities",
    "load_community",
    "read_yaml_mapping",
]


# One role vocabulary for the config and the database: what a person may do.
Role = PersonRole


class ChatAudience(StrEnum):
    """Who is in a configured group chat."""

    RESIDENTS = "residents"
    STAFF = "staff"


class CommunityConfigError(Exception):
    """A community file is missing, unreadable or invalid; names the file and the field."""

    def __init__(
        self,
        path: str | Path | None,
        field: str,
        problem: str,
        *,
        more: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.path = None if path is None else Path(path)
        self.field = field
        self.problem = problem
        self.problems: tuple[tuple[str, str], ...] = ((field, problem), *more)
        super().__init__(str(self))

    def with_path(self, path: str | Path) -> CommunityConfigError:
        """Return the same error attributed to ``path``."""
        return CommunityConfigError(path, self.field, self.problem, more=self.problems[1:])

    def __str__(self) -> str:
        return "\n".join(self._line(field, problem) for field, problem in self.problems)

    def _line(self, field: str, problem: str) -> str:
        parts = [str(self.path)] if self.path is not None else []
        if field:
            parts.append(field)
        parts.append(problem)
        return ": ".join(parts)


# --------------------------------------------------------------------------- field types

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^\S+$")
]
_CHAT_ID = re.compile(r"^(?P<platform>[a-z]+):\S+$")
_PLATFORMS = frozenset(p.value for p in Platform)
_HH_MM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def _staff_role(value: object) -> object:
    """Accept only the two staff roles, with a readable message otherwise."""
    if value not in (Role.SECRETARY.value, Role.STAFF.value):
        raise ValueError(f"must be 'secretary' or 'staff', not {value!r}")
    return value


def _building_names(value: object) -> object:
    """Turn YAML numbers in a building list (``[1, 2, 3]``) into strings."""
    if not isinstance(value, list):
        return value
    return [
        str(item) if isinstance(item, int) and not isinstance(item, bool) else item
        for item in value
    ]


StaffRole = Annotated[Literal[Role.SECRETARY, Role.STAFF], BeforeValidator(_staff_role)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- models


class CommunityInfo(_Model):
    """Name, time zone and language of one community."""

    id: Identifier
    name: NonEmpty
    name_en: NonEmpty | None = None
    district: NonEmpty | None = None
    timezone: NonEmpty
    language: Literal["zh", "en"] = "zh"
    digest_time: str = "08:00"  # local time of the daily digest to the staff group

    @field_validator("digest_time", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        if isinstance(value, int):  # YAML 1.1 reads an unquoted 20:00 as 1200 (base 60)
            raise ValueError(f"write the time in quotes, like '20:00' (YAML read {value!r})")
        if not isinstance(value, str) or _HH_MM.fullmatch(value) is None:
            raise ValueError(f"must be a time of day as HH:MM (e.g. '08:00'), not {value!r}")
        return value

    @property
    def digest_hour_minute(self) -> tuple[int, int]:
        """The digest time as (hour, minute)."""
        hour, minute = self.digest_time.split(":")
        return int(hour), int(minute)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            hint = "use an IANA name like 'Asia/Shanghai'"
            raise ValueError(f"unknown time zone {value!r} ({hint})") from None
        return value


class ChatConfig(_Model):
    """A group chat the bot serves, with a namespaced id such as ``tg:-100123``.

    A residents' group may say which grids or buildings it is for; one with neither serves
    the whole community. Events for some grids or buildings go only to the groups tagged so.
    """

    id: Identifier
    title: NonEmpty
    kind: ChatAudience
    grids: list[Identifier] = Field(default_factory=list)
    buildings: Annotated[list[NonEmpty], BeforeValidator(_building_names)] = Field(
        default_factory=list
    )

    @field_validator("id")
    @classmethod
    def _namespaced(cls, value: str) -> str:
        match = _CHAT_ID.match(value)
        if match is None or match["platform"] not in _PLATFORMS:
            prefixes = ", ".join(f"'{p}:'" for p in sorted(_PLATFORMS))
            raise ValueError(f"chat id {value!r} must start with a platform prefix ({prefixes})")
        return value


class PersonConfig(_Model):
    """A named person with their ids on each platform."""

    name: NonEmpty
    telegram_id: int | None = None
    wecom_userid: NonEmpty | None = None

    def ids(self) -> Iterator[tuple[str, str]]:
        """Yield ``(platform, user_id)`` for every platform this person is known on."""
        if self.telegram_id is not None:
            yield Platform.TELEGRAM.value, str(self.telegram_id)
        if self.wecom_userid is not None:
            yield Platform.WECOM.value, self.wecom_userid


class StaffConfig(PersonConfig):
    """A member of the community office: the secretary or staff."""

    role: StaffRole


class GridConfig(_Model):
    """One grid (网格): its area, landmarks, buildings and workers."""

    id: Identifier
    name: NonEmpty
    name_en: NonEmpty | None = None
    landmarks: list[NonEmpty] = Field(default_factory=list)
    buildings: Annotated[list[NonEmpty], BeforeValidator(_building_names)] = Field(
        default_factory=list
    )
    polygon: list[tuple[float, float]]
    workers: list[PersonConfig] = Field(default_factory=list)

    @field_validator("polygon")
    @classmethod
    def _valid_ring(cls, ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
        _check_ring(ring)
        return ring

    @cached_property
    def _shape(self) -> Any:
        """The polygon as a prepared shapely geometry, built on first use."""
        shape = shapely.Polygon(self.polygon)
        shapely.prepare(shape)
        return shape

    def covers(self, lon: float, lat: float) -> bool:
        """True if the point lies inside this grid or on its edge."""
        return bool(shapely.intersects_xy(self._shape, lon, lat))


class StageLevels(_Model):
    """Minutes allowed for one stage, for normal and urgent tickets."""

    normal: PositiveInt
    urgent: PositiveInt

    @model_validator(mode="after")
    def _urgent_not_slower(self) -> StageLevels:
        if self.urgent > self.normal:
            raise ValueError(
                f"urgent ({self.urgent} min) must not be longer than normal ({self.normal} min)"
            )
        return self


class ServiceLevels(_Model):
    """Deadlines to acknowledge and to resolve a ticket."""

    acknowledge: StageLevels
    resolve: StageLevels


class CommunityConfig(_Model):
    """A whole community file; building one runs the cross-field checks.

    Cross-field problems raise :class:`CommunityConfigError` (``path`` is None unless
    ``source_path`` is set); shape problems raise pydantic's ``ValidationError``.
    """

    community: CommunityInfo
    chats: list[ChatConfig]
    staff: list[StaffConfig] = Field(default_factory=list)
    grids: list[GridConfig] = Field(min_length=1)
    service_levels: ServiceLevels
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> CommunityConfig:
        problems = _semantic_problems(self)
        if problems:
            (field, problem), *more = problems
            raise CommunityConfigError(self.source_path, field, problem, more=more)
        return self

    @property
    def timezone_info(self) -> ZoneInfo:
        """The community's time zone."""
        return ZoneInfo(self.community.timezone)

    def grid(self, grid_id: str) -> GridConfig | None:
        """The grid with this id, or None."""
        return next((g for g in self.grids if g.id == grid_id), None)

    def workers_of(self, grid_id: str) -> list[PersonConfig]:
        """Workers of a grid (empty for an unknown grid)."""
        grid = self.grid(grid_id)
        return list(grid.workers) if grid is not None else []

    def chat(self, chat_id: str) -> ChatConfig | None:
        """The configured chat with this namespaced id, or None."""
        return next((c for c in self.chats if c.id == chat_id), None)

    def staff_chats(self) -> list[ChatConfig]:
        """Chats whose audience is the community staff."""
        return [c for c in self.chats if c.kind is ChatAudience.STAFF]

    def role_of(self, platform: str, user_id: str) -> Role | None:
        """Role of a platform user ("tg" numeric id or "wecom" userid); None if unknown."""
        return self._roles.get((str(platform), str(user_id).strip()))

    def person_of(self, platform: str, user_id: str) -> PersonConfig | None:
        """The configured staff member or grid worker behind a platform account, if any."""
        return self._people.get((str(platform), str(user_id).strip()))

    def grid_at(self, lon: float, lat: float) -> GridConfig | None:
        """The first grid whose polygon covers the point (WGS84 lon, lat), or None."""
        return next((g for g in self.grids if g.covers(lon, lat)), None)

    @cached_property
    def _roles(self) -> dict[tuple[str, str], Role]:
        """(platform, user id) → role; staff roles win over grid worker."""
        roles: dict[tuple[str, str], Role] = {}
        for grid in self.grids:
            for worker in grid.workers:
                roles.update(dict.fromkeys(worker.ids(), Role.GRID_WORKER))
        for person in self.staff:
            roles.update(dict.fromkeys(person.ids(), Role(person.role)))
        return roles

    @cached_property
    def _people(self) -> dict[tuple[str, str], PersonConfig]:
        """(platform, user id) → configured person; staff entries win over grid workers."""
        people: dict[tuple[str, str], PersonConfig] = {}
        for grid in self.grids:
            for worker in grid.workers:
                people.update(dict.fromkeys(worker.ids(), worker))
        for person in self.staff:
            people.update(dict.fromkeys(person.ids(), person))
        return people


# --------------------------------------------------------------------------- checks


def _check_ring(ring: list[tuple[float, float]]) -> None:
    """Raise ValueError unless ``ring`` is a closed, valid (lon, lat) polygon ring."""
    for index, (lon, lat) in enumerate(ring):
        if not -180.0 <= lon <= 180.0:
            raise ValueError(f"point {index}: longitude {lon} is outside -180..180")
        if not -90.0 <= lat <= 90.0:
            raise ValueError(f"point {index}: latitude {lat} is outside -90..90")
    if len(ring) < 4:
        raise ValueError(f"ring needs at least 4 points (a closed triangle), got {len(ring)}")
    if ring[0] != ring[-1]:
        raise ValueError("ring is not closed (first point != last point)")
    shape = shapely.Polygon(ring)
    if not shape.is_valid:
        raise ValueError(f"polygon is not valid: {explain_validity(shape)}")


def _semantic_problems(config: CommunityConfig) -> list[tuple[str, str]]:
    """Cross-field problems: duplicate ids, shared buildings, ids used by two people."""
    return [
        *_duplicates("grids", [g.id for g in config.grids], "grid id"),
        *_duplicates("chats", [c.id for c in config.chats], "chat id"),
        *_shared_buildings(config.grids),
        *_shared_person_ids(config),
        *_chat_audiences(config),
    ]


def _duplicates(section: str, ids: list[str], what: str) -> Iterator[tuple[str, str]]:
    """Report every id that already appeared earlier in the same list."""
    first: dict[str, int] = {}
    for index, item in enumerate(ids):
        if item in first:
            yield (
                f"{section}[{index}].id",
                f"duplicate {what} {item!r} (also {section}[{first[item]}])",
            )
        else:
            first[item] = index


def _shared_buildings(grids: list[GridConfig]) -> Iterator[tuple[str, str]]:
    """Report buildings listed under two different grids."""
    owner: dict[str, str] = {}
    for g_index, grid in enumerate(grids):
        for b_index, building in enumerate(grid.buildings):
            other = owner.setdefault(building, grid.id)
            if other != grid.id:
                yield (
                    f"grids[{g_index}].buildings[{b_index}]",
                    f"building {building!r} is already in grid {other}",
                )


def _chat_audiences(config: CommunityConfig) -> Iterator[tuple[str, str]]:
    """Report chat tags naming an unknown grid or a building no grid has, or a staff group."""
    grid_ids = {grid.id for grid in config.grids}
    buildings = {building for grid in config.grids for building in grid.buildings}
    for c_index, chat in enumerate(config.chats):
        where = f"chats[{c_index}]"
        if chat.kind is not ChatAudience.RESIDENTS and (chat.grids or chat.buildings):
            tagged = "grids" if chat.grids else "buildings"
            yield f"{where}.{tagged}", "only residents' groups are tagged with grids or buildings"
        for index, grid_id in enumerate(chat.grids):
            if grid_id not in grid_ids:
                known = ", ".join(sorted(grid_ids))
                yield f"{where}.grids[{index}]", f"unknown grid {grid_id!r} (grids: {known})"
        for index, building in enumerate(chat.buildings):
            if building not in buildings:
                yield f"{where}.buildings[{index}]", f"building {building!r} is not in any grid"


def _people(config: CommunityConfig) -> Iterator[tuple[str, PersonConfig]]:
    """Every configured person with their field path."""
    for index, person in enumerate(config.staff):
        yield f"staff[{index}]", person
    for g_index, grid in enumerate(config.grids):
        for w_index, worker in enumerate(grid.workers):
            yield f"grids[{g_index}].workers[{w_index}]", worker


def _shared_person_ids(config: CommunityConfig) -> Iterator[tuple[str, str]]:
    """Report a Telegram id or WeCom userid used by two differently named people."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    fields = {Platform.TELEGRAM.value: "telegram_id", Platform.WECOM.value: "wecom_userid"}
    for where, person in _people(config):
        for key in person.ids():
            other_where, other_name = seen.setdefault(key, (where, person.name))
            if other_name != person.name:
                yield (
                    f"{where}.{fields[key[0]]}",
                    f"{key[1]} is already used by {other_name} ({other_where})",
                )


# --------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects a key repeated in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """Build a mapping, refusing duplicate keys (YAML would silently keep the last)."""
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _read_yaml(path: Path) -> dict[str, Any]:
    """Read and parse one YAML file into a mapping, or raise CommunityConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommunityConfigError(path, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise CommunityConfigError(path, "", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CommunityConfigError(path, "", f"cannot read file: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CommunityConfigError(path, *_yaml_problem(exc)) from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        raise CommunityConfigError(path, "", f"top level must be a mapping, got {got}")
    return data


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file's top-level mapping (a repeated key is refused); errors name the file."""
    return _read_yaml(Path(path))


def _yaml_problem(exc: yaml.YAMLError) -> tuple[str, str]:
    """Split a YAML error into ``("line N, column M", problem)``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return where, f"YAML syntax error: {problem}"


def _field_path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as ``grids[1].polygon``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _error_problem(error: ErrorDetails) -> str:
    """A short human message for one pydantic error."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing" if isinstance(error["loc"][-1], str) else "missing item"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and isinstance(value, str | int | float | bool):
        message += f" (got {value!r})"
    return message


def _validation_error(path: Path, exc: ValidationError) -> CommunityConfigError:
    """Convert every pydantic error into one CommunityConfigError."""
    (field, problem), *more = [(_field_path(e["loc"]), _error_problem(e)) for e in exc.errors()]
    return CommunityConfigError(path, field, problem, more=more)


def load_community(path: str | Path) -> CommunityConfig:
    """Load and validate one community YAML file."""
    path = Path(path)
    data = _read_yaml(path)
    if "source_path" in data:
        raise CommunityConfigError(path, "source_path", "unknown key (set by the loader)")
    try:
        return CommunityConfig.model_validate({**data, "source_path": path})
    except ValidationError as exc:
        raise _validation_error(path, exc) from None
    except CommunityConfigError as exc:
        raise exc.with_path(path) from None


def _split_paths(paths: str | Sequence[str | Path]) -> list[Path]:
    """Turn ``"a.yaml, b.yaml"`` or a list into paths, dropping blanks."""
    items = paths.split(",") if isinstance(paths, str) else list(paths)
    return [Path(str(item).strip()) for item in items if str(item).strip()]


def load_communities(paths: str | Sequence[str | Path]) -> list[CommunityConfig]:
    """Load several community files (a list, or one comma-separated string)."""
    path_list = _split_paths(paths)
    if not path_list:
        raise CommunityConfigError(None, "", "no community configuration file given")
    configs: list[CommunityConfig] = []
    for path in path_list:
        config = load_community(path)
        _check_against_loaded(path, config, configs)
        configs.append(config)
    return configs


def _check_against_loaded(
    path: Path, config: CommunityConfig, loaded: list[CommunityConfig]
) -> None:
    """Refuse a community id or chat id that an earlier file already uses."""
    for other in loaded:
        if other.community.id == config.community.id:
            raise CommunityConfigError(
                path,
                "community.id",
                f"duplicate community id {config.community.id!r} (also in {other.source_path})",
            )
        other_chats = {chat.id for chat in other.chats}
        for index, chat in enumerate(config.chats):
            if chat.id in other_chats:
                raise CommunityConfigError(
                    path,
                    f"chats[{index}].id",
                    f"chat {chat.id!r} is already configured in {other.source_path}",
                )
