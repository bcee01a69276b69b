"""An in-process fake of the Telegram Bot API, served over real HTTP on 127.0.0.1.

The bot under test reaches it only through its configurable base URL
(``<root>/bot<token>/<method>`` and ``<root>/file/bot<token>/<file_path>``), so the
real client library does the encoding and parses every answer into its own objects.
The fake follows the published Bot API (https://core.telegram.org/bots/api): object
shapes, the ``{"ok": ..., "result": ...}`` envelope, error codes and texts, flood
limits, long polling and webhook delivery. Used by the test suite and the offline demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import inspect
import json
import math
import mimetypes
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPServerRequest
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from handlers.clock import Clock, SystemClock

__all__ = ["ApiError", "Call", "FakeTelegram", "FloodLimits"]

JSON = dict[str, Any]

# Error texts exactly as the Bot API words them.
CHAT_NOT_FOUND = "Bad Request: chat not found"
CHAT_ID_EMPTY = "Bad Request: chat_id is empty"
NEVER_STARTED = "Forbidden: bot can't initiate conversation with a user"
BLOCKED = "Forbidden: bot was blocked by the user"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
CANT_EDIT = "Bad Request: message can't be edited"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "Bad Request: there is no caption in the message to edit"
MESSAGE_ID_MISSING = "Bad Request: message identifier is not specified"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
CANT_DELETE = "Bad Request: message can't be deleted"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
ANSWER_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"
FILE_ID_MISSING = "Bad Request: file_id not specified"
INVALID_FILE_ID = "Bad Request: invalid file_id"
FILE_TOO_BIG = "Bad Request: file is too big"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
FILE_EMPTY = "Bad Request: file must be non-empty"
UNSUPPORTED_MEDIA = "Bad Request: can't parse InputMedia: unsupported media type"
MEDIA_REQUIRED = 'Bad Request: parameter "media" is required'
NO_MESSAGES = "Bad Request: there are no messages to send"
TOO_MANY_IN_ALBUM = "Bad Request: too many messages to send as an album"
USER_NOT_FOUND = "Bad Request: user not found"
WRONG_ACTION = "Bad Request: wrong parameter action in request"
COMMAND_INVALID = "Bad Request: BOT_COMMAND_INVALID"
PRIVATE_MEMBER_STATUS = "Bad Request: chat member status can't be changed in private chats"
BAD_WEBHOOK_URL = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_ANSWER_TEXT = 200
MAX_ALBUM = 10
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
WEBHOOK_TRIES = 3
WEBHOOK_RETRY_DELAY = 0.05
STOP_GRACE_SECONDS = 2.0
FIRST_UPDATE_ID = 100_000_001

# Update types sent when allowed_updates is empty or was never set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
PHOTO_SIZES = ((90, 67), (320, 240), (1280, 960))
DEFAULT_VIDEO = {"width": 1280, "height": 720, "duration": 10}
NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}
FAILURE_TEXTS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
PRIVATE_LABEL = "私聊"
BOT_LABEL = "🤖 bot"


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional response parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The JSON the Bot API answers with."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def too_many_requests(retry_after: int) -> ApiError:
    """The 429 answer telling the bot how many whole seconds to wait."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's broadcast limits for one bot."""

    per_second_overall: float = 30  # messages per second across all chats
    per_minute_per_group: int = 20  # messages per minute in one group
    per_second_per_private: float = 1  # messages per second in one private chat
    enforce: bool = True


@dataclass
class Call:
    """One request the bot made, as the fake received and answered it."""

    method: str
    params: JSON
    at: float  # the clock's monotonic() when the request arrived
    status: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    response: JSON = field(default_factory=dict)


@dataclass
class _Person:
    """A Telegram user and whether the bot may write to them."""

    user: JSON
    started: bool
    ever_started: bool


@dataclass
class _Group:
    """A group chat, its members and whether the bot is in it."""

    chat: JSON
    members: set[int]
    bot_is_member: bool


@dataclass
class _StoredFile:
    """An uploaded file: its ids, bytes, download path and the media object it belongs to."""

    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    file_path: str
    media: Any = None


@dataclass
class _Pending:
    """An update waiting to be confirmed (polling) or delivered (webhook)."""

    update: JSON
    handed_out: bool = False


@dataclass
class _CallbackQuery:
    """A button press waiting for answerCallbackQuery."""

    chat_id: int
    user_id: int
    message_id: int
    answered: bool = False


@dataclass
class _Failure:
    """A failure injected with fail_next."""

    status: int
    description: str
    retry_after: int | None

    def error(self) -> ApiError:
        """The error answer, with parameters.retry_after for a 429."""
        parameters = {"retry_after": self.retry_after} if self.retry_after else None
        return ApiError(self.status, self.description, parameters)


@dataclass
class _Storm:
    """A window of the clock in which calls are answered with errors in turn (fail_during)."""

    starts: float
    ends: float
    failures: tuple[_Failure, ...]
    methods: frozenset[str] | None  # lowercased names; None means every message-sending one
    answered: int = 0

    def covers(self, name: str, now: float) -> bool:
        """Whether a call of this method arriving now falls in the storm."""
        if not self.starts <= now < self.ends:
            return False
        if self.methods is None:
            return _is_message_sending(name)
        return name.lower() in self.methods

    def next_failure(self) -> _Failure:
        """The next error of the pattern, cycling through it."""
        failure = self.failures[self.answered % len(self.failures)]
        self.answered += 1
        return failure


@dataclass
class _Webhook:
    """The webhook settings and delivery state."""

    url: str = ""
    secret_token: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Described:
    """A successful result that also carries a description (setWebhook, deleteWebhook)."""

    result: Any
    description: str


# ---------------------------------------------------------------- text helpers


def utf16_length(text: str) -> int:
    """Length of the text in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_MENTION = re.compile(r"(?<!\w)@([A-Za-z0-9_]++)(?!\w)")
_HASHTAG = re.compile(r"(?<![\w\u200c\xb7])#([\w\u200c\xb7]++)(?!#)")
_COMMAND = re.compile(r"(?<![\w/<>])/([A-Za-z0-9_]++)(?:@([A-Za-z0-9_]*+))?+(?![\w/<>])")
_URL = re.compile(r"(?<![\w@])https?://[^\s<>\"«»]+", re.IGNORECASE)
_URL_TRAILING = ".:;,('?!`"


def _entity_spans(text: str) -> list[tuple[str, int, int]]:
    """(type, start, end) in code points of every entity Telegram detects in plain text."""
    spans: list[tuple[str, int, int]] = []
    for match in _MENTION.finditer(text):
        if 5 <= len(match.group(1)) <= 32:
            spans.append(("mention", match.start(), match.end()))
    for match in _HASHTAG.finditer(text):
        body = match.group(1)
        if any(ch.isalpha() for ch in body):
            spans.append(("hashtag", match.start(), match.start() + 1 + min(len(body), 256)))
    for match in _COMMAND.finditer(text):
        command, mention = match.group(1), match.group(2)
        if len(command) <= 64 and (mention is None or 3 <= len(mention) <= 32):
            spans.append(("bot_command", match.start(), match.end()))
    for match in _URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in _URL_TRAILING:
            end -= 1
        spans.append(("url", match.start(), end))
    return spans


def _without_overlaps(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Keep the earliest (then longest) of entities that overlap, as Telegram does."""
    kept: list[tuple[str, int, int]] = []
    for span in sorted(spans, key=lambda s: (s[1], -s[2])):
        if not kept or span[1] >= kept[-1][2]:
            kept.append(span)
    return kept


def detect_entities(text: str) -> list[JSON]:
    """MessageEntity objects (mention, hashtag, bot_command, url) with UTF-16 offsets."""
    entities = []
    for kind, start, end in _without_overlaps(_entity_spans(text)):
        offset = utf16_length(text[:start])
        entities.append({"offset": offset, "length": utf16_length(text[start:end]), "type": kind})
    return entities


def _html_error(detail: str) -> ApiError:
    """The 400 answer for markup the HTML parser rejects."""
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def _byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of a character index, as HTML parse errors report it."""
    return len(text[:index].encode())


def _close_tag(text: str, start: int, name: str, stack: list[str]) -> None:
    """Check an end tag against the innermost open tag."""
    offset = _byte_offset(text, start)
    if not stack:
        raise _html_error(f"Unexpected end tag at byte offset {offset}")
    if stack[-1] != name:
        raise _html_error(
            f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
            f'found "</{name}>"'
        )
    stack.pop()


def _open_tag(text: str, start: int, name: str, stack: list[str]) -> None:
    """Check a start tag is one Telegram supports."""
    if name not in HTML_TAGS:
        offset = _byte_offset(text, start)
        raise _html_error(f'Unsupported start tag "{name}" at byte offset {offset}')
    stack.append(name)


def html_to_plain(text: str) -> str:
    """Check Telegram-flavoured HTML as the Bot API does and return the text without markup."""
    stack: list[str] = []
    plain: list[str] = []
    position = 0
    while (start := text.find("<", position)) != -1:
        plain.append(html.unescape(text[position:start]))
        end = text.find(">", start)
        if end == -1:
            raise _html_error(f"Unclosed start tag at byte offset {_byte_offset(text, start)}")
        tag = text[start + 1 : end]
        if tag.startswith("/"):
            _close_tag(text, start, tag[1:].strip().lower(), stack)
        else:
            _open_tag(text, start, re.split(r"[\s/]", tag, maxsplit=1)[0].lower(), stack)
        position = end + 1
    plain.append(html.unescape(text[position:]))
    if stack:
        raise _html_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(plain)


def _plain_text(text: str, parse_mode: str | None) -> str:
    """The text a reader sees, after the parse mode's markup is applied."""
    return html_to_plain(text) if (parse_mode or "").upper() == "HTML" else text


# ---------------------------------------------------------------- request parameters


class Params:
    """Request parameters from a query, JSON, form or multipart body, read with their types.

    `file_names` holds the file name each multipart upload was sent with.
    """

    def __init__(
        self, raw: JSON, files: dict[str, bytes], file_names: dict[str, str] | None = None
    ) -> None:
        self.raw = raw
        self.files = files
        self.file_names = file_names or {}

    def text(self, name: str) -> str | None:
        """A string parameter."""
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int | None:
        """An integer parameter."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f'Bad Request: field "{name}" must be a valid Number') from None

    def number(self, name: str) -> float | None:
        """A numeric parameter."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(400, f'Bad Request: field "{name}" must be a valid Number') from None

    def flag(self, name: str) -> bool:
        """A boolean parameter (absent means false)."""
        value = self.raw.get(name)
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1"}
        return bool(value)

    def structured(self, name: str) -> Any:
        """A JSON-serialized parameter (form and multipart bodies carry it as a JSON string)."""
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None

    def chat_id(self) -> int:
        """The target chat id; "@username" targets are unknown to the fake."""
        value = self.raw.get("chat_id")
        if value is None or value == "":
            raise ApiError(400, CHAT_ID_EMPTY)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, CHAT_NOT_FOUND) from None


JSON_FIELDS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "media",
        "reply_markup",
        "reply_parameters",
        "scope",
    }
)
INTEGER_FIELDS = frozenset(
    {
        "cache_time",
        "chat_id",
        "duration",
        "height",
        "limit",
        "max_connections",
        "message_id",
        "message_thread_id",
        "offset",
        "reply_to_message_id",
        "user_id",
        "width",
    }
)
BOOLEAN_FIELDS = frozenset(
    {
        "allow_sending_without_reply",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "has_spoiler",
        "protect_content",
        "show_alert",
        "supports_streaming",
    }
)


def _typed_value(name: str, value: str) -> Any:
    """One form or query value as the type the Bot API documents for it."""
    try:
        if name in JSON_FIELDS:
            return json.loads(value)
        if name in INTEGER_FIELDS:
            return int(value)
        if name == "timeout":
            number = float(value)
            return int(number) if number.is_integer() else number
    except ValueError:
        return value
    if name in BOOLEAN_FIELDS:
        return value.strip().lower() in {"true", "1"}
    return value


def typed_params(raw: JSON) -> JSON:
    """Parameters with form and query strings decoded (JSON fields, numbers, booleans)."""
    return {
        name: _typed_value(name, value) if isinstance(value, str) else value
        for name, value in raw.items()
    }


def _decoded_arguments(arguments: dict[str, list[bytes]]) -> JSON:
    """The last value of each form or query argument, as text."""
    return {name: values[-1].decode("utf-8") for name, values in arguments.items() if values}


def read_request(
    request: HTTPServerRequest,
) -> tuple[JSON, dict[str, bytes], dict[str, str]]:
    """Parameters, uploaded files and their file names of a Bot API request, in any encoding."""
    params = _decoded_arguments(request.query_arguments)
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json") and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON request body") from None
        if isinstance(body, dict):
            params.update(body)
    else:
        params.update(_decoded_arguments(request.body_arguments))
    files = {name: parts[0].body for name, parts in request.files.items() if parts}
    names = {name: parts[0].filename for name, parts in request.files.items() if parts}
    return typed_params(params), files, names


# ---------------------------------------------------------------- flood control


class _SlidingWindow:
    """Send times within the last `seconds`; at most `capacity` of them are allowed."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more send fits (0 when it fits now)."""
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        if len(self.times) < self.capacity:
            return 0.0
        return self.times[-self.capacity] + self.seconds - now

    def add(self, now: float, count: int) -> None:
        """Remember sends made now."""
        self.times.extend([now] * count)


def _per_second_window(rate: float) -> _SlidingWindow:
    """A window allowing `rate` sends per second (fractional rates stretch the window)."""
    capacity = max(1, math.floor(rate))
    return _SlidingWindow(capacity, capacity / rate)


class _FloodControl:
    """Telegram's per-bot limits: overall per second, per group per minute, per private chat."""

    def __init__(self, limits: FloodLimits) -> None:
        self.limits = limits
        self.overall = _per_second_window(limits.per_second_overall)
        self.chats: dict[int, _SlidingWindow] = {}

    def _window(self, chat_id: int) -> _SlidingWindow:
        """The sliding window of one chat: per minute in groups, per second in private."""
        if chat_id not in self.chats:
            if chat_id < 0:
                self.chats[chat_id] = _SlidingWindow(self.limits.per_minute_per_group, 60.0)
            else:
                self.chats[chat_id] = _per_second_window(self.limits.per_second_per_private)
        return self.chats[chat_id]

    def check(self, chat_id: int, now: float) -> None:
        """Raise the 429 answer if one more message to the chat would break a limit."""
        if not self.limits.enforce:
            return
        wait = max(self.overall.wait(now), self._window(chat_id).wait(now))
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))

    def record(self, chat_id: int, now: float, count: int) -> None:
        """Count messages that were sent."""
        self.overall.add(now, count)
        self._window(chat_id).add(now, count)


def _is_message_sending(method: str) -> bool:
    """Whether a method sends or edits a message (what flood limits count)."""
    return (method.startswith("send") and method != "sendChatAction") or method.startswith("edit")


# ---------------------------------------------------------------- HTTP handlers


class _BotApiHandler(RequestHandler):
    """Serves ``/bot<token>/<method>``."""

    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.serving: asyncio.Future[tuple[int, JSON]] | None = None
        self.client_gone = False

    async def get(self, token: str, method: str) -> None:
        await self._answer(token, method)

    async def post(self, token: str, method: str) -> None:
        await self._answer(token, method)

    def on_connection_close(self) -> None:
        """The client hung up mid-request (e.g. a cancelled long poll): stop serving it."""
        self.client_gone = True
        if self.serving is not None:
            self.serving.cancel()

    async def _answer(self, token: str, method: str) -> None:
        """Send the JSON answer of one API request."""
        with self.fake.answering():
            try:
                status, body = await self._serve(token, method)
            except asyncio.CancelledError:
                if self.client_gone:
                    return
                raise
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            with contextlib.suppress(StreamClosedError):  # the client gave up waiting
                await self.finish(json.dumps(body, ensure_ascii=False))

    async def _serve(self, token: str, method: str) -> tuple[int, JSON]:
        """Decode the request and let the fake answer it, cancellably."""
        try:
            params, files, names = read_request(self.request)
        except ApiError as error:
            return error.status, error.body()
        self.serving = asyncio.ensure_future(
            self.fake.serve_api(token, method, params, files, file_names=names)
        )
        return await self.serving


class _FileHandler(RequestHandler):
    """Serves ``/file/bot<token>/<file_path>``."""

    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def get(self, token: str, file_path: str) -> None:
        status, content, content_type = self.fake.serve_file(token, file_path)
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(content)


def _quiet_log(handler: RequestHandler) -> None:
    """Keep tornado's access log out of test output."""


# ---------------------------------------------------------------- object builders


def _user_object(
    user_id: int, first_name: str, username: str | None, language_code: str | None
) -> JSON:
    """A User object."""
    user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def _bot_user_object(bot_id: int, username: str) -> JSON:
    """The bot's User object as getMe returns it."""
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": username.removesuffix("_bot").replace("_", " ").title(),
        "username": username,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _private_chat(user: JSON) -> JSON:
    """The Chat object of a user's private chat with the bot."""
    chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    if "username" in user:
        chat["username"] = user["username"]
    return chat


def _group_kind(chat_id: int) -> str:
    """Supergroup ids look like -100xxxxxxxxxx; other negative ids are basic groups."""
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


def _buttons_label(markup: JSON | None) -> str:
    """Inline keyboard labels for the transcript, rows separated by ' / '."""
    rows = (markup or {}).get("inline_keyboard") or []
    labels = " / ".join(" | ".join(str(b.get("text", "")) for b in row) for row in rows)
    return f" [buttons: {labels}]" if labels else ""


def _media_label(message: JSON) -> str:
    """A marker for the transcript: photo, video, document or location."""
    if "photo" in message:
        return "📷"
    if "video" in message:
        return "🎬"
    if "document" in message:
        return f"📄 {message['document'].get('file_name', '')}".rstrip()
    if "location" in message:
        location = message["location"]
        return f"📍 {location['latitude']}, {location['longitude']}"
    return ""


def _button_text(message: JSON, data: str) -> str:
    """The label of the button that carries this callback data."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
        for button in row:
            if button.get("callback_data") == data:
                return str(button.get("text", data))
    return data


def _without_reply(message: JSON) -> JSON:
    """A copy fit for reply_to_message (Telegram does not nest replies further)."""
    target = copy.deepcopy(message)
    target.pop("reply_to_message", None)
    return target


def _failure_description(status: int, retry_after: int | None) -> str:
    """The usual description for an injected failure's status."""
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    if status in FAILURE_TEXTS:
        return FAILURE_TEXTS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# ---------------------------------------------------------------- the fake


class FakeTelegram:
    """The Telegram Bot API for one bot, with a scripted world of users and groups."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST",
        clock: Clock | None = None,
        limits: FloodLimits = FloodLimits(),
        bot_username: str = "yangfan_ticket_bot",
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '<digits>:<secret>'")
        self._token = token
        self._clock: Clock = clock or SystemClock()
        self._flood = _FloodControl(limits)
        self._bot_user = _bot_user_object(int(bot_id), bot_username)
        self.calls: list[Call] = []
        self.callback_answers: list[JSON] = []
        self._people: dict[int, _Person] = {}
        self._groups: dict[int, _Group] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._sent: list[JSON] = []
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = 0
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._counter = 0
        self._next_update_id = FIRST_UPDATE_ID
        self._history: dict[int, JSON] = {}
        self._pending: list[_Pending] = []
        self._allowed_updates: list[str] = []
        self._webhook = _Webhook()
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._storms: list[_Storm] = []
        self._transcript: list[str] = []
        self._too_many = 0
        self._poll_generation = 0
        self._stopping = False
        self._answering = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._updates_arrived: asyncio.Event | None = None
        self._webhook_due: asyncio.Event | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._http_client: AsyncHTTPClient | None = None
        self._server: HTTPServer | None = None
        self._port: int | None = None
        self._methods: dict[str, Callable[[Params], Any]] = {
            name.lower(): handler for name, handler in self._method_table().items()
        }
        self._method_names = {name.lower(): name for name in self._method_table()}

    def _method_table(self) -> dict[str, Callable[[Params], Any]]:
        """Bot API method names and the handlers that serve them."""
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendVideo": self._send_video,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "leaveChat": self._leave_chat,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
        }

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port and start the webhook sender."""
        if self._server is not None:
            return
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._updates_arrived = asyncio.Event()
        self._webhook_due = asyncio.Event()
        routes = [
            (r"/bot([^/]+)/([A-Za-z0-9_]+)/?", _BotApiHandler, {"fake": self}),
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"fake": self}),
        ]
        application = Application(routes, log_function=_quiet_log)
        sockets = bind_sockets(0, "127.0.0.1")
        self._port = sockets[0].getsockname()[1]
        self._server = HTTPServer(application)
        self._server.add_sockets(sockets)
        self._http_client = AsyncHTTPClient(force_instance=True)
        self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhooks())
        if self._webhook.url and self._pending:
            self._webhook_due.set()

    async def stop(self) -> None:
        """Release waiting long polls, stop the webhook sender and close the server."""
        self._stopping = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._http_client is not None:
            self._http_client.close()
            self._http_client = None
        if self._server is not None:
            self._server.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), STOP_GRACE_SECONDS)
            await self._server.close_all_connections()
            self._server = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count a request being answered, so stop() can let it finish first."""
        self._answering += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._idle.set()

    @property
    def token(self) -> str:
        """The bot token the fake accepts."""
        return self._token

    @property
    def bot_user(self) -> JSON:
        """The bot's own User object (what getMe returns)."""
        return copy.deepcopy(self._bot_user)

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """The Bot API base URL without the token, as PTB's ``base_url`` expects."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """The file download base URL without the token, as PTB's ``base_file_url`` expects."""
        return f"{self.root_url}/file/bot"

    # ------------------------------------------------------------ world set-up

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started_bot: bool = True,
    ) -> JSON:
        """Create a user; returns the User object."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = _user_object(user_id, first_name, username, language_code)
        self._people[user_id] = _Person(user, started=started_bot, ever_started=started_bot)
        return copy.deepcopy(user)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        member_ids: Iterable[int] = (),
        bot_is_member: bool = True,
    ) -> JSON:
        """Create a group (negative id; -100… is a supergroup); returns the Chat object."""
        if chat_id >= 0:
            raise ValueError("group ids are negative, e.g. -1001000000001")
        chat = {"id": chat_id, "title": title, "type": _group_kind(chat_id)}
        members = set(member_ids)
        for user_id in members:
            self._person(user_id)
        self._groups[chat_id] = _Group(chat, members, bot_is_member)
        return copy.deepcopy(chat)

    def set_started(self, user_id: int, started: bool) -> None:
        """Start (True) or block (False) the bot as this user."""
        person = self._person(user_id)
        person.started = started
        person.ever_started = person.ever_started or started

    # ------------------------------------------------------------ what users do

    def user_sends(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        *,
        photo: bytes | None = None,
        video: bytes | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to_message_id: int | None = None,
        location: tuple[float, float] | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """A user posts a message; queues a ``message`` update and returns the Message."""
        if text is None and photo is None and video is None and location is None:
            raise ValueError("a message needs text, a photo, a video or a location")
        person = self._person(user_id)
        chat = self._chat_for_user(chat_id, user_id)
        message = self._new_message(chat_id, chat, person.user)
        if reply_to_message_id is not None:
            message["reply_to_message"] = self._reply_copy(chat_id, reply_to_message_id)
        self._fill_user_content(message, text, photo, video, caption, entities)
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        if location is not None:
            message["location"] = {"latitude": location[0], "longitude": location[1]}
        self._store_message(message)
        self._log(chat_id, person.user["first_name"], self._summary(message))
        self._emit("message", message)
        return copy.deepcopy(message)

    def user_edits(self, chat_id: int, message_id: int, text: str) -> JSON:
        """A user edits their message; queues an ``edited_message`` update."""
        message = self._messages.get((chat_id, message_id))
        if message is None or message["from"]["id"] == self._bot_user["id"]:
            raise ValueError(f"no user message {message_id} in chat {chat_id}")
        key = "caption" if ("photo" in message or "video" in message) else "text"
        entities_key = "caption_entities" if key == "caption" else "entities"
        message[key] = text
        message.pop(entities_key, None)
        if found := detect_entities(text):
            message[entities_key] = found
        message["edit_date"] = self._now()
        self._log(chat_id, f"{message['from']['first_name']} (edited)", self._summary(message))
        self._emit("edited_message", message)
        return copy.deepcopy(message)

    def user_presses(self, chat_id: int, message_id: int, data: str, *, user_id: int) -> str:
        """A user presses an inline button on a bot message; returns the callback query id."""
        person = self._person(user_id)
        message = self._messages.get((chat_id, message_id))
        if message is None or message["from"]["id"] != self._bot_user["id"]:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        query_id = str(4_000_000_000_000_000_000 + self._next_counter())
        self._callbacks[query_id] = _CallbackQuery(chat_id, user_id, message_id)
        query = {
            "id": query_id,
            "from": person.user,
            "message": message,
            "chat_instance": str(-(5_000_000_000_000_000_000 + abs(chat_id))),
            "data": data,
        }
        label = _button_text(message, data)
        self._log(chat_id, person.user["first_name"], f"pressed [{label}]")
        self._emit("callback_query", query)
        return query_id

    def bot_added_to_group(self, chat_id: int, title: str, *, by_user_id: int) -> None:
        """A user adds the bot: a ``my_chat_member`` update and a new_chat_members message."""
        person = self._person(by_user_id)
        if chat_id not in self._groups:
            self.add_group(chat_id, title, bot_is_member=False)
        group = self._groups[chat_id]
        group.chat["title"] = title
        group.members.add(by_user_id)
        old_status = "member" if group.bot_is_member else "left"
        group.bot_is_member = True
        self._emit_bot_membership(group, person.user, old_status, "member")
        message = self._new_message(chat_id, group.chat, person.user)
        message["new_chat_members"] = [self._bot_user]
        self._store_message(message)
        self._log(chat_id, person.user["first_name"], f"added {BOT_LABEL}")
        self._emit("message", message)

    def redeliver(self, update_id: int) -> None:
        """Queue an earlier update again with the same update_id, as after a failed delivery."""
        update = self._history[update_id]
        self._pending = [p for p in self._pending if p.update["update_id"] != update_id]
        self._pending.append(_Pending(update))
        self._pending.sort(key=lambda p: int(p.update["update_id"]))
        self._notify()

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with this error instead of serving them."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _failure_description(status, retry_after)
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend(_Failure(status, text, retry_after) for _ in range(times))

    def fail_during(
        self,
        seconds: float,
        *,
        statuses: Iterable[int] = (500, 429),
        methods: Iterable[str] | None = None,
        retry_after: int = 5,
        start_in: float = 0.0,
    ) -> None:
        """From `start_in` seconds from now, for `seconds`, answer calls with errors in turn.

        Each call that arrives in the window gets the next status of `statuses`, cycling: 500
        "Internal Server Error", 502 "Bad Gateway", 429 "Too Many Requests: retry after N" with
        parameters.retry_after. `methods` defaults to every message-sending method; a failed
        call sends nothing and does not count against the flood limits.
        """
        if seconds <= 0 or start_in < 0:
            raise ValueError("a storm needs a positive length and a start not in the past")
        if retry_after < 1:
            raise ValueError("retry_after is a whole number of seconds, at least 1")
        failures = tuple(
            _Failure(status, _failure_description(status, retry_after), retry_after)
            if status == 429
            else _Failure(status, _failure_description(status, None), None)
            for status in statuses
        )
        if not failures or any(f.status < 400 for f in failures):
            raise ValueError("statuses must be one or more HTTP error codes")
        starts = self._clock.monotonic() + start_in
        names = None if methods is None else frozenset(m.lower() for m in methods)
        self._storms.append(_Storm(starts, starts + seconds, failures, names))

    # ------------------------------------------------------------ what the bot did

    def sent_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent successfully, in order, as they are now (edits applied)."""
        return [
            copy.deepcopy(message)
            for message in self._sent
            if chat_id is None or message["chat"]["id"] == chat_id
        ]

    def too_many_requests(self) -> int:
        """How many 429 answers were given."""
        return self._too_many

    def transcript(self) -> list[str]:
        """Human-readable lines of everything said and done, in order."""
        return list(self._transcript)

    @property
    def clock(self) -> Clock:
        """The clock its dates and flood windows follow."""
        return self._clock

    def last_update_id(self) -> int:
        """The update_id of the newest update users caused."""
        return self._next_update_id - 1

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed (polling) or delivered (webhook)."""
        return [copy.deepcopy(p.update) for p in self._pending]

    # ------------------------------------------------------------ HTTP entry points

    async def serve_api(
        self,
        token: str,
        method: str,
        raw: JSON,
        files: dict[str, bytes],
        *,
        file_names: dict[str, str] | None = None,
    ) -> tuple[int, JSON]:
        """Answer one Bot API request: (HTTP status, JSON body); records it in ``calls``."""
        name = self._method_names.get(method.lower(), method)
        call = Call(method=name, params=raw, at=self._clock.monotonic(), files=files)
        self.calls.append(call)
        status, body = await self._answer(token, method, Params(raw, files, file_names))
        call.status, call.response = status, body
        if status == 429:
            self._too_many += 1
        return status, body

    def serve_file(self, token: str, file_path: str) -> tuple[int, bytes, str]:
        """Answer a file download: (HTTP status, body, content type)."""
        self.calls.append(Call("downloadFile", {"file_path": file_path}, self._clock.monotonic()))
        if token != self._token:
            return self._file_error(ApiError(401, "Unauthorized"))
        stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if stored is None:
            return self._file_error(ApiError(404, "Not Found"))
        self.calls[-1].status = 200
        return 200, stored.content, self._content_type(stored)

    def _file_error(self, error: ApiError) -> tuple[int, bytes, str]:
        """A JSON error answer for a file download."""
        self.calls[-1].status = error.status
        return error.status, json.dumps(error.body()).encode(), "application/json"

    @staticmethod
    def _content_type(stored: _StoredFile) -> str:
        """Content-Type of a download: by file kind, a document's own MIME type."""
        if stored.kind == "document":
            return str(stored.media["mime_type"])
        return {"photo": "image/jpeg", "video": "video/mp4"}.get(
            stored.kind, "application/octet-stream"
        )

    async def _answer(self, token: str, method: str, params: Params) -> tuple[int, JSON]:
        """Check token and method, inject failures and flood limits, run the handler."""
        if token != self._token:
            return 401, ApiError(401, "Unauthorized").body()
        handler = self._methods.get(method.lower())
        if handler is None:
            return 404, ApiError(404, "Not Found").body()
        name = self._method_names[method.lower()]
        now = self._clock.monotonic()
        try:
            self._raise_injected_failure(name)
            self._raise_storm_failure(name, now)
            flood_chat = self._flood_chat(name, params)
            if flood_chat is not None:
                self._flood.check(flood_chat, now)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return error.status, error.body()
        if flood_chat is not None:
            self._flood.record(flood_chat, now, len(result) if isinstance(result, list) else 1)
        if isinstance(result, _Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    def _raise_injected_failure(self, name: str) -> None:
        """Raise the next failure queued by fail_next for this method, if any."""
        queue = self._failures.get(name.lower())
        if not queue:
            return
        raise queue.popleft().error()

    def _raise_storm_failure(self, name: str, now: float) -> None:
        """Raise the next error of the first storm (fail_during) this call falls in, if any."""
        storm = next((s for s in self._storms if s.covers(name, now)), None)
        if storm is not None:
            raise storm.next_failure().error()

    @staticmethod
    def _flood_chat(name: str, params: Params) -> int | None:
        """The chat a message-sending call counts against, if it is one."""
        if not _is_message_sending(name):
            return None
        try:
            return int(params.raw["chat_id"])
        except (KeyError, TypeError, ValueError):
            return None

    # ------------------------------------------------------------ updates

    def _emit(self, kind: str, payload: JSON) -> int | None:
        """Create an update of this kind unless allowed_updates filters it out."""
        if not self._update_allowed(kind):
            return None
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, kind: copy.deepcopy(payload)}
        self._history[update_id] = update
        self._pending.append(_Pending(update))
        self._notify()
        return update_id

    def _update_allowed(self, kind: str) -> bool:
        """Whether allowed_updates lets this update type through."""
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in DEFAULT_EXCLUDED_UPDATES

    def _notify(self) -> None:
        """Wake long polls and the webhook sender."""
        if self._updates_arrived is not None:
            self._updates_arrived.set()
        if self._webhook_due is not None:
            self._webhook_due.set()

    def _confirm(self, offset: int | None) -> None:
        """Apply getUpdates' offset: forget confirmed updates, or keep only the last -offset."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            self._pending = self._pending[offset:]
            return
        self._pending = [
            p for p in self._pending if not (p.handed_out and p.update["update_id"] < offset)
        ]

    def _hand_out(self, limit: int) -> list[JSON]:
        """The first `limit` pending updates, marked as seen by getUpdates."""
        batch = self._pending[:limit]
        for pending in batch:
            pending.handed_out = True
        return [copy.deepcopy(p.update) for p in batch]

    async def _get_updates(self, p: Params) -> list[JSON]:
        """getUpdates: confirm by offset, then long-poll for new updates."""
        if self._webhook.url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        allowed = p.structured("allowed_updates")
        if allowed is not None:
            self._allowed_updates = [str(kind) for kind in allowed]
        self._confirm(p.integer("offset"))
        limit = min(100, max(1, p.integer("limit") or 100))
        timeout = max(0.0, p.number("timeout") or 0.0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        return await self._long_poll(generation, limit, wait_seconds=timeout)

    async def _long_poll(self, generation: int, limit: int, *, wait_seconds: float) -> list[JSON]:
        """Wait up to `wait_seconds` for updates, waking on each new one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._webhook.url:
                raise ApiError(409, WEBHOOK_CONFLICT)
            batch = self._hand_out(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._stopping or self._updates_arrived is None:
                return batch
            self._updates_arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_arrived.wait(), remaining)

    # ------------------------------------------------------------ webhook

    def _set_webhook(self, p: Params) -> _Described:
        """setWebhook (an empty url removes the webhook)."""
        url = p.text("url") or ""
        if not url:
            return self._remove_webhook(p)
        if not url.lower().startswith(("https://", "http://")):
            raise ApiError(400, BAD_WEBHOOK_URL)
        allowed = p.structured("allowed_updates")
        if allowed is not None:
            self._allowed_updates = [str(kind) for kind in allowed]
        if p.flag("drop_pending_updates"):
            self._pending.clear()
        already = self._webhook.url == url
        self._webhook = _Webhook(url=url, secret_token=p.text("secret_token"))
        self._notify()
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, p: Params) -> _Described:
        """deleteWebhook."""
        return self._remove_webhook(p)

    def _remove_webhook(self, p: Params) -> _Described:
        """Forget the webhook, optionally dropping pending updates."""
        if p.flag("drop_pending_updates"):
            self._pending.clear()
        was_set = bool(self._webhook.url)
        self._webhook = _Webhook()
        self._notify()
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def _get_webhook_info(self, p: Params) -> JSON:
        """getWebhookInfo."""
        info: JSON = {
            "url": self._webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook.url:
            info.update({"max_connections": 40, "ip_address": "127.0.0.1"})
        if self._webhook.last_error_date is not None:
            info["last_error_date"] = self._webhook.last_error_date
            info["last_error_message"] = self._webhook.last_error_message
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    async def _deliver_webhooks(self) -> None:
        """POST pending updates to the webhook, oldest first, whenever there are new ones."""
        assert self._webhook_due is not None
        while True:
            await self._webhook_due.wait()
            self._webhook_due.clear()
            while self._webhook.url and self._pending:
                pending = self._pending[0]
                if not await self._post_with_retries(pending.update):
                    break
                if pending in self._pending:
                    self._pending.remove(pending)

    async def _post_with_retries(self, update: JSON) -> bool:
        """Deliver one update, trying a few times; False leaves it pending."""
        for attempt in range(WEBHOOK_TRIES):
            error = await self._post_update(update)
            if error is None:
                return True
            self._webhook.last_error_date = self._now()
            self._webhook.last_error_message = error
            if attempt + 1 < WEBHOOK_TRIES:
                await asyncio.sleep(WEBHOOK_RETRY_DELAY)
        return False

    async def _post_update(self, update: JSON) -> str | None:
        """POST one update; returns the error text, or None when the webhook took it."""
        assert self._http_client is not None
        headers = {"Content-Type": "application/json"}
        if self._webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook.secret_token
        request = HTTPRequest(
            self._webhook.url,
            method="POST",
            headers=headers,
            body=json.dumps(update, ensure_ascii=False).encode(),
            request_timeout=10,
        )
        try:
            response = await self._http_client.fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as error:
            return str(error) or "Connection refused"
        if 200 <= response.code < 300:
            return None
        return f"Wrong response from the webhook: {response.code} {response.reason}"

    # ------------------------------------------------------------ chats and people

    def _person(self, user_id: int) -> _Person:
        """A user set up with add_user."""
        person = self._people.get(user_id)
        if person is None:
            raise ValueError(f"unknown user {user_id}; call add_user first")
        return person

    def _chat_for_user(self, chat_id: int, user_id: int) -> JSON:
        """The chat a user writes in; writing to the bot privately means having started it."""
        if chat_id > 0:
            if chat_id != user_id:
                raise ValueError("in a private chat with the bot, chat_id is the user's id")
            person = self._person(user_id)
            person.started = person.ever_started = True
            return _private_chat(person.user)
        group = self._groups.get(chat_id)
        if group is None:
            raise ValueError(f"unknown group {chat_id}; call add_group first")
        group.members.add(user_id)
        return group.chat

    def _known_chat(self, chat_id: int) -> JSON:
        """The Chat object of a chat the bot knows, else "chat not found"."""
        if chat_id > 0 and chat_id in self._people:
            return _private_chat(self._people[chat_id].user)
        if chat_id < 0 and chat_id in self._groups:
            return self._groups[chat_id].chat
        raise ApiError(400, CHAT_NOT_FOUND)

    def _writable_chat(self, chat_id: int) -> JSON:
        """The Chat object if the bot may post there, else the Bot API's refusal."""
        chat = self._known_chat(chat_id)
        if chat_id > 0:
            person = self._people[chat_id]
            if not person.started:
                raise ApiError(403, BLOCKED if person.ever_started else NEVER_STARTED)
        elif not self._groups[chat_id].bot_is_member:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        return chat

    def _chat_label(self, chat_id: int) -> str:
        """'[group title]' or '[私聊 name]' for the transcript."""
        if chat_id > 0:
            return f"[{PRIVATE_LABEL} {self._people[chat_id].user['first_name']}]"
        return f"[{self._groups[chat_id].chat['title']}]"

    def _log(self, chat_id: int, who: str, what: str) -> None:
        """Add a transcript line."""
        self._transcript.append(f"{self._chat_label(chat_id)} {who}: {what}")

    def _emit_bot_membership(self, group: _Group, by: JSON, old: str, new: str) -> None:
        """A my_chat_member update for a change of the bot's status in a group."""
        self._emit(
            "my_chat_member",
            {
                "chat": group.chat,
                "from": by,
                "date": self._now(),
                "old_chat_member": {"user": self._bot_user, "status": old},
                "new_chat_member": {"user": self._bot_user, "status": new},
            },
        )

    # ------------------------------------------------------------ messages

    def _now(self) -> int:
        """Unix seconds from the clock, the unit of every date field."""
        return int(self._clock.now().timestamp())

    def _next_counter(self) -> int:
        """A fresh number for ids (callback queries, media groups)."""
        self._counter += 1
        return self._counter

    def _new_message(self, chat_id: int, chat: JSON, sender: JSON) -> JSON:
        """A Message skeleton with the chat's next message_id."""
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return {"message_id": message_id, "from": sender, "chat": chat, "date": self._now()}

    def _store_message(self, message: JSON) -> None:
        """Keep a message so it can be replied to, edited or deleted."""
        self._messages[(message["chat"]["id"], message["message_id"])] = message

    def _reply_copy(self, chat_id: int, message_id: int) -> JSON:
        """A copy of a stored message to put under reply_to_message."""
        target = self._messages.get((chat_id, message_id))
        if target is None:
            raise ValueError(f"no message {message_id} in chat {chat_id} to reply to")
        return _without_reply(target)

    def _fill_user_content(
        self,
        message: JSON,
        text: str | None,
        photo: bytes | None,
        video: bytes | None,
        caption: str | None,
        entities: list[JSON] | None,
    ) -> None:
        """Put text, or media with its caption, into a user's message."""
        if photo is not None:
            message["photo"] = self._store_photo(photo)
        elif video is not None:
            message["video"] = self._store_video(video, DEFAULT_VIDEO)
        if photo is not None or video is not None:
            self._set_text(message, "caption", caption if caption is not None else text, entities)
        elif text is not None:
            self._set_text(message, "text", text, entities)

    @staticmethod
    def _set_text(message: JSON, key: str, value: str | None, entities: list[JSON] | None) -> None:
        """Set text or caption with explicit entities, else the ones Telegram detects."""
        entities_key = "caption_entities" if key == "caption" else "entities"
        message.pop(key, None)
        message.pop(entities_key, None)
        if not value:
            return
        message[key] = value
        found = entities if entities is not None else detect_entities(value)
        if found:
            message[entities_key] = found

    def _summary(self, message: JSON, plain: str | None = None) -> str:
        """What a message shows: media marker, text or caption, buttons."""
        body = plain if plain is not None else message.get("text", message.get("caption", ""))
        parts = [part for part in (_media_label(message), body) if part]
        return " ".join(parts) + _buttons_label(message.get("reply_markup"))

    # ------------------------------------------------------------ files

    def _new_file(self, kind: str, content: bytes, prefix: str, extension: str) -> _StoredFile:
        """Register file content under new ids and a download path."""
        self._file_counter += 1
        number = self._file_counter
        stored = _StoredFile(
            file_id=f"{prefix}AAxkBAAI{number:08d}",
            file_unique_id=f"AQAD{number:06d}",
            kind=kind,
            content=content,
            file_path=f"{kind}s/file_{number}.{extension}",
        )
        self._files[stored.file_id] = stored
        return stored

    def _store_photo(self, content: bytes) -> list[JSON]:
        """Register an uploaded photo in several sizes; the largest holds the original bytes."""
        sizes: list[JSON] = []
        stored_files = []
        for index, (width, height) in enumerate(PHOTO_SIZES):
            largest = index == len(PHOTO_SIZES) - 1
            body = content if largest else f"thumbnail {width}x{height}".encode()
            stored = self._new_file("photo", body, "AgACAgUAA", "jpg")
            stored_files.append(stored)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(body),
                }
            )
        for stored in stored_files:
            stored.media = sizes
        return copy.deepcopy(sizes)

    def _store_video(self, content: bytes, shape: JSON) -> JSON:
        """Register an uploaded video; returns the Video object."""
        stored = self._new_file("video", content, "BAACAgUAA", "mp4")
        video = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            **shape,
            "mime_type": "video/mp4",
            "file_size": len(content),
        }
        stored.media = video
        return copy.deepcopy(video)

    def _store_document(self, content: bytes, file_name: str) -> JSON:
        """Register an uploaded document; returns the Document object."""
        extension = file_name.rpartition(".")[2] if "." in file_name else "bin"
        stored = self._new_file("document", content, "BQACAgUAA", extension)
        document = {
            "file_name": file_name,
            "mime_type": mimetypes.guess_type(file_name)[0] or "application/octet-stream",
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(content),
        }
        stored.media = document
        return copy.deepcopy(document)

    def file_content(self, file_id: str) -> bytes:
        """The bytes stored under a file id (what a download of it returns)."""
        return self._files[file_id].content

    def _resolve_media(self, kind: str, value: Any, files: dict[str, bytes], part: str) -> Any:
        """PhotoSize list or Video for a sent file: an upload, attach://name, or a file_id."""
        content = self._uploaded(value, files, part)
        if content is None:
            return self._reused_media(kind, value)
        if not content:
            raise ApiError(400, FILE_EMPTY)
        if kind == "photo":
            return self._store_photo(content)
        return self._store_video(content, DEFAULT_VIDEO)

    @staticmethod
    def _uploaded(value: Any, files: dict[str, bytes], part: str) -> bytes | None:
        """Uploaded bytes for a media parameter (attach://name or the part itself), if any."""
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if name not in files:
                raise ApiError(400, "Bad Request: can't parse InputMedia: media not found")
            return files[name]
        if value is None and part in files:
            return files[part]
        return None

    def _reused_media(self, kind: str, value: Any) -> Any:
        """The media object of an earlier file_id, checked to be of the right kind."""
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        stored = self._files.get(str(value))
        if stored is None:
            raise ApiError(400, WRONG_FILE_ID)
        if stored.kind != kind:
            raise ApiError(
                400, f"Bad Request: can't use file of type {stored.kind.title()} as {kind.title()}"
            )
        return copy.deepcopy(stored.media)

    # ------------------------------------------------------------ bot messages

    def _checked_text(self, text: str | None, parse_mode: str | None) -> str:
        """Validate a message text; returns it as the reader sees it."""
        plain = _plain_text(text or "", parse_mode)
        if not plain.strip():
            raise ApiError(400, TEXT_EMPTY)
        if utf16_length(plain) > MAX_TEXT:
            raise ApiError(400, TEXT_TOO_LONG)
        return plain

    @staticmethod
    def _checked_caption(caption: str | None, parse_mode: str | None) -> str:
        """Validate a caption; returns it as the reader sees it."""
        plain = _plain_text(caption or "", parse_mode)
        if utf16_length(plain) > MAX_CAPTION:
            raise ApiError(400, CAPTION_TOO_LONG)
        return plain

    @staticmethod
    def _inline_markup(p: Params) -> JSON | None:
        """The inline keyboard to show under the message, validated; other markups show none."""
        markup = p.structured("reply_markup")
        if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, BUTTON_DATA_INVALID)
        return {"inline_keyboard": markup["inline_keyboard"]}

    def _reply_target(self, chat_id: int, p: Params) -> JSON | None:
        """The message replied to (reply_parameters or reply_to_message_id), if any."""
        parameters = p.structured("reply_parameters")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            allow_missing = bool(parameters.get("allow_sending_without_reply"))
        else:
            message_id = p.integer("reply_to_message_id")
            allow_missing = p.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        target = self._messages.get((chat_id, int(message_id)))
        if target is None:
            if allow_missing:
                return None
            raise ApiError(400, REPLY_NOT_FOUND)
        return _without_reply(target)

    def _bot_message(self, chat_id: int, chat: JSON, p: Params) -> JSON:
        """A new bot message in the chat, with its reply and keyboard (validated first)."""
        markup = self._inline_markup(p)
        reply = self._reply_target(chat_id, p)
        message = self._new_message(chat_id, chat, self._bot_user)
        if reply is not None:
            message["reply_to_message"] = reply
        if markup is not None:
            message["reply_markup"] = markup
        return message

    @staticmethod
    def _bot_entities(text: str, p: Params, name: str) -> list[JSON] | None:
        """Entities of a bot text: as given, else detected when there is no markup."""
        given = p.structured(name)
        if given is not None:
            return list(given)
        return None if p.text("parse_mode") else detect_entities(text)

    def _publish(self, message: JSON, plain: str) -> JSON:
        """Keep a bot message, log it, and return the copy the API answers with."""
        self._store_message(message)
        self._sent.append(message)
        self._log(message["chat"]["id"], BOT_LABEL, self._summary(message, plain))
        return copy.deepcopy(message)

    def _send_message(self, p: Params) -> JSON:
        """sendMessage."""
        chat_id = p.chat_id()
        chat = self._writable_chat(chat_id)
        text = p.text("text") or ""
        plain = self._checked_text(text, p.text("parse_mode"))
        message = self._bot_message(chat_id, chat, p)
        message["text"] = text
        if entities := self._bot_entities(text, p, "entities"):
            message["entities"] = entities
        preview = p.structured("link_preview_options")
        if isinstance(preview, dict):
            message["link_preview_options"] = preview
        return self._publish(message, plain)

    def _send_media(self, p: Params, kind: str, shape: JSON | None = None) -> JSON:
        """sendPhoto / sendVideo: one media message with an optional caption."""
        chat_id = p.chat_id()
        chat = self._writable_chat(chat_id)
        caption = p.text("caption")
        plain = self._checked_caption(caption, p.text("parse_mode"))
        media = self._resolve_media(kind, p.raw.get(kind), p.files, kind)
        if shape and isinstance(media, dict):
            media.update(shape)
        message = self._bot_message(chat_id, chat, p)
        message[kind] = media
        self._put_caption(message, caption, p)
        return self._publish(message, plain)

    def _put_caption(self, message: JSON, caption: str | None, p: Params) -> None:
        """Set a bot message's caption and its entities."""
        if caption:
            message["caption"] = caption
            if entities := self._bot_entities(caption, p, "caption_entities"):
                message["caption_entities"] = entities

    def _send_photo(self, p: Params) -> JSON:
        """sendPhoto."""
        return self._send_media(p, "photo")

    def _send_document(self, p: Params) -> JSON:
        """sendDocument: an uploaded file (named as uploaded) or a file_id, with a caption."""
        chat_id = p.chat_id()
        chat = self._writable_chat(chat_id)
        caption = p.text("caption")
        plain = self._checked_caption(caption, p.text("parse_mode"))
        value = p.raw.get("document")
        content = self._uploaded(value, p.files, "document")
        if content is None:
            document = self._reused_media("document", value)
        elif not content:
            raise ApiError(400, FILE_EMPTY)
        else:
            part = value.removeprefix("attach://") if isinstance(value, str) else "document"
            document = self._store_document(content, p.file_names.get(part) or "document")
        message = self._bot_message(chat_id, chat, p)
        message["document"] = document
        self._put_caption(message, caption, p)
        return self._publish(message, plain)

    def _send_video(self, p: Params) -> JSON:
        """sendVideo (width, height and duration as given, else defaults)."""
        given = {name: p.integer(name) for name in DEFAULT_VIDEO}
        return self._send_media(p, "video", {k: v for k, v in given.items() if v is not None})

    def _album_items(self, p: Params) -> list[JSON]:
        """The validated InputMedia list of sendMediaGroup."""
        items = p.structured("media")
        if items is None:
            raise ApiError(400, MEDIA_REQUIRED)
        if not isinstance(items, list) or not items:
            raise ApiError(400, NO_MESSAGES)
        if len(items) > MAX_ALBUM:
            raise ApiError(400, TOO_MANY_IN_ALBUM)
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "video"):
                kind = item.get("type") if isinstance(item, dict) else None
                raise ApiError(400, f'{UNSUPPORTED_MEDIA} "{kind}"')
        return items

    def _send_media_group(self, p: Params) -> list[JSON]:
        """sendMediaGroup: one message per item, sharing a media_group_id."""
        items = self._album_items(p)
        chat_id = p.chat_id()
        chat = self._writable_chat(chat_id)
        captions = [self._checked_caption(i.get("caption"), i.get("parse_mode")) for i in items]
        media = [self._resolve_media(i["type"], i.get("media"), p.files, "") for i in items]
        group_id = str(13_000_000_000_000_000 + self._next_counter())
        sent = []
        for item, content, plain in zip(items, media, captions, strict=True):
            message = self._bot_message(chat_id, chat, p)
            message["media_group_id"] = group_id
            message[item["type"]] = content
            item_params = Params(item, {})
            self._put_caption(message, item.get("caption"), item_params)
            sent.append(self._publish(message, plain))
        return sent

    # ------------------------------------------------------------ edits

    def _editable(self, p: Params) -> JSON:
        """The bot message an edit targets, else the Bot API's refusal."""
        chat_id = p.chat_id()
        self._known_chat(chat_id)
        message_id = p.integer("message_id")
        if message_id is None:
            raise ApiError(400, MESSAGE_ID_MISSING)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, EDIT_NOT_FOUND)
        if message["from"]["id"] != self._bot_user["id"]:
            raise ApiError(400, CANT_EDIT)
        return message

    def _apply_edit(self, message: JSON, changed: JSON, plain: str | None = None) -> JSON:
        """Replace content and keyboard (an absent keyboard removes it), or refuse a no-op."""
        current = {key: message.get(key) for key in changed}
        if current == changed:
            raise ApiError(400, NOT_MODIFIED)
        for key, value in changed.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = self._now()
        summary = self._summary(message, plain)
        self._log(message["chat"]["id"], f"{BOT_LABEL} (edited)", summary)
        return copy.deepcopy(message)

    def _edit_message_text(self, p: Params) -> JSON:
        """editMessageText."""
        message = self._editable(p)
        text = p.text("text") or ""
        plain = self._checked_text(text, p.text("parse_mode"))
        if "text" not in message:
            raise ApiError(400, NO_TEXT_TO_EDIT)
        changed = {
            "text": text,
            "entities": self._bot_entities(text, p, "entities") or None,
            "reply_markup": self._inline_markup(p),
        }
        return self._apply_edit(message, changed, plain)

    def _edit_message_caption(self, p: Params) -> JSON:
        """editMessageCaption."""
        message = self._editable(p)
        caption = p.text("caption")
        plain = self._checked_caption(caption, p.text("parse_mode"))
        if not {"photo", "video", "document"} & message.keys():
            raise ApiError(400, NO_CAPTION_TO_EDIT)
        entities = self._bot_entities(caption, p, "caption_entities") if caption else None
        changed = {
            "caption": caption or None,
            "caption_entities": entities or None,
            "reply_markup": self._inline_markup(p),
        }
        return self._apply_edit(message, changed, plain)

    def _edit_message_reply_markup(self, p: Params) -> JSON:
        """editMessageReplyMarkup."""
        message = self._editable(p)
        return self._apply_edit(message, {"reply_markup": self._inline_markup(p)})

    def _delete_message(self, p: Params) -> bool:
        """deleteMessage (the bot may delete its own messages, and any in private chats)."""
        chat_id = p.chat_id()
        self._known_chat(chat_id)
        message_id = p.integer("message_id")
        if message_id is None:
            raise ApiError(400, MESSAGE_ID_MISSING)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, DELETE_NOT_FOUND)
        if chat_id < 0 and message["from"]["id"] != self._bot_user["id"]:
            raise ApiError(400, CANT_DELETE)
        del self._messages[(chat_id, message_id)]
        self._log(chat_id, BOT_LABEL, f"deleted message {message_id}")
        return True

    # ------------------------------------------------------------ other methods

    def _get_me(self, p: Params) -> JSON:
        """getMe."""
        return copy.deepcopy(self._bot_user)

    def _answer_callback_query(self, p: Params) -> bool:
        """answerCallbackQuery: each query can be answered once."""
        query_id = p.text("callback_query_id") or ""
        query = self._callbacks.get(query_id)
        if query is None or query.answered:
            raise ApiError(400, QUERY_TOO_OLD)
        text = p.text("text")
        if text and utf16_length(text) > MAX_ANSWER_TEXT:
            raise ApiError(400, ANSWER_TOO_LONG)
        query.answered = True
        show_alert = p.flag("show_alert")
        answer = {"callback_query_id": query_id, "text": text, "show_alert": show_alert}
        self.callback_answers.append(answer)
        if text:
            name = self._people[query.user_id].user["first_name"]
            kind = "alert" if show_alert else "notice"
            self._log(query.chat_id, f"{BOT_LABEL} → {name} ({kind})", text)
        return True

    def _get_file(self, p: Params) -> JSON:
        """getFile: the File object with its download path."""
        file_id = p.text("file_id")
        if not file_id:
            raise ApiError(400, FILE_ID_MISSING)
        stored = self._files.get(file_id)
        if stored is None:
            raise ApiError(400, INVALID_FILE_ID)
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, FILE_TOO_BIG)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _get_chat(self, p: Params) -> JSON:
        """getChat: a ChatFullInfo."""
        chat = copy.deepcopy(self._known_chat(p.chat_id()))
        chat.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": dict(NO_GIFTS),
            }
        )
        return chat

    def _get_chat_member(self, p: Params) -> JSON:
        """getChatMember: member or left (the fake has no admins)."""
        chat_id = p.chat_id()
        self._known_chat(chat_id)
        user_id = p.integer("user_id")
        if user_id == self._bot_user["id"]:
            in_chat = chat_id > 0 or self._groups[chat_id].bot_is_member
            return {"status": "member" if in_chat else "left", "user": self.bot_user}
        person = self._people.get(user_id) if user_id is not None else None
        if person is None:
            raise ApiError(400, USER_NOT_FOUND)
        in_chat = chat_id == user_id if chat_id > 0 else user_id in self._groups[chat_id].members
        return {"status": "member" if in_chat else "left", "user": copy.deepcopy(person.user)}

    def _leave_chat(self, p: Params) -> bool:
        """leaveChat: the bot leaves a group (a my_chat_member update follows)."""
        chat_id = p.chat_id()
        chat = self._known_chat(chat_id)
        if chat_id > 0:
            raise ApiError(400, PRIVATE_MEMBER_STATUS)
        group = self._groups[chat_id]
        if not group.bot_is_member:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        group.bot_is_member = False
        self._log(chat_id, BOT_LABEL, "left the group")
        self._emit_bot_membership(group, self._bot_user, "member", "left")
        return True

    @staticmethod
    def _commands_key(p: Params) -> tuple[str, str]:
        """Commands are kept per scope and language."""
        scope = p.structured("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.text("language_code") or ""

    def _set_my_commands(self, p: Params) -> bool:
        """setMyCommands."""
        commands = p.structured("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, COMMAND_INVALID)
        self._commands[self._commands_key(p)] = [dict(c) for c in commands]
        return True

    def _delete_my_commands(self, p: Params) -> bool:
        """deleteMyCommands."""
        self._commands.pop(self._commands_key(p), None)
        return True

    def _get_my_commands(self, p: Params) -> list[JSON]:
        """getMyCommands."""
        return copy.deepcopy(self._commands.get(self._commands_key(p), []))

    def _send_chat_action(self, p: Params) -> bool:
        """sendChatAction."""
        self._writable_chat(p.chat_id())
        if p.text("action") not in CHAT_ACTIONS:
            raise ApiError(400, WRONG_ACTION)
        return True
