"""An in-process fake of WeCom (企业微信), served over real HTTP on 127.0.0.1.

Two halves, both following WeCom's published documentation:

- The server API under ``/cgi-bin/``: gettoken, message/send (text, markdown, image,
  template_card), message/update_template_card, appchat/send, media/get, media/upload,
  webhook/send (group robots), the AI bot's response_url, and the AI bot's image files under
  ``/aibot/file/`` (AES-256-CBC with the AI bot's EncodingAESKey). Answers are HTTP 200 with
  ``errcode``/``errmsg`` as WeCom sends them; tokens expire by the injected clock; WeCom's
  frequency limits apply (a robot's 20 messages a minute answer 45009; a member's 30 app
  messages a minute, 1000 an hour, and 200 app-chat messages a minute are silently dropped,
  as WeCom documents); failures can be injected.
- WeCom's side of callbacks: `CallbackSigner` signs and encrypts exactly as WeCom does,
  written from the published protocol with the ``cryptography`` package (independently of
  wechatpy, which the bot uses), plus builders for the callback XML of the self-built app and
  the AI bot's JSON, and delivery of signed callbacks to the bot's URL over HTTP.

Used by the test suite and the offline demo.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import os
import re
import secrets
import struct
import urllib.parse
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPFile, parse_body_arguments
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from handlers.clock import Clock, SystemClock

__all__ = [
    "AiBotReply",
    "AppMessage",
    "Call",
    "CallbackResponse",
    "CallbackSigner",
    "ChatMessage",
    "FakeWeCom",
    "OpenedMessage",
    "RobotMessage",
    "SignedCallback",
    "WeComLimits",
    "ai_bot_mixed_message",
    "ai_bot_text_message",
    "image_message_xml",
    "location_message_xml",
    "template_card_event_xml",
    "text_message_xml",
    "video_message_xml",
    "voice_message_xml",
]

JSON = dict[str, Any]

# errmsg as WeCom words them; WeCom appends ", hint: [...], from ip: ..., more info at ...".
ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40003: "invalid Userid",
    40005: "invalid media type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40035: "invalid args",
    40056: "invalid agentid",
    40058: "invalid parameter",
    41001: "access_token missing",
    41004: "corpsecret missing",
    41005: "media data missing",
    41011: "agentid missing",
    42001: "access_token expired",
    42014: "taskid has existed or empty or exceed max len",
    44004: "empty content",
    45009: "api freq out of limit",
    47001: "data format error",
    81013: "user & party & tag all invalid",
    86001: "chatid invalid",
    93000: "invalid webhook url",
    301002: "access_token and agentid mismatch",
}
# Not documented: the fake answers a spent, expired or unknown response_code with this.
INVALID_RESPONSE_CODE = 40058
HTTP_FAILURE_TEXTS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}

DEFAULT_CORP_ID = "ww5823bf96d3bd56c7"
DEFAULT_AGENT_ID = 1000002
DEFAULT_SECRET = "fake-app-secret-0123456789abcdefghijklmno"
DEFAULT_TOKEN = "QDG6eK"
DEFAULT_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DEFAULT_AI_BOT_ID = "aibot-yangfan"
DEFAULT_AI_BOT_TOKEN = "AiBotT0ken"
DEFAULT_AI_BOT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

TEXT_MAX_BYTES = 2048  # app text beyond this is truncated; a robot's text is refused
MARKDOWN_MAX_BYTES = 4096
MAX_BUTTONS = 6
TASK_ID_MAX_BYTES = 128
BUTTON_KEY_MAX_BYTES = 1024
MAX_NEWS_ARTICLES = 8
AI_BOT_RESPONSE_URL_SECONDS = 3600.0
CARD_TYPES = frozenset(
    {
        "text_notice",
        "news_notice",
        "button_interaction",
        "vote_interaction",
        "multiple_interaction",
    }
)
APP_MSGTYPES = frozenset({"text", "markdown", "image", "file", "template_card"})
CHAT_MSGTYPES = frozenset({"text", "markdown", "image"})
ROBOT_MSGTYPES = frozenset({"text", "markdown", "news", "image"})
MEDIA_TYPES = frozenset({"image", "voice", "video", "file"})
_TASK_ID = re.compile(r"^[A-Za-z0-9_\-@]+$")
AES_BLOCK = 32  # WeCom pads to 32-byte blocks (PKCS#7 with k = 32)
RANDOM_PREFIX_BYTES = 16


class WeComError(Exception):
    """An errcode answer; `extra` adds fields such as invaliduser."""

    def __init__(self, errcode: int, detail: str = "", extra: JSON | None = None) -> None:
        super().__init__(f"{errcode} {detail}".strip())
        self.errcode = errcode
        self.detail = detail
        self.extra = extra or {}

    def body(self) -> JSON:
        """The JSON WeCom answers with."""
        text = ERRMSG.get(self.errcode, "error")
        if self.detail:
            text = f"{text}: {self.detail}"
        hint = secrets.token_hex(12)
        errmsg = (
            f"{text}, hint: [{hint}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={self.errcode}"
        )
        return {"errcode": self.errcode, "errmsg": errmsg, **self.extra}


@dataclass(frozen=True)
class WeComLimits:
    """WeCom's lifetimes and frequency limits (defaults as documented)."""

    token_lifetime_seconds: float = 7200.0
    per_member_per_minute: int = 30  # app messages one member gets from one app
    per_member_per_hour: int = 1000
    appchat_per_member_per_minute: int = 200  # app-chat messages one member gets
    webhook_per_minute: int = 20  # messages one group robot sends
    response_code_seconds: float = 72 * 3600.0
    media_seconds: float = 3 * 24 * 3600.0  # temporary media
    enforce: bool = True


@dataclass
class Call:
    """One API request as the fake received and answered it."""

    api: str
    query: dict[str, str]
    body: Any
    at: float  # the clock's monotonic() on arrival
    status: int = 0
    response: Any = None


@dataclass
class AppMessage:
    """A message/send the fake accepted: who got it and who lost it to the per-member limit."""

    msgid: str
    agent_id: int
    msgtype: str
    content: JSON
    delivered_to: list[str]
    dropped_for: list[str]
    at: float
    response_code: str | None = None

    @property
    def text(self) -> str:
        """The text or markdown content ("" for other types)."""
        return str(self.content.get("content", ""))


@dataclass
class ChatMessage:
    """An appchat/send the fake accepted."""

    chat_id: str
    msgtype: str
    content: JSON
    delivered_to: list[str]
    dropped_for: list[str]
    at: float

    @property
    def text(self) -> str:
        """The text or markdown content."""
        return str(self.content.get("content", ""))


@dataclass
class RobotMessage:
    """A webhook/send the fake accepted for one robot key."""

    key: str
    chat_name: str
    msgtype: str
    content: JSON
    at: float

    @property
    def text(self) -> str:
        """The text or markdown content."""
        return str(self.content.get("content", ""))


@dataclass
class AiBotReply:
    """A reply posted to an AI bot message's response_url."""

    chat_id: str
    msgtype: str
    content: JSON
    at: float


@dataclass
class CallbackResponse:
    """What the bot's callback URL answered."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class SignedCallback:
    """A signed callback request: method, query (msg_signature, timestamp, nonce ...), body."""

    method: str
    query: dict[str, str]
    body: bytes = b""
    content_type: str = ""

    def with_query(self, **changes: str) -> SignedCallback:
        """A copy with some query values replaced (for forged or stale requests in tests)."""
        return SignedCallback(self.method, {**self.query, **changes}, self.body, self.content_type)

    def with_body(self, body: bytes) -> SignedCallback:
        """A copy with another body (for truncated or tampered requests in tests)."""
        return SignedCallback(self.method, dict(self.query), body, self.content_type)


@dataclass(frozen=True)
class OpenedMessage:
    """A decrypted callback payload: its random prefix, the message and the receive id."""

    random_prefix: bytes
    message: bytes
    receive_id: str


@dataclass
class _Token:
    value: str
    agent_id: int
    expires_at: float
    revoked: bool = False


@dataclass
class _Card:
    msgid: str
    agent_id: int
    task_id: str
    recipients: list[str]
    card: JSON
    replaced_name: str | None = None


@dataclass
class _ResponseCode:
    msgid: str
    expires_at: float
    used: bool = False


@dataclass
class _Media:
    media_id: str
    kind: str
    content: bytes
    filename: str
    content_type: str
    expires_at: float


@dataclass
class _ResponseUrl:
    chat_id: str
    expires_at: float
    used: bool = False


@dataclass
class _Failure:
    status: int
    errcode: int | None
    detail: str


class _Window:
    """Times of events within the last `seconds`; at most `capacity` fit."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self.times: deque[float] = deque()

    def full(self, now: float) -> bool:
        """Whether one more event now would exceed the capacity."""
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        return len(self.times) >= self.capacity

    def add(self, now: float) -> None:
        """Count one event now."""
        self.times.append(now)


# ---------------------------------------------------------------- WeCom's side of the crypto


class CallbackSigner:
    """Signs and encrypts callbacks as WeCom does (加解密方案说明), and opens the bot's replies.

    msg_signature = sha1 of the sorted, concatenated [token, timestamp, nonce, encrypt];
    encrypt = base64(AES-256-CBC(random 16 bytes + 4-byte big-endian length + message +
    receive id, PKCS#7-padded to 32-byte blocks)), key = base64(EncodingAESKey + "="),
    IV = the key's first 16 bytes.
    """

    def __init__(self, *, token: str, encoding_aes_key: str, receive_id: str) -> None:
        key = base64.b64decode(encoding_aes_key + "=")
        if len(encoding_aes_key) != 43 or len(key) != 32:
            raise ValueError("an EncodingAESKey is 43 characters decoding to 32 bytes")
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.receive_id = receive_id
        self._key = key

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The msg_signature over one encrypted payload."""
        joined = "".join(sorted([self.token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode("utf-8")).hexdigest()

    def encrypt(self, message: str | bytes, *, random_prefix: bytes | None = None) -> str:
        """The base64 ciphertext of one message (a fixed prefix reproduces published samples)."""
        raw = message.encode("utf-8") if isinstance(message, str) else message
        prefix = os.urandom(RANDOM_PREFIX_BYTES) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_PREFIX_BYTES:
            raise ValueError("the random prefix is 16 bytes")
        plain = prefix + struct.pack(">I", len(raw)) + raw + self.receive_id.encode("utf-8")
        padding = AES_BLOCK - len(plain) % AES_BLOCK
        plain += bytes([padding]) * padding
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> OpenedMessage:
        """Open a ciphertext strictly (base64, block size, padding, length); ValueError if bad."""
        data = base64.b64decode(encrypted, validate=True)
        if not data or len(data) % 16:
            raise ValueError("ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        padding = plain[-1]
        if not 1 <= padding <= AES_BLOCK or plain[-padding:] != bytes([padding]) * padding:
            raise ValueError("bad PKCS#7 padding")
        plain = plain[:-padding]
        if len(plain) < RANDOM_PREFIX_BYTES + 4:
            raise ValueError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise ValueError("message length beyond the plaintext")
        return OpenedMessage(
            random_prefix=plain[:16],
            message=plain[20 : 20 + length],
            receive_id=plain[20 + length :].decode("utf-8"),
        )

    def encrypt_file(self, content: bytes) -> bytes:
        """A file as the AI bot serves it: AES-256-CBC of the bytes alone, PKCS#7 to 32 bytes."""
        padding = AES_BLOCK - len(content) % AES_BLOCK
        encryptor = self._cipher().encryptor()
        return encryptor.update(content + bytes([padding]) * padding) + encryptor.finalize()

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def _signed_query(self, encrypted: str, timestamp: str, nonce: str) -> dict[str, str]:
        signature = self.signature(timestamp, nonce, encrypted)
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}

    def url_verification(self, echo: str, *, timestamp: str, nonce: str) -> SignedCallback:
        """The GET WeCom sends when the callback URL is saved (echostr to decrypt and echo)."""
        encrypted = self.encrypt(echo)
        query = {**self._signed_query(encrypted, timestamp, nonce), "echostr": encrypted}
        return SignedCallback("GET", query)

    def app_callback(
        self, xml: str, *, timestamp: str, nonce: str, agent_id: int | str
    ) -> SignedCallback:
        """A self-built app callback: the plaintext XML inside WeCom's encrypted envelope."""
        encrypted = self.encrypt(xml)
        body = (
            f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{agent_id}]]></AgentID></xml>"
        )
        query = self._signed_query(encrypted, timestamp, nonce)
        return SignedCallback("POST", query, body.encode("utf-8"), "text/xml")

    def ai_bot_callback(
        self, payload: Mapping[str, Any], *, timestamp: str, nonce: str
    ) -> SignedCallback:
        """An AI bot callback: the message JSON inside ``{"encrypt": ...}``."""
        encrypted = self.encrypt(json.dumps(payload, ensure_ascii=False))
        body = json.dumps({"encrypt": encrypted}).encode("utf-8")
        query = self._signed_query(encrypted, timestamp, nonce)
        return SignedCallback("POST", query, body, "application/json")

    def open_xml_reply(self, body: bytes | str) -> str:
        """Check and decrypt the bot's encrypted XML answer; ValueError if it is not right."""
        root = ElementTree.fromstring(body)
        fields = {child.tag: child.text or "" for child in root}
        return self._open_reply(
            fields.get("Encrypt", ""),
            fields.get("MsgSignature", ""),
            fields.get("TimeStamp", ""),
            fields.get("Nonce", ""),
        ).decode("utf-8")

    def open_json_reply(self, body: bytes | str) -> JSON:
        """Check and decrypt the AI bot's encrypted JSON answer; ValueError if it is not right."""
        envelope = json.loads(body)
        message = self._open_reply(
            str(envelope.get("encrypt", "")),
            str(envelope.get("msgsignature", "")),
            str(envelope.get("timestamp", "")),
            str(envelope.get("nonce", "")),
        )
        value = json.loads(message)
        if not isinstance(value, dict):
            raise ValueError("the reply is not a JSON object")
        return value

    def _open_reply(self, encrypted: str, signature: str, timestamp: str, nonce: str) -> bytes:
        if self.signature(timestamp, nonce, encrypted) != signature:
            raise ValueError("the reply's signature does not match")
        opened = self.decrypt(encrypted)
        if opened.receive_id != self.receive_id:
            raise ValueError("the reply carries another receive id")
        return opened.message


# ---------------------------------------------------------------- callback payload builders


def _cdata(value: str) -> str:
    """A CDATA section (a literal "]]>" is split across two sections)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _callback_xml(fields: Sequence[tuple[str, str | int | float]]) -> str:
    """WeCom's callback XML: strings in CDATA, numbers bare."""
    parts = ["<xml>"]
    for name, value in fields:
        text = _cdata(value) if isinstance(value, str) else escape(str(value))
        parts.append(f"<{name}>{text}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


def _message_head(
    corp_id: str, user_id: str, create_time: int, msgtype: str
) -> list[tuple[str, str | int | float]]:
    return [
        ("ToUserName", corp_id),
        ("FromUserName", user_id),
        ("CreateTime", create_time),
        ("MsgType", msgtype),
    ]


def text_message_xml(
    *, corp_id: str, user_id: str, content: str, msg_id: int, agent_id: int, create_time: int
) -> str:
    """A text message a member sent in the app's session."""
    head = _message_head(corp_id, user_id, create_time, "text")
    return _callback_xml([*head, ("Content", content), ("MsgId", msg_id), ("AgentID", agent_id)])


def image_message_xml(
    *,
    corp_id: str,
    user_id: str,
    pic_url: str,
    media_id: str,
    msg_id: int,
    agent_id: int,
    create_time: int,
) -> str:
    """An image message (PicUrl and a MediaId for media/get)."""
    head = _message_head(corp_id, user_id, create_time, "image")
    fields: list[tuple[str, str | int | float]] = [
        ("PicUrl", pic_url),
        ("MediaId", media_id),
        ("MsgId", msg_id),
        ("AgentID", agent_id),
    ]
    return _callback_xml([*head, *fields])


def video_message_xml(
    *,
    corp_id: str,
    user_id: str,
    media_id: str,
    thumb_media_id: str,
    msg_id: int,
    agent_id: int,
    create_time: int,
) -> str:
    """A video message (MediaId and ThumbMediaId)."""
    head = _message_head(corp_id, user_id, create_time, "video")
    fields: list[tuple[str, str | int | float]] = [
        ("MediaId", media_id),
        ("ThumbMediaId", thumb_media_id),
        ("MsgId", msg_id),
        ("AgentID", agent_id),
    ]
    return _callback_xml([*head, *fields])


def voice_message_xml(
    *,
    corp_id: str,
    user_id: str,
    media_id: str,
    msg_id: int,
    agent_id: int,
    create_time: int,
    voice_format: str = "amr",
) -> str:
    """A voice message (MediaId and Format)."""
    head = _message_head(corp_id, user_id, create_time, "voice")
    fields: list[tuple[str, str | int | float]] = [
        ("MediaId", media_id),
        ("Format", voice_format),
        ("MsgId", msg_id),
    ]
    return _callback_xml([*head, *fields, ("AgentID", agent_id)])


def location_message_xml(
    *,
    corp_id: str,
    user_id: str,
    latitude: float,
    longitude: float,
    label: str,
    msg_id: int,
    agent_id: int,
    create_time: int,
    scale: int = 15,
) -> str:
    """A location message: Location_X is the latitude, Location_Y the longitude (GCJ-02)."""
    head = _message_head(corp_id, user_id, create_time, "location")
    fields: list[tuple[str, str | int | float]] = [
        ("Location_X", latitude),
        ("Location_Y", longitude),
        ("Scale", scale),
        ("Label", label),
        ("MsgId", msg_id),
        ("AgentID", agent_id),
    ]
    return _callback_xml([*head, *fields])


def template_card_event_xml(
    *,
    corp_id: str,
    user_id: str,
    event_key: str,
    task_id: str,
    response_code: str,
    agent_id: int,
    create_time: int,
    card_type: str = "button_interaction",
) -> str:
    """The template_card_event a button press on a template card sends."""
    head = _message_head(corp_id, user_id, create_time, "event")
    fields: list[tuple[str, str | int | float]] = [
        ("Event", "template_card_event"),
        ("EventKey", event_key),
        ("TaskId", task_id),
        ("CardType", card_type),
        ("ResponseCode", response_code),
        ("AgentID", agent_id),
    ]
    return _callback_xml([*head, *fields])


def _ai_bot_head(
    *, msgid: str, aibotid: str, chat_id: str, chat_type: str, user_id: str, response_url: str
) -> JSON:
    head: JSON = {"msgid": msgid, "aibotid": aibotid}
    if chat_type == "group":
        head["chatid"] = chat_id
    head.update({"chattype": chat_type, "from": {"userid": user_id}, "response_url": response_url})
    return head


def ai_bot_text_message(
    *,
    msgid: str,
    aibotid: str,
    chat_id: str,
    user_id: str,
    content: str,
    response_url: str,
    chat_type: str = "group",
) -> JSON:
    """An AI bot text callback (in a group: the text starts with the @-mention)."""
    head = _ai_bot_head(
        msgid=msgid,
        aibotid=aibotid,
        chat_id=chat_id,
        chat_type=chat_type,
        user_id=user_id,
        response_url=response_url,
    )
    return {**head, "msgtype": "text", "text": {"content": content}}


def ai_bot_mixed_message(
    *,
    msgid: str,
    aibotid: str,
    chat_id: str,
    user_id: str,
    items: Sequence[tuple[str, str]],
    response_url: str,
    chat_type: str = "group",
) -> JSON:
    """An AI bot text-and-image callback; items are ("text", content) or ("image", url)."""
    msg_items: list[JSON] = []
    for kind, value in items:
        if kind == "text":
            msg_items.append({"msgtype": "text", "text": {"content": value}})
        elif kind == "image":
            msg_items.append({"msgtype": "image", "image": {"url": value}})
        else:
            raise ValueError(f"a mixed item is text or image, not {kind!r}")
    head = _ai_bot_head(
        msgid=msgid,
        aibotid=aibotid,
        chat_id=chat_id,
        chat_type=chat_type,
        user_id=user_id,
        response_url=response_url,
    )
    return {**head, "msgtype": "mixed", "mixed": {"msg_item": msg_items}}


# ---------------------------------------------------------------- request helpers


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _truncate_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-8 bytes."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def _json_object(body: bytes) -> JSON:
    """A JSON object request body, or errcode 47001."""
    try:
        value = json.loads(body or b"null")
    except ValueError as error:
        raise WeComError(47001) from error
    if not isinstance(value, dict):
        raise WeComError(47001)
    return value


def _section(params: JSON, name: str) -> JSON:
    """The object under the msgtype's key, or errcode 40035."""
    value = params.get(name)
    if not isinstance(value, dict):
        raise WeComError(40035, name)
    return value


def _text_content(section: JSON, limit: int | None) -> str:
    """The content of a text or markdown section; empty → 44004, over the limit → 40058."""
    content = section.get("content")
    if not isinstance(content, str) or not content:
        raise WeComError(44004)
    if limit is not None and _utf8_len(content) > limit:
        raise WeComError(40058, f"content exceed max length {limit}")
    return content


class _ApiHandler(RequestHandler):
    """Serves ``/cgi-bin/<api>``."""

    def initialize(self, fake: FakeWeCom) -> None:
        self.fake = fake

    async def get(self, api: str) -> None:
        await self._answer(api)

    async def post(self, api: str) -> None:
        await self._answer(api)

    async def _answer(self, api: str) -> None:
        query = {name: values[-1].decode() for name, values in self.request.query_arguments.items()}
        files: dict[str, list[HTTPFile]] = {}
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            parse_body_arguments(content_type, self.request.body, {}, files)
        status, body, headers = self.fake.serve(
            api, self.request.method or "GET", query, self.request.body, files
        )
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        await self.finish(body)


class _AiBotFileHandler(RequestHandler):
    """Serves ``/aibot/file/<id>``: an image from an AI bot message, encrypted."""

    def initialize(self, fake: FakeWeCom) -> None:
        self.fake = fake

    async def get(self, file_id: str) -> None:
        content = self.fake.ai_bot_file(file_id)
        if content is None:
            self.set_status(404)
            await self.finish(b"Not Found")
            return
        self.set_header("Content-Type", "application/octet-stream")
        await self.finish(content)


def _quiet_log(handler: RequestHandler) -> None:
    """Keep tornado's access log out of test output."""


# ---------------------------------------------------------------- the fake


class FakeWeCom:
    """One corp's WeCom: a self-built app, members, app chats, group robots and an AI bot."""

    def __init__(
        self,
        *,
        corp_id: str = DEFAULT_CORP_ID,
        agent_id: int = DEFAULT_AGENT_ID,
        secret: str = DEFAULT_SECRET,
        token: str = DEFAULT_TOKEN,
        encoding_aes_key: str = DEFAULT_AES_KEY,
        ai_bot_id: str = DEFAULT_AI_BOT_ID,
        ai_bot_token: str = DEFAULT_AI_BOT_TOKEN,
        ai_bot_encoding_aes_key: str = DEFAULT_AI_BOT_AES_KEY,
        clock: Clock | None = None,
        limits: WeComLimits = WeComLimits(),
    ) -> None:
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.secret = secret
        self.ai_bot_id = ai_bot_id
        self.limits = limits
        self.app_signer = CallbackSigner(
            token=token, encoding_aes_key=encoding_aes_key, receive_id=corp_id
        )
        self.ai_bot_signer = CallbackSigner(
            token=ai_bot_token, encoding_aes_key=ai_bot_encoding_aes_key, receive_id=""
        )
        self._clock: Clock = clock or SystemClock()
        self._apps: dict[int, str] = {agent_id: secret}
        self._members: dict[str, str] = {}
        self._chats: dict[str, list[str]] = {}
        self._robots: dict[str, str] = {}
        self._tokens: dict[str, _Token] = {}
        self._media: dict[str, _Media] = {}
        self._cards: dict[str, _Card] = {}
        self._task_ids: dict[tuple[int, str], str] = {}
        self._response_codes: dict[str, _ResponseCode] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._member_windows: dict[tuple[str, str], _Window] = {}
        self._robot_windows: dict[str, _Window] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._ai_bot_files: dict[str, bytes] = {}
        self.calls: list[Call] = []
        self.app_messages: list[AppMessage] = []
        self.chat_messages: list[ChatMessage] = []
        self.robot_messages: list[RobotMessage] = []
        self.ai_bot_replies: list[AiBotReply] = []
        self.tokens_issued = 0
        self._transcript: list[str] = []
        self._counter = 0
        self._msg_id = 7_300_000_000_000_000_000
        self._server: HTTPServer | None = None
        self._http_client: AsyncHTTPClient | None = None
        self._port: int | None = None
        self._apis: dict[str, Callable[[dict[str, str], bytes, dict[str, list[HTTPFile]]], Any]]
        self._apis = {
            "gettoken": self._gettoken,
            "message/send": self._message_send,
            "message/update_template_card": self._update_template_card,
            "appchat/send": self._appchat_send,
            "media/get": self._media_get,
            "media/upload": self._media_upload,
            "webhook/send": self._webhook_send,
            "aibot/response": self._ai_bot_response,
        }

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        if self._server is not None:
            return
        application = Application(
            [
                (r"/cgi-bin/([A-Za-z0-9_/]+)", _ApiHandler, {"fake": self}),
                (r"/aibot/file/([A-Za-z0-9_\-]+)", _AiBotFileHandler, {"fake": self}),
            ],
            log_function=_quiet_log,
        )
        sockets = bind_sockets(0, "127.0.0.1")
        self._port = sockets[0].getsockname()[1]
        self._server = HTTPServer(application)
        self._server.add_sockets(sockets)
        self._http_client = AsyncHTTPClient(force_instance=True)

    async def stop(self) -> None:
        """Close the server and the callback client."""
        if self._http_client is not None:
            self._http_client.close()
            self._http_client = None
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    async def __aenter__(self) -> FakeWeCom:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what the bot uses in place of https://qyapi.weixin.qq.com."""
        if self._port is None:
            raise RuntimeError("FakeWeCom is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def clock(self) -> Clock:
        """The clock tokens, limits and callback timestamps follow."""
        return self._clock

    # ------------------------------------------------------------ world set-up

    def add_app(self, agent_id: int, secret: str) -> None:
        """Another self-built app of the corp."""
        self._apps[agent_id] = secret

    def add_member(self, user_id: str, name: str = "") -> None:
        """A member of the corp the app may message."""
        self._members[user_id] = name or user_id

    def add_app_chat(self, chat_id: str, members: Sequence[str]) -> None:
        """A group chat the app created (appchat/send reaches it)."""
        self._chats[chat_id] = list(members)

    def add_robot(self, key: str, chat_name: str) -> str:
        """A group robot in a chat; returns its webhook URL on this fake."""
        self._robots[key] = chat_name
        return self.webhook_url(key)

    def webhook_url(self, key: str) -> str:
        """A robot's webhook URL (``/cgi-bin/webhook/send?key=...``)."""
        return f"{self.base_url}/cgi-bin/webhook/send?key={urllib.parse.quote(key)}"

    def add_media(
        self,
        content: bytes,
        *,
        filename: str,
        content_type: str = "image/jpeg",
        kind: str = "image",
    ) -> str:
        """Register a file (as if a member sent it) and return its media_id."""
        self._counter += 1
        media_id = f"3{secrets.token_urlsafe(24)}{self._counter}"
        expires_at = self._clock.monotonic() + self.limits.media_seconds
        self._media[media_id] = _Media(media_id, kind, content, filename, content_type, expires_at)
        return media_id

    def add_ai_bot_image(self, content: bytes) -> str:
        """An image someone put in an AI bot message; returns the URL of its encrypted file."""
        self._counter += 1
        file_id = f"{secrets.token_urlsafe(12)}{self._counter}"
        self._ai_bot_files[file_id] = self.ai_bot_signer.encrypt_file(content)
        return f"{self.base_url}/aibot/file/{file_id}"

    def ai_bot_file(self, file_id: str) -> bytes | None:
        """The encrypted bytes served for an AI bot image, or None."""
        self.calls.append(Call("aibot/file", {"id": file_id}, None, self._clock.monotonic()))
        return self._ai_bot_files.get(file_id)

    def expire_tokens(self) -> None:
        """Make every issued token expired now (the next API call answers 42001)."""
        now = self._clock.monotonic()
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)

    def invalidate_tokens(self) -> None:
        """Revoke every issued token (the next API call answers 40014)."""
        for token in self._tokens.values():
            token.revoked = True

    def fail_next(
        self,
        api: str,
        *,
        errcode: int | None = None,
        status: int = 200,
        times: int = 1,
        detail: str = "",
    ) -> None:
        """Answer the next `times` calls of `api` with an errcode or an HTTP status."""
        if errcode is None and status == 200:
            raise ValueError("fail_next needs an errcode or a non-200 status")
        queue = self._failures.setdefault(api, deque())
        queue.extend(_Failure(status, errcode, detail) for _ in range(times))

    # ------------------------------------------------------------ what the bot did

    def calls_to(self, api: str) -> list[Call]:
        """The recorded calls of one API, in order."""
        return [call for call in self.calls if call.api == api]

    def messages_to(self, user_id: str) -> list[AppMessage]:
        """App messages delivered to a member (dropped ones excluded), as they are now."""
        return [m for m in self.app_messages if user_id in m.delivered_to]

    def card(self, task_id: str, agent_id: int | None = None) -> JSON:
        """A template card as it is now, with ``replaced_name`` once its buttons were updated."""
        msgid = self._task_ids[(agent_id or self.agent_id, task_id)]
        card = self._cards[msgid]
        return {**copy.deepcopy(card.card), "replaced_name": card.replaced_name}

    def transcript(self) -> list[str]:
        """Human-readable lines of what the bot said, in order."""
        return list(self._transcript)

    # ------------------------------------------------------------ members act

    def next_msg_id(self) -> int:
        """A fresh 64-bit MsgId."""
        self._msg_id += 1
        return self._msg_id

    def _create_time(self) -> int:
        return int(self._clock.now().timestamp())

    def text_callback(self, user_id: str, content: str) -> str:
        """The plaintext XML of a text a member sends in the app."""
        return text_message_xml(
            corp_id=self.corp_id,
            user_id=user_id,
            content=content,
            msg_id=self.next_msg_id(),
            agent_id=self.agent_id,
            create_time=self._create_time(),
        )

    def image_callback(self, user_id: str, content: bytes, filename: str = "photo.jpg") -> str:
        """The plaintext XML of a photo a member sends (its bytes are served by media/get)."""
        media_id = self.add_media(content, filename=filename)
        return image_message_xml(
            corp_id=self.corp_id,
            user_id=user_id,
            pic_url=f"https://wework.qpic.cn/wwpic/{media_id}/0",
            media_id=media_id,
            msg_id=self.next_msg_id(),
            agent_id=self.agent_id,
            create_time=self._create_time(),
        )

    def video_callback(self, user_id: str, content: bytes, filename: str = "clip.mp4") -> str:
        """The plaintext XML of a video a member sends."""
        media_id = self.add_media(
            content, filename=filename, content_type="video/mp4", kind="video"
        )
        thumb_id = self.add_media(b"\xff\xd8thumb", filename="thumb.jpg")
        return video_message_xml(
            corp_id=self.corp_id,
            user_id=user_id,
            media_id=media_id,
            thumb_media_id=thumb_id,
            msg_id=self.next_msg_id(),
            agent_id=self.agent_id,
            create_time=self._create_time(),
        )

    def voice_callback(self, user_id: str, content: bytes) -> str:
        """The plaintext XML of a voice message a member sends."""
        media_id = self.add_media(
            content, filename="voice.amr", content_type="voice/amr", kind="voice"
        )
        return voice_message_xml(
            corp_id=self.corp_id,
            user_id=user_id,
            media_id=media_id,
            msg_id=self.next_msg_id(),
            agent_id=self.agent_id,
            create_time=self._create_time(),
        )

    def location_callback(
        self, user_id: str, *, latitude: float, longitude: float, label: str, scale: int = 15
    ) -> str:
        """The plaintext XML of a location a member shares (GCJ-02 coordinates)."""
        return location_message_xml(
            corp_id=self.corp_id,
            user_id=user_id,
            latitude=latitude,
            longitude=longitude,
            label=label,
            scale=scale,
            msg_id=self.next_msg_id(),
            agent_id=self.agent_id,
            create_time=self._create_time(),
        )

    def press_button(self, user_id: str, *, task_id: str, key: str) -> str:
        """A member presses a button of a template card: the template_card_event XML."""
        msgid = self._task_ids.get((self.agent_id, task_id))
        if msgid is None:
            raise ValueError(f"no template card with task_id {task_id!r}")
        card = self._cards[msgid]
        if user_id not in card.recipients:
            raise ValueError(f"{user_id} never received card {task_id!r}")
        if card.replaced_name is not None:
            raise ValueError(f"card {task_id!r} buttons were replaced by {card.replaced_name!r}")
        keys = [button.get("key") for button in card.card.get("button_list", [])]
        if key not in keys:
            raise ValueError(f"card {task_id!r} has no button {key!r}")
        response_code = self._issue_response_code(msgid)
        return template_card_event_xml(
            corp_id=self.corp_id,
            user_id=user_id,
            event_key=key,
            task_id=task_id,
            response_code=response_code,
            agent_id=card.agent_id,
            create_time=self._create_time(),
            card_type=str(card.card.get("card_type", "button_interaction")),
        )

    def ai_bot_message(
        self,
        *,
        chat_id: str,
        user_id: str,
        text: str = "",
        image_urls: Sequence[str] = (),
    ) -> JSON:
        """An @-mention of the AI bot in a group: text, or mixed text and images."""
        self._counter += 1
        msgid = f"CAIQ{secrets.token_urlsafe(16)}{self._counter}"
        response_url = self._issue_response_url(chat_id)
        if not image_urls:
            return ai_bot_text_message(
                msgid=msgid,
                aibotid=self.ai_bot_id,
                chat_id=chat_id,
                user_id=user_id,
                content=text,
                response_url=response_url,
            )
        items = ([("text", text)] if text else []) + [("image", url) for url in image_urls]
        return ai_bot_mixed_message(
            msgid=msgid,
            aibotid=self.ai_bot_id,
            chat_id=chat_id,
            user_id=user_id,
            items=items,
            response_url=response_url,
        )

    # ------------------------------------------------------------ callbacks over HTTP

    def _timestamp(self) -> str:
        return str(self._create_time())

    @staticmethod
    def _nonce() -> str:
        return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)

    def sign_app_callback(self, xml: str) -> SignedCallback:
        """The signed, encrypted POST WeCom makes for one app callback, timed by the clock."""
        return self.app_signer.app_callback(
            xml, timestamp=self._timestamp(), nonce=self._nonce(), agent_id=self.agent_id
        )

    def sign_ai_bot_callback(self, message: Mapping[str, Any]) -> SignedCallback:
        """The signed, encrypted POST WeCom makes for one AI bot callback."""
        return self.ai_bot_signer.ai_bot_callback(
            message, timestamp=self._timestamp(), nonce=self._nonce()
        )

    async def post_callback(self, url: str, signed: SignedCallback) -> CallbackResponse:
        """Send one signed callback request to the bot's URL and return its answer."""
        if self._http_client is None:
            raise RuntimeError("FakeWeCom is not started")
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        target = f"{url}{separator}{urllib.parse.urlencode(signed.query)}"
        headers = {"Content-Type": signed.content_type} if signed.content_type else {}
        request = HTTPRequest(
            target,
            method=signed.method,
            headers=headers,
            body=signed.body if signed.method == "POST" else None,
            request_timeout=5.0,  # WeCom gives up (and retries) after 5 s
        )
        response = await self._http_client.fetch(request, raise_error=False)
        return CallbackResponse(response.code, response.body or b"", dict(response.headers))

    async def deliver_app_callback(
        self, url: str, xml: str, *, times: int = 1
    ) -> list[CallbackResponse]:
        """POST one app callback `times` times (WeCom's retries resend the same request)."""
        signed = self.sign_app_callback(xml)
        return [await self.post_callback(url, signed) for _ in range(times)]

    async def deliver_ai_bot_callback(
        self, url: str, message: Mapping[str, Any], *, times: int = 1
    ) -> list[CallbackResponse]:
        """POST one AI bot callback `times` times."""
        signed = self.sign_ai_bot_callback(message)
        return [await self.post_callback(url, signed) for _ in range(times)]

    async def verify_callback_url(
        self, url: str, *, ai_bot: bool = False
    ) -> tuple[CallbackResponse, str]:
        """The URL check WeCom makes on save: the answer, and the echo it must equal."""
        echo = str(secrets.randbelow(10**19))
        signer = self.ai_bot_signer if ai_bot else self.app_signer
        signed = signer.url_verification(echo, timestamp=self._timestamp(), nonce=self._nonce())
        return await self.post_callback(url, signed), echo

    # ------------------------------------------------------------ HTTP entry point

    def serve(
        self,
        api: str,
        method: str,
        query: dict[str, str],
        body: bytes,
        files: dict[str, list[HTTPFile]],
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer one API request: (HTTP status, body, headers); records it in ``calls``."""
        call = Call(api, dict(query), _recorded_body(body, files), self._clock.monotonic())
        self.calls.append(call)
        handler = self._apis.get(api)
        if handler is None:
            call.status = 404
            return 404, b"Not Found", {"Content-Type": "text/plain"}
        failure = self._next_failure(api)
        if failure is not None and failure.errcode is None:
            call.status = failure.status
            text = HTTP_FAILURE_TEXTS.get(failure.status, "Error")
            return failure.status, text.encode(), {"Content-Type": "text/plain"}
        try:
            if failure is not None and failure.errcode is not None:
                raise WeComError(failure.errcode, failure.detail)
            result = handler(query, body, files)
        except WeComError as error:
            result = error.body()
        call.status = 200
        if isinstance(result, tuple):  # a media download: (bytes, headers)
            content, headers = result
            call.response = {"bytes": len(content)}
            return 200, content, headers
        call.response = result
        payload = json.dumps(result, ensure_ascii=False).encode("utf-8")
        return 200, payload, {"Content-Type": "application/json; charset=UTF-8"}

    def _next_failure(self, api: str) -> _Failure | None:
        queue = self._failures.get(api)
        return queue.popleft() if queue else None

    # ------------------------------------------------------------ tokens

    def _token_agent(self, query: Mapping[str, str]) -> int:
        """The app whose access_token the request carries, or the errcode WeCom gives."""
        value = query.get("access_token")
        if not value:
            raise WeComError(41001)
        token = self._tokens.get(value)
        if token is None or token.revoked:
            raise WeComError(40014)
        if self._clock.monotonic() >= token.expires_at:
            raise WeComError(42001)
        return token.agent_id

    def _gettoken(self, query: dict[str, str], body: bytes, files: object) -> JSON:
        if query.get("corpid") != self.corp_id:
            raise WeComError(40013)
        secret = query.get("corpsecret")
        if not secret:
            raise WeComError(41004)
        agent_id = next(
            (a for a, s in self._apps.items() if secrets.compare_digest(s, secret)), None
        )
        if agent_id is None:
            raise WeComError(40001)
        now = self._clock.monotonic()
        current = next(
            (
                t
                for t in self._tokens.values()
                if t.agent_id == agent_id and not t.revoked and now < t.expires_at
            ),
            None,
        )
        if current is None:
            value = secrets.token_urlsafe(96)
            current = _Token(value, agent_id, now + self.limits.token_lifetime_seconds)
            self._tokens[value] = current
            self.tokens_issued += 1
        lifetime = int(self.limits.token_lifetime_seconds)
        return {"errcode": 0, "errmsg": "ok", "access_token": current.value, "expires_in": lifetime}

    # ------------------------------------------------------------ app messages

    def _checked_agent(self, params: JSON, token_agent: int) -> int:
        """The body's agentid: present (41011), an app (40056), the token's app (301002)."""
        raw = params.get("agentid")
        if raw is None or raw == "":
            raise WeComError(41011)
        try:
            agent_id = int(raw)
        except (TypeError, ValueError) as error:
            raise WeComError(40056) from error
        if agent_id not in self._apps:
            raise WeComError(40056)
        if agent_id != token_agent:
            raise WeComError(301002)
        return agent_id

    def _recipients(self, params: JSON) -> tuple[list[str], list[str]]:
        """(valid, invalid) member ids of touser ("a|b", or "@all")."""
        touser = params.get("touser")
        if not isinstance(touser, str) or not touser:
            if params.get("toparty") or params.get("totag"):
                raise WeComError(81013, extra={"invalidparty": str(params.get("toparty", ""))})
            raise WeComError(40035, "touser")
        if touser == "@all":
            return list(self._members), []
        users = [u for u in touser.split("|") if u]
        valid = [u for u in users if u in self._members]
        invalid = [u.lower() for u in users if u not in self._members]
        return valid, invalid

    def _deliverable(self, users: Sequence[str], agent_id: int) -> tuple[list[str], list[str]]:
        """(delivered, dropped) under the per-member limits of one app."""
        now = self._clock.monotonic()
        delivered: list[str] = []
        dropped: list[str] = []
        for user in users:
            minute = self._member_window(
                f"app{agent_id}:m", user, self.limits.per_member_per_minute, 60
            )
            hour = self._member_window(
                f"app{agent_id}:h", user, self.limits.per_member_per_hour, 3600
            )
            if self.limits.enforce and (minute.full(now) or hour.full(now)):
                dropped.append(user)
                continue
            minute.add(now)
            hour.add(now)
            delivered.append(user)
        return delivered, dropped

    def _member_window(self, scope: str, user: str, capacity: int, seconds: float) -> _Window:
        key = (scope, user)
        if key not in self._member_windows:
            self._member_windows[key] = _Window(capacity, seconds)
        return self._member_windows[key]

    def _message_send(self, query: dict[str, str], body: bytes, files: object) -> JSON:
        token_agent = self._token_agent(query)
        params = _json_object(body)
        agent_id = self._checked_agent(params, token_agent)
        msgtype = params.get("msgtype")
        if msgtype not in APP_MSGTYPES:
            raise WeComError(40008)
        section = _section(params, str(msgtype))
        valid, invalid = self._recipients(params)
        if not valid:
            raise WeComError(81013, extra={"invaliduser": "|".join(invalid)})
        content = self._checked_app_content(str(msgtype), section, agent_id)
        delivered, dropped = self._deliverable(valid, agent_id)
        msgid = self._new_msgid()
        message = AppMessage(
            msgid, agent_id, str(msgtype), content, delivered, dropped, self._clock.monotonic()
        )
        result: JSON = {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "|".join(invalid),
            "invalidparty": "",
            "invalidtag": "",
            "unlicenseduser": "",
            "msgid": msgid,
        }
        if msgtype == "template_card" and content.get("card_type") in _CALLBACK_CARDS:
            task_id = str(content["task_id"])
            self._cards[msgid] = _Card(msgid, agent_id, task_id, list(valid), content)
            self._task_ids[(agent_id, task_id)] = msgid
            message.response_code = self._issue_response_code(msgid)
            result["response_code"] = message.response_code
        self.app_messages.append(message)
        for user in delivered:
            self._log(f"私聊 {self._members.get(user, user)}", _summary(str(msgtype), content))
        return result

    def _checked_app_content(self, msgtype: str, section: JSON, agent_id: int) -> JSON:
        """Validate one app message body; long text is truncated, as WeCom documents."""
        if msgtype == "text":
            return {
                **section,
                "content": _truncate_utf8(_text_content(section, None), TEXT_MAX_BYTES),
            }
        if msgtype == "markdown":
            _text_content(section, MARKDOWN_MAX_BYTES)
            return dict(section)
        if msgtype in {"image", "file"}:
            self._known_media(section.get("media_id"))
            return dict(section)
        return self._checked_card(section, agent_id)

    def _checked_card(self, card: JSON, agent_id: int) -> JSON:
        """A template card's shape; callback cards need a fresh task_id and buttons."""
        card_type = card.get("card_type")
        if card_type not in CARD_TYPES:
            raise WeComError(40058, "card_type")
        title = (
            card.get("main_title", {}).get("title")
            if isinstance(card.get("main_title"), dict)
            else None
        )
        if not title and not card.get("sub_title_text"):
            raise WeComError(40058, "main_title.title or sub_title_text")
        if card_type in _CALLBACK_CARDS:
            task_id = card.get("task_id")
            if (
                not isinstance(task_id, str)
                or not _TASK_ID.match(task_id)
                or _utf8_len(task_id) > TASK_ID_MAX_BYTES
                or (agent_id, task_id) in self._task_ids
            ):
                raise WeComError(42014)
        if card_type == "button_interaction":
            _check_buttons(card.get("button_list"))
        return copy.deepcopy(card)

    def _known_media(self, media_id: object) -> _Media:
        media = self._media.get(media_id) if isinstance(media_id, str) else None
        if media is None or self._clock.monotonic() >= media.expires_at:
            raise WeComError(40007)
        return media

    def _new_msgid(self) -> str:
        self._counter += 1
        return f"{secrets.token_urlsafe(30)}{self._counter}"

    def _issue_response_code(self, msgid: str) -> str:
        code = secrets.token_urlsafe(32)
        expires_at = self._clock.monotonic() + self.limits.response_code_seconds
        self._response_codes[code] = _ResponseCode(msgid, expires_at)
        return code

    def _update_template_card(self, query: dict[str, str], body: bytes, files: object) -> JSON:
        token_agent = self._token_agent(query)
        params = _json_object(body)
        agent_id = self._checked_agent(params, token_agent)
        code = self._response_codes.get(str(params.get("response_code", "")))
        now = self._clock.monotonic()
        if code is None or code.used or now >= code.expires_at:
            raise WeComError(INVALID_RESPONSE_CODE, "response_code")
        card = self._cards[code.msgid]
        if card.agent_id != agent_id:
            raise WeComError(301002)
        button = params.get("button")
        new_card = params.get("template_card")
        if isinstance(button, dict) and isinstance(button.get("replace_name"), str):
            card.replaced_name = button["replace_name"]
            what = f"按钮 → {card.replaced_name}"
        elif isinstance(new_card, dict):
            self._task_ids.pop((agent_id, card.task_id), None)
            try:
                card.card = self._checked_card(new_card, agent_id)
            finally:
                self._task_ids[(agent_id, card.task_id)] = card.msgid
            what = _summary("template_card", card.card)
        else:
            raise WeComError(40058, "button.replace_name or template_card")
        code.used = True
        self._log(f"卡片 {card.task_id}", f"(更新) {what}")
        return {"errcode": 0, "errmsg": "ok", "invaliduser": []}

    # ------------------------------------------------------------ app chats

    def _appchat_send(self, query: dict[str, str], body: bytes, files: object) -> JSON:
        self._token_agent(query)
        params = _json_object(body)
        chat_id = params.get("chatid")
        if not isinstance(chat_id, str) or chat_id not in self._chats:
            raise WeComError(86001)
        msgtype = params.get("msgtype")
        if msgtype not in CHAT_MSGTYPES:
            raise WeComError(40008)
        section = _section(params, str(msgtype))
        if msgtype == "image":
            self._known_media(section.get("media_id"))
            content = dict(section)
        else:
            limit = TEXT_MAX_BYTES if msgtype == "text" else MARKDOWN_MAX_BYTES
            content = {**section, "content": _truncate_utf8(_text_content(section, None), limit)}
        now = self._clock.monotonic()
        delivered: list[str] = []
        dropped: list[str] = []
        for member in self._chats[chat_id]:
            window = self._member_window(
                "appchat", member, self.limits.appchat_per_member_per_minute, 60
            )
            if self.limits.enforce and window.full(now):
                dropped.append(member)
            else:
                window.add(now)
                delivered.append(member)
        self.chat_messages.append(
            ChatMessage(chat_id, str(msgtype), content, delivered, dropped, now)
        )
        self._log(f"群 {chat_id}", _summary(str(msgtype), content))
        return {"errcode": 0, "errmsg": "ok"}

    # ------------------------------------------------------------ media

    def _media_get(
        self, query: dict[str, str], body: bytes, files: object
    ) -> tuple[bytes, dict[str, str]]:
        self._token_agent(query)
        media = self._known_media(query.get("media_id"))
        disposition = f'attachment; filename="{media.filename}"'
        headers = {
            "Content-Type": media.content_type,
            "Content-disposition": disposition,
            "Content-Length": str(len(media.content)),
        }
        return media.content, headers

    def _media_upload(
        self, query: dict[str, str], body: bytes, files: dict[str, list[HTTPFile]]
    ) -> JSON:
        self._token_agent(query)
        kind = query.get("type", "")
        if kind not in MEDIA_TYPES:
            raise WeComError(40005)
        uploads = files.get("media") or []
        if not uploads or not uploads[0].body:
            raise WeComError(41005)
        upload = uploads[0]
        content_type = upload.content_type or "application/octet-stream"
        media_id = self.add_media(
            upload.body, filename=upload.filename or "file", content_type=content_type, kind=kind
        )
        created_at = str(self._create_time())
        return {
            "errcode": 0,
            "errmsg": "",
            "type": kind,
            "media_id": media_id,
            "created_at": created_at,
        }

    # ------------------------------------------------------------ group robots

    def _webhook_send(self, query: dict[str, str], body: bytes, files: object) -> JSON:
        key = query.get("key", "")
        if key not in self._robots:
            raise WeComError(93000)
        now = self._clock.monotonic()
        window = self._robot_windows.setdefault(key, _Window(self.limits.webhook_per_minute, 60.0))
        if self.limits.enforce and window.full(now):
            raise WeComError(45009)
        params = _json_object(body)
        msgtype = params.get("msgtype")
        if msgtype not in ROBOT_MSGTYPES:
            raise WeComError(40008)
        content = _checked_robot_content(str(msgtype), _section(params, str(msgtype)))
        window.add(now)
        self.robot_messages.append(RobotMessage(key, self._robots[key], str(msgtype), content, now))
        self._log(f"群 {self._robots[key]}（群机器人）", _summary(str(msgtype), content))
        return {"errcode": 0, "errmsg": "ok"}

    # ------------------------------------------------------------ AI bot replies

    def _issue_response_url(self, chat_id: str) -> str:
        code = secrets.token_urlsafe(24)
        expires_at = self._clock.monotonic() + AI_BOT_RESPONSE_URL_SECONDS
        self._response_urls[code] = _ResponseUrl(chat_id, expires_at)
        return f"{self.base_url}/cgi-bin/aibot/response?response_code={code}"

    def _ai_bot_response(self, query: dict[str, str], body: bytes, files: object) -> JSON:
        entry = self._response_urls.get(query.get("response_code", ""))
        now = self._clock.monotonic()
        if entry is None or entry.used or now >= entry.expires_at:
            raise WeComError(93000)  # not documented: treated like an invalid webhook URL
        params = _json_object(body)
        msgtype = params.get("msgtype")
        if msgtype not in ("markdown", "template_card"):
            raise WeComError(40008)
        section = _section(params, str(msgtype))
        if msgtype == "markdown":
            _text_content(section, MARKDOWN_MAX_BYTES)
        entry.used = True
        self.ai_bot_replies.append(AiBotReply(entry.chat_id, str(msgtype), dict(section), now))
        self._log(f"群 {entry.chat_id}（智能机器人）", _summary(str(msgtype), section))
        return {"errcode": 0, "errmsg": "ok"}

    # ------------------------------------------------------------ transcript

    def _log(self, where: str, what: str) -> None:
        self._transcript.append(f"[{where}] 🤖 bot: {what}")

    @contextlib.contextmanager
    def limits_off(self) -> Iterator[None]:
        """Suspend the frequency limits (for set-up traffic in tests)."""
        before = self.limits
        self.limits = WeComLimits(**{**before.__dict__, "enforce": False})
        try:
            yield
        finally:
            self.limits = before


_CALLBACK_CARDS = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})


def _check_buttons(buttons: object) -> None:
    """A button_interaction card's button_list: 1-6 buttons with text and a key."""
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise WeComError(40058, "button_list")
    for button in buttons:
        if not isinstance(button, dict) or not button.get("text"):
            raise WeComError(40058, "button_list.text")
        key = button.get("key")
        if not isinstance(key, str) or not key or _utf8_len(key) > BUTTON_KEY_MAX_BYTES:
            raise WeComError(40058, "button_list.key")


def _checked_robot_content(msgtype: str, section: JSON) -> JSON:
    """A robot message body: text ≤ 2048 bytes, markdown ≤ 4096, 1-8 articles, a true image."""
    if msgtype == "text":
        _text_content(section, TEXT_MAX_BYTES)
    elif msgtype == "markdown":
        _text_content(section, MARKDOWN_MAX_BYTES)
    elif msgtype == "news":
        articles = section.get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= MAX_NEWS_ARTICLES:
            raise WeComError(40058, "articles")
        if not all(isinstance(a, dict) and a.get("title") and a.get("url") for a in articles):
            raise WeComError(40058, "articles.title or articles.url")
    else:
        try:
            image = base64.b64decode(str(section.get("base64", "")), validate=True)
        except ValueError as error:
            raise WeComError(40058, "base64") from error
        if not image or hashlib.md5(image).hexdigest() != section.get("md5"):
            raise WeComError(40058, "md5")
    return dict(section)


def _summary(msgtype: str, content: JSON) -> str:
    """One line for the transcript."""
    if msgtype in ("text", "markdown"):
        return str(content.get("content", ""))
    if msgtype == "template_card":
        title = (
            content.get("main_title", {}).get("title", "")
            if isinstance(content.get("main_title"), dict)
            else ""
        )
        text = " ".join(part for part in (title, str(content.get("sub_title_text", ""))) if part)
        labels = " | ".join(str(b.get("text", "")) for b in content.get("button_list", []))
        return f"{text}  [buttons: {labels}]" if labels else text
    if msgtype == "news":
        return " / ".join(str(a.get("title", "")) for a in content.get("articles", []))
    return f"[{msgtype}]"


def _recorded_body(body: bytes, files: Mapping[str, list[HTTPFile]]) -> Any:
    """The request body as recorded in a Call: JSON when it parses, else a short description."""
    if files:
        return {name: [f.filename for f in parts] for name, parts in files.items()}
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return {"raw_bytes": len(body)}
