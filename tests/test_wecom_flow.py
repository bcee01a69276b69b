"""WeCom end to end: reports over the app and the AI bot become tickets; cards acknowledge.

Users act through the fake WeCom (signed, encrypted callbacks over HTTP); the real bot serves
WeCom and Telegram on one database; assertions read what the fake recorded and the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.fake_wecom import AppMessage
from bot.simulation import RESIDENTS, RIDER
from bot.simulation import WORKER_G1 as TG_WORKER_G1
from bot.wecom_simulation import RIDER_WECOM, WeComWorld, wecom_world
from handlers.community import CommunityConfig
from storage.models import (
    PlatformAccount,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketStatus,
)
from tests.conftest import all_tickets

PHOTO = b"\xff\xd8\xff\xe0" + b"billboard" * 50
BILLBOARD = "夜市门楼上的广告牌松了，风一吹就晃，很危险"
WORKER_G1 = "zhangmin"  # 张敏, grid G1's worker (examples/community.yaml)


@pytest.fixture
async def wecom(
    sample_community: CommunityConfig, database_url: str, tmp_path: Path
) -> AsyncIterator[WeComWorld]:
    async with wecom_world(sample_community, database_url, tmp_path / "media") as world:
        yield world


def texts_to(wecom: WeComWorld, user_id: str) -> list[str]:
    """App texts a member received, in order."""
    return [m.text for m in wecom.fake.messages_to(user_id) if m.msgtype == "text"]


def cards_to(wecom: WeComWorld, user_id: str) -> list[AppMessage]:
    """Template cards a member received, in order."""
    return [m for m in wecom.fake.messages_to(user_id) if m.msgtype == "template_card"]


def button_key(card: AppMessage, label_part: str) -> str:
    """The key of the card's button whose label contains the text."""
    for button in card.content["button_list"]:
        if label_part in button["text"]:
            return str(button["key"])
    raise AssertionError(f"no button {label_part!r} on card {card.content['task_id']}")


async def press_card(
    wecom: WeComWorld, user_id: str, card: AppMessage, label_part: str, *, times: int = 1
) -> list[int]:
    """A member presses a card's button (WeCom may deliver the press `times` times)."""
    task_id = str(card.content["task_id"])
    xml = wecom.fake.press_button(user_id, task_id=task_id, key=button_key(card, label_part))
    statuses = await wecom.app_callback(xml, times=times)
    await wecom.settle()
    return statuses


async def rows(wecom: WeComWorld, model: Any) -> list[Any]:
    async with wecom.world.service.runtime.sessions() as session:
        return list(await session.exec(select(model)))


async def audit(wecom: WeComWorld, ticket: Ticket) -> list[TicketEvent]:
    """The ticket's audit rows, oldest first."""
    async with wecom.world.service.runtime.sessions() as session:
        statement = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.id))
        )
        return list(await session.exec(statement))


async def person_id_of(wecom: WeComWorld, platform: str, user_id: str) -> Any:
    async with wecom.world.service.runtime.sessions() as session:
        statement = select(PlatformAccount).where(
            PlatformAccount.platform == platform, PlatformAccount.platform_user_id == user_id
        )
        return (await session.exec(statement)).one().person_id


async def report_billboard(wecom: WeComWorld) -> Ticket:
    """The rider sends a photo, then the words, in the app's private session."""
    statuses = await wecom.app_callback(wecom.fake.image_callback(RIDER_WECOM, PHOTO))
    statuses += await wecom.app_callback(wecom.fake.text_callback(RIDER_WECOM, BILLBOARD))
    await wecom.settle()
    assert statuses == [200, 200]
    [ticket] = await all_tickets(wecom.world)
    return ticket


async def test_a_riders_photo_report_over_the_app_becomes_a_ticket_for_the_grid(
    wecom: WeComWorld, tmp_path: Path
) -> None:
    ticket = await report_billboard(wecom)

    assert ticket.source_platform == "wecom" and ticket.grid_id == "G1"
    assert ticket.source_chat_id == f"wecom:{RIDER_WECOM}" and ticket.urgent
    [download] = wecom.fake.calls_to("media/get")
    assert download.status == 200 and download.response == {"bytes": len(PHOTO)}
    [attachment] = await rows(wecom, TicketAttachment)
    assert attachment.platform == "wecom" and attachment.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert Path(attachment.media_path or "").read_bytes() == PHOTO  # noqa: ASYNC240
    assert Path(attachment.media_path or "").is_relative_to(tmp_path / "media")
    [confirmation] = texts_to(wecom, RIDER_WECOM)
    assert "已登记工单 #1" in confirmation and "第一网格" in confirmation
    [card] = cards_to(wecom, WORKER_G1)
    assert card.content["card_type"] == "button_interaction"
    assert "新工单 #1" in card.content["main_title"]["title"]
    assert BILLBOARD in card.content["sub_title_text"]
    labels = [b["text"] for b in card.content["button_list"]]
    assert labels == ["✅ 确认接单", "🔁 转派", "🚫 无效"]
    assert button_key(card, "确认") == f"t:{ticket.id.hex}:ack"
    assert card.response_code  # a callback card: its presses come back to the bot
    [photo] = [m for m in wecom.fake.messages_to(WORKER_G1) if m.msgtype == "image"]
    assert photo.content["media_id"] == attachment.file_id  # forwarded without re-upload


async def test_the_grid_worker_acknowledges_with_the_card_button(wecom: WeComWorld) -> None:
    ticket = await report_billboard(wecom)
    [card] = cards_to(wecom, WORKER_G1)

    assert await press_card(wecom, WORKER_G1, card, "确认") == [200]

    [ticket] = await all_tickets(wecom.world)
    assert ticket.status is TicketStatus.ACKNOWLEDGED
    worker = await person_id_of(wecom, "wecom", WORKER_G1)
    acknowledged = [e for e in await audit(wecom, ticket) if e.to_status == "acknowledged"]
    assert [(e.actor_id, e.platform) for e in acknowledged] == [(worker, "wecom")]
    [update] = wecom.fake.calls_to("message/update_template_card")
    assert update.status == 200 and update.response["errcode"] == 0
    assert wecom.fake.card(str(card.content["task_id"]))["replaced_name"]
    assert "已由 张敏 确认受理" in texts_to(wecom, RIDER_WECOM)[-1]
    next_card = cards_to(wecom, WORKER_G1)[-1]
    assert button_key(next_card, "已处理") == f"t:{ticket.id.hex}:resolve"


async def test_a_report_on_wecom_is_acknowledged_on_telegram_by_the_same_person(
    wecom: WeComWorld,
) -> None:
    """张敏 got the card on WeCom but is at Telegram: /ticket 1 there shows the buttons."""
    ticket = await report_billboard(wecom)
    world = wecom.world
    world.send(TG_WORKER_G1, TG_WORKER_G1, "/ticket 1")
    await wecom.settle()
    message_id, data = world.button_data(TG_WORKER_G1, "确认")
    assert data == f"t:{ticket.id.hex}:ack"

    world.press(TG_WORKER_G1, message_id, data, user_id=TG_WORKER_G1)
    await wecom.settle()

    [ticket] = await all_tickets(world)
    assert ticket.status is TicketStatus.ACKNOWLEDGED and ticket.source_platform == "wecom"
    zhangmin = await person_id_of(wecom, "wecom", WORKER_G1)
    assert await person_id_of(wecom, "tg", str(TG_WORKER_G1)) == zhangmin  # one person
    assert ticket.assignee_id == zhangmin
    events = await audit(wecom, ticket)
    assert [e.platform for e in events if e.to_status == "acknowledged"] == ["tg"]
    assert {e.actor_id for e in events if e.action != "created"} == {zhangmin}
    assert "已由 张敏 确认受理" in texts_to(wecom, RIDER_WECOM)[-1]  # the reporter, on WeCom
    [card] = cards_to(wecom, WORKER_G1)
    await press_card(wecom, WORKER_G1, card, "确认")  # the stale WeCom card: a polite no
    assert "不能这样操作" in texts_to(wecom, WORKER_G1)[-1]
    assert len(await audit(wecom, ticket)) == len(events)


async def test_a_report_on_telegram_is_acknowledged_with_a_wecom_card(wecom: WeComWorld) -> None:
    """The other way round: the worker asks the WeCom app for /ticket 1 and presses its card."""
    world = wecom.world
    world.send(RESIDENTS, RIDER, "夜市南门门楼的广告牌松了，风一吹就晃，快来人")
    await wecom.settle()
    [ticket] = await all_tickets(world)
    assert ticket.source_platform == "tg" and ticket.grid_id == "G1"
    assert not cards_to(wecom, WORKER_G1)  # the ping went to Telegram, where the report is

    await wecom.app_callback(wecom.fake.text_callback(WORKER_G1, "/ticket 1"))
    await wecom.settle()
    [card] = cards_to(wecom, WORKER_G1)
    assert "#1" in card.content["main_title"]["title"]
    await press_card(wecom, WORKER_G1, card, "确认")

    [ticket] = await all_tickets(world)
    assert ticket.status is TicketStatus.ACKNOWLEDGED
    zhangmin = await person_id_of(wecom, "tg", str(TG_WORKER_G1))
    assert await person_id_of(wecom, "wecom", WORKER_G1) == zhangmin
    events = await audit(wecom, ticket)
    assert [(e.actor_id, e.platform) for e in events if e.to_status == "acknowledged"] == [
        (zhangmin, "wecom")
    ]
    assert "已由 张敏 确认受理" in world.texts_to(RESIDENTS)[-1]  # the Telegram thread
