"""Telegram adapter: PTB updates in, neutral messages out; the outbox's Telegram messenger."""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace
from datetime import UTC, timedelta

from telegram import Bot as TelegramBot
from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    ReplyParameters,
    User,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.media import MediaStore
from handlers.actions import (
    TELEGRAM_TEXT_LIMIT,
    ButtonPress,
    Outgoing,
    Rejected,
    RetryLater,
    Unreachable,
    utf16_length,
)
from handlers.messages import (
    Attachment,
    AttachmentKind,
    ChatKind,
    GeoPoint,
    Incoming,
    Platform,
    Sender,
)

log = logging.getLogger(__name__)

PREFIX = "tg:"
CAPTION_LIMIT = 1024  # Telegram counts UTF-16 code units
TRANSIENT_RETRY_SECONDS = 2.0


def chat_key(chat_id: int) -> str:
    """The namespaced chat id handlers use."""
    return f"{PREFIX}{chat_id}"


def telegram_chat_id(key: str) -> int:
    """Back from "tg:-100123" to -100123."""
    return int(key.removeprefix(PREFIX))


def _sender(user: User | None) -> Sender:
    if user is None:
        return Sender(user_id="")
    return Sender(user_id=str(user.id), display_name=user.full_name, language=user.language_code)


def _command(message: Message, bot_username: str) -> str | None:
    """The /command at the start of the text, if addressed to us (or to nobody)."""
    commands = {
        **message.parse_entities([MessageEntity.BOT_COMMAND]),
        **message.parse_caption_entities([MessageEntity.BOT_COMMAND]),
    }
    for entity, value in commands.items():
        if entity.offset != 0:
            continue
        name, _, addressee = value.lstrip("/").partition("@")
        if addressee and addressee.lower() != bot_username.lower():
            return None
        return name.lower()
    return None


def _mentions_bot(message: Message, bot_username: str) -> bool:
    mentions = {
        **message.parse_entities([MessageEntity.MENTION]),
        **message.parse_caption_entities([MessageEntity.MENTION]),
    }
    return any(value.lstrip("@").lower() == bot_username.lower() for value in mentions.values())


def _attachments(message: Message) -> tuple[Attachment, ...]:
    if message.photo:
        largest = message.photo[-1]
        return (
            Attachment(
                kind=AttachmentKind.PHOTO, file_id=largest.file_id, size_bytes=largest.file_size
            ),
        )
    for media, kind in (
        (message.video, AttachmentKind.VIDEO),
        (message.voice, AttachmentKind.VOICE),
        (message.video_note, AttachmentKind.VIDEO),
        (message.document, AttachmentKind.FILE),
        (message.sticker, AttachmentKind.STICKER),
    ):
        if media is not None:
            return (
                Attachment(
                    kind=kind,
                    file_id=media.file_id,
                    file_name=getattr(media, "file_name", None),
                    size_bytes=media.file_size,
                ),
            )
    return ()


def translate_message(message: Message, *, edited: bool, bot_username: str) -> Incoming:
    """A Telegram message (or edit) as a neutral Incoming."""
    chat = message.chat
    private = chat.type == ChatType.PRIVATE
    hashtags = tuple(
        v.lstrip("#")
        for e, v in {
            **message.parse_entities([MessageEntity.HASHTAG]),
            **message.parse_caption_entities([MessageEntity.HASHTAG]),
        }.items()
    )
    location = message.location
    return Incoming(
        platform=Platform.TELEGRAM,
        chat_id=chat_key(chat.id),
        chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
        sender=_sender(message.from_user),
        message_id=str(message.message_id),
        sent_at=(message.edit_date if edited and message.edit_date else message.date).astimezone(
            UTC
        ),
        text=message.text or message.caption or "",
        attachments=_attachments(message),
        location=GeoPoint(latitude=location.latitude, longitude=location.longitude)
        if location
        else None,
        reply_to=str(message.reply_to_message.message_id) if message.reply_to_message else None,
        album_id=message.media_group_id,
        edited=edited,
        mentions_bot=_mentions_bot(message, bot_username),
        command=_command(message, bot_username),
        hashtags=hashtags,
        chat_title=chat.title,
    )


def translate_press(query: CallbackQuery) -> ButtonPress:
    """A callback query as a neutral ButtonPress."""
    message = query.message
    chat_id = chat_key(message.chat.id) if message else chat_key(query.from_user.id)
    return ButtonPress(
        platform=Platform.TELEGRAM.value,
        chat_id=chat_id,
        message_id=str(message.message_id) if message else "",
        sender=_sender(query.from_user),
        data=query.data or "",
        press_id=query.id,
    )


async def download_small_media(
    bot: TelegramBot, message: Incoming, store: MediaStore, max_bytes: int
) -> Incoming:
    """Fetch photos up to the size limit into the media store; larger ones keep their file id."""
    kept = []
    for attachment in message.attachments:
        size = attachment.size_bytes or 0
        if attachment.kind is not AttachmentKind.PHOTO or size > max_bytes:
            kept.append(attachment)
            continue
        try:
            telegram_file = await bot.get_file(attachment.file_id)
            if (telegram_file.file_size or 0) > max_bytes:
                kept.append(attachment)
                continue
            data = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as error:
            log.warning("could not download a photo (%s); keeping its file id", error)
            kept.append(attachment)
            continue
        kept.append(store.keep(attachment, data))
    return replace(message, attachments=tuple(kept))


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.text, callback_data=button.data) for button in row]
            for row in message.buttons
        ]
    )


def fit_utf16(text: str, limit: int) -> str:
    """The text cut (with an ellipsis) to at most `limit` UTF-16 units, as Telegram counts."""
    if utf16_length(text) <= limit:
        return text
    kept, used = [], 0
    for character in text:
        width = utf16_length(character)
        if used + width > limit - 1:
            break
        kept.append(character)
        used += width
    return "".join(kept) + "…"


def _mention_entities(message: Outgoing) -> list[MessageEntity]:
    """Text mentions, so people without a username are notified too."""
    entities = []
    for mention in message.mentions:
        position = message.text.find(mention.name)
        if position < 0:
            continue
        entities.append(
            MessageEntity(
                type=MessageEntity.TEXT_MENTION,
                offset=utf16_length(message.text[:position]),
                length=utf16_length(mention.name),
                user=User(id=int(mention.user_id), first_name=mention.name, is_bot=False),
            )
        )
    return entities


class TelegramMessenger:
    """Sends outbox messages through the Bot API; maps its errors to DeliveryErrors."""

    def __init__(self, bot: TelegramBot) -> None:
        self._bot = bot

    async def send(self, message: Outgoing) -> str:
        """Send one message (with its document, or its first photo or video), or edit one."""
        try:
            if message.edit_message_id is not None:
                await self._edit(message)
                return message.edit_message_id
            sent = await self._send(message)
        except RetryAfter as error:
            raise RetryLater(_retry_seconds(error), str(error)) from error
        except Forbidden as error:
            raise Unreachable(str(error)) from error
        except BadRequest as error:
            if "chat not found" in str(error).lower():
                raise Unreachable(str(error)) from error
            raise Rejected(str(error)) from error
        except (TimedOut, NetworkError) as error:
            raise RetryLater(TRANSIENT_RETRY_SECONDS, str(error)) from error
        return str(sent.message_id)

    async def _send(self, message: Outgoing) -> Message:
        chat_id = telegram_chat_id(message.chat_id)
        reply = (
            ReplyParameters(message_id=int(message.reply_to), allow_sending_without_reply=True)
            if message.reply_to
            else None
        )
        markup = _keyboard(message)
        entities = _mention_entities(message) or None
        if message.document is not None:
            document = message.document
            return await self._bot.send_document(
                chat_id,
                InputFile(document.content.encode("utf-8"), filename=document.file_name),
                caption=fit_utf16(message.text, CAPTION_LIMIT) or None,
                caption_entities=entities,
                reply_markup=markup,
                reply_parameters=reply,
            )
        media = message.media[0] if message.media else None
        if media is not None:
            send_media = (
                self._bot.send_video if media.kind is AttachmentKind.VIDEO else self._bot.send_photo
            )
            return await send_media(
                chat_id,
                media.file_id,
                caption=fit_utf16(message.text, CAPTION_LIMIT),
                caption_entities=entities,
                reply_markup=markup,
                reply_parameters=reply,
            )
        return await self._bot.send_message(
            chat_id,
            fit_utf16(message.text, TELEGRAM_TEXT_LIMIT),
            entities=entities,
            reply_markup=markup,
            reply_parameters=reply,
        )

    async def _edit(self, message: Outgoing) -> None:
        assert message.edit_message_id is not None
        try:
            await self._bot.edit_message_text(
                fit_utf16(message.text, TELEGRAM_TEXT_LIMIT),
                chat_id=telegram_chat_id(message.chat_id),
                message_id=int(message.edit_message_id),
                entities=_mention_entities(message) or None,
                reply_markup=_keyboard(message),
            )
        except BadRequest as error:
            if "message is not modified" not in str(error):
                raise  # the same text again is fine: the message already says it

    async def answer_press(self, press: ButtonPress, text: str | None = None) -> None:
        """Answer the callback query with a short toast."""
        try:
            await self._bot.answer_callback_query(press.press_id, text=text)
        except TelegramError as error:
            log.info("could not answer a button press: %s", error)
