"""WeCom wiring: the API client, the messenger, the callback server and what callbacks do.

A callback is answered first (bot/wecom_callback.py) and handled here afterwards: each
delivery is claimed once in the database (WeCom resends a callback whose answer it missed),
messages go to the same neutral handlers as Telegram's, and a card button press (claimed by
sender and CreateTime, as WeCom events carry no MsgId) is handled like a Telegram button.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.media import MediaStore
from bot.wecom import (
    app_fields,
    translate_ai_bot_message,
    translate_app_message,
    translate_card_event,
)
from bot.wecom_api import WeComApi
from bot.wecom_callback import CallbackRoutes, WeComCallbackServer
from bot.wecom_crypto import CallbackCrypto
from bot.wecom_messenger import STORED_PREFIX, WeComMessenger
from handlers.actions import DeliveryError
from handlers.clock import Clock
from handlers.dispatch import handle_incoming, handle_press
from handlers.messages import Attachment, AttachmentKind, Incoming
from handlers.runtime import Runtime
from storage.inbound import claim_inbound_message

log = logging.getLogger(__name__)

AES_BLOCK_BITS = 256  # WeCom pads to 32-byte blocks (PKCS#7 with k = 32)
DELIVERY_PREFIX = "delivery:"


@dataclass
class WeComOptions:
    """How to reach WeCom and where its callbacks arrive."""

    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str
    api_base_url: str = "https://qyapi.weixin.qq.com"
    callback_listen: str = "127.0.0.1"
    callback_port: int = 8080
    ai_bot_token: str | None = None
    ai_bot_encoding_aes_key: str | None = None
    robot_keys: Mapping[str, str] = field(default_factory=dict)  # group chat id → robot key


class WeComChannel:
    """One running WeCom connection: send through `messenger`, receive on `server`."""

    def __init__(
        self,
        options: WeComOptions,
        clock: Clock,
        media: MediaStore,
        media_max_bytes: int,
    ) -> None:
        self.options = options
        self._clock = clock
        self._media = media
        self._media_max_bytes = media_max_bytes
        self.api = WeComApi(
            corp_id=options.corp_id,
            secret=options.secret,
            agent_id=options.agent_id,
            base_url=options.api_base_url,
            clock=clock,
        )
        self.messenger = WeComMessenger(
            self.api, clock, robot_keys=options.robot_keys, stored_media=self._media.read
        )
        self._http = httpx.AsyncClient(timeout=10.0)
        self._runtime: Runtime | None = None
        self.server = WeComCallbackServer(
            self._routes(), listen=options.callback_listen, port=options.callback_port
        )

    def _routes(self) -> CallbackRoutes:
        options = self.options
        app_crypto = CallbackCrypto.for_app(
            token=options.token,
            encoding_aes_key=options.encoding_aes_key,
            corp_id=options.corp_id,
            clock=self._clock,
        )
        ai_bot_crypto = (
            CallbackCrypto.for_ai_bot(
                token=options.ai_bot_token,
                encoding_aes_key=options.ai_bot_encoding_aes_key,
                clock=self._clock,
            )
            if options.ai_bot_token and options.ai_bot_encoding_aes_key
            else None
        )
        return CallbackRoutes(
            app_crypto=app_crypto,
            on_app_callback=self.on_app_callback,
            ai_bot_crypto=ai_bot_crypto,
            on_ai_bot_callback=self.on_ai_bot_callback if ai_bot_crypto else None,
        )

    async def start(self, runtime: Runtime) -> None:
        """Serve callbacks into `runtime`'s handlers."""
        self._runtime = runtime
        await self.server.start()

    async def stop(self) -> None:
        """Stop taking callbacks, finish those taken, close connections."""
        await self.server.stop()
        await self._http.aclose()
        await self.api.aclose()

    @property
    def runtime(self) -> Runtime:
        assert self._runtime is not None, "WeComChannel.start() first"
        return self._runtime

    # ------------------------------------------------------------ the app's callbacks

    async def on_app_callback(self, xml: str) -> None:
        """A decrypted app callback: a message from a person, or a card button press."""
        fields = app_fields(xml)
        if fields.get("MsgType") == "event":
            await self._on_event(xml)
            return
        incoming = translate_app_message(xml)
        if incoming is None or not await self._first_delivery(incoming):
            return
        incoming = await self._download_app_media(incoming)
        await handle_incoming(self.runtime, incoming)

    async def _first_delivery(self, incoming: Incoming) -> bool:
        """Claim one delivery of a message (WeCom resends a callback whose answer it missed)."""
        # Handlers claim reports, but not commands or /event answers (a resent answer would fill
        # the next field). Its own key, so that the handlers' claim of the message still works.
        async with self.runtime.sessions() as session, session.begin():
            return await claim_inbound_message(
                session,
                platform=incoming.platform.value,
                chat_id=incoming.chat_id,
                message_id=f"{DELIVERY_PREFIX}{incoming.message_id}",
                now=self._clock.now(),
            )

    async def _on_event(self, xml: str) -> None:
        card = translate_card_event(xml)
        if card is None:
            return  # entering the app, subscribing…: nothing to do
        press = card.press
        async with self.runtime.sessions() as session, session.begin():
            first = await claim_inbound_message(
                session,
                platform=press.platform,
                chat_id=press.chat_id,
                message_id=press.press_id,
                now=self.runtime.clock.now(),
            )
        if not first:
            return  # WeCom delivered this press again
        self.messenger.remember_press(press.sender.user_id, card.task_id, card.response_code)
        answer = await handle_press(self.runtime, press)
        await self.messenger.answer_press(press, answer)

    async def _download_app_media(self, message: Incoming) -> Incoming:
        """Fetch photos with media/get into the media store; others keep their media id."""
        kept = []
        for attachment in message.attachments:
            if attachment.kind is not AttachmentKind.PHOTO:
                kept.append(attachment)
                continue
            try:
                media = await self.api.get_media(attachment.file_id)
            except DeliveryError as error:
                log.warning("could not download a WeCom photo (%s); keeping its media id", error)
                kept.append(attachment)
                continue
            kept.append(self._stored(attachment, media.content))
        return replace(message, attachments=tuple(kept))

    def _stored(self, attachment: Attachment, content: bytes) -> Attachment:
        if len(content) > self._media_max_bytes:
            return replace(attachment, size_bytes=len(content))
        return self._media.keep(attachment, content)

    # ------------------------------------------------------------ the AI bot's callbacks

    async def on_ai_bot_callback(self, payload: dict[str, Any]) -> None:
        """A decrypted AI bot callback: an @-mention in a group (or its own private chat)."""
        translated = translate_ai_bot_message(payload, received_at=self._clock.now())
        if translated is None:
            return
        incoming = translated.incoming
        if not await self._first_delivery(incoming):
            return
        if translated.response_url:
            native_chat = incoming.chat_id.partition(":")[2]
            self.messenger.remember_response_url(
                native_chat, incoming.message_id, translated.response_url
            )
        incoming = await self._download_ai_bot_images(incoming)
        await handle_incoming(self.runtime, incoming)

    async def _download_ai_bot_images(self, message: Incoming) -> Incoming:
        """AI bot images come as URLs to AES-encrypted files (the AI bot's EncodingAESKey)."""
        kept = []
        for attachment in message.attachments:
            url = attachment.file_id
            try:
                response = await self._http.get(url)
                response.raise_for_status()
                content = self._decrypt_ai_bot_file(response.content)
            except (httpx.HTTPError, ValueError) as error:
                log.warning("could not fetch an AI bot image: %s", type(error).__name__)
                kept.append(replace(attachment, file_id=url[:512]))
                continue
            stored = self._stored(attachment, content)
            file_id = f"{STORED_PREFIX}{stored.sha256}" if stored.sha256 else url[:512]
            kept.append(replace(stored, file_id=file_id))
        return replace(message, attachments=tuple(kept))

    def _decrypt_ai_bot_file(self, encrypted: bytes) -> bytes:
        key_text = self.options.ai_bot_encoding_aes_key or self.options.encoding_aes_key
        key = base64.b64decode(key_text + "=")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        padded = decryptor.update(encrypted) + decryptor.finalize()
        unpadder = padding.PKCS7(AES_BLOCK_BITS).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
