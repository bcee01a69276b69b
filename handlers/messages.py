"""Platform-neutral message types: adapters translate into these, handlers read only these."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @property
    def is_media_only(self) -> bool:
        """True for a photo, video or location share with no words of its own."""
        return not self.text.strip() and (bool(self.attachments) or self.location is not None)

    @property
    def media_count(self) -> int:
        return sum(1 for a in self.attachments if a.kind is not AttachmentKind.STICKER)
