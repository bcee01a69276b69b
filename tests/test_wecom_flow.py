"""WeCom end to end: reports over the app and the AI bot become tickets; cards acknowledge.

Users act through the fake WeCom (signed, encrypted callbacks over HTTP); the real bot serves
WeCom and Telegram on one database; assertions read what the fake recorded and the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.fake_wecom import AppMessage, CallbackSigner, SignedCallback
from bot.simulation import RESIDENTS, RIDER
from bot.simulation import SECRETARY as TG_SECRETARY
from bot.simulation import STAFF as TG_STAFF
from bot.simulation import STAFF_GROUP as TG_STAFF_GROUP
from bot.simulation import WORKER_G1 as TG_WORKER_G1
from bot.wecom_simulation import (
    RESIDENTS_WECOM,
    RIDER_WECOM,
    STAFF_WECOM,
    WeComWorld,
    wecom_world,
)
from handlers.actions import Outgoing
from handlers.community import CommunityConfig
from handlers.geo import wgs84_to_gcj02
from handlers.runtime import queue
from schedules.escalation import escalate_overdue
from schedules.reminders import send_due_reminders
from storage.models import (
    OutboxMessage,
    PlatformAccount,
    ProcessedMessage,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketStatus,
)
from tests.conftest import all_tickets

PHOTO = b"\xff\xd8\xff\xe0" + b"billboard" * 50
BILLBOARD = "夜市门楼上的广告牌松了，风一吹就晃，很危险"
WORKER_G1 = "zhangmin"  # 张敏, grid G1's worker (examples/community.yaml)
RESIDENT_WECOM = "resident_wang"  # a resident in the WeCom residents' group
EVENT_STARTS_AT = datetime(2023, 7, 12, 11, 30, tzinfo=UTC)  # 19:30 in Shanghai
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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
    wecom: WeComWorld, user_id: str, card: AppMessage, label_part: str, *, thrice: bool = False
) -> list[int]:
    """A member presses a card's button (WeCom may deliver the press three times)."""
    task_id = str(card.content["task_id"])
    xml = wecom.fake.press_button(user_id, task_id=task_id, key=button_key(card, label_part))
    statuses = await (deliver_thrice(wecom, xml) if thrice else wecom.app_callback(xml))
    await wecom.settle()
    return statuses


async def deliver_thrice(wecom: WeComWorld, xml: str) -> list[int]:
    """WeCom's retries: the same signed request again while the first is handled, and after."""
    signed = wecom.fake.sign_app_callback(xml)
    answers = [await wecom.fake.post_callback(wecom.app_url, signed) for _ in range(2)]
    await wecom.channel.server.drain()
    answers.append(await wecom.fake.post_callback(wecom.app_url, signed))
    await wecom.channel.server.drain()
    return [answer.status for answer in answers]


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


async def test_an_at_mention_in_a_wecom_group_is_a_report_answered_in_the_group(
    wecom: WeComWorld,
) -> None:
    status = await wecom.ai_bot_callback(
        RESIDENTS_WECOM, RESIDENT_WECOM, "@扬帆小助手 12栋楼下的垃圾好几天没人清了，很臭"
    )
    await wecom.settle()

    assert status == 200
    [ticket] = await all_tickets(wecom.world)
    assert ticket.source_chat_id == f"wecom:{RESIDENTS_WECOM}" and ticket.grid_id == "G3"
    assert ticket.description.startswith("12栋楼下")  # the @-mention is not part of it
    [reply] = wecom.fake.ai_bot_replies
    assert reply.chat_id == RESIDENTS_WECOM and reply.msgtype == "markdown"
    assert "已登记工单 #1" in reply.content["content"]
    for worker in ("wangfang", "zhaolei"):  # grid G3's two workers
        assert "新工单 #1" in cards_to(wecom, worker)[0].content["main_title"]["title"]
    assert not wecom.fake.robot_messages and not wecom.fake.chat_messages

    await press_card(wecom, "zhaolei", cards_to(wecom, "zhaolei")[0], "确认")
    [update] = wecom.fake.robot_messages  # the reply URL is spent: the group's robot tells
    assert update.key == wecom.robot_keys[RESIDENTS_WECOM]
    assert "工单 #1 已由 赵磊 确认受理" in update.text


async def test_a_mixed_text_and_image_mention_stores_the_decrypted_photo(
    wecom: WeComWorld,
) -> None:
    url = wecom.fake.add_ai_bot_image(PHOTO)
    status = await wecom.ai_bot_callback(
        RESIDENTS_WECOM, RESIDENT_WECOM, f"@扬帆小助手 {BILLBOARD}", image_urls=[url]
    )
    await wecom.settle()

    assert status == 200
    [ticket] = await all_tickets(wecom.world)
    assert ticket.grid_id == "G1"
    assert len(wecom.fake.calls_to("aibot/file")) == 1  # fetched once, decrypted by the bot
    [attachment] = await rows(wecom, TicketAttachment)
    assert attachment.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert Path(attachment.media_path or "").read_bytes() == PHOTO  # noqa: ASYNC240
    assert "已登记工单 #1" in wecom.fake.ai_bot_replies[0].content["content"]
    [photo] = [m for m in wecom.fake.messages_to(WORKER_G1) if m.msgtype == "image"]
    [upload] = wecom.fake.calls_to("media/upload")  # the worker sees the photo too
    assert photo.content["media_id"] == upload.response["media_id"]


async def test_a_callback_delivered_three_times_makes_one_ticket_and_one_answer(
    wecom: WeComWorld,
) -> None:
    xml = wecom.fake.text_callback(RIDER_WECOM, "夜市南门门楼的广告牌松了，风一吹就晃，快来人")
    assert await deliver_thrice(wecom, xml) == [200, 200, 200]
    await wecom.settle()

    [ticket] = await all_tickets(wecom.world)
    assert len(texts_to(wecom, RIDER_WECOM)) == 1
    assert len(cards_to(wecom, WORKER_G1)) == 1
    [card] = cards_to(wecom, WORKER_G1)
    assert await press_card(wecom, WORKER_G1, card, "确认", thrice=True) == [200, 200, 200]

    acknowledged = [e for e in await audit(wecom, ticket) if e.to_status == "acknowledged"]
    assert len(acknowledged) == 1
    assert len(wecom.fake.calls_to("message/update_template_card")) == 1
    assert sum("确认受理" in t for t in texts_to(wecom, RIDER_WECOM)) == 1
    assert len(cards_to(wecom, WORKER_G1)) == 2  # the ping, then one card with the next steps


@SQLITE_ONLY  # the database plays no part beyond what other scenarios check
async def test_an_ai_bot_callback_delivered_three_times_makes_one_ticket(
    wecom: WeComWorld,
) -> None:
    message = wecom.fake.ai_bot_message(
        chat_id=RESIDENTS_WECOM, user_id=RESIDENT_WECOM, text="@扬帆小助手 3栋电梯困人了，快来"
    )
    answers = await wecom.fake.deliver_ai_bot_callback(wecom.ai_bot_url, message, times=3)
    await wecom.settle()

    assert [answer.status for answer in answers] == [200, 200, 200]
    assert len(await all_tickets(wecom.world)) == 1
    assert len(wecom.fake.ai_bot_replies) == 1


async def test_forged_stale_foreign_and_malformed_callbacks_get_a_4xx_and_store_nothing(
    wecom: WeComWorld,
) -> None:
    fake = wecom.fake
    xml = fake.text_callback(RIDER_WECOM, "夜市南门门楼的广告牌松了，快来人")
    now = int(wecom.world.clock.now().timestamp())
    signer = fake.app_signer
    other_corp = CallbackSigner(
        token=signer.token, encoding_aes_key=signer.encoding_aes_key, receive_id="wwOtherCorp01"
    )

    def signed(by: CallbackSigner, body: str, at: int = now) -> SignedCallback:
        return by.app_callback(body, timestamp=str(at), nonce="1234567890", agent_id=fake.agent_id)

    refused = {
        "forged signature": signed(signer, xml).with_query(msg_signature="0" * 40),
        "stale timestamp": signed(signer, xml, now - 600),
        "wrong corp id": signed(other_corp, xml),
        "body not XML": signed(signer, xml).with_body(b"{not xml"),
        "plaintext not a message": signed(signer, "<xml><Content>hi</Content></xml>"),
    }
    answers = {
        name: (await fake.post_callback(wecom.app_url, request)).status
        for name, request in refused.items()
    }
    broken_mixed = {"msgid": "m1", "from": {"userid": "u"}, "msgtype": "mixed", "mixed": {}}
    for name, payload in (
        ("AI bot message without msgid", {"msgtype": "text"}),
        ("AI bot mixed message without items", broken_mixed),
    ):
        request = fake.ai_bot_signer.ai_bot_callback(payload, timestamp=str(now), nonce="1")
        answers[name] = (await fake.post_callback(wecom.ai_bot_url, request)).status
    await wecom.settle()

    assert answers == {
        "forged signature": 403,
        "stale timestamp": 400,
        "wrong corp id": 403,
        "body not XML": 400,
        "plaintext not a message": 400,
        "AI bot message without msgid": 400,
        "AI bot mixed message without items": 400,
    }
    assert await rows(wecom, ProcessedMessage) == []
    assert await all_tickets(wecom.world) == []
    assert await rows(wecom, OutboxMessage) == []
    assert not fake.app_messages and not fake.ai_bot_replies


@SQLITE_ONLY  # the database plays no part beyond what other scenarios check
async def test_url_verification_answers_the_decrypted_echo(wecom: WeComWorld) -> None:
    for url, ai_bot in ((wecom.app_url, False), (wecom.ai_bot_url, True)):
        answer, echo = await wecom.fake.verify_callback_url(url, ai_bot=ai_bot)
        assert (answer.status, answer.text) == (200, echo)
    answer, _ = await wecom.fake.verify_callback_url(wecom.app_url, ai_bot=True)  # wrong key
    assert answer.status == 403


async def test_an_expired_or_revoked_token_is_refreshed_and_nothing_is_lost(
    wecom: WeComWorld,
) -> None:
    fake = wecom.fake
    await report_billboard(wecom)
    assert fake.tokens_issued == 1

    fake.expire_tokens()  # mid-run: the next call, a media download, meets 42001
    await wecom.app_callback(fake.image_callback(RIDER_WECOM, PHOTO + b"rubbish"))
    await wecom.app_callback(fake.text_callback(RIDER_WECOM, "12栋楼下的垃圾好几天没人清了，很臭"))
    await wecom.settle()
    fake.invalidate_tokens()  # and again (40014) before the worker's press is answered
    [card] = cards_to(wecom, "wangfang")
    await press_card(wecom, "wangfang", card, "确认")

    assert fake.tokens_issued == 3
    refused = [c for c in fake.calls if isinstance(c.response, dict) and c.response.get("errcode")]
    assert {c.response["errcode"] for c in refused} == {42001, 40014}
    assert all(c.status == 200 for c in fake.calls)
    _, second = await all_tickets(wecom.world)
    assert (second.grid_id, second.status) == ("G3", TicketStatus.ACKNOWLEDGED)
    stored = {a.sha256 for a in await rows(wecom, TicketAttachment)}
    assert hashlib.sha256(PHOTO + b"rubbish").hexdigest() in stored
    confirmations = [t for t in texts_to(wecom, RIDER_WECOM) if "已登记工单" in t]
    assert len(confirmations) == 2
    assert "已由 王芳 确认受理" in texts_to(wecom, RIDER_WECOM)[-1]
    assert wecom.fake.card(str(card.content["task_id"]))["replaced_name"]


async def test_an_event_invitation_and_its_reminder_reach_the_wecom_group_through_its_robot(
    wecom: WeComWorld,
) -> None:
    world = wecom.world
    world.send(TG_STAFF, TG_STAFF, "/event 电影之夜 | 2023-07-12 19:30 | 扬帆公园 | 名额 10")
    await wecom.settle()

    robot = wecom.robot_keys[RESIDENTS_WECOM]
    [invitation] = wecom.fake.robot_messages
    assert invitation.key == robot and "电影之夜" in invitation.text
    assert "07-12 19:30" in invitation.text and "扬帆公园" in invitation.text
    assert not wecom.fake.chat_messages  # the staff group hears nothing of it

    world.clock.advance((EVENT_STARTS_AT - timedelta(hours=24) - world.clock.now()).total_seconds())
    assert await send_due_reminders(world.service.runtime) >= 1
    await wecom.settle()
    reminders = [m for m in wecom.fake.robot_messages if "活动提醒" in m.text]
    assert [m.key for m in reminders] == [robot]
    assert "24 小时后" in reminders[0].text


async def test_a_robot_gets_at_most_20_messages_a_minute_and_loses_none(
    wecom: WeComWorld,
) -> None:
    """22 notices and 20 mergeable replies for one robot: paced and merged, never refused."""
    runtime = wecom.world.service.runtime
    chat_id = f"wecom:{RESIDENTS_WECOM}"
    notices = [f"通知 {n}：明天上午停水检修" for n in range(22)]
    replies = [f"回复 {n}：已登记" for n in range(20)]
    async with runtime.sessions() as session, session.begin():
        for text in notices:
            await queue(runtime, session, Outgoing(chat_id=chat_id, text=text))
        for text in replies:
            await queue(runtime, session, Outgoing(chat_id, text, coalesce_key="group-reply"))
    await wecom.settle()

    sent = wecom.fake.robot_messages
    assert all(c.response == {"errcode": 0, "errmsg": "ok"} for c in wecom.fake.calls)
    joined = "\n".join(m.text for m in sent)
    assert all(joined.count(text) == 1 for text in notices + replies)  # none lost or doubled
    assert len(sent) < len(notices) + len(replies)  # replies were merged
    times = [m.at for m in sent]
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) <= 20
    assert times[-1] - times[0] >= 60  # the rest waited for the next minute


async def test_an_overdue_urgent_wecom_ticket_escalates_to_the_wecom_staff_group_and_secretary(
    wecom: WeComWorld,
) -> None:
    ticket = await report_billboard(wecom)
    assert ticket.urgent and ticket.ack_due_at is not None
    world = wecom.world
    world.clock.advance((ticket.ack_due_at - world.clock.now()).total_seconds() + 60)

    assert await escalate_overdue(world.service.runtime) == 1
    assert await escalate_overdue(world.service.runtime) == 0  # once per stage
    await wecom.settle()

    [group_notice] = wecom.fake.chat_messages
    assert group_notice.chat_id == STAFF_WECOM and "#1" in group_notice.text
    assert "张敏" in group_notice.text  # who was responsible
    assert set(group_notice.delivered_to) >= {"chenjing", "liuyang"}
    [private] = [t for t in texts_to(wecom, "chenjing") if "#1" in t]
    assert private == group_notice.text
    assert not world.texts_to(TG_STAFF_GROUP) and not world.texts_to(TG_SECRETARY)


@SQLITE_ONLY  # the database plays no part beyond what other scenarios check
async def test_a_gcj02_location_from_the_app_lands_in_the_right_grid(
    wecom: WeComWorld, sample_community: CommunityConfig
) -> None:
    """WeChat shares GCJ-02 points: the raw numbers lie outside grid G3, WGS84 inside it."""
    longitude, latitude = wgs84_to_gcj02(113.0370, 28.1985)  # the middle of grid G3
    raw = sample_community.grid_at(longitude, latitude)
    assert raw is None or raw.id != "G3"
    pin = wecom.fake.location_callback(
        RIDER_WECOM, latitude=latitude, longitude=longitude, label="扬帆小区二期"
    )
    await wecom.app_callback(pin)
    await wecom.app_callback(
        wecom.fake.text_callback(RIDER_WECOM, "这里的垃圾堆了好几天没人清理，很臭")
    )
    await wecom.settle()

    [ticket] = await all_tickets(wecom.world)
    assert ticket.grid_id == "G3"
    assert ticket.latitude == pytest.approx(28.1985, abs=1e-5)
    assert ticket.longitude == pytest.approx(113.0370, abs=1e-5)
    assert "新工单 #1" in cards_to(wecom, "wangfang")[0].content["main_title"]["title"]


@SQLITE_ONLY  # the database plays no part beyond what other scenarios check
async def test_a_command_delivered_three_times_is_answered_once(wecom: WeComWorld) -> None:
    xml = wecom.fake.text_callback(RIDER_WECOM, "/help")
    assert await deliver_thrice(wecom, xml) == [200, 200, 200]
    await wecom.settle()
    [answer] = texts_to(wecom, RIDER_WECOM)
    assert "/ticket" in answer
