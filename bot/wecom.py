"""WeCom (企业微信) adapter: decrypted callbacks become neutral messages and button presses.

Two inbound surfaces:
- the self-built app (自建应用): XML callbacks from one-to-one sessions with the app, parsed with
  wechatpy; a template card's button press arrives as a `template_card_event`;
- the AI bot (智能机器人): JSON callbacks for messages that @-mention it inside a group (or in
  its own one-to-one session).

Chat ids: "wecom:<userid>" for a person's private session, "wecom:<chatid>" for a group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import xmltodict
from wechatpy.messages import BaseMessage
from wechatpy.work.messages import (
    ImageMessage,
    LocationMessage,
    ShortVideoMessage,
    TextMessage,
    VideoMessage,
    VoiceMessage,
)
from wechatpy.work.parser import parse_message

from handlers.actions import ButtonPress
from handlers.messages import (
    Attachment,
    AttachmentKind,
    ChatKind,
    Datum,
    GeoPoint,
    Incoming,
    Platform,
    Sender,
)

PLATFORM = Platform.WECOM.value
TEMPLATE_CARD_EVENT = "template_card_event"
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s|$)")
_LEADING_MENTION = re.compile(r"^\s*@\S+\s*")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# App callback fields this adapter reads. Each must be plain text: xmltodict makes a repeated
# element a list and one with children a dict, which would end up as ids or text in str() form.
_TEXT_FIELDS = (
    "FromUserName",
    "CreateTime",
    "MsgType",
    "MsgId",
    "Content",
    "MediaId",
    "Recognition",
    "Location_X",
    "Location_Y",
    "Event",
    "EventKey",
    "TaskId",
    "ResponseCode",
)


class MalformedCallback(ValueError):
    """A decrypted callback body that is not a message this adapter understands the shape of."""


@dataclass(frozen=True, slots=True)
class CardPress:
    """A template card button press, with what is needed to update the card afterwards."""

    press: ButtonPress
    response_code: str
    task_id: str


def chat_id_of(native_id: str) -> str:
    """The neutral chat id of a WeCom user (private session) or group chat."""
    return f"{PLATFORM}:{native_id}"


def command_of(text: str) -> str | None:
    """'/report 3栋漏水' → 'report'."""
    match = _COMMAND.match(text.strip())
    return match[1].lower() if match else None


def dedupe_key(fields: dict[str, Any]) -> str:
    """MsgId for messages; sender + CreateTime (+ event) for events, which carry no MsgId."""
    if fields.get("MsgId"):
        return str(fields["MsgId"])
    return f"ev:{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}:" + str(
        fields.get("Event", "")
    )


def app_fields(xml: str) -> dict[str, Any]:
    """The decrypted XML callback as a flat dict; MalformedCallback when it is not one."""
    try:
        parsed = xmltodict.parse(xml)
    except Exception as error:  # expat raises several types; all mean "not XML"
        raise MalformedCallback("body is not XML") from error
    fields = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(fields, dict) or not fields.get("MsgType") or not fields.get("FromUserName"):
        raise MalformedCallback("callback lacks MsgType or FromUserName")
    not_text = [name for name in _TEXT_FIELDS if not isinstance(fields.get(name), str | None)]
    if not_text:
        raise MalformedCallback(f"{', '.join(not_text)} not plain text")
    return fields


def check_app_callback(xml: str) -> dict[str, Any]:
    """The fields of an app callback that translates; MalformedCallback when it does not."""
    fields = app_fields(xml)
    if fields.get("MsgType") == "event":
        translate_card_event(xml)
    else:
        msg_id = fields.get("MsgId") or ""
        if not (msg_id.isascii() and msg_id.isdigit()):
            raise MalformedCallback("message without a numeric MsgId")
        translate_app_message(xml)
    return fields


def check_ai_bot_callback(payload: dict[str, Any]) -> None:
    """MalformedCallback unless the AI bot callback translates (the time plays no part)."""
    translate_ai_bot_message(payload, received_at=_EPOCH)


def translate_app_message(xml: str) -> Incoming | None:
    """A message a user sent to the app in their private session; None for other kinds."""
    fields = app_fields(xml)
    try:
        message = parse_message(xml)
    except Exception as error:  # wechatpy converts field types and raises what they raise
        raise MalformedCallback(f"{type(error).__name__} while reading the message") from error
    if not isinstance(
        message,
        TextMessage
        | ImageMessage
        | VoiceMessage
        | VideoMessage
        | ShortVideoMessage
        | LocationMessage,
    ):
        return None
    text = _text_of(message)
    return Incoming(
        platform=Platform.WECOM,
        chat_id=chat_id_of(message.source),
        chat_kind=ChatKind.PRIVATE,
        sender=Sender(user_id=message.source),
        message_id=dedupe_key(fields),
        sent_at=_sent_at(fields.get("CreateTime")),
        text=text,
        attachments=_app_attachments(message),
        location=_app_location(message),
        command=command_of(text),
    )


def _text_of(message: BaseMessage) -> str:
    if isinstance(message, TextMessage):
        return str(message.content or "")
    if isinstance(message, VoiceMessage):
        return str(message.recognition or "")  # WeCom's speech-to-text, when enabled
    return ""


def _app_attachments(message: BaseMessage) -> tuple[Attachment, ...]:
    kinds: tuple[tuple[type[BaseMessage], AttachmentKind], ...] = (
        (ImageMessage, AttachmentKind.PHOTO),
        (VoiceMessage, AttachmentKind.VOICE),
        (VideoMessage, AttachmentKind.VIDEO),
        (ShortVideoMessage, AttachmentKind.VIDEO),
    )
    for message_type, kind in kinds:
        if isinstance(message, message_type):
            return (Attachment(kind=kind, file_id=str(message.media_id)),)
    return ()


def _app_location(message: BaseMessage) -> GeoPoint | None:
    if not isinstance(message, LocationMessage):
        return None
    try:
        latitude, longitude = float(message.location_x), float(message.location_y)
    except (TypeError, ValueError) as error:
        raise MalformedCallback("location without numeric Location_X / Location_Y") from error
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # also false for NaN
        raise MalformedCallback("location outside the globe")
    return GeoPoint(latitude=latitude, longitude=longitude, datum=Datum.GCJ02)


def _sent_at(raw: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(raw)), UTC)
    except (TypeError, ValueError, OverflowError) as error:
        raise MalformedCallback("CreateTime is not a Unix time") from error


def translate_card_event(xml: str) -> CardPress | None:
    """A template card button press as a neutral ButtonPress; None for other events."""
    fields = app_fields(xml)
    if fields.get("MsgType") != "event" or fields.get("Event") != TEMPLATE_CARD_EVENT:
        return None
    user_id = str(fields["FromUserName"])
    task_id = str(fields.get("TaskId") or "")
    if not task_id or not fields.get("EventKey"):
        raise MalformedCallback("card press without TaskId or EventKey")
    press = ButtonPress(
        platform=PLATFORM,
        chat_id=chat_id_of(user_id),
        message_id=task_id,
        sender=Sender(user_id=user_id),
        data=str(fields.get("EventKey") or ""),
        press_id=dedupe_key(fields),
    )
    return CardPress(
        press=press, response_code=str(fields.get("ResponseCode") or ""), task_id=task_id
    )


@dataclass(frozen=True, slots=True)
class AiBotMessage:
    """An AI bot callback: the neutral message, its image URLs and the one-use reply URL."""

    incoming: Incoming
    image_urls: tuple[str, ...]
    response_url: str | None


def translate_ai_bot_message(
    payload: dict[str, Any], *, received_at: datetime
) -> AiBotMessage | None:
    """A JSON AI bot callback (text or mixed text + images) as a neutral message."""
    try:
        message_id = _string(payload["msgid"], "msgid")
        user_id = _string(payload["from"]["userid"], "from.userid")
        kind = _string(payload["msgtype"], "msgtype")
    except (KeyError, TypeError) as error:
        raise MalformedCallback("AI bot callback lacks msgid, from.userid or msgtype") from error
    if not message_id or not user_id:
        raise MalformedCallback("AI bot callback with an empty msgid or from.userid")
    if kind not in {"text", "mixed", "image"}:
        return None
    texts, image_urls = _ai_bot_parts(payload, kind)
    group = payload.get("chattype") == "group"
    native_chat = _string(payload.get("chatid") or "", "chatid") if group else user_id
    if not native_chat:
        raise MalformedCallback("group callback without chatid")
    text = _LEADING_MENTION.sub("", " ".join(texts), count=1) if group else " ".join(texts)
    text = text.strip()
    incoming = Incoming(
        platform=Platform.WECOM,
        chat_id=chat_id_of(native_chat),
        chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE,
        sender=Sender(user_id=user_id),
        message_id=message_id,
        sent_at=received_at.astimezone(UTC),  # AI bot callbacks carry no send time
        text=text,
        attachments=tuple(Attachment(kind=AttachmentKind.PHOTO, file_id=url) for url in image_urls),
        mentions_bot=group,
        command=command_of(text),
    )
    response_url = payload.get("response_url")
    return AiBotMessage(incoming, tuple(image_urls), str(response_url) if response_url else None)


def _ai_bot_parts(payload: dict[str, Any], kind: str) -> tuple[list[str], list[str]]:
    try:
        if kind == "text":
            return [_string(payload["text"]["content"], "text.content")], []
        if kind == "image":
            return [], [_string(payload["image"]["url"], "image.url")]
        texts: list[str] = []
        urls: list[str] = []
        items = payload["mixed"]["msg_item"]
        if not isinstance(items, list):
            raise MalformedCallback("AI bot mixed.msg_item is not a list")
        for item in items:
            if item.get("msgtype") == "text":
                texts.append(_string(item["text"]["content"], "mixed text.content"))
            elif item.get("msgtype") == "image":
                urls.append(_string(item["image"]["url"], "mixed image.url"))
        return texts, urls
    except (KeyError, TypeError, AttributeError) as error:
        raise MalformedCallback(f"AI bot {kind} message has an unexpected shape") from error


def _string(value: object, field: str) -> str:
    """A JSON string field of an AI bot callback; MalformedCallback for any other type."""
    if not isinstance(value, str):
        raise MalformedCallback(f"AI bot callback's {field} is not a string")
    return value
