"""Platform-neutral outgoing actions and the Messenger protocol adapters implement.

Handlers never call a platform: they return or enqueue `Outgoing` messages, and the adapter
that owns the chat sends them. Chat ids are namespaced ("tg:-100123", "tg:5000001",
"wecom:wrXXXX"); a private chat's id is the user's id on that platform.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from handlers.messages import AttachmentKind, Sender

CALLBACK_DATA_MAX_BYTES = 64  # Telegram's limit for callback_data
TELEGRAM_TEXT_LIMIT = 4096  # Telegram counts message length in UTF-16 code units


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def private_chat_id(platform: str, user_id: str) -> str:
    """A person's private chat with the bot, namespaced: "tg:5000001", "wecom:zhangmin"."""
    return f"{platform}:{user_id}"


def is_group_chat(chat_id: str) -> bool:
    """Telegram groups have negative ids ("tg:-100…"); WeCom group chats start with "wr"."""
    platform, _, native = chat_id.partition(":")
    if platform == "wecom":
        return native.startswith("wr")
    return native.startswith("-")


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button; `data` comes back in a ButtonPress and must stay within 64 bytes."""

    text: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
            raise ValueError(f"button data over {CALLBACK_DATA_MAX_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file the platform already has (forwarding costs no re-upload)."""

    kind: AttachmentKind
    file_id: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A person to notify by name inside `text` (Telegram: a text mention of the user id)."""

    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Document:
    """A file to send as a document; text content (sent UTF-8 encoded) keeps the outbox JSON."""

    file_name: str
    content: str
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send; `coalesce_key` marks notices that may be merged when a chat is busy."""

    chat_id: str
    text: str
    reply_to: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    media: tuple[MediaRef, ...] = ()
    mentions: tuple[Mention, ...] = ()
    coalesce_key: str | None = None
    fallback_chat_id: str | None = None
    fallback_text: str | None = None
    edit_message_id: str | None = None  # replace the text and buttons of this sent message
    document: Document | None = None  # sent as a file with `text` as its caption

    def to_json(self) -> str:
        """Serialise for the outbox table."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Outgoing:
        """Rebuild from the outbox table."""
        data: dict[str, Any] = json.loads(raw)
        return cls(
            chat_id=data["chat_id"],
            text=data["text"],
            reply_to=data.get("reply_to"),
            buttons=tuple(tuple(Button(**b) for b in row) for row in data.get("buttons", [])),
            media=tuple(
                MediaRef(kind=AttachmentKind(m["kind"]), file_id=m["file_id"])
                for m in data.get("media", [])
            ),
            mentions=tuple(Mention(**m) for m in data.get("mentions", [])),
            coalesce_key=data.get("coalesce_key"),
            fallback_chat_id=data.get("fallback_chat_id"),
            fallback_text=data.get("fallback_text"),
            edit_message_id=data.get("edit_message_id"),
            document=Document(**data["document"]) if data.get("document") else None,
        )


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """Someone pressed an inline button under one of the bot's messages."""

    platform: str
    chat_id: str
    message_id: str
    sender: Sender
    data: str
    press_id: str = ""


class DeliveryError(Exception):
    """A send failed; subclasses say whether and when to try again."""


class RetryLater(DeliveryError):
    """The platform asked us to wait (HTTP 429 retry_after) or failed transiently (5xx)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(DeliveryError):
    """The recipient cannot be messaged (never started the bot, blocked it, left the chat)."""


class Rejected(DeliveryError):
    """The platform refused the message itself (bad request); retrying will not help."""


class Messenger(Protocol):
    """What an adapter offers handlers' output: send a message, answer a button press."""

    async def send(self, message: Outgoing) -> str:
        """Send and return the platform's message id; raise a DeliveryError on failure."""
        ...

    async def answer_press(self, press: ButtonPress, text: str | None = None) -> None:
        """Acknowledge a button press (a small toast on Telegram)."""
        ...
