"""Community events on the fake Telegram: announce, join, waitlist, promotion, listing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.simulation import OUTSIDER, RESIDENTS, RIDER, RIDER_2, STAFF, World
from handlers.event_form import EventFormError, parse_event_line
from storage.events import rsvp_counts
from storage.models import Event

# The world's clock starts at 2023-07-10 20:00 in Shanghai; the event is the next evening.
ANNOUNCE = "/event 电影之夜 | 2023-07-11 19:30 | 扬帆公园 | 名额 2"
STARTS_AT = datetime(2023, 7, 11, 11, 30, tzinfo=UTC)


async def announce(world: World) -> None:
    world.send(STAFF, STAFF, ANNOUNCE)
    await world.settle()


def invitation(world: World) -> dict[str, object]:
    [post] = [m for m in world.messages_to(RESIDENTS) if "电影之夜" in (m.get("text") or "")]
    return post


def press(world: World, label: str, user_id: int) -> None:
    message_id, data = world.button_data(RESIDENTS, label)
    world.press(RESIDENTS, message_id, data, user_id=user_id)


def toasts(world: World) -> list[str]:
    return [answer["text"] or "" for answer in world.fake.callback_answers]


async def stored_event(world: World) -> Event:
    async with world.service.runtime.sessions() as session:
        return (await session.exec(select(Event))).one()


def test_the_one_line_form_is_read_in_chinese_and_english() -> None:
    form = parse_event_line("电影之夜 | 2023-07-11 19：30 | 扬帆公园 | 名额 50")
    assert (form.title, form.place, form.capacity) == ("电影之夜", "扬帆公园", 50)
    assert form.starts_local == datetime(2023, 7, 11, 19, 30)
    english = parse_event_line("Movie night | 2023/07/11 19:30 | Yangfan Park | capacity 5")
    assert (english.title, english.place, english.capacity) == ("Movie night", "Yangfan Park", 5)
    bare = parse_event_line("Tea | 2023-07-11 09:00")
    assert (bare.place, bare.capacity) == (None, None)
    with pytest.raises(EventFormError):
        parse_event_line("Tea | tomorrow")
    with pytest.raises(EventFormError):
        parse_event_line("Tea")


async def test_staff_announce_an_event_and_residents_get_the_invitation(world: World) -> None:
    await announce(world)

    assert any("已发布活动「电影之夜」" in text for text in world.texts_to(STAFF))
    post = invitation(world)
    assert "07-11 19:30" in str(post["text"]) and "扬帆公园" in str(post["text"])
    assert "已报名 0/2，候补 0" in str(post["text"])
    labels = [b["text"] for b in post["reply_markup"]["inline_keyboard"][0]]  # type: ignore[index]
    assert labels == ["✅ 参加", "🙅 不能来"]
    event = await stored_event(world)
    assert event.starts_at == STARTS_AT and event.capacity == 2
    _, data = world.button_data(RESIDENTS, "参加")
    assert data == f"e:{event.id.hex}:join"


async def test_joins_fill_the_places_then_the_waitlist_and_a_cancel_promotes(
    world: World,
) -> None:
    await announce(world)

    for user_id in (RIDER, RIDER_2, OUTSIDER):
        press(world, "参加", user_id)
        await world.settle()

    assert "已报名「电影之夜」" in toasts(world)[0]
    assert "已报名「电影之夜」" in toasts(world)[1]
    assert "候补第 1 位" in toasts(world)[2]
    assert "已报名 2/2，候补 1" in str(invitation(world)["text"])

    press(world, "不能来", RIDER)
    await world.settle()

    assert "不能参加" in toasts(world)[-1]
    assert "已报名 2/2，候补 0" in str(invitation(world)["text"])
    assert any("您已从候补转为「电影之夜」的正式报名" in t for t in world.texts_to(OUTSIDER))
    event = await stored_event(world)
    async with world.service.runtime.sessions() as session:
        counts = await rsvp_counts(session, event_id=event.id, occurrence_start=event.starts_at)
    assert (counts.going, counts.waitlist) == (2, 0)


async def test_pressing_join_twice_changes_nothing(world: World) -> None:
    await announce(world)
    press(world, "参加", RIDER)
    await world.settle()
    press(world, "参加", RIDER)
    await world.settle()

    assert "已经报名" in toasts(world)[-1]
    assert "已报名 1/2，候补 0" in str(invitation(world)["text"])


async def test_a_resident_cannot_announce_an_event(world: World) -> None:
    world.send(RIDER, RIDER, ANNOUNCE)
    await world.settle()

    assert any("只有社区工作人员可以发布活动" in t for t in world.texts_to(RIDER))
    assert not any("电影之夜" in t for t in world.texts_to(RESIDENTS))


async def test_a_bad_line_or_a_past_time_is_explained(world: World) -> None:
    world.send(STAFF, STAFF, "/event 电影之夜 | 明天晚上")
    world.send(STAFF, STAFF, "/event 电影之夜 | 2023-07-01 19:30")
    await world.settle()

    answers = world.texts_to(STAFF)
    assert any("看不懂时间「明天晚上」" in t for t in answers)
    assert any("已经过去了" in t for t in answers)


async def test_events_lists_upcoming_events_in_local_time(world: World) -> None:
    await announce(world)
    press(world, "参加", RIDER)
    await world.settle()

    world.send(RESIDENTS, RIDER_2, "/events")
    await world.settle()

    listing = world.texts_to(RESIDENTS)[-1]
    assert "近期活动" in listing
    assert "07-11 19:30 电影之夜 · 扬帆公园 · 已报名 1/2，候补 0" in listing


async def test_answers_close_once_the_event_started(world: World) -> None:
    await announce(world)
    world.clock.advance((STARTS_AT - world.clock.now()).total_seconds())

    press(world, "参加", RIDER)
    await world.settle()

    assert "已经开始" in toasts(world)[-1]
