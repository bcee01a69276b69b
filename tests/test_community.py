"""Community configuration: the sample loads, helpers answer, bad files name file and field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.community import (
    ChatAudience,
    CommunityConfig,
    CommunityConfigError,
    Role,
    load_communities,
    load_community,
)

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "community.yaml"

Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def sample_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def sample() -> CommunityConfig:
    return load_community(SAMPLE)


def write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write_variant(tmp_path: Path, base: dict[str, Any], mutate: Mutation) -> Path:
    data = copy.deepcopy(base)
    mutate(data)
    return write_yaml(tmp_path / "community.yaml", data)


# --------------------------------------------------------------------------- the sample


def test_sample_loads(sample: CommunityConfig) -> None:
    assert sample.community.id == "yangfan"
    assert [g.id for g in sample.grids] == ["G1", "G2", "G3", "G4"]
    assert sample.source_path == SAMPLE
    assert str(sample.timezone_info) == "Asia/Shanghai"
    assert sample.service_levels.acknowledge.urgent == 15
    assert sample.community.digest_time == "08:00"  # the default
    assert sample.community.digest_hour_minute == (8, 0)


def test_a_residents_group_may_be_tagged_with_grids_or_buildings(sample: CommunityConfig) -> None:
    riders, estate = sample.chats[0], sample.chats[1]
    assert (riders.grids, riders.buildings) == ([], [])  # the whole community
    assert estate.grids == ["G2", "G3"]


def test_buildings_are_strings(sample: CommunityConfig) -> None:
    g2 = sample.grid("G2")
    assert g2 is not None
    assert g2.buildings == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert all(isinstance(b, str) for grid in sample.grids for b in grid.buildings)


@pytest.mark.parametrize(
    ("platform", "user_id", "role"),
    [
        ("tg", "5000001", Role.SECRETARY),
        ("wecom", "chenjing", Role.SECRETARY),
        ("tg", "5000002", Role.STAFF),
        ("wecom", "liuyang", Role.STAFF),
        ("tg", "6000003", Role.GRID_WORKER),
        ("wecom", "zhaolei", Role.GRID_WORKER),
        ("tg", "9999999", None),
        ("wecom", "5000001", None),
        ("tg", "chenjing", None),
        ("export", "5000001", None),
    ],
)
def test_role_of(sample: CommunityConfig, platform: str, user_id: str, role: Role | None) -> None:
    assert sample.role_of(platform, user_id) == role


@pytest.mark.parametrize(
    ("lon", "lat", "grid_id"),
    [
        (113.0350, 28.1967, "G1"),
        (113.0350, 28.1985, "G2"),
        (113.0370, 28.1985, "G3"),
        (113.0370, 28.1967, "G4"),
        (113.0400, 28.1985, None),
        (0.0, 0.0, None),
    ],
)
def test_grid_at(sample: CommunityConfig, lon: float, lat: float, grid_id: str | None) -> None:
    grid = sample.grid_at(lon, lat)
    assert (grid.id if grid else None) == grid_id


def test_lookups(sample: CommunityConfig) -> None:
    assert sample.grid("G9") is None
    assert [w.name for w in sample.workers_of("G3")] == ["王芳", "赵磊"]
    assert sample.workers_of("G9") == []
    chat = sample.chat("tg:-1001000000001")
    assert chat is not None and chat.kind is ChatAudience.RESIDENTS
    assert sample.chat("tg:-1") is None
    assert [c.id for c in sample.staff_chats()] == [
        "tg:-1001000000009",
        "wecom:wrOgQhDgAAyangfan09",
    ]


def test_source_path_not_dumped(sample: CommunityConfig) -> None:
    assert "source_path" not in sample.model_dump()


def test_models_are_frozen(sample: CommunityConfig) -> None:
    with pytest.raises(ValueError, match="frozen"):
        sample.community.name = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- bad configs


def _set(*path: str | int, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(*path: str | int) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _append(*path: str | int, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(value))

    return mutate


_SQUARE = [[113.0, 28.0], [113.1, 28.0], [113.1, 28.1], [113.0, 28.1]]
_BOWTIE = [[113.0, 28.0], [113.1, 28.1], [113.1, 28.0], [113.0, 28.1], [113.0, 28.0]]

BAD_CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "open ring",
        _set("grids", 1, "polygon", value=_SQUARE),
        "grids[1].polygon",
        "ring is not closed (first point != last point)",
    ),
    (
        "too few points",
        _set("grids", 0, "polygon", value=[[113.0, 28.0], [113.1, 28.0], [113.0, 28.0]]),
        "grids[0].polygon",
        "at least 4 points",
    ),
    ("self-intersecting", _set("grids", 2, "polygon", value=_BOWTIE), "grids[2].polygon", "Self"),
    (
        "longitude out of range",
        _set("grids", 3, "polygon", 2, value=[213.0, 28.0]),
        "grids[3].polygon",
        "longitude 213.0 is outside -180..180",
    ),
    (
        "latitude out of range",
        _set("grids", 3, "polygon", 2, value=[113.0, 98.0]),
        "grids[3].polygon",
        "latitude 98.0 is outside -90..90",
    ),
    (
        "point not a pair",
        _set("grids", 0, "polygon", 1, value=[113.0]),
        "grids[0].polygon[1][1]",
        "missing item",
    ),
    (
        "coordinate not a number",
        _set("grids", 0, "polygon", 1, 0, value="east"),
        "grids[0].polygon[1][0]",
        "valid number",
    ),
    ("duplicate grid id", _set("grids", 3, "id", value="G1"), "grids[3].id", "duplicate grid id"),
    (
        "duplicate chat id",
        _set("chats", 2, "id", value="tg:-1001000000001"),
        "chats[2].id",
        "duplicate chat id",
    ),
    (
        "chat id without platform",
        _set("chats", 0, "id", value="-1001000000001"),
        "chats[0].id",
        "platform prefix",
    ),
    ("bad chat kind", _set("chats", 1, "kind", value="riders"), "chats[1].kind", "'riders'"),
    (
        "telegram id of two people",
        _set("grids", 3, "workers", 0, "telegram_id", value=6000001),
        "grids[3].workers[0].telegram_id",
        "already used by 张敏",
    ),
    (
        "wecom userid of two people",
        _set("staff", 1, "wecom_userid", value="chenjing"),
        "staff[1].wecom_userid",
        "already used by 陈静",
    ),
    (
        "building in two grids",
        _append("grids", 2, "buildings", value=3),
        "grids[2].buildings[8]",
        "building '3' is already in grid G2",
    ),
    (
        "bad timezone",
        _set("community", "timezone", value="Asia/Atlantis"),
        "community.timezone",
        "unknown time zone 'Asia/Atlantis'",
    ),
    ("bad language", _set("community", "language", value="fr"), "community.language", "'fr'"),
    (
        "bad digest time",
        _set("community", "digest_time", value="25:00"),
        "community.digest_time",
        "HH:MM",
    ),
    (
        "unquoted digest time",
        _set("community", "digest_time", value=1200),
        "community.digest_time",
        "in quotes",
    ),
    ("unknown key", _set("grids", 0, "colour", value="red"), "grids[0].colour", "unknown key"),
    ("unknown top-level key", _set("extra", value=1), "extra", "unknown key"),
    ("source_path in file", _set("source_path", value="/etc"), "source_path", "unknown key"),
    (
        "missing service levels",
        _delete("service_levels"),
        "service_levels",
        "required key is missing",
    ),
    (
        "zero minutes",
        _set("service_levels", "resolve", "urgent", value=0),
        "service_levels.resolve.urgent",
        "greater than 0",
    ),
    (
        "urgent slower than normal",
        _set("service_levels", "acknowledge", "urgent", value=500),
        "service_levels.acknowledge",
        "must not be longer than normal",
    ),
    ("bad staff role", _set("staff", 0, "role", value="mayor"), "staff[0].role", "'mayor'"),
    (
        "chat tagged with an unknown grid",
        _set("chats", 1, "grids", value=["G2", "G9"]),
        "chats[1].grids[1]",
        "unknown grid 'G9'",
    ),
    (
        "chat tagged with a building in no grid",
        _set("chats", 0, "buildings", value=[3, 99]),
        "chats[0].buildings[1]",
        "building '99' is not in any grid",
    ),
    (
        "staff group tagged with a grid",
        _set("chats", 2, "grids", value=["G1"]),
        "chats[2].grids",
        "only residents' groups",
    ),
    ("no grids", _set("grids", value=[]), "grids", "at least 1"),
    ("empty name", _set("grids", 0, "name", value="  "), "grids[0].name", "at least 1"),
]


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_config_names_file_and_field(
    tmp_path: Path, sample_data: dict[str, Any], mutate: Mutation, field: str, problem: str
) -> None:
    path = write_variant(tmp_path, sample_data, mutate)
    with pytest.raises(CommunityConfigError) as info:
        load_community(path)
    error = info.value
    assert error.path == path
    assert error.field == field
    assert problem in error.problem
    assert str(error).startswith(f"{path}: {field}: ")


def test_error_str_matches_documented_format(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    path = write_variant(tmp_path, sample_data, _set("grids", 1, "polygon", value=_SQUARE))
    with pytest.raises(CommunityConfigError) as info:
        load_community(path)
    assert str(info.value) == (
        f"{path}: grids[1].polygon: ring is not closed (first point != last point)"
    )


def test_all_validation_errors_are_listed(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["community"]["timezone"] = "Nowhere/Else"
        data["grids"][0]["colour"] = "red"

    path = write_variant(tmp_path, sample_data, mutate)
    with pytest.raises(CommunityConfigError) as info:
        load_community(path)
    fields = [field for field, _ in info.value.problems]
    assert fields == ["community.timezone", "grids[0].colour"]
    assert all(line.startswith(f"{path}: ") for line in str(info.value).splitlines())


def test_same_person_may_hold_two_places(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    worker = {"name": "陈静", "telegram_id": 5000001, "wecom_userid": "chenjing"}
    path = write_variant(tmp_path, sample_data, _append("grids", 0, "workers", value=worker))
    config = load_community(path)
    assert config.role_of("tg", "5000001") is Role.SECRETARY
    assert [w.name for w in config.workers_of("G1")] == ["张敏", "陈静"]


def test_shared_landmark_is_allowed(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    path = write_variant(tmp_path, sample_data, _append("grids", 1, "landmarks", value="扬帆夜市"))
    assert load_community(path).grid("G2") is not None


# --------------------------------------------------------------------------- file problems


def _expect_error(path: Path, field: str, problem: str) -> CommunityConfigError:
    with pytest.raises(CommunityConfigError) as info:
        load_community(path)
    assert info.value.path == path
    assert info.value.field == field
    assert problem in info.value.problem
    assert str(path) in str(info.value)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope.yaml", "", "file not found")


def test_unreadable_file(tmp_path: Path) -> None:
    _expect_error(tmp_path, "", "cannot read file")  # a directory


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("community: {name: caf\xe9}\n".encode("latin-1"))
    _expect_error(path, "", "not UTF-8")


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("community:\n  id: x\ngrids: [1, 2\nchats: []\n", encoding="utf-8")
    error = _expect_error(path, "line 4, column 6", "YAML syntax error")
    assert str(error).startswith(f"{path}: line 4, column 6: YAML syntax error")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("community: {}\ngrids: []\ngrids: []\n", encoding="utf-8")
    _expect_error(path, "line 3, column 1", "duplicate key 'grids'")


@pytest.mark.parametrize(("text", "got"), [("", "an empty file"), ("- a\n- b\n", "list")])
def test_top_level_not_mapping(tmp_path: Path, text: str, got: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(text, encoding="utf-8")
    _expect_error(path, "", f"top level must be a mapping, got {got}")


# --------------------------------------------------------------------------- several files


def _second_community(data: dict[str, Any]) -> None:
    data["community"]["id"] = "xinghe"
    data["community"]["name"] = "星河社区"
    data["chats"] = [{"id": "tg:-1002000000001", "title": "星河社区居民群", "kind": "residents"}]


def test_load_communities_from_comma_string(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    other = write_variant(tmp_path, sample_data, _second_community)
    configs = load_communities(f" {SAMPLE} ,{other}, ")
    assert [c.community.id for c in configs] == ["yangfan", "xinghe"]
    assert [c.source_path for c in configs] == [SAMPLE, other]


def test_load_communities_from_list(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    other = write_variant(tmp_path, sample_data, _second_community)
    assert len(load_communities([str(SAMPLE), other])) == 2


def test_duplicate_community_id_across_files(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    def same_id(data: dict[str, Any]) -> None:
        _second_community(data)
        data["community"]["id"] = "yangfan"

    other = write_variant(tmp_path, sample_data, same_id)
    with pytest.raises(CommunityConfigError) as info:
        load_communities(f"{SAMPLE},{other}")
    assert info.value.path == other
    assert info.value.field == "community.id"
    assert "duplicate community id 'yangfan'" in info.value.problem
    assert str(SAMPLE) in info.value.problem


def test_chat_in_two_communities(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    def shared_chat(data: dict[str, Any]) -> None:
        _second_community(data)
        data["chats"][0]["id"] = "tg:-1001000000002"

    other = write_variant(tmp_path, sample_data, shared_chat)
    with pytest.raises(CommunityConfigError) as info:
        load_communities([SAMPLE, other])
    assert (info.value.path, info.value.field) == (other, "chats[0].id")


def test_load_communities_needs_a_path() -> None:
    with pytest.raises(CommunityConfigError, match="no community configuration file"):
        load_communities(" , ")


def test_error_in_second_file_names_it(tmp_path: Path, sample_data: dict[str, Any]) -> None:
    bad = write_variant(tmp_path, sample_data, _set("community", "timezone", value="Bad/Zone"))
    with pytest.raises(CommunityConfigError) as info:
        load_communities([SAMPLE, bad])
    assert (info.value.path, info.value.field) == (bad, "community.timezone")
