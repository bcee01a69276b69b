"""Telegram updates in, confirmed to Telegram only after they were handled.

python-telegram-bot's Updater confirms a polled batch (and its webhook answers 200) as soon as
the updates are queued, so a crash loses every update queued but not yet handled. Here a polled
update is confirmed (by the next getUpdates offset) and a webhook POST answered 200 only once
its handling is done. A redelivered update is harmless: intake claims each message once
(`storage.inbound`). While the database is away, the same update is retried until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 15.0

HandleUpdate = Callable[[Update], Awaitable[None]]


class MalformedUpdate(ValueError):
    """A webhook body that is not a Telegram Update."""


def is_transient(error: BaseException) -> bool:
    """True for failures worth retrying the same update: the database or network is away."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    return isinstance(error, OSError | TimeoutError)


class _Shape(BaseModel):
    """Strict types for the fields the bot relies on; other fields pass through unchecked."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)


class _User(_Shape):
    id: int
    is_bot: bool
    first_name: str


class _Chat(_Shape):
    id: int
    type: str


class _Message(_Shape):
    message_id: int
    date: int
    chat: _Chat
    sender: _User | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None
    media_group_id: str | None = None
    reply_to_message: _Message | None = None


class _CallbackQuery(_Shape):
    id: str
    sender: _User = Field(alias="from")
    data: str | None = None


class _ChatMemberUpdated(_Shape):
    chat: _Chat
    sender: _User = Field(alias="from")
    date: int


class _Update(_Shape):
    update_id: int
    message: _Message | None = None
    edited_message: _Message | None = None
    channel_post: _Message | None = None
    edited_channel_post: _Message | None = None
    callback_query: _CallbackQuery | None = None
    my_chat_member: _ChatMemberUpdated | None = None


def parse_update(body: bytes, bot: Bot) -> Update:
    """The Update in a webhook body; raises MalformedUpdate for anything else."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedUpdate("the body is not JSON") from error
    if not isinstance(data, dict):
        raise MalformedUpdate("the body is not a JSON object")
    try:
        _Update.model_validate(data)
    except ValidationError as error:
        where = ".".join(str(part) for part in error.errors()[0]["loc"])
        raise MalformedUpdate(f"{where}: {error.errors()[0]['msg']}") from error
    try:
        update = Update.de_json(data, bot)
    except Exception as error:  # PTB raises whatever its constructors raise on wrong types
        raise MalformedUpdate(f"not an Update: {type(error).__name__}") from error
    return update


@dataclass
class Backoff:
    """Doubling waits between retries, capped, reset after a success."""

    first: float = RETRY_FIRST_SECONDS
    most: float = RETRY_MAX_SECONDS
    _next: float = 0.0

    def next_wait(self) -> float:
        self._next = min(self.most, self._next * 2) if self._next else self.first
        return self._next

    def reset(self) -> None:
        self._next = 0.0


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if `stop` was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


@dataclass
class UpdateHandling:
    """Handle one update to the end: retry transient failures, log and skip the rest."""

    handle: HandleUpdate
    stop: asyncio.Event
    _locks: defaultdict[object, asyncio.Lock] = field(
        default_factory=lambda: defaultdict(asyncio.Lock)
    )

    async def until_done(self, update: Update) -> bool:
        """Handle `update`; False if the bot is stopping before it could be handled."""
        backoff = Backoff()
        while True:
            try:
                async with self._chat_lock(update):
                    await self.handle(update)
                return True
            except Exception as error:
                if not is_transient(error):
                    log.error(
                        "update %d failed and is skipped: %s",
                        update.update_id,
                        type(error).__name__,
                        exc_info=(type(error), error, error.__traceback__),
                    )
                    return True
                wait = backoff.next_wait()
                log.warning(
                    "update %d will be retried in %.1f s: %s",
                    update.update_id,
                    wait,
                    type(error).__name__,
                )
                if await wait_or_stop(self.stop, wait):
                    return False

    def _chat_lock(self, update: Update) -> asyncio.Lock:
        """Updates of one chat are handled one at a time, in the order they arrive."""
        return self._locks[update.effective_chat.id if update.effective_chat else None]


@dataclass
class TelegramPoller:
    """Long polling that confirms a batch only after every update in it was handled."""

    bot: Bot
    handling: UpdateHandling
    timeout: int = 10
    allowed_updates: list[str] = field(default_factory=list)
    _offset: int | None = None

    async def run(self) -> None:
        """Fetch and handle batches until `stop`; then confirm what was handled."""
        stop = self.handling.stop
        backoff = Backoff()
        while not stop.is_set():
            try:
                updates = await self._fetch()
            except RetryAfter as error:
                await wait_or_stop(stop, _seconds(error.retry_after))
                continue
            except InvalidToken:
                log.critical("Telegram refused the bot token; polling stops")
                return
            except (Conflict, NetworkError, TimedOut) as error:
                log.warning("getUpdates failed: %s; retrying", type(error).__name__)
                await wait_or_stop(stop, backoff.next_wait())
                continue
            if updates is None:
                break
            backoff.reset()
            if not await self._handle_batch(updates):
                break
        await self._confirm_handled()

    async def _fetch(self) -> tuple[Update, ...] | None:
        """The next batch, or None when `stop` is set while waiting for it."""
        fetch = asyncio.ensure_future(
            self.bot.get_updates(
                offset=self._offset,
                timeout=self.timeout,
                allowed_updates=self.allowed_updates,
            )
        )
        stopping = asyncio.ensure_future(self.handling.stop.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not fetch.done():
            fetch.cancel()  # nothing fetched is confirmed, so nothing is lost
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await fetch
            return None
        return fetch.result()

    async def _handle_batch(self, updates: tuple[Update, ...]) -> bool:
        """Handle a batch, each chat in order and chats side by side; False when stopping."""
        by_chat: dict[object, list[Update]] = {}
        for update in updates:
            key = update.effective_chat.id if update.effective_chat else None
            by_chat.setdefault(key, []).append(update)
        if not updates:
            return True
        results = await asyncio.gather(*(self._handle_in_order(u) for u in by_chat.values()))
        if not all(results):
            return False
        self._offset = updates[-1].update_id + 1
        return True

    async def _handle_in_order(self, updates: list[Update]) -> bool:
        for update in updates:
            if not await self.handling.until_done(update):
                return False
        return True

    async def _confirm_handled(self) -> None:
        """Tell Telegram what was handled, so a restart does not fetch it again."""
        if self._offset is None:
            return
        with contextlib.suppress(Exception):  # a restart redelivers; intake is idempotent
            await self.bot.get_updates(offset=self._offset, timeout=0, limit=1)


def _seconds(value: Any) -> float:
    """RetryAfter's retry_after as seconds (an int, or a timedelta with PTB_TIMEDELTA)."""
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


class TelegramWebhookServer:
    """Receives Telegram's webhook POSTs; answers 200 only after the update was handled."""

    def __init__(
        self, bot: Bot, handling: UpdateHandling, *, listen: str, port: int, secret: str
    ) -> None:
        self.bot = bot
        self.handling = handling
        self.secret = secret
        self._listen = listen
        self.port = port
        self._server: HTTPServer | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Bind and serve at WEBHOOK_PATH (port 0 picks a free port, kept in `port`)."""
        application = Application(
            [(WEBHOOK_PATH, _WebhookHandler, {"server": self})], log_function=_quiet
        )
        sockets = bind_sockets(self.port, self._listen)
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(application, max_body_size=MAX_BODY_BYTES)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stop accepting; updates being handled finish (or are retried by Telegram)."""
        if self._server is not None:
            self._server.stop()
            await self._idle.wait()
            await self._server.close_all_connections()
            self._server = None

    @contextlib.contextmanager
    def handling_one(self) -> Iterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()


class _WebhookHandler(RequestHandler):
    """POST /telegram: check the secret, parse, handle, then answer."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, server: TelegramWebhookServer) -> None:
        self.server = server

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.server.secret.encode()):
            self.send_error(HTTPStatus.FORBIDDEN)
            return
        media_type = self.request.headers.get("Content-Type", "").partition(";")[0].strip()
        if media_type.lower() != "application/json":
            self.send_error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            return
        try:
            update = parse_update(self.request.body, self.server.bot)
        except MalformedUpdate as error:
            log.warning("webhook: refused a malformed body: %s", error)
            self.send_error(HTTPStatus.BAD_REQUEST)
            return
        with self.server.handling_one():
            handled = await self.server.handling.until_done(update)
        if not handled:  # stopping: Telegram delivers it again after the restart
            self.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
            return
        self.set_status(HTTPStatus.OK)
        self.finish()


def _quiet(handler: RequestHandler) -> None:
    """Tornado's access log stays silent; refusals are logged where they are decided."""
