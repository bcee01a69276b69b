"""The WeCom callback HTTP server: the self-built app's and the AI bot's callback URLs.

WeCom retries a callback that gets no answer within 5 s, three times. So each request is
checked (signature, freshness, receive id, decryption) and answered at once; the work runs
after the answer, in a task. Redeliveries are dropped here while the first is still in
flight and by the database claim once it is done. A bad request gets a 4xx and nothing is
stored or handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from bot.wecom import MalformedCallback, check_ai_bot_callback, check_app_callback, dedupe_key
from bot.wecom_crypto import (
    BAD_SIGNATURE,
    MALFORMED_BODY,
    WRONG_RECEIVE_ID,
    CallbackCrypto,
    CallbackParams,
    CallbackRejected,
)

log = logging.getLogger(__name__)

APP_PATH = "/wecom/app"
AI_BOT_PATH = "/wecom/aibot"
MAX_BODY_BYTES = 1024 * 1024

AppHandler = Callable[[str], Awaitable[None]]
AiBotHandler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class CallbackRoutes:
    """What each callback URL checks with and hands its plaintext to."""

    app_crypto: CallbackCrypto | None
    on_app_callback: AppHandler
    ai_bot_crypto: CallbackCrypto | None = None
    on_ai_bot_callback: AiBotHandler | None = None


class WeComCallbackServer:
    """Serves both callback URLs on one port; handler work runs in tracked background tasks."""

    def __init__(self, routes: CallbackRoutes, *, listen: str, port: int) -> None:
        self.routes = routes
        self._listen = listen
        self._port = port
        self._server: HTTPServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()
        self.port = port

    async def start(self) -> None:
        """Bind and serve (port 0 picks a free port, kept in `port`)."""
        application = Application(
            [
                (APP_PATH, _AppCallback, {"server": self}),
                (AI_BOT_PATH, _AiBotCallback, {"server": self}),
            ]
        )
        sockets = bind_sockets(self._port, self._listen)
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(application, max_body_size=MAX_BODY_BYTES)
        self._server.add_sockets(sockets)

    @property
    def base_url(self) -> str:
        return f"http://{self._listen}:{self.port}"

    async def stop(self) -> None:
        """Stop accepting callbacks and let the running work finish."""
        if self._server is not None:
            self._server.stop()
        await self.drain()

    async def drain(self) -> None:
        """Wait until every accepted callback has been handled (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def run_after_reply(self, key: str, work: Awaitable[None]) -> None:
        """Handle a callback in the background, once while a redelivery is still in flight."""
        if key in self._in_flight:
            if asyncio.iscoroutine(work):
                work.close()
            return
        self._in_flight.add(key)
        task = asyncio.ensure_future(self._guarded(key, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, key: str, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception as error:  # one bad callback must not stop the server
            log.error(
                "WeCom callback handling failed: %s: %s",
                type(error).__name__,
                error,
                exc_info=(type(error), error, error.__traceback__),
            )
        finally:
            self._in_flight.discard(key)


class _Callback(RequestHandler):
    """Common checks: signature parameters, URL verification, refusals as 4xx."""

    server: WeComCallbackServer

    def initialize(self, server: WeComCallbackServer) -> None:
        self.server = server

    def _crypto(self) -> CallbackCrypto | None:
        raise NotImplementedError

    def _params(self) -> CallbackParams:
        query = {name: self.get_query_argument(name, "") for name in self.request.query_arguments}
        return CallbackParams.from_query(query)

    def _refuse(self, rejected: CallbackRejected) -> None:
        forbidden = rejected.reason in {BAD_SIGNATURE, WRONG_RECEIVE_ID}
        self.set_status(HTTPStatus.FORBIDDEN if forbidden else HTTPStatus.BAD_REQUEST)
        self.finish(rejected.reason)
        log.warning("refused a WeCom callback on %s: %s", self.request.path, rejected.reason)

    def get(self) -> None:
        """URL verification: answer the decrypted echostr."""
        crypto = self._crypto()
        if crypto is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        try:
            echo = crypto.verify_url(self._params(), self.get_query_argument("echostr", ""))
        except CallbackRejected as rejected:
            self._refuse(rejected)
            return
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(echo)


class _AppCallback(_Callback):
    def _crypto(self) -> CallbackCrypto | None:
        return self.server.routes.app_crypto

    def post(self) -> None:
        """A self-built app callback (XML): check, answer empty, handle afterwards."""
        crypto = self._crypto()
        if crypto is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        try:
            plaintext = crypto.decrypt_xml(self._params(), self.request.body)
            fields = check_app_callback(plaintext)
        except CallbackRejected as rejected:
            self._refuse(rejected)
            return
        except MalformedCallback as malformed:
            self._refuse(CallbackRejected(MALFORMED_BODY, str(malformed)))
            return
        self.finish("")  # an empty 200 means "received, no passive reply"
        key = f"app:{fields.get('FromUserName')}:{dedupe_key(fields)}"
        self.server.run_after_reply(key, self.server.routes.on_app_callback(plaintext))


class _AiBotCallback(_Callback):
    def _crypto(self) -> CallbackCrypto | None:
        return self.server.routes.ai_bot_crypto

    def post(self) -> None:
        """An AI bot callback (JSON): check, answer empty, handle afterwards."""
        crypto = self._crypto()
        handler = self.server.routes.on_ai_bot_callback
        if crypto is None or handler is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        try:
            payload = crypto.decrypt_json(self._params(), self.request.body)
            check_ai_bot_callback(payload)
        except CallbackRejected as rejected:
            self._refuse(rejected)
            return
        except MalformedCallback as malformed:
            self._refuse(CallbackRejected(MALFORMED_BODY, str(malformed)))
            return
        self.finish("")
        self.server.run_after_reply(f"aibot:{payload['msgid']}", handler(payload))
