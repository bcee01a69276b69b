"""Telegram reliability: restarts, webhooks, refusals by the platform, languages, questions."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.simulation import (
    RESIDENTS,
    RIDER,
    RIDER_2,
    STAFF_GROUP,
    WORKER_G3,
    World,
    fake_telegram,
    service_for,
    telegram_webhook_world,
)
from handlers.clock import FakeClock
from handlers.community import CommunityConfig
from handlers.texts import text
from storage.models import TicketStatus
from tests.conftest import all_tickets

REPORT = "二期篮球场的铁丝网破了个大洞，麻烦修一下"


async def test_messages_saved_before_a_crash_are_sent_after_restart(
    sample_community: CommunityConfig, database_url: str, tmp_path: Path
) -> None:
    async with fake_telegram([sample_community]) as fake:
        clock = fake.clock
        assert isinstance(clock, FakeClock)
        first = service_for(fake, clock, [sample_community], database_url, tmp_path)
        await first.start()
        fake.user_sends(RESIDENTS, RIDER, REPORT)
        await first.wait_handled(1)
        await first.stop()  # the ticket and its messages are stored; nothing was sent
        assert fake.sent_messages() == []

        second = service_for(fake, clock, [sample_community], database_url, tmp_path)
        await second.start()
        try:
            world = World(fake, second, clock)
            await world.settle()
            assert any("#1" in text for text in world.texts_to(RESIDENTS))
            assert any("#1" in text for text in world.texts_to(WORKER_G3))
            assert len(await all_tickets(world)) == 1
        finally:
            await second.stop()


async def test_webhook_mode_checks_the_secret_token(
    sample_community: CommunityConfig, database_url: str, tmp_path: Path
) -> None:
    async with telegram_webhook_world(
        [sample_community], database_url, tmp_path, secret="s3cret-token_1"
    ) as (world, url):
        world.send(RESIDENTS, RIDER, REPORT)
        await world.settle()
        assert len(await all_tickets(world)) == 1
        forged = {
            "update_id": 999999,
            "message": {
                "message_id": 77,
                "date": 0,
                "text": "13栋楼下的消防通道被私家车堵死了",
                "chat": {"id": RESIDENTS, "type": "supergroup", "title": "x"},
                "from": {"id": RIDER_2, "is_bot": False, "first_name": "x"},
            },
        }
        async with httpx.AsyncClient() as client:
            wrong = await client.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
            missing = await client.post(url, json=forged)
        assert wrong.status_code == 403 and missing.status_code == 403
        assert len(await all_tickets(world)) == 1


async def test_a_429_and_a_500_are_retried_and_nothing_is_lost(world: World) -> None:
    world.fake.fail_next("sendMessage", status=429, retry_after=7)
    world.fake.fail_next("sendMessage", status=500)
    start = world.clock.monotonic()
    world.send(RESIDENTS, RIDER, REPORT)
    await world.settle()
    assert any("#1" in text for text in world.texts_to(RESIDENTS))
    assert any("#1" in text for text in world.texts_to(WORKER_G3))
    assert world.clock.monotonic() - start >= 7  # retry_after was honoured


async def test_an_english_user_is_answered_in_english(world: World) -> None:
    world.fake.add_user(7000555, "Tom Becker", language_code="en")
    world.send(7000555, 7000555, "/start")
    world.send(7000555, 7000555, "/help")
    await world.settle()
    start, help_text = world.texts_to(7000555)
    assert start.startswith("Hello Tom Becker")
    assert "/ticket N" in help_text


async def test_an_unsure_report_is_asked_about_and_created_when_confirmed(world: World) -> None:
    world.send(RESIDENTS, RIDER, "看这里👀", photo=b"photo")
    await world.settle()
    assert await all_tickets(world) == []
    message_id, data = world.button_data(RESIDENTS, "登记")
    world.press(RESIDENTS, message_id, data, user_id=RIDER_2)  # not the sender: refused
    await world.settle()
    assert await all_tickets(world) == []
    world.press(RESIDENTS, message_id, data, user_id=RIDER)
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.category == "other" and ticket.grid_id is None
    assert any("选择负责网格" in text for text in world.texts_to(STAFF_GROUP))


async def test_a_report_without_a_place_is_completed_by_a_location_pin(world: World) -> None:
    world.send(RESIDENTS, RIDER, "楼道灯又坏了，晚上黑漆漆的，没人来换")
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.grid_id is None and ticket.status is TicketStatus.REPORTED
    assert "缺具体位置" in world.texts_to(RESIDENTS)[-1]
    world.clock.advance(60)
    world.send(RESIDENTS, RIDER, location=(28.1985, 113.0365))
    await world.settle()
    [ticket] = await all_tickets(world)
    assert (ticket.grid_id, ticket.status) == ("G3", TicketStatus.ASSIGNED)
    assert any("#1" in text for text in world.texts_to(WORKER_G3))


async def test_staff_choose_the_grid_of_a_ticket_nobody_could_place(world: World) -> None:
    world.send(RESIDENTS, RIDER, "南门口那根路灯杆歪了，电线在冒火花！快来人")
    await world.settle()
    message_id, data = world.button_data(STAFF_GROUP, "第四网格")
    world.press(STAFF_GROUP, message_id, data, user_id=RIDER)  # a resident may not
    await world.settle()
    assert (await all_tickets(world))[0].grid_id is None
    world.press(STAFF_GROUP, message_id, data, user_id=5000002)
    await world.settle()
    [ticket] = await all_tickets(world)
    assert (ticket.grid_id, ticket.status) == ("G4", TicketStatus.ASSIGNED)


async def test_the_second_worker_of_a_grid_can_take_a_ticket(world: World) -> None:
    world.send(RESIDENTS, RIDER, REPORT)  # G3 has two workers; the first is assigned
    await world.settle()
    second_worker = 6000004
    message_id, data = world.button_data(second_worker, "确认")
    world.press(second_worker, message_id, data, user_id=second_worker)
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.status is TicketStatus.ACKNOWLEDGED
    assert any("赵磊" in text for text in world.texts_to(RESIDENTS))


async def test_a_confirmed_unsure_album_keeps_every_photo(world: World) -> None:
    world.send(RESIDENTS, RIDER, "看这里", photo=b"p1", media_group_id="a")
    world.send(RESIDENTS, RIDER, photo=b"p2", media_group_id="a")
    world.send(RESIDENTS, RIDER, photo=b"p3", media_group_id="a")
    await world.settle()
    message_id, data = world.button_data(RESIDENTS, "登记")
    world.press(RESIDENTS, message_id, data, user_id=RIDER)
    await world.settle()
    [ticket] = await all_tickets(world)
    async with world.service.runtime.sessions() as session:
        from storage.tickets import list_attachments

        assert len(await list_attachments(session, ticket_id=ticket.id)) == 3


async def test_a_description_given_as_a_reply_to_an_old_photo_joins_it(world: World) -> None:
    photo = world.send(RESIDENTS, RIDER, photo=b"old photo")
    await world.settle()
    world.clock.advance(5 * 60)  # past the window for pieces
    world.send(
        RESIDENTS,
        RIDER,
        "这是16栋门口的井盖，没了，很危险",
        reply_to_message_id=photo["message_id"],
    )
    await world.settle()
    [ticket] = await all_tickets(world)
    async with world.service.runtime.sessions() as session:
        from storage.tickets import list_attachments

        assert len(await list_attachments(session, ticket_id=ticket.id)) == 1


async def test_a_photo_sent_after_the_text_reaches_the_worker(world: World) -> None:
    world.send(RESIDENTS, RIDER, REPORT)
    world.clock.advance(20)
    world.send(RESIDENTS, RIDER, photo=b"second look")
    await world.settle()
    assert any("photo" in m for m in world.messages_to(WORKER_G3))


async def test_only_people_involved_can_read_a_ticket(world: World) -> None:
    world.send(RESIDENTS, RIDER, REPORT)
    await world.settle()
    world.send(RIDER_2, RIDER_2, "/ticket 1")
    world.send(RIDER, RIDER, "/ticket 1")
    await world.settle()
    assert "没有找到" in world.texts_to(RIDER_2)[-1]
    assert "#1" in world.texts_to(RIDER)[-1]


async def test_the_reporter_can_reopen_a_resolved_ticket(world: World) -> None:
    world.send(RESIDENTS, RIDER, REPORT)
    await world.settle()
    for label in ("确认", "已处理"):
        message_id, data = world.button_data(WORKER_G3, label)
        world.press(WORKER_G3, message_id, data, user_id=WORKER_G3)
        await world.settle()
    message_id, data = world.button_data(RESIDENTS, "重新打开")
    world.press(RESIDENTS, message_id, data, user_id=RIDER)
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.status is TicketStatus.REOPENED


async def test_a_very_long_report_still_reaches_the_worker(world: World) -> None:
    world.send(
        RESIDENTS, RIDER, "二期篮球场的铁丝网破了个大洞，麻烦修一下。" + "😤" * 3000, photo=b"photo"
    )
    await world.settle()
    [ping] = world.messages_to(WORKER_G3)
    assert len(ping["caption"].encode("utf-16-le")) // 2 <= 1024


async def test_a_forged_worker_choice_gets_a_polite_answer(world: World) -> None:
    world.send(RESIDENTS, RIDER, REPORT)
    await world.settle()
    message_id, data = world.button_data(WORKER_G3, "转派")
    forged = data.rsplit(":", 1)[0] + ":to:abc"
    world.press(WORKER_G3, message_id, forged, user_id=WORKER_G3)
    await world.settle()
    assert world.fake.callback_answers[-1]["text"] == text("press.unknown", "zh-CN")
    assert [t.status for t in await all_tickets(world)] == [TicketStatus.ASSIGNED]
