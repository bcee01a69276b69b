"""The WeCom messenger against the fake WeCom over HTTP: which API each neutral message takes.
(No database plays a role here.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.fake_wecom import FakeWeCom
from bot.wecom import translate_card_event
from bot.wecom_api import WeComApi
from bot.wecom_messenger import RESPONSE_URL_SECONDS, WeComMessenger
from handlers.actions import Button, ButtonPress, Document, MediaRef, Mention, Outgoing
from handlers.clock import FakeClock
from handlers.messages import AttachmentKind, Sender

START = datetime(2023, 7, 10, 12, 0, tzinfo=UTC)
ROBOT_GROUP, APP_CHAT = "wrResidents01", "wrStaff09"
BUTTONS = ((Button("✅ 确认接单", "t:abc:ack"), Button("🚫 无效", "t:abc:reject")),)
STORED_PHOTO = b"\xff\xd8 a photo kept in the media store"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(clock=FakeClock(START)) as fake:
        fake.add_member("zhangmin", "张敏")
        fake.add_member("liuyang", "刘洋")
        fake.add_app_chat(APP_CHAT, ["zhangmin", "liuyang"])
        fake.add_robot("robot-key", "居民群")
        yield fake


@pytest.fixture
async def messenger(fake: FakeWeCom) -> AsyncIterator[WeComMessenger]:
    clock = fake.clock
    assert isinstance(clock, FakeClock)
    api = WeComApi(
        corp_id=fake.corp_id,
        secret=fake.secret,
        agent_id=fake.agent_id,
        base_url=fake.base_url,
        clock=clock,
    )
    stored = {"ab" * 32: STORED_PHOTO}
    async with api:
        yield WeComMessenger(
            api, clock, robot_keys={ROBOT_GROUP: "robot-key"}, stored_media=stored.get
        )


async def test_a_private_text_goes_through_message_send(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    message_id = await messenger.send(Outgoing("wecom:zhangmin", "你好" * 2000))

    [sent] = fake.messages_to("zhangmin")
    assert (sent.msgtype, sent.msgid) == ("text", message_id)
    assert len(sent.text.encode()) <= 2048 and sent.text.endswith("…")  # cut as WeCom counts


async def test_private_buttons_make_a_card_whose_task_id_is_the_message_id(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    task_id = await messenger.send(
        Outgoing("wecom:zhangmin", "🔔 新工单 #1\n描述：广告牌松了", buttons=BUTTONS)
    )

    card = fake.card(task_id)
    assert card["main_title"]["title"] == "🔔 新工单 #1" and "广告牌" in card["sub_title_text"]
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [
        ("✅ 确认接单", "t:abc:ack"),
        ("🚫 无效", "t:abc:reject"),
    ]


async def test_a_press_greys_its_card_out_and_a_long_answer_also_comes_as_text(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    short_task = await messenger.send(Outgoing("wecom:zhangmin", "#1", buttons=BUTTONS))
    long_task = await messenger.send(Outgoing("wecom:zhangmin", "#2", buttons=BUTTONS))
    for task_id, answer in (
        (short_task, "好的。"),
        (long_task, "抱歉，只有负责的网格员可以操作。"),
    ):
        press_as_wecom_would(fake, messenger, task_id)
        press = ButtonPress("wecom", "wecom:zhangmin", task_id, Sender("zhangmin"), "t:abc:ack")
        await messenger.answer_press(press, answer)

    assert fake.card(short_task)["replaced_name"] == "好的。"
    assert fake.card(long_task)["replaced_name"] == "…"
    texts = [m.text for m in fake.messages_to("zhangmin") if m.msgtype == "text"]
    assert texts == ["抱歉，只有负责的网格员可以操作。"]


def press_as_wecom_would(fake: FakeWeCom, messenger: WeComMessenger, task_id: str) -> None:
    """Zhang Min presses the card's first button; the channel keeps the press's response code."""
    card = translate_card_event(fake.press_button("zhangmin", task_id=task_id, key="t:abc:ack"))
    assert card is not None
    messenger.remember_press("zhangmin", task_id, card.response_code)


async def test_an_edit_of_a_pressed_card_replaces_it_once_and_groups_are_never_edited(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    task_id = await messenger.send(Outgoing("wecom:zhangmin", "活动 0/10", buttons=BUTTONS))
    assert await messenger.send(Outgoing("wecom:zhangmin", "活动 1/10", edit_message_id=task_id))
    assert not fake.calls_to("message/update_template_card")  # no press, no response code

    press_as_wecom_would(fake, messenger, task_id)
    edited = Outgoing("wecom:zhangmin", "活动 2/10", buttons=BUTTONS, edit_message_id=task_id)
    assert await messenger.send(edited) == task_id
    assert fake.card(task_id)["main_title"]["title"] == "活动 2/10"
    await messenger.send(Outgoing(f"wecom:{ROBOT_GROUP}", "x", edit_message_id="robot:1"))
    assert len(fake.calls_to("message/update_template_card")) == 1
    assert not fake.robot_messages


async def test_a_residents_group_with_a_robot_gets_webhook_messages_with_mentions(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    mention = Mention(user_id="zhangmin", name="张敏")
    await messenger.send(
        Outgoing(f"wecom:{ROBOT_GROUP}", "张敏 请看工单 #1", buttons=BUTTONS, mentions=(mention,))
    )

    [sent] = fake.robot_messages
    assert sent.content["mentioned_list"] == ["zhangmin"]
    # Robots and app chats show no buttons; naming them would invite presses that cannot be made.
    assert sent.text == "张敏 请看工单 #1"
    assert not fake.chat_messages


async def test_a_group_without_a_robot_is_an_app_chat(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    await messenger.send(Outgoing(f"wecom:{APP_CHAT}", "⏰ 工单超时"))
    [sent] = fake.chat_messages
    assert (sent.chat_id, sent.text) == (APP_CHAT, "⏰ 工单超时")
    assert set(sent.delivered_to) == {"zhangmin", "liuyang"}


async def test_the_reply_to_an_ai_bot_message_uses_its_response_url_once_within_an_hour(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    clock = fake.clock
    assert isinstance(clock, FakeClock)
    for message_id in ("CAIQ1", "CAIQ2"):
        payload = fake.ai_bot_message(chat_id=ROBOT_GROUP, user_id="wang", text="@bot hi")
        messenger.remember_response_url(ROBOT_GROUP, message_id, payload["response_url"])
    reply = Outgoing(f"wecom:{ROBOT_GROUP}", "✅ 已登记工单 #1", reply_to="CAIQ1")

    assert await messenger.send(reply) == "aibot:CAIQ1"
    await messenger.send(reply)  # the URL is spent: the robot takes the second
    clock.advance(RESPONSE_URL_SECONDS + 1)
    await messenger.send(Outgoing(f"wecom:{ROBOT_GROUP}", "late", reply_to="CAIQ2"))

    [answer] = fake.ai_bot_replies
    assert (answer.chat_id, answer.msgtype) == (ROBOT_GROUP, "markdown")
    assert answer.content["content"] == "✅ 已登记工单 #1"
    assert [m.text for m in fake.robot_messages] == ["✅ 已登记工单 #1", "late"]


async def test_photos_forward_by_media_id_or_upload_from_the_media_store(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    known = fake.add_media(b"\xff\xd8 app photo", filename="a.jpg")
    media = (
        MediaRef(AttachmentKind.PHOTO, known),
        MediaRef(AttachmentKind.PHOTO, "sha256:" + "ab" * 32),
        MediaRef(AttachmentKind.PHOTO, "AgACAgIAAxkBAAI-telegram-file-id"),  # skipped
    )
    await messenger.send(Outgoing("wecom:zhangmin", "#1", buttons=BUTTONS, media=media))

    images = [m for m in fake.messages_to("zhangmin") if m.msgtype == "image"]
    [upload] = fake.calls_to("media/upload")
    assert [m.content["media_id"] for m in images] == [known, upload.response["media_id"]]
    assert len(fake.messages_to("zhangmin")) == 3  # the card and two photos


async def test_a_document_is_uploaded_and_sent_as_a_file(
    fake: FakeWeCom, messenger: WeComMessenger
) -> None:
    ics = Document("event.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    await messenger.send(Outgoing("wecom:zhangmin", "📅 加入日历", document=ics))
    kinds = [m.msgtype for m in fake.messages_to("zhangmin")]
    assert kinds == ["text", "file"]
    assert fake.calls_to("media/upload")[0].query["type"] == "file"
