"""Event reminders: 24 h and 1 h before, once per target, across restarts and two instances."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.simulation import RESIDENTS, RIDER, RIDER_2, STAFF, World
from handlers.runtime import Runtime
from schedules.reminders import send_due_reminders
from storage.database import create_engine, create_session_factory
from storage.models import OutboxMessage

# Two days after the world's clock (2023-07-10 20:00 Shanghai).
ANNOUNCE = "/event 电影之夜 | 2023-07-12 19:30 | 扬帆公园 | 名额 10"
STARTS_AT = datetime(2023, 7, 12, 11, 30, tzinfo=UTC)
# The two Telegram residents' groups and two attendees; the WeCom group is not served by a
# Telegram-only bot, so nothing is queued for it.
TARGETS = 4


async def announce_with_two_attendees(world: World) -> None:
    world.send(STAFF, STAFF, ANNOUNCE)
    await world.settle()
    for user_id in (RIDER, RIDER_2):
        message_id, data = world.button_data(RESIDENTS, "参加")
        world.press(RESIDENTS, message_id, data, user_id=user_id)
        await world.settle()


def move_to(world: World, moment: datetime) -> None:
    world.clock.advance((moment - world.clock.now()).total_seconds())


def reminders_to(world: World, chat_id: int) -> list[str]:
    return [t for t in world.texts_to(chat_id) if "活动提醒" in t]


@asynccontextmanager
async def second_instance(world: World, database_url: str) -> AsyncIterator[Runtime]:
    """A new Runtime on the same database: a restarted bot or a second instance."""
    engine = create_engine(database_url)
    try:
        yield Runtime(
            communities=world.service.runtime.communities,
            sessions=create_session_factory(engine),
            clock=world.clock,
        )
    finally:
        await engine.dispose()


async def queued_reminders(world: World) -> int:
    async with world.service.runtime.sessions() as session:
        statement = select(OutboxMessage).where(col(OutboxMessage.payload).contains("活动提醒"))
        return len((await session.exec(statement)).all())


async def test_reminders_go_out_once_each_24_hours_and_1_hour_before(
    world: World, database_url: str
) -> None:
    await announce_with_two_attendees(world)
    runtime = world.service.runtime

    assert await send_due_reminders(runtime) == 0
    move_to(world, STARTS_AT - timedelta(hours=24, minutes=1))
    assert await send_due_reminders(runtime) == 0

    move_to(world, STARTS_AT - timedelta(hours=24))
    assert await send_due_reminders(runtime) == TARGETS
    assert await send_due_reminders(runtime) == 0
    await world.settle()
    assert reminders_to(world, RIDER) == [
        "⏰ 活动提醒：「电影之夜」24 小时后开始（07-12 19:30，扬帆公园）。"
    ]

    async with second_instance(world, database_url) as restarted:
        move_to(world, STARTS_AT - timedelta(hours=3))
        assert await send_due_reminders(restarted) == 0
        move_to(world, STARTS_AT - timedelta(hours=1))
        assert await send_due_reminders(restarted) == TARGETS
        assert await send_due_reminders(restarted) == 0
    assert await send_due_reminders(runtime) == 0
    await world.settle()

    for chat_id in (RIDER, RIDER_2, RESIDENTS):
        reminders = reminders_to(world, chat_id)
        assert len(reminders) == 2
        assert "24 小时后" in reminders[0] and "1 小时后" in reminders[1]
    move_to(world, STARTS_AT + timedelta(minutes=5))
    assert await send_due_reminders(runtime) == 0
    assert await queued_reminders(world) == 2 * TARGETS


async def test_after_downtime_only_the_nearest_due_reminder_goes_out(world: World) -> None:
    await announce_with_two_attendees(world)

    move_to(world, STARTS_AT - timedelta(minutes=30))
    assert await send_due_reminders(world.service.runtime) == TARGETS
    assert await send_due_reminders(world.service.runtime) == 0
    await world.settle()

    assert [r for r in reminders_to(world, RIDER) if "30 分钟后" in r] == reminders_to(world, RIDER)
    assert len(reminders_to(world, RIDER)) == 1


async def test_an_event_that_already_started_is_skipped_and_logged_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await announce_with_two_attendees(world)
    move_to(world, STARTS_AT + timedelta(minutes=10))

    with caplog.at_level(logging.WARNING, logger="schedules.reminders"):
        assert await send_due_reminders(world.service.runtime) == 0
        assert await send_due_reminders(world.service.runtime) == 0

    assert len([r for r in caplog.records if "before its reminder" in r.getMessage()]) == 1
    assert await queued_reminders(world) == 0


async def test_two_instances_at_once_send_each_reminder_once(
    world: World, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("concurrent instances are a PostgreSQL deployment")
    await announce_with_two_attendees(world)
    move_to(world, STARTS_AT - timedelta(hours=1))

    async with (
        second_instance(world, database_url) as one,
        second_instance(world, database_url) as two,
    ):
        counts = await asyncio.gather(send_due_reminders(one), send_due_reminders(two))

    assert sum(counts) == TARGETS
    assert await queued_reminders(world) == TARGETS
