"""Sends the handlers' neutral messages on WeCom.

- A person ("wecom:<userid>"): the self-built app's `message/send`; messages with buttons go
  as a button_interaction template card whose task id is the message id, so a later edit
  (after a press) updates that card with the press's one-use response code.
- A group ("wecom:wr…"): the reply to an AI bot message goes through that message's
  response_url; otherwise a group robot webhook when one is configured for the group
  (residents' groups), else `appchat/send` (staff groups the app created).

WeCom shows no toast for a button press: the pressed card's buttons are greyed out under the
answer (one update per press, with the press's response code).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.wecom_api import WeComApi, button_card
from handlers.actions import ButtonPress, DeliveryError, Outgoing, Rejected, is_group_chat
from handlers.clock import Clock
from handlers.messages import AttachmentKind

log = logging.getLogger(__name__)

RESPONSE_URL_SECONDS = 3600.0  # WeCom: a response_url works once, within an hour
CARD_TITLE_LIMIT = 36
CARD_BUTTON_LIMIT = 6
BUTTON_LABEL_LIMIT = 10  # WeCom: a card button's text, at most about ten characters
TEXT_BYTES_LIMIT = 2048
STORED_PREFIX = "sha256:"  # the file id of a photo known only by its place in the media store


@dataclass(frozen=True, slots=True)
class _ResponseUrl:
    url: str
    usable_until: float


def fit_bytes(text: str, limit: int = TEXT_BYTES_LIMIT) -> str:
    """The text cut (with an ellipsis) to at most `limit` UTF-8 bytes, as WeCom counts."""
    if len(text.encode()) <= limit:
        return text
    cut = text.encode()[: limit - len("…".encode())].decode(errors="ignore")
    return cut + "…"


class WeComMessenger:
    """The Messenger for the "wecom" platform prefix."""

    def __init__(
        self,
        api: WeComApi,
        clock: Clock,
        *,
        robot_keys: Mapping[str, str] | None = None,
        stored_media: Callable[[str], bytes | None] = lambda sha256: None,
    ) -> None:
        self._api = api
        self._clock = clock
        self._robot_keys = dict(robot_keys or {})
        self._stored_media = stored_media  # sha256 → bytes kept in the media store
        self._response_urls: dict[tuple[str, str], _ResponseUrl] = {}
        self._response_codes: dict[tuple[str, str], str] = {}

    def remember_response_url(self, chat_id: str, message_id: str, url: str) -> None:
        """Keep an AI bot message's reply URL for the reply to that message."""
        until = self._clock.monotonic() + RESPONSE_URL_SECONDS
        self._response_urls[(chat_id, message_id)] = _ResponseUrl(url, until)

    def remember_press(self, user_id: str, task_id: str, response_code: str) -> None:
        """Keep a card press's response code for the edit of that card that follows."""
        if response_code:
            self._response_codes[(user_id, task_id)] = response_code

    async def send(self, message: Outgoing) -> str:
        """Send one message; returns a message id (a card's task id for cards)."""
        native = message.chat_id.partition(":")[2]
        if is_group_chat(message.chat_id):
            return await self._send_to_group(native, message)
        return await self._send_to_person(native, message)

    async def answer_press(self, press: ButtonPress, text: str | None = None) -> None:
        """WeCom has no toast: grey the pressed card's buttons out under the answer."""
        # The press's response code allows one update of that card; an answer too long for a
        # button label (or a press without a code) also goes to the presser as a message.
        user_id = press.sender.user_id
        answer = (text or "").strip()
        code = self._response_codes.pop((user_id, press.message_id), None)
        try:
            if code is not None:
                label = answer if len(answer) <= BUTTON_LABEL_LIMIT else "…"
                await self._api.update_card_buttons(
                    users=[user_id], response_code=code, replace_name=label or "✓"
                )
            if answer and (code is None or len(answer) > BUTTON_LABEL_LIMIT):
                await self._api.send_text(users=[user_id], content=fit_bytes(answer))
        except DeliveryError as error:  # the press itself is done; a lost answer is logged only
            log.info("could not answer a WeCom button press: %s", error)

    async def _send_to_person(self, user_id: str, message: Outgoing) -> str:
        if message.edit_message_id is not None:
            return await self._edit_card(user_id, message, message.edit_message_id)
        if message.document is not None:
            return await self._send_file(user_id, message)
        if message.buttons:
            task_id = uuid.uuid4().hex
            await self._api.send_template_card(users=[user_id], card=_card(message, task_id))
            await self._send_photos(user_id, message)
            return task_id
        sent = await self._api.send_text(users=[user_id], content=fit_bytes(message.text))
        await self._send_photos(user_id, message)
        return sent.msgid

    async def _edit_card(self, user_id: str, message: Outgoing, task_id: str) -> str:
        """Replace a card after a press; without a fresh response code WeCom cannot edit."""
        code = self._response_codes.pop((user_id, task_id), None)
        if code is None:
            return task_id
        if message.buttons:
            card = _card(message, task_id)
            await self._api.update_template_card(users=[user_id], response_code=code, card=card)
        else:  # nothing left to press: grey the buttons out under the new status line
            status = message.text.partition("\n")[0][:CARD_TITLE_LIMIT]
            await self._api.update_card_buttons(
                users=[user_id], response_code=code, replace_name=status or "✓"
            )
        return task_id

    async def _send_file(self, user_id: str, message: Outgoing) -> str:
        document = message.document
        assert document is not None
        media_id = await self._api.upload_media(
            kind="file", content=document.content.encode(), filename=document.file_name
        )
        if message.text:
            await self._api.send_text(users=[user_id], content=fit_bytes(message.text))
        sent = await self._api.send_file(users=[user_id], media_id=media_id)
        return sent.msgid

    async def _send_photos(self, user_id: str, message: Outgoing) -> None:
        """Photos go by media id; those known only by sha256 (AI bot photos) are uploaded."""
        # Other platforms' file ids mean nothing to WeCom: such a photo is skipped, logged.
        for ref in message.media:
            if ref.kind is not AttachmentKind.PHOTO:
                continue
            try:
                media_id = await self._media_id_of(ref.file_id)
                await self._api.send_image(users=[user_id], media_id=media_id)
            except DeliveryError as error:  # the text went; a photo WeCom does not know is skipped
                log.info("photo not forwarded on WeCom: %s", error)

    async def _media_id_of(self, file_id: str) -> str:
        sha256 = file_id.removeprefix(STORED_PREFIX)
        if sha256 == file_id:
            return file_id
        content = self._stored_media(sha256)
        if content is None:
            raise Rejected("the photo is no longer in the media store")
        return await self._api.upload_media(
            kind="image", content=content, filename=f"{sha256[:16]}.jpg"
        )

    async def _send_to_group(self, chat_id: str, message: Outgoing) -> str:
        if message.edit_message_id is not None:
            return message.edit_message_id  # robots and app chats cannot edit a sent message
        text = fit_bytes(message.text)
        reply_url = self._take_response_url(chat_id, message.reply_to)
        if reply_url is not None:
            await self._api.reply_to_ai_bot(response_url=reply_url, markdown=text)
            return f"aibot:{message.reply_to}"
        key = self._robot_keys.get(chat_id)
        if key is not None:
            mentioned = [m.user_id for m in message.mentions]
            await self._api.webhook_send_text(key=key, content=text, mentioned_users=mentioned)
            return f"robot:{uuid.uuid4().hex}"
        if not chat_id:
            raise Rejected("WeCom group message without a chat id")
        await self._api.send_chat_text(chat_id=chat_id, content=text)
        return f"appchat:{uuid.uuid4().hex}"

    def _take_response_url(self, chat_id: str, reply_to: str | None) -> str | None:
        if reply_to is None:
            return None
        kept = self._response_urls.pop((chat_id, reply_to), None)
        if kept is None or kept.usable_until < self._clock.monotonic():
            return None
        return kept.url


def _card(message: Outgoing, task_id: str) -> dict[str, object]:
    """A button_interaction card: the first line as title, the rest as body."""
    title, _, body = message.text.partition("\n")
    buttons = [(b.text, b.data) for row in message.buttons for b in row][:CARD_BUTTON_LIMIT]
    return button_card(
        task_id=task_id,
        title=title[:CARD_TITLE_LIMIT] or "…",
        body=fit_bytes(body.strip(), 1024),
        buttons=buttons,
    )
