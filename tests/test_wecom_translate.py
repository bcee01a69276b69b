"""bot/wecom.py: decrypted WeCom callbacks become neutral messages and button presses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.fake_wecom import (
    ai_bot_mixed_message,
    ai_bot_text_message,
    image_message_xml,
    location_message_xml,
    template_card_event_xml,
    text_message_xml,
    video_message_xml,
    voice_message_xml,
)
from bot.wecom import (
    MalformedCallback,
    check_ai_bot_callback,
    check_app_callback,
    translate_ai_bot_message,
    translate_app_message,
    translate_card_event,
)
from handlers.messages import AttachmentKind, ChatKind, Datum, GeoPoint, Platform

CORP = "ww5823bf96d3bd56c7"
AGENT = 1000002
SENT = 1688990400  # 2023-07-10 12:00 UTC
HEAD: dict[str, Any] = {"corp_id": CORP, "user_id": "rider_hu", "agent_id": AGENT}
RECEIVED = datetime(2023, 7, 10, 12, 0, 5, tzinfo=UTC)
RESPONSE_URL = "http://127.0.0.1:1/cgi-bin/aibot/response?response_code=abc"


def test_a_text_in_the_app_is_a_private_message_with_its_msgid_and_time() -> None:
    xml = text_message_xml(**HEAD, content="3栋楼道灯坏了", msg_id=7301, create_time=SENT)
    message = translate_app_message(xml)

    assert message is not None
    assert (message.platform, message.chat_id, message.chat_kind) == (
        Platform.WECOM,
        "wecom:rider_hu",
        ChatKind.PRIVATE,
    )
    assert (message.sender.user_id, message.message_id) == ("rider_hu", "7301")
    assert message.sent_at == datetime(2023, 7, 10, 12, 0, tzinfo=UTC)
    assert (message.text, message.command, message.attachments) == ("3栋楼道灯坏了", None, ())


def test_a_command_in_the_app_is_recognised() -> None:
    xml = text_message_xml(**HEAD, content="/ticket 12", msg_id=7302, create_time=SENT)
    message = translate_app_message(xml)
    assert message is not None and message.command == "ticket"


@pytest.mark.parametrize(
    ("xml", "kind"),
    [
        (
            image_message_xml(
                **HEAD, pic_url="https://p/1", media_id="MEDIA1", msg_id=1, create_time=SENT
            ),
            AttachmentKind.PHOTO,
        ),
        (
            video_message_xml(
                **HEAD, media_id="MEDIA1", thumb_media_id="T", msg_id=1, create_time=SENT
            ),
            AttachmentKind.VIDEO,
        ),
        (
            voice_message_xml(**HEAD, media_id="MEDIA1", msg_id=1, create_time=SENT),
            AttachmentKind.VOICE,
        ),
    ],
    ids=["image", "video", "voice"],
)
def test_media_messages_carry_their_media_id_for_media_get(xml: str, kind: AttachmentKind) -> None:
    message = translate_app_message(xml)
    assert message is not None and message.is_media_only
    [attachment] = message.attachments
    assert (attachment.kind, attachment.file_id) == (kind, "MEDIA1")


def test_a_voice_message_keeps_wecoms_speech_recognition_as_text() -> None:
    xml = voice_message_xml(**HEAD, media_id="M", msg_id=1, create_time=SENT).replace(
        "</xml>", "<Recognition><![CDATA[12栋门口有积水]]></Recognition></xml>"
    )
    message = translate_app_message(xml)
    assert message is not None and message.text == "12栋门口有积水"


def test_a_location_is_a_gcj02_point_with_location_x_as_latitude() -> None:
    xml = location_message_xml(
        **HEAD, latitude=28.1952, longitude=113.0415, label="扬帆", msg_id=1, create_time=SENT
    )
    message = translate_app_message(xml)
    assert message is not None
    assert message.location == GeoPoint(latitude=28.1952, longitude=113.0415, datum=Datum.GCJ02)


def test_a_card_button_press_is_a_neutral_press_with_its_task_and_response_code() -> None:
    xml = template_card_event_xml(
        **HEAD,
        event_key="t:abc:ack",
        task_id="task1",
        response_code="RC",
        create_time=SENT,
    )
    card = translate_card_event(xml)

    assert card is not None
    press = card.press
    assert (press.platform, press.chat_id, press.message_id) == ("wecom", "wecom:rider_hu", "task1")
    assert (press.sender.user_id, press.data) == ("rider_hu", "t:abc:ack")
    assert press.press_id == f"ev:rider_hu:{SENT}:template_card_event"  # events have no MsgId
    assert (card.response_code, card.task_id) == ("RC", "task1")
    assert translate_app_message(xml) is None  # an event is not a message


def test_other_events_and_messages_are_not_presses() -> None:
    entering = (
        f"<xml><ToUserName>{CORP}</ToUserName><FromUserName>u</FromUserName>"
        f"<CreateTime>{SENT}</CreateTime><MsgType>event</MsgType>"
        f"<Event>enter_agent</Event><AgentID>{AGENT}</AgentID></xml>"
    )
    assert translate_card_event(entering) is None
    assert translate_app_message(entering) is None
    text = text_message_xml(**HEAD, content="hi", msg_id=1, create_time=SENT)
    assert translate_card_event(text) is None


@pytest.mark.parametrize(
    "xml",
    [
        "not xml at all",
        "<xml><Content>hi</Content></xml>",  # no MsgType or FromUserName
        "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType>"
        "<CreateTime>soon</CreateTime><Content>hi</Content><MsgId>1</MsgId></xml>",
        "<xml><FromUserName>u</FromUserName><MsgType>location</MsgType>"
        f"<CreateTime>{SENT}</CreateTime><Location_X>north</Location_X>"
        "<Location_Y>113.0</Location_Y><MsgId>1</MsgId></xml>",
        "<notxml><FromUserName>u</FromUserName></notxml>",
    ],
    ids=["not-xml", "no-type", "bad-time", "bad-location", "wrong-root"],
)
def test_malformed_app_callbacks_are_refused(xml: str) -> None:
    with pytest.raises(MalformedCallback):
        check_app_callback(xml)


def test_an_at_mention_in_a_group_is_a_group_message_without_the_mention() -> None:
    payload = ai_bot_text_message(
        msgid="CAIQ1",
        aibotid="bot",
        chat_id="wrGroup01",
        user_id="resident_wang",
        content="@扬帆小助手 12栋楼下垃圾没人清",
        response_url=RESPONSE_URL,
    )
    translated = translate_ai_bot_message(payload, received_at=RECEIVED)

    assert translated is not None
    message = translated.incoming
    assert (message.chat_id, message.chat_kind) == ("wecom:wrGroup01", ChatKind.GROUP)
    assert (message.text, message.mentions_bot, message.message_id) == (
        "12栋楼下垃圾没人清",
        True,
        "CAIQ1",
    )
    assert message.sent_at == RECEIVED  # AI bot callbacks carry no send time
    assert (translated.response_url, translated.image_urls) == (RESPONSE_URL, ())


def test_a_mixed_message_joins_its_texts_and_lists_its_images() -> None:
    payload = ai_bot_mixed_message(
        msgid="CAIQ2",
        aibotid="bot",
        chat_id="wrGroup01",
        user_id="resident_wang",
        items=[("text", "@扬帆小助手 看这里"), ("image", "http://i/1"), ("text", "井盖没了")],
        response_url=RESPONSE_URL,
    )
    translated = translate_ai_bot_message(payload, received_at=RECEIVED)

    assert translated is not None
    assert translated.incoming.text == "看这里 井盖没了"
    assert translated.image_urls == ("http://i/1",)
    [photo] = translated.incoming.attachments
    assert (photo.kind, photo.file_id) == (AttachmentKind.PHOTO, "http://i/1")


def test_the_ai_bots_own_private_chat_is_a_private_message() -> None:
    payload = ai_bot_text_message(
        msgid="CAIQ3",
        aibotid="bot",
        chat_id="",
        user_id="resident_wang",
        content="/ticket 1",
        response_url=RESPONSE_URL,
        chat_type="single",
    )
    translated = translate_ai_bot_message(payload, received_at=RECEIVED)
    assert translated is not None
    message = translated.incoming
    assert (message.chat_id, message.chat_kind, message.command) == (
        "wecom:resident_wang",
        ChatKind.PRIVATE,
        "ticket",
    )


def test_other_ai_bot_message_types_are_ignored() -> None:
    payload = {"msgid": "x", "from": {"userid": "u"}, "msgtype": "stream", "stream": {}}
    assert translate_ai_bot_message(payload, received_at=RECEIVED) is None


@pytest.mark.parametrize(
    "payload",
    [
        {"msgtype": "text", "text": {"content": "hi"}},
        {"msgid": "", "from": {"userid": "u"}, "msgtype": "text", "text": {"content": "hi"}},
        {"msgid": "x", "from": "u", "msgtype": "text", "text": {"content": "hi"}},
        {"msgid": "x", "from": {"userid": "u"}, "msgtype": "text", "text": "hi"},
        {"msgid": "x", "from": {"userid": "u"}, "msgtype": "mixed", "mixed": {}},
        {"msgid": "x", "from": {"userid": "u"}, "msgtype": "image", "image": {}},
        {
            "msgid": "x",
            "from": {"userid": "u"},
            "chattype": "group",
            "msgtype": "text",
            "text": {"content": "hi"},
        },
    ],
    ids=[
        "no-msgid",
        "empty-msgid",
        "from-not-object",
        "text-not-object",
        "no-items",
        "no-url",
        "group-without-chatid",
    ],
)
def test_malformed_ai_bot_callbacks_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedCallback):
        check_ai_bot_callback(payload)
