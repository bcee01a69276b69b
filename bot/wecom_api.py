"""An async client for the WeCom (企业微信) server API, over httpx.

Every endpoint, including gettoken, media download and group robot webhooks, is built from
one configurable base URL (wechatpy's synchronous client hard-codes hosts, so it is not used
for HTTP). The access token is fetched once, cached until shortly before it expires, and
refreshed when WeCom says it expired or is invalid (42001, 40014, 40001), repeating the call
once so nothing is lost. WeCom's errcodes become the neutral delivery errors the outbox
understands: RetryLater (rate limits, busy, 5xx, network), Unreachable (no such member,
chat or robot), Rejected (everything else). Tokens and secrets travel only in query strings,
which bot.redaction masks in every log record.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from handlers.actions import DeliveryError, Rejected, RetryLater, Unreachable
from handlers.clock import Clock, SystemClock

__all__ = [
    "DEFAULT_BASE_URL",
    "MediaFile",
    "SentMessage",
    "WeComApi",
    "WeComCredentialsRejected",
    "button_card",
    "delivery_error",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
REQUEST_TIMEOUT_SECONDS = 10.0
# Refresh this long before WeCom's stated expiry (at most a tenth of the lifetime).
TOKEN_EARLY_REFRESH_SECONDS = 300.0
# WeCom blocks a caller for 60 s after a per-minute limit (访问频率限制).
RATE_LIMIT_WAIT_SECONDS = 60.0
TRANSIENT_RETRY_SECONDS = 2.0
# Until someone fixes the corp id or secret, keep messages and ask again every few minutes.
CREDENTIALS_RETRY_SECONDS = 300.0

TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
CREDENTIAL_ERRCODES = frozenset({40001, 40013, 41004})
RATE_LIMIT_ERRCODES = frozenset({45009, 45011, 45033})
BUSY_ERRCODES = frozenset({-1})
UNREACHABLE_ERRCODES = frozenset(
    {
        40003,  # invalid userid
        40031,  # invalid userid list
        60111,  # userid not found
        81013,  # user & party & tag all invalid
        86001,  # chatid invalid
        86003,  # chat does not exist
        93000,  # invalid webhook url: the robot was removed
    }
)
_ERRMSG_TAIL = re.compile(r",\s*hint:.*$", re.DOTALL)
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


class WeComCredentialsRejected(RetryLater):
    """gettoken refused the corp id or secret: a configuration problem, not the message's."""


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What message/send answered: the msgid, a template card's response_code, bad userids."""

    msgid: str
    response_code: str | None = None
    invalid_users: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A downloaded media file."""

    content: bytes
    filename: str
    content_type: str


def delivery_error(api: str, errcode: int, errmsg: str) -> DeliveryError:
    """The neutral delivery error for a WeCom errcode."""
    reason = f"WeCom {api}: errcode {errcode} {_ERRMSG_TAIL.sub('', errmsg)}".rstrip()
    if errcode in RATE_LIMIT_ERRCODES:
        return RetryLater(RATE_LIMIT_WAIT_SECONDS, reason)
    if errcode in BUSY_ERRCODES:
        return RetryLater(TRANSIENT_RETRY_SECONDS, reason)
    if errcode in UNREACHABLE_ERRCODES:
        return Unreachable(reason)
    return Rejected(reason)


def button_card(
    *,
    task_id: str,
    title: str,
    description: str = "",
    buttons: Sequence[tuple[str, str]],
    body: str = "",
) -> dict[str, Any]:
    """A button_interaction template card; buttons are (label, key), up to six."""
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title, "desc": description} if description else {"title": title},
        "task_id": task_id,
        "button_list": [
            {"text": label, "style": 1 if index == 0 else 2, "key": key}
            for index, (label, key) in enumerate(buttons)
        ],
    }
    if body:
        card["sub_title_text"] = body
    return card


class WeComApi:
    """One self-built app's view of the WeCom API, plus group robots and AI bot replies."""

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        base_url: str = DEFAULT_BASE_URL,
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._corp_id = corp_id
        self._secret = secret
        self.agent_id = agent_id
        self._base_url = base_url.rstrip("/")
        self._clock: Clock = clock or SystemClock()
        self._http = http or httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS)
        self._owns_http = http is None
        self._token: str | None = None
        self._token_usable_until = 0.0
        self._token_lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> WeComApi:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------ access token

    async def access_token(self) -> str:
        """The cached access token, fetched again when it is (nearly) expired."""
        async with self._token_lock:
            if self._token is None or self._clock.monotonic() >= self._token_usable_until:
                await self._fetch_token()
            assert self._token is not None
            return self._token

    async def _fetch_token(self) -> None:
        params = {"corpid": self._corp_id, "corpsecret": self._secret}
        body = await self._get_json("gettoken", params)
        errcode = _errcode(body)
        if errcode in CREDENTIAL_ERRCODES:
            raise WeComCredentialsRejected(
                CREDENTIALS_RETRY_SECONDS,
                f"WeCom gettoken refused the corp id or secret (errcode {errcode}); "
                "check WECOM_CORP_ID and WECOM_SECRET",
            )
        if errcode != 0:
            raise delivery_error("gettoken", errcode, str(body.get("errmsg", "")))
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise RetryLater(TRANSIENT_RETRY_SECONDS, "WeCom gettoken answered without a token")
        lifetime = float(body.get("expires_in") or 0)
        early = min(TOKEN_EARLY_REFRESH_SECONDS, lifetime / 10)
        self._token = token
        self._token_usable_until = self._clock.monotonic() + lifetime - early
        logger.info("fetched a WeCom access token valid for %d s", int(lifetime))

    async def _drop_token(self, stale: str) -> None:
        """Forget a token WeCom refused, unless another call already replaced it."""
        async with self._token_lock:
            if self._token == stale:
                self._token = None

    # ------------------------------------------------------------ app messages

    async def send_text(self, *, users: Sequence[str], content: str) -> SentMessage:
        """A text message from the app to members (at most 2048 bytes are shown)."""
        return await self._send_app(users, "text", {"content": content})

    async def send_markdown(self, *, users: Sequence[str], content: str) -> SentMessage:
        """A markdown message from the app to members (shown in WeCom only)."""
        return await self._send_app(users, "markdown", {"content": content})

    async def send_image(self, *, users: Sequence[str], media_id: str) -> SentMessage:
        """An image message; the media_id comes from a callback or upload_media."""
        return await self._send_app(users, "image", {"media_id": media_id})

    async def send_file(self, *, users: Sequence[str], media_id: str) -> SentMessage:
        """A file message; the media_id comes from upload_media(kind="file")."""
        return await self._send_app(users, "file", {"media_id": media_id})

    async def send_template_card(
        self, *, users: Sequence[str], card: Mapping[str, Any]
    ) -> SentMessage:
        """A template card (see button_card); callback cards answer with a response_code."""
        return await self._send_app(users, "template_card", dict(card))

    async def _send_app(
        self, users: Sequence[str], msgtype: str, section: Mapping[str, Any]
    ) -> SentMessage:
        payload = {
            "touser": "|".join(users),
            "msgtype": msgtype,
            "agentid": self.agent_id,
            msgtype: section,
        }
        body = await self._call("message/send", payload)
        invalid = tuple(u for u in str(body.get("invaliduser") or "").split("|") if u)
        if users and len(invalid) >= len(set(users)):
            raise Unreachable(f"WeCom message/send: no recipient is a member ({len(invalid)})")
        code = body.get("response_code")
        return SentMessage(str(body.get("msgid", "")), str(code) if code else None, invalid)

    async def update_card_buttons(
        self, *, users: Sequence[str], response_code: str, replace_name: str
    ) -> None:
        """Grey out a callback card's buttons under a new label (one use per response_code)."""
        payload = {
            "userids": list(users),
            "agentid": self.agent_id,
            "response_code": response_code,
            "button": {"replace_name": replace_name},
        }
        await self._call("message/update_template_card", payload)

    async def update_template_card(
        self, *, users: Sequence[str], response_code: str, card: Mapping[str, Any]
    ) -> None:
        """Replace a callback card with another card (one use per response_code)."""
        payload = {
            "userids": list(users),
            "agentid": self.agent_id,
            "response_code": response_code,
            "template_card": dict(card),
        }
        await self._call("message/update_template_card", payload)

    # ------------------------------------------------------------ app chats

    async def send_chat_text(self, *, chat_id: str, content: str) -> None:
        """A text into a group chat the app created."""
        payload = {"chatid": chat_id, "msgtype": "text", "text": {"content": content}}
        await self._call("appchat/send", payload)

    async def send_chat_markdown(self, *, chat_id: str, content: str) -> None:
        """A markdown message into a group chat the app created."""
        payload = {"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": content}}
        await self._call("appchat/send", payload)

    # ------------------------------------------------------------ media

    async def get_media(self, media_id: str) -> MediaFile:
        """Download a temporary media file (valid three days after it was sent)."""
        response = await self._authorised("GET", "media/get", params={"media_id": media_id})
        return MediaFile(
            content=response.content,
            filename=_filename(response.headers.get("content-disposition", ""), media_id),
            content_type=response.headers.get("content-type", "application/octet-stream"),
        )

    async def upload_media(self, *, kind: str, content: bytes, filename: str) -> str:
        """Upload a temporary media file (image, voice, video, file) and return its media_id."""
        files = {"media": (filename, content)}
        response = await self._authorised(
            "POST", "media/upload", params={"type": kind}, files=files
        )
        return str(_json(response, "media/upload").get("media_id", ""))

    # ------------------------------------------------------------ robots and the AI bot

    async def webhook_send(self, *, key: str, payload: Mapping[str, Any]) -> None:
        """Any message through a group robot (20 a minute per robot)."""
        body = await self._post_json("webhook/send", {"key": key}, payload)
        _raise_for_errcode("webhook/send", body)

    async def webhook_send_text(
        self, *, key: str, content: str, mentioned_users: Sequence[str] = ()
    ) -> None:
        """A text through a group robot, optionally @-mentioning members by userid."""
        text: dict[str, Any] = {"content": content}
        if mentioned_users:
            text["mentioned_list"] = list(mentioned_users)
        await self.webhook_send(key=key, payload={"msgtype": "text", "text": text})

    async def webhook_send_markdown(self, *, key: str, content: str) -> None:
        """A markdown message through a group robot."""
        payload = {"msgtype": "markdown", "markdown": {"content": content}}
        await self.webhook_send(key=key, payload=payload)

    async def reply_to_ai_bot(self, *, response_url: str, markdown: str) -> None:
        """Answer an AI bot message through the response_url WeCom gave with it (once)."""
        payload = {"msgtype": "markdown", "markdown": {"content": markdown}}
        response = await self._request("POST", response_url, "aibot/response", json=payload)
        _raise_for_errcode("aibot/response", _json(response, "aibot/response"))

    # ------------------------------------------------------------ plumbing

    async def _call(self, api: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST JSON with the access token; WeCom's errcodes become delivery errors."""
        response = await self._authorised("POST", api, json=payload)
        return _json(response, api)

    async def _authorised(
        self,
        method: str,
        api: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes]] | None = None,
    ) -> httpx.Response:
        """A request with the access token, refreshed and repeated once if WeCom refuses it."""
        for attempt in (1, 2):
            token = await self.access_token()
            query = {**(params or {}), "access_token": token}
            url = f"{self._base_url}/cgi-bin/{api}"
            response = await self._request(method, url, api, params=query, json=json, files=files)
            if not _is_json(response):
                return response
            body = _json(response, api)
            errcode = _errcode(body)
            if errcode in TOKEN_ERRCODES and attempt == 1:
                logger.info(
                    "WeCom %s refused the access token (errcode %d); refreshing", api, errcode
                )
                await self._drop_token(token)
                continue
            if errcode in TOKEN_ERRCODES:
                raise RetryLater(TRANSIENT_RETRY_SECONDS, f"WeCom {api}: token refused twice")
            _raise_for_errcode(api, body)
            return response
        raise AssertionError("unreachable")

    async def _get_json(self, api: str, params: Mapping[str, str]) -> dict[str, Any]:
        url = f"{self._base_url}/cgi-bin/{api}"
        return _json(await self._request("GET", url, api, params=params), api)

    async def _post_json(
        self, api: str, params: Mapping[str, str], payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        url = f"{self._base_url}/cgi-bin/{api}"
        return _json(await self._request("POST", url, api, params=params, json=payload), api)

    async def _request(
        self,
        method: str,
        url: str,
        api: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes]] | None = None,
    ) -> httpx.Response:
        """One HTTP exchange; network trouble and 5xx become RetryLater (the URL never shown)."""
        try:
            response = await self._http.request(method, url, params=params, json=json, files=files)
        except httpx.TransportError as error:
            reason = f"WeCom {api}: {type(error).__name__}"
            raise RetryLater(TRANSIENT_RETRY_SECONDS, reason) from None
        if response.status_code >= 500:
            reason = f"WeCom {api}: HTTP {response.status_code}"
            raise RetryLater(TRANSIENT_RETRY_SECONDS, reason)
        if response.status_code >= 400:
            raise Rejected(f"WeCom {api}: HTTP {response.status_code}")
        return response


def _is_json(response: httpx.Response) -> bool:
    """Whether an answer is JSON (media/get answers bytes on success, JSON on error)."""
    content_type = response.headers.get("content-type", "")
    if "json" in content_type:
        return True
    return "text/plain" in content_type and response.content.lstrip().startswith(b"{")


def _json(response: httpx.Response, api: str) -> dict[str, Any]:
    """The JSON object of an answer; anything else is a transient fault."""
    try:
        body = response.json()
    except ValueError:
        raise RetryLater(TRANSIENT_RETRY_SECONDS, f"WeCom {api}: answer is not JSON") from None
    if not isinstance(body, dict):
        raise RetryLater(TRANSIENT_RETRY_SECONDS, f"WeCom {api}: answer is not a JSON object")
    return body


def _errcode(body: Mapping[str, Any]) -> int:
    try:
        return int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def _raise_for_errcode(api: str, body: Mapping[str, Any]) -> None:
    errcode = _errcode(body)
    if errcode != 0:
        raise delivery_error(api, errcode, str(body.get("errmsg", "")))


def _filename(disposition: str, fallback: str) -> str:
    """The file name in a Content-Disposition header (the media_id when there is none)."""
    match = _FILENAME.search(disposition)
    return match.group(1).strip() if match else fallback
