"""Platform-neutral message types: adapters translate into these, handlers read only these."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum


class Platform(StrEnum):
    TELEGRAM = "tg"
    WECOM = "wecom"


class ChatKind(StrEnum):
    GROUP = "group"
    PRIVATE = "private"


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    VOICE = "voice"
    FILE = "file"
    STICKER = "sticker"


class Datum(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"


@dataclass(frozen=True, slots=True)
class Sender:
    user_id: str
    display_name: str = ""
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: AttachmentKind
    file_id: str = ""
    file_name: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    media_path: str | None = None


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float
    datum: Datum = Datum.WGS84


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as any platform delivered it, in neutral form."""

    platform: Platform
    chat_id: str
    chat_kind: ChatKind
    sender: Sender
    message_id: str
    sent_at: datetime
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    location: GeoPoint | None = None
    reply_to: str | None = None
    album_id: str | None = None
    edited: bool = False
    mentions_bot: bool = False
    command: str | None = None
    hashtags: tuple[str, ...] = field(default=())
    chat_title: str | None = None

    @property
    def is_media_only(self) -> bool:
        """True for a photo, video or location share with no words of its own."""
        return not self.text.strip() and (bool(self.attachments) or self.location is not None)

    @property
    def media_count(self) -> int:
        return sum(1 for a in self.attachments if a.kind is not AttachmentKind.STICKER)


def incoming_to_json(message: Incoming) -> str:
    """Serialise a message to keep it while the bot waits (pieces, questions)."""
    data = asdict(message)
    data["sent_at"] = message.sent_at.isoformat()
    return json.dumps(data, ensure_ascii=False)


def incoming_from_json(raw: str) -> Incoming:
    """Rebuild a message kept with incoming_to_json."""
    data = json.loads(raw)
    location = data.get("location")
    return Incoming(
        platform=Platform(data["platform"]),
        chat_id=data["chat_id"],
        chat_kind=ChatKind(data["chat_kind"]),
        sender=Sender(**data["sender"]),
        message_id=data["message_id"],
        sent_at=datetime.fromisoformat(data["sent_at"]),
        text=data.get("text", ""),
        attachments=tuple(
            Attachment(
                kind=AttachmentKind(a["kind"]),
                file_id=a.get("file_id", ""),
                file_name=a.get("file_name"),
                size_bytes=a.get("size_bytes"),
                sha256=a.get("sha256"),
                media_path=a.get("media_path"),
            )
            for a in data.get("attachments", [])
        ),
        location=GeoPoint(
            latitude=location["latitude"],
            longitude=location["longitude"],
            datum=Datum(location.get("datum", Datum.WGS84.value)),
        )
        if location
        else None,
        reply_to=data.get("reply_to"),
        album_id=data.get("album_id"),
        edited=bool(data.get("edited")),
        mentions_bot=bool(data.get("mentions_bot")),
        command=data.get("command"),
        hashtags=tuple(data.get("hashtags", ())),
        chat_title=data.get("chat_title"),
    )
