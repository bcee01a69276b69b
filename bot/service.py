"""Wiring: Telegram and/or WeCom, the handlers' runtime, the outbox sender, sweeps, jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.media import MediaStore
from bot.telegram import (
    TelegramMessenger,
    download_small_media,
    translate_message,
    translate_press,
)
from bot.telegram_intake import (
    TelegramPoller,
    TelegramWebhookServer,
    UpdateHandling,
    is_transient,
)
from bot.wecom_channel import WeComChannel, WeComOptions
from handlers.actions import Messenger
from handlers.clock import Clock, SystemClock
from handlers.community import CommunityConfig
from handlers.dispatch import handle_incoming, handle_press
from handlers.group_intake import notice_unknown_chat, sweep_orphan_pieces
from handlers.runtime import Runtime
from schedules.flood_control import WECOM_LIMITS, FloodLimits
from schedules.jobs import build_scheduler
from schedules.outbox_sender import OutboxSender
from storage.database import create_engine, create_session_factory, upgrade_database

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0


@dataclass
class TelegramOptions:
    """How to reach Telegram and how to receive updates."""

    token: str
    base_url: str  # "<root>/bot"; PTB appends the token
    base_file_url: str  # "<root>/file/bot"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    poll_timeout: float = 10.0


@dataclass
class BotService:
    """One running bot: intake on each platform, outbox sender, sweeps, scheduled jobs.

    `telegram` None serves no Telegram (a WeCom-only community); `wecom` None serves no WeCom.
    """

    telegram: TelegramOptions | None
    communities: Sequence[CommunityConfig]
    database_url: str
    media_dir: Path
    media_max_bytes: int = 20 * 1024 * 1024
    clock: Clock = field(default_factory=SystemClock)
    flood_limits: FloodLimits = field(default_factory=FloodLimits)
    sender_owner: str = "sender-1"
    run_sender: bool = True
    wecom: WeComOptions | None = None
    wecom_channel: WeComChannel | None = None
    updates_handled: int = 0
    application: Application | None = None  # type: ignore[type-arg]
    bot_username: str = ""  # "" when not serving Telegram
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _receiving: asyncio.Task[None] | None = None
    _webhook_server: TelegramWebhookServer | None = None
    _scheduler: AsyncIOScheduler | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _handled: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def platforms(self) -> list[str]:
        """The platforms this bot serves ("tg", "wecom"), from the options present."""
        options = {"tg": self.telegram, "wecom": self.wecom}
        return [name for name, present in options.items() if present is not None]

    async def start(self) -> None:
        """Migrate the database, connect to each platform, start receiving and sending."""
        if self.telegram is None and self.wecom is None:
            raise ValueError("nothing to serve: neither Telegram nor WeCom is configured")
        if self.telegram and self.telegram.webhook_url and not self.telegram.webhook_secret:
            raise ValueError("a webhook needs a secret token (TELEGRAM_WEBHOOK_SECRET)")
        await upgrade_database(self.database_url)
        self.engine = create_engine(self.database_url)
        sessions = create_session_factory(self.engine)
        self.media = MediaStore(self.media_dir)
        messengers: dict[str, Messenger] = {}
        if self.telegram is not None:
            messengers["tg"] = await self._connect_telegram(self.telegram)
        if self.wecom is not None:
            self.wecom_channel = WeComChannel(
                self.wecom, self.clock, self.media, self.media_max_bytes
            )
            messengers["wecom"] = self.wecom_channel.messenger
        self.sender = OutboxSender(
            sessions,
            messengers,
            self.clock,
            self.flood_limits,
            owner=self.sender_owner,
            platform_limits={"wecom": WECOM_LIMITS},
        )
        self.runtime = Runtime(
            communities=self.communities,
            sessions=sessions,
            clock=self.clock,
            outbox_changed=self.sender.notify,
            platforms=frozenset(messengers),
        )
        if self.wecom_channel is not None:
            await self.wecom_channel.start(self.runtime)
        if self.application is not None:
            await self._start_receiving()
        if self.run_sender:
            self._tasks = [
                asyncio.create_task(self.sender.run(self._stop)),
                asyncio.create_task(self._sweep_forever()),
            ]
            self._scheduler = build_scheduler(self.runtime)
            self._scheduler.start()

    async def wait_handled(self, count: int, seconds: float = 10.0) -> None:
        """Wait until this many Telegram updates were handled (tests and the demo)."""
        async with asyncio.timeout(seconds), self._handled:
            await self._handled.wait_for(lambda: self.updates_handled >= count)

    async def stop(self) -> None:
        """Stop receiving, let the sender finish its step, close connections."""
        self._stop.set()
        await self._stop_receiving()
        if self.wecom_channel is not None:
            await self.wecom_channel.server.stop()  # callbacks already answered are handled
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        if self.wecom_channel is not None:
            await self.wecom_channel.stop()
        if self.application is not None:
            await self.application.shutdown()
        await self.engine.dispose()

    async def _connect_telegram(self, options: TelegramOptions) -> TelegramMessenger:
        """Build and initialise PTB's application (getMe); returns the Telegram messenger."""
        os.environ.setdefault("PTB_TIMEDELTA", "1")  # PTB 22's opt-in: durations as timedelta
        self.application = self._build_application(options)
        await self.application.initialize()
        self.bot_username = self.application.bot.username
        self.messenger = TelegramMessenger(self.application.bot)
        return self.messenger

    @staticmethod
    def _build_application(options: TelegramOptions) -> Application:  # type: ignore[type-arg]
        builder = (
            ApplicationBuilder()
            .token(options.token)
            .base_url(options.base_url)
            .base_file_url(options.base_file_url)
            .updater(None)  # bot.telegram_intake receives: it confirms only what was handled
        )
        return builder.build()

    async def _start_receiving(self) -> None:
        """Set the webhook and serve it, or poll; either way updates are confirmed once handled."""
        assert self.application is not None and self.telegram is not None
        bot, options = self.application.bot, self.telegram
        handling = UpdateHandling(self._on_update, self._stop)
        if options.webhook_url:
            assert options.webhook_secret is not None
            self._webhook_server = TelegramWebhookServer(
                bot,
                handling,
                listen=options.webhook_listen,
                port=options.webhook_port,
                secret=options.webhook_secret,
            )
            await self._webhook_server.start()
            await bot.set_webhook(
                url=options.webhook_url,
                secret_token=options.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
            return
        await bot.delete_webhook()
        poller = TelegramPoller(
            bot, handling, timeout=int(options.poll_timeout), allowed_updates=Update.ALL_TYPES
        )
        self._receiving = asyncio.create_task(poller.run())

    async def _stop_receiving(self) -> None:
        """Stop fetching; what is being handled finishes, the rest Telegram delivers again."""
        if self._receiving is not None:
            await self._receiving
            self._receiving = None
        if self._webhook_server is not None:
            await self._webhook_server.stop()
            self._webhook_server = None

    async def _on_update(self, update: Update) -> None:
        """Translate one update and hand it to the neutral handlers."""
        try:
            await self._dispatch(update)
        except Exception as error:
            if not is_transient(error):  # a transient failure is handled again, counted then
                await self._count_handled()
            raise
        await self._count_handled()

    async def _count_handled(self) -> None:
        async with self._handled:
            self.updates_handled += 1
            self._handled.notify_all()

    async def _dispatch(self, update: Update) -> None:
        if update.callback_query is not None:
            press = translate_press(update.callback_query)
            toast = await handle_press(self.runtime, press)
            await self.messenger.answer_press(press, toast)
            return
        if update.my_chat_member is not None:
            await self._on_membership(update)
            return
        message = update.message or update.edited_message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        if message.sender_chat is not None:  # a channel post or an anonymous admin
            return
        incoming = translate_message(
            message, edited=update.edited_message is not None, bot_username=self.bot_username
        )
        if incoming.media_count:
            assert self.application is not None  # only Telegram updates come here
            incoming = await download_small_media(
                self.application.bot, incoming, self.media, self.media_max_bytes
            )
        await handle_incoming(self.runtime, incoming)

    async def _on_membership(self, update: Update) -> None:
        member = update.my_chat_member
        assert member is not None
        chat = member.chat
        joined = member.new_chat_member.status in {"member", "administrator"}
        if joined and chat.type in {"group", "supergroup"}:
            await notice_unknown_chat(self.runtime, f"tg:{chat.id}", chat.title or "", "tg")

    async def _sweep_forever(self) -> None:
        while not self._stop.is_set():
            try:
                await sweep_orphan_pieces(self.runtime)
            except Exception as error:  # a sweep must not stop the bot
                log.error("sweep failed: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=SWEEP_SECONDS)
