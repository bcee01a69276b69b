"""The guided /event conversation on the fake Telegram: step by step, re-asks, cancel, expiry,
a restart in the middle, and the move from a group to the private chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from bot.simulation import (
    RESIDENTS,
    RIDER,
    STAFF,
    STAFF_GROUP,
    World,
    fake_telegram,
    service_for,
)
from handlers.clock import FakeClock
from handlers.community import CommunityConfig
from storage.models import Event

ESTATE = -1001000000002  # the sample's residents' group tagged with grids G2 and G3


def last_text(world: World, chat_id: int) -> str:
    return world.texts_to(chat_id)[-1]


def press(world: World, label: str, chat_id: int = STAFF) -> None:
    message_id, data = world.button_data(chat_id, label)
    world.press(chat_id, message_id, data, user_id=STAFF)


async def say(world: World, answer: str) -> str:
    """The organiser answers in the private chat; returns the bot's reply."""
    world.send(STAFF, STAFF, answer)
    await world.settle()
    return last_text(world, STAFF)


async def events(world: World) -> list[Event]:
    async with world.service.runtime.sessions() as session:
        return list(await session.exec(select(Event)))


def toasts(world: World) -> list[str]:
    return [answer["text"] or "" for answer in world.fake.callback_answers]


async def test_staff_create_an_event_one_question_at_a_time(world: World) -> None:
    assert "1/7" in await say(world, "/event")
    assert "2/7" in await say(world, "电影之夜")
    assert "看不懂时间「明天晚上」" in await say(world, "明天晚上")  # asked again, politely
    assert "已经过去了" in await say(world, "2023-07-01 19:30")
    assert "3/7" in await say(world, "2023-07-14 19:30")
    assert "4/7" in await say(world, "扬帆公园")
    assert "看不懂名额「很多」" in await say(world, "很多")
    press(world, "跳过")
    await world.settle()
    assert "5/7" in last_text(world, STAFF)
    press(world, "每周")
    await world.settle()
    assert "6/7" in last_text(world, STAFF)
    press(world, "每周")  # the button of the answered question no longer works
    await world.settle()
    assert "过期" in toasts(world)[-1]
    keyboard = world.messages_to(STAFF)[-1]["reply_markup"]["inline_keyboard"]
    labels = [button["text"] for row in keyboard for button in row]
    assert labels == ["所有居民群", "第二网格（扬帆小区一期）", "第三网格（扬帆小区二期）"]
    assert "没有居民群服务网格「G1」" in await say(world, "G1")
    press(world, "第三网格")
    await world.settle()
    assert "7/7" in last_text(world, STAFF)
    summary = await say(world, "2h, 30m")

    for part in ("电影之夜", "2023-07-14 19:30", "扬帆公园", "不限人数", "每周", "扬帆社区居民群"):
        assert part in summary
    assert "2 小时前、30 分钟前" in summary
    assert not await events(world)
    press(world, "发布")
    await world.settle()

    assert "已发布活动「电影之夜」" in last_text(world, STAFF)
    assert any("电影之夜" in t for t in world.texts_to(ESTATE))
    assert not any("电影之夜" in t for t in world.texts_to(RESIDENTS))
    [event] = await events(world)
    assert (event.place, event.capacity) == ("扬帆公园", None)
    assert json.loads(event.reminder_offsets_minutes) == [120, 30]
    assert event.audience_chat_ids == json.dumps([f"tg:{ESTATE}"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_started_in_a_group_it_continues_privately_and_cancel_stops_it(
    world: World,
) -> None:
    world.send(STAFF_GROUP, STAFF, "/event")
    await world.settle()

    assert "私信您" in last_text(world, STAFF_GROUP)
    assert "1/7" in last_text(world, STAFF)
    assert "2/7" in await say(world, "Tea party")
    assert "已取消" in await say(world, "/cancel")
    assert "没有可以取消" in await say(world, "/cancel")
    assert "2/7" not in await say(world, "2023-07-14 19:30")  # no longer taken as an answer
    assert not await events(world)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_summary_can_be_cancelled_and_english_is_spoken_back(world: World) -> None:
    world.fake.add_user(STAFF, "Liu Yang", language_code="en")
    for answer in ("/event", "Tea party", "2023-07-14 09:00", "skip"):
        await say(world, answer)
    assert "5/7 Does it repeat?" in await say(world, "20")
    assert "not on the weekday" in await say(world, "every Monday")  # the 14th is a Friday
    assert "6/7" in await say(world, "every Friday")
    assert "7/7" in await say(world, "all")
    summary = await say(world, "default")

    assert "Tea party" in summary and "weekly" in summary
    assert "24 h before, 1 h before" in summary
    press(world, "Cancel")
    await world.settle()
    assert "Cancelled" in last_text(world, STAFF)
    assert not await events(world)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_draft_lapses_after_thirty_quiet_minutes(world: World) -> None:
    for answer in ("/event", "电影之夜", "2023-07-14 19:30"):
        await say(world, answer)
    world.clock.advance(29 * 60)
    assert "4/7" in await say(world, "扬帆公园")  # each answer gives another 30 minutes
    world.clock.advance(31 * 60)

    press(world, "跳过")
    await world.settle()
    assert "过期" in toasts(world)[-1]
    assert "5/7" not in await say(world, "50")
    assert not await events(world)


async def test_the_draft_survives_a_restart(
    sample_community: CommunityConfig, database_url: str, tmp_path: Path
) -> None:
    async with fake_telegram([sample_community]) as fake:
        clock = fake.clock
        assert isinstance(clock, FakeClock)
        first = service_for(fake, clock, [sample_community], database_url, tmp_path)
        await first.start()
        try:
            world = World(fake, first, clock)
            for answer in ("/event", "电影之夜", "2023-07-14 19:30", "扬帆公园"):
                await say(world, answer)
        finally:
            await first.stop()

        second = service_for(fake, clock, [sample_community], database_url, tmp_path)
        await second.start()
        try:
            world = World(fake, second, clock)
            assert "5/7" in await say(world, "名额 30")
            press(world, "不重复")
            await world.settle()
            press(world, "所有居民群")
            await world.settle()
            press(world, "默认")
            await world.settle()
            press(world, "发布")
            await world.settle()
            assert "邀请已发到 2 个居民群" in last_text(world, STAFF)
            [event] = await events(world)
            assert (event.title, event.capacity) == ("电影之夜", 30)
        finally:
            await second.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_only_staff_may_start_the_conversation(world: World) -> None:
    world.send(RIDER, RIDER, "/event")
    await world.settle()

    assert "只有社区工作人员可以发布活动" in last_text(world, RIDER)
    assert "1/7" not in last_text(world, RIDER)
