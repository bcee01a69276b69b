"""Read a Telegram Desktop "Export chat history" JSON file into neutral messages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.messages import (
    Attachment,
    AttachmentKind,
    ChatKind,
    GeoPoint,
    Incoming,
    Platform,
    Sender,
)

_MEDIA_KINDS = {
    "video_file": AttachmentKind.VIDEO,
    "video_message": AttachmentKind.VIDEO,
    "animation": AttachmentKind.VIDEO,
    "voice_message": AttachmentKind.VOICE,
    "audio_file": AttachmentKind.VOICE,
    "sticker": AttachmentKind.STICKER,
}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class ExportError(ValueError):
    """A chat export that cannot be read; the message names the file and the field."""

    def __init__(self, path: Path, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


def read_export(path: str | Path, *, bot_username: str | None = None) -> list[Incoming]:
    """All user messages of a single-chat export, oldest first; service messages skipped."""
    source = Path(path)
    document = _load_json(source)
    chat_id = _chat_id(source, document)
    messages = document["messages"]
    result = []
    for index, raw in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(raw, Mapping):
            raise ExportError(source, where, "not an object")
        if raw.get("type", "message") != "message":
            continue
        result.append(_to_incoming(source, where, raw, chat_id, bot_username))
    return result


def _load_json(source: Path) -> Mapping[str, Any]:
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(source, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(source, "", f"cannot read file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ExportError(
            source, "", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise ExportError(source, "", "not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # a number with more digits than Python converts
        raise ExportError(source, "", f"not valid JSON ({exc})") from None
    if not isinstance(document, Mapping):
        raise ExportError(source, "", "top level is not a JSON object")
    if "messages" not in document:
        hint = (
            "this is a whole-account export; export a single chat instead"
            if "chats" in document
            else "is this a Telegram Desktop chat export?"
        )
        raise ExportError(source, "messages", f"missing ({hint})")
    if not isinstance(document["messages"], list):
        raise ExportError(source, "messages", "not a list")
    return document


def _chat_id(source: Path, document: Mapping[str, Any]) -> str:
    raw_id = document.get("id", 0)
    if not isinstance(raw_id, int) or isinstance(raw_id, bool):
        raise ExportError(source, "id", f"not an integer: {raw_id!r}")
    kind = str(document.get("type", ""))
    if kind.endswith("supergroup") or kind.endswith("channel"):
        return f"tg:-100{raw_id}"
    if kind.endswith("group"):
        return f"tg:-{raw_id}"
    return f"tg:{raw_id}"


def _to_incoming(
    source: Path, where: str, raw: Mapping[str, Any], chat_id: str, bot_username: str | None
) -> Incoming:
    message_id = raw.get("id")
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise ExportError(source, f"{where}.id", f"not an integer: {message_id!r}")
    entities = list(_entities(source, f"{where}.text", raw))
    # JSON may escape a lone UTF-16 surrogate, which no UTF-8 output or database accepts.
    text = _LONE_SURROGATE.sub("\ufffd", "".join(piece for _, piece in entities))
    mentions = [piece for kind, piece in entities if kind in {"mention", "mention_name"}]
    commands = [piece for kind, piece in entities if kind == "bot_command"]
    hashtags = tuple(piece.lstrip("#") for kind, piece in entities if kind == "hashtag")
    return Incoming(
        platform=Platform.TELEGRAM,
        chat_id=chat_id,
        chat_kind=ChatKind.GROUP,
        sender=Sender(user_id=_user_id(raw), display_name=str(raw.get("from") or "")),
        message_id=str(message_id),
        sent_at=_sent_at(source, where, raw),
        text=text,
        attachments=_attachments(raw),
        location=_location(source, where, raw),
        reply_to=str(raw["reply_to_message_id"]) if raw.get("reply_to_message_id") else None,
        album_id=str(raw["media_group_id"]) if raw.get("media_group_id") else None,
        edited="edited" in raw or "edited_unixtime" in raw,
        mentions_bot=any(_is_bot_mention(m, bot_username) for m in mentions),
        command=_command_name(commands),
        hashtags=hashtags,
    )


def _entities(source: Path, where: str, raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(type, text) pieces of the message text; text_entities when present, else text."""
    entities = raw.get("text_entities")
    if isinstance(entities, list) and entities:
        yield from _typed_pieces(source, f"{where}_entities", entities)
        return
    text = raw.get("text", "")
    if isinstance(text, str):
        yield ("plain", text)
    elif isinstance(text, list):
        yield from _typed_pieces(source, where, text)
    else:
        raise ExportError(source, where, f"neither a string nor a list: {type(text).__name__}")


def _typed_pieces(source: Path, where: str, pieces: list[Any]) -> Iterator[tuple[str, str]]:
    for index, piece in enumerate(pieces):
        if isinstance(piece, str):
            yield ("plain", piece)
        elif isinstance(piece, Mapping) and isinstance(piece.get("text"), str):
            yield (str(piece.get("type", "plain")), piece["text"])
        else:
            raise ExportError(source, f"{where}[{index}]", "expected a string or {type, text}")


def _user_id(raw: Mapping[str, Any]) -> str:
    """Telegram user id without the export's "user"/"channel" prefix."""
    from_id = str(raw.get("from_id") or raw.get("actor_id") or "")
    for prefix in ("user", "channel", "chat"):
        if from_id.startswith(prefix) and from_id[len(prefix) :].isdigit():
            return from_id[len(prefix) :]
    return from_id


def _sent_at(source: Path, where: str, raw: Mapping[str, Any]) -> datetime:
    stamp = raw.get("date_unixtime")
    if stamp is not None:
        try:
            return datetime.fromtimestamp(int(stamp), tz=UTC)
        except (TypeError, ValueError, OverflowError):
            raise ExportError(
                source, f"{where}.date_unixtime", f"not a Unix time: {stamp!r}"
            ) from None
    raise ExportError(
        source,
        f"{where}.date_unixtime",
        "missing (exports from Telegram Desktop since 2021 carry it)",
    )


def _attachments(raw: Mapping[str, Any]) -> tuple[Attachment, ...]:
    if raw.get("photo"):
        return (
            Attachment(
                kind=AttachmentKind.PHOTO,
                file_id=str(raw["photo"]),
                size_bytes=_int_or_none(raw.get("photo_file_size")),
            ),
        )
    if raw.get("file") or raw.get("media_type"):
        kind = _MEDIA_KINDS.get(str(raw.get("media_type", "")), AttachmentKind.FILE)
        return (
            Attachment(
                kind=kind,
                file_id=str(raw.get("file", "")),
                file_name=_str_or_none(raw.get("file_name")),
                size_bytes=_int_or_none(raw.get("file_size")),
            ),
        )
    return ()


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _location(source: Path, where: str, raw: Mapping[str, Any]) -> GeoPoint | None:
    info = raw.get("location_information")
    if info is None:
        return None
    field = f"{where}.location_information"
    if not isinstance(info, Mapping):
        raise ExportError(source, field, "not an object")
    try:
        latitude, longitude = float(info["latitude"]), float(info["longitude"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ExportError(source, field, "needs numeric latitude and longitude") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ExportError(source, field, f"out of range: {latitude}, {longitude}")
    return GeoPoint(latitude=latitude, longitude=longitude)


def _is_bot_mention(mention: str, bot_username: str | None) -> bool:
    name = mention.lstrip("@").lower()
    if bot_username:
        return name == bot_username.lstrip("@").lower()
    return name.endswith("bot")  # Telegram requires every bot username to end in "bot".


def _command_name(commands: list[str]) -> str | None:
    if not commands:
        return None
    return commands[0].lstrip("/").split("@", 1)[0].lower() or None
