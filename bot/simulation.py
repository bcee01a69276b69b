"""A simulated Telegram world: the fake Bot API, the real bot, one virtual clock (tests, demo)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.fake_telegram import FakeTelegram
from bot.fake_telegram import FloodLimits as FakeLimits
from bot.redaction import redact
from bot.service import BotService, TelegramOptions
from handlers.clock import FakeClock
from handlers.community import CommunityConfig
from schedules.flood_control import FloodLimits
from storage.outbox import next_due_at

RESIDENTS = -1001000000001
STAFF_GROUP = -1001000000009
SECRETARY, STAFF = 5000001, 5000002
WORKER_G1, WORKER_G2, WORKER_G3, WORKER_G3_B, WORKER_G4 = (
    6000001,
    6000002,
    6000003,
    6000004,
    6000005,
)
RIDER, RIDER_2, OUTSIDER = 7000001, 7000002, 7000099
START = datetime(2023, 7, 10, 12, 0, tzinfo=UTC)


class World:
    """Users act through the fake server; the bot answers; `settle` waits for all of it."""

    def __init__(self, fake: FakeTelegram, service: BotService, clock: FakeClock) -> None:
        self.fake = fake
        self.service = service
        self.clock = clock
        self.updates = 0

    def send(
        self, chat_id: int, user_id: int, text: str | None = None, **media: Any
    ) -> dict[str, Any]:
        """A user posts a message (text, photo=bytes, video=bytes, location=(lat, lon), ...)."""
        self.updates += 1
        return self.fake.user_sends(chat_id, user_id, text, **media)

    def edit(self, chat_id: int, message_id: int, text: str) -> None:
        self.updates += 1
        self.fake.user_edits(chat_id, message_id, text)

    def press(self, chat_id: int, message_id: int, data: str, *, user_id: int) -> None:
        self.updates += 1
        self.fake.user_presses(chat_id, message_id, data, user_id=user_id)

    async def settle(self, *, max_rounds: int = 5000) -> None:
        """Wait until the bot handled every update and the outbox has nothing left to send."""
        await self.service.wait_handled(self.updates)
        for _ in range(max_rounds):
            report = await self.service.sender.drain_once()
            if report.claimed:
                continue
            async with self.service.runtime.sessions() as session:
                due = await next_due_at(session)
            if due is None:
                return
            if due > self.clock.now():
                self.clock.advance((due - self.clock.now()).total_seconds())
        raise AssertionError("the outbox did not drain")

    def texts_to(self, chat_id: int) -> list[str]:
        """What the bot sent to a chat (texts and captions), in order."""
        return [m.get("text") or m.get("caption") or "" for m in self.fake.sent_messages(chat_id)]

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        return self.fake.sent_messages(chat_id)

    def button_data(self, chat_id: int, label_part: str) -> tuple[int, str]:
        """(message id, callback data) of the newest button whose label contains the text."""
        for message in reversed(self.fake.sent_messages(chat_id)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if label_part in button["text"]:
                        return message["message_id"], button["callback_data"]
        raise AssertionError(f"no button {label_part!r} in chat {chat_id}")


def populate(fake: FakeTelegram, communities: Sequence[CommunityConfig]) -> None:
    """Everyone configured, plus riders and an outsider, and every configured Telegram group."""
    riders = [(RIDER, "美团-胡师傅"), (RIDER_2, "饿了么-阿强"), (OUTSIDER, "路人甲")]
    for user_id, name in riders:
        fake.add_user(user_id, name)
    for community in communities:
        people = [(s.telegram_id, s.name) for s in community.staff]
        people += [(w.telegram_id, w.name) for g in community.grids for w in g.workers]
        known = [(uid, name) for uid, name in people if uid is not None]
        for user_id, name in known:
            fake.add_user(user_id, name)
        members = [uid for uid, _ in known] + [uid for uid, _ in riders]
        for chat in community.chats:
            if chat.id.startswith("tg:"):
                fake.add_group(int(chat.id.removeprefix("tg:")), chat.title, member_ids=members)


def service_for(
    fake: FakeTelegram,
    clock: FakeClock,
    communities: Sequence[CommunityConfig],
    database_url: str,
    media_dir: Path,
    *,
    flood_limits: FloodLimits | None = None,
    webhook: tuple[str, int, str] | None = None,
) -> BotService:
    """A bot wired to the fake server; `webhook` is (url, port, secret) for webhook mode."""
    url, port, secret = webhook if webhook else (None, 0, None)
    return BotService(
        telegram=TelegramOptions(
            token=fake.token,
            base_url=fake.base_url,
            base_file_url=fake.base_file_url,
            poll_timeout=1,
            webhook_url=url,
            webhook_port=port,
            webhook_secret=secret,
        ),
        communities=communities,
        database_url=database_url,
        media_dir=media_dir,
        clock=clock,
        flood_limits=flood_limits or FloodLimits(),
        run_sender=False,
    )


@asynccontextmanager
async def fake_telegram(
    communities: Sequence[CommunityConfig], limits: FakeLimits | None = None
) -> AsyncIterator[FakeTelegram]:
    """The fake Bot API with the communities' people and groups, on its own virtual clock."""
    fake = FakeTelegram(clock=FakeClock(start=START), limits=limits or FakeLimits())
    redact(fake.token)
    await fake.start()
    populate(fake, communities)
    try:
        yield fake
    finally:
        await fake.stop()


@asynccontextmanager
async def telegram_world(
    communities: CommunityConfig | Sequence[CommunityConfig],
    database_url: str,
    media_dir: Path,
    *,
    fake_limits: FakeLimits | None = None,
    flood_limits: FloodLimits | None = None,
) -> AsyncIterator[World]:
    """Start the fake server and the real bot against it; stop both afterwards."""
    served = [communities] if isinstance(communities, CommunityConfig) else list(communities)
    async with fake_telegram(served, fake_limits) as fake:
        clock = fake.clock
        assert isinstance(clock, FakeClock)
        service = service_for(
            fake, clock, served, database_url, media_dir, flood_limits=flood_limits
        )
        await service.start()
        try:
            yield World(fake, service, clock)
        finally:
            await service.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def telegram_webhook_world(
    communities: Sequence[CommunityConfig], database_url: str, media_dir: Path, *, secret: str
) -> AsyncIterator[tuple[World, str]]:
    """The bot in webhook mode against the fake Bot API; yields the world and the webhook URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    async with fake_telegram(communities) as fake:
        clock = fake.clock
        assert isinstance(clock, FakeClock)
        service = service_for(
            fake, clock, communities, database_url, media_dir, webhook=(url, port, secret)
        )
        await service.start()
        try:
            yield World(fake, service, clock), url
        finally:
            await service.stop()
