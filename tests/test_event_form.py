"""The extended one-line event form, and the audience chosen by groups, grids or buildings."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from bot.simulation import RESIDENTS, STAFF, World
from handlers.community import CommunityConfig
from handlers.event_form import EventDraft, EventFormError, choose_audience, parse_event_line
from handlers.event_form_texts import EVENT_FORM_TEXTS
from handlers.event_texts import EVENT_TEXTS
from handlers.texts import text
from storage.models import Event

RIDERS_GROUP = "tg:-1001000000001"
ESTATE_GROUP = "tg:-1001000000002"  # tagged with grids G2 and G3 in the sample
WECOM_GROUP = "wecom:wrOgQhDgAAyangfan01"
ESTATE = -1001000000002
FRIDAY = datetime(2023, 7, 14, 19, 30)


def serves_telegram(chat_id: str) -> bool:
    return chat_id.startswith("tg:")


def draft(**fields: object) -> EventDraft:
    return EventDraft("电影之夜", FRIDAY, **fields)  # type: ignore[arg-type]


def test_every_optional_segment_is_read_in_chinese() -> None:
    form = parse_event_line(
        "电影之夜 | 2023-07-14 19:30 | 扬帆公园 | 名额 50 | 结束 21:00 | 每周五 | 提醒 1天, 30分钟"
        " | 网格 G1,G2 | 楼栋 3栋 | 群 扬帆社区居民群 | 说明 自带小板凳"
    )
    assert (form.title, form.starts_local, form.place, form.capacity) == (
        "电影之夜",
        FRIDAY,
        "扬帆公园",
        50,
    )
    assert form.ends_local == datetime(2023, 7, 14, 21, 0)
    assert form.rrule == "FREQ=WEEKLY;BYDAY=FR"
    assert form.reminder_offsets_minutes == (1440, 30)
    assert (form.audience_grids, form.audience_buildings) == (("G1", "G2"), ("3栋",))
    assert form.audience_chats == ("扬帆社区居民群",)
    assert form.description == "自带小板凳"


def test_every_optional_segment_is_read_in_english_in_any_order() -> None:
    form = parse_event_line(
        "Movie night | 2023-07-14 19:30 | Yangfan Park | note bring a stool | remind 2h, 30m"
        " | group tg:-1001000000002 | building 5 | grid G3 | every Friday"
        " | end 2023-07-14 22:15 | capacity 5"
    )
    assert (form.place, form.capacity, form.description) == ("Yangfan Park", 5, "bring a stool")
    assert form.ends_local == datetime(2023, 7, 14, 22, 15)
    assert form.rrule == "FREQ=WEEKLY;BYDAY=FR"
    assert form.reminder_offsets_minutes == (120, 30)
    assert (form.audience_grids, form.audience_buildings) == (("G3",), ("5",))
    assert form.audience_chats == ("tg:-1001000000002",)


@pytest.mark.parametrize(
    ("segment", "rrule"),
    [
        ("每天", "FREQ=DAILY"),
        ("每周", "FREQ=WEEKLY"),
        ("每月", "FREQ=MONTHLY"),
        ("weekly", "FREQ=WEEKLY"),
        ("Fridays", "FREQ=WEEKLY;BYDAY=FR"),
        ("重复 每星期五", "FREQ=WEEKLY;BYDAY=FR"),
        ("RRULE FREQ=WEEKLY;BYDAY=FR;COUNT=4", "FREQ=WEEKLY;BYDAY=FR;COUNT=4"),
        ("rrule: RRULE:FREQ=MONTHLY;BYMONTHDAY=14", "FREQ=MONTHLY;BYMONTHDAY=14"),
        ("不重复", None),
    ],
)
def test_repeats_become_rrule_values(segment: str, rrule: str | None) -> None:
    assert parse_event_line(f"Tea | 2023-07-14 09:00 | 活动室 | {segment}").rrule == rrule


def test_the_four_field_form_still_works_without_place_or_with_an_empty_one() -> None:
    assert parse_event_line("Tea | 2023-07-14 09:00 | | 50").capacity == 50
    bare = parse_event_line("Tea | 2023-07-14 09:00 | 每天")
    assert (bare.place, bare.rrule) == (None, "FREQ=DAILY")
    square = parse_event_line("Tea | 2023-07-14 09:00 | 群众文化广场 | 提醒 无")
    assert (square.place, square.audience_chats, square.reminder_offsets_minutes) == (
        "群众文化广场",
        (),
        (),
    )


@pytest.mark.parametrize(
    ("line", "key", "values"),
    [
        ("Tea | 2023-07-14 09:00 | 活动室 | 烧烤", "form.unknown_segment", {"segment": "烧烤"}),
        (
            "Tea | 2023-07-14 09:00 | 活动室 | 结束 08:30",
            "form.end_before_start",
            {"value": "08:30"},
        ),
        ("Tea | 2023-07-14 09:00 | 活动室 | end 25:00", "form.bad_end", {"value": "25:00"}),
        ("Tea | 2023-07-14 09:00 | 活动室 | 提醒 很早", "form.bad_reminders", {"value": "很早"}),
        ("Tea | 2023-07-14 09:00 | 活动室 | remind 40d", "form.bad_reminders", {"value": "40d"}),
        ("Tea | 2023-07-14 09:00 | 活动室 | rrule FREQ=SOMETIMES", "form.bad_rrule", {}),
        ("Tea | 2023-07-14 09:00 | 每天 | weekly", "form.repeated_segment", {"segment": "weekly"}),
        ("Tea | 2023-07-11 09:00 | 活动室 | 每周五", "form.repeat_weekday", {"repeat": "每周五"}),
        (" | 2023-07-14 09:00", "event.usage", {}),
        ("x" * 121 + " | 2023-07-14 09:00", "form.bad_title", {"limit": 120}),
    ],
)
def test_a_bad_segment_is_named(line: str, key: str, values: dict[str, object]) -> None:
    with pytest.raises(EventFormError) as caught:
        parse_event_line(line)
    assert caught.value.key == key
    assert values.items() <= caught.value.values.items()
    assert text(key, "zh", **caught.value.values) and text(key, "en", **caught.value.values)


def test_usage_shows_the_optional_fields_in_both_languages() -> None:
    assert "每周五" in text("event.usage", "zh") and "提醒" in text("event.usage", "zh")
    assert "every Friday" in text("event.usage", "en") and "grid" in text("event.usage", "en")
    # only event.usage is meant to replace a text of the events catalogue
    assert not set(EVENT_FORM_TEXTS) & set(EVENT_TEXTS)


# --------------------------------------------------------------------------- audience


def test_no_audience_means_every_residents_group_this_bot_can_post_to(
    sample_community: CommunityConfig,
) -> None:
    assert choose_audience(sample_community, draft(), serves_telegram) == [
        RIDERS_GROUP,
        ESTATE_GROUP,
    ]
    everywhere = choose_audience(sample_community, draft(), lambda chat_id: True)
    assert everywhere == [RIDERS_GROUP, ESTATE_GROUP, WECOM_GROUP]


@pytest.mark.parametrize(
    "fields",
    [
        {"audience_grids": ("G2",)},
        {"audience_grids": ("g3",)},
        {"audience_grids": ("第三网格（扬帆小区二期）",)},
        {"audience_buildings": ("3栋",)},
        {"audience_buildings": ("十二幢",)},
        {"audience_buildings": ("Building 9",)},
        {"audience_chats": ("扬帆社区居民群",)},
        {"audience_chats": (ESTATE_GROUP,)},
    ],
)
def test_grids_buildings_and_named_groups_pick_the_groups_tagged_for_them(
    sample_community: CommunityConfig, fields: dict[str, tuple[str, ...]]
) -> None:
    assert choose_audience(sample_community, draft(**fields), serves_telegram) == [ESTATE_GROUP]


def test_a_named_group_adds_to_the_grid_filter(sample_community: CommunityConfig) -> None:
    both = draft(audience_grids=("G2",), audience_chats=("扬帆社区红色之家（骑手群）",))
    assert choose_audience(sample_community, both, serves_telegram) == [RIDERS_GROUP, ESTATE_GROUP]


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"audience_grids": ("G1",)}, "audience.no_group_for_grid"),
        ({"audience_grids": ("G2", "G4")}, "audience.no_group_for_grid"),
        ({"audience_buildings": ("A座",)}, "audience.unknown_building"),
        ({"audience_grids": ("G9",)}, "audience.unknown_grid"),
        ({"audience_chats": ("扬帆社区工作群",)}, "audience.unknown_group"),
        ({"audience_chats": (WECOM_GROUP,)}, "audience.group_unreachable"),
    ],
)
def test_an_audience_that_reaches_no_group_is_refused(
    sample_community: CommunityConfig, fields: dict[str, tuple[str, ...]], key: str
) -> None:
    with pytest.raises(EventFormError) as caught:
        choose_audience(sample_community, draft(**fields), serves_telegram)
    assert caught.value.key == key


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_event_for_some_grids_is_posted_only_in_their_groups(world: World) -> None:
    world.send(STAFF, STAFF, "/event 业主议事会 | 2023-07-11 19:30 | 二期物业 | 网格 G3 | 提醒 2h")
    world.send(STAFF, STAFF, "/event 夜市安全会 | 2023-07-11 20:30 | 门楼 | grid G1")
    await world.settle()

    assert any("业主议事会" in t for t in world.texts_to(ESTATE))
    assert not any("业主议事会" in t for t in world.texts_to(RESIDENTS))
    answers = world.texts_to(STAFF)
    assert any("邀请已发到 1 个居民群" in t for t in answers)
    assert any("没有居民群服务网格「G1」，活动没有发布" in t for t in answers)
    async with world.service.runtime.sessions() as session:
        events = list(await session.exec(select(Event)))
    assert [event.title for event in events] == ["业主议事会"]
    assert events[0].reminder_offsets_minutes == "[120]"
