"""WeCom callback security: URL verification, signature and freshness checks, decryption.

The cryptography is wechatpy's (``wechatpy.work.crypto.WeChatCrypto``: SHA-1 msg_signature,
AES-256-CBC with the EncodingAESKey, receive id check). This module adds only what WeCom's
protocol needs around it:

- a freshness window on the callback timestamp, read from an injected clock;
- one neutral error, `CallbackRejected`, for every way a callback can be bad, so the HTTP
  handler answers 4xx and stores nothing;
- the AI bot (智能机器人) envelope: a JSON body ``{"encrypt": ...}`` whose receive id is the
  empty string (WeCom's 回调和回复的加解密方案 for AI bots), and JSON passive replies.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner
from wechatpy.work.crypto import PrpCrypto, WeChatCrypto
from wechatpy.work.exceptions import InvalidCorpIdException

from handlers.clock import Clock

__all__ = [
    "CALLBACK_MAX_AGE_SECONDS",
    "CallbackCrypto",
    "CallbackParams",
    "CallbackRejected",
]

# WeCom retries an unanswered callback within seconds; five minutes leaves room for clock skew
# while making a captured callback useless soon after.
CALLBACK_MAX_AGE_SECONDS = 300.0
AES_KEY_LENGTH = 43

# Reasons a callback is refused (CallbackRejected.reason).
MISSING_PARAMETER = "missing parameter"
BAD_TIMESTAMP = "bad timestamp"
STALE_TIMESTAMP = "stale timestamp"
BAD_SIGNATURE = "bad signature"
WRONG_RECEIVE_ID = "wrong receive id"
MALFORMED_BODY = "malformed body"

# Everything wechatpy raises on a body it cannot decrypt (bad base64, ciphertext not a whole
# number of AES blocks, broken padding or length prefix, bytes that are not UTF-8, bad XML).
_UNDECRYPTABLE = (ValueError, KeyError, TypeError, IndexError, struct.error, ExpatError)


class CallbackRejected(Exception):
    """A callback that must be refused with a 4xx; `reason` says why (never any secret)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CallbackParams:
    """The signature query parameters of one callback request."""

    msg_signature: str
    timestamp: str
    nonce: str

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> CallbackParams:
        """Read ``msg_signature``, ``timestamp`` and ``nonce`` from a decoded query."""
        values = {name: query.get(name) for name in ("msg_signature", "timestamp", "nonce")}
        missing = sorted(name for name, value in values.items() if not value)
        if missing:
            raise CallbackRejected(MISSING_PARAMETER, ", ".join(missing))
        return cls(
            msg_signature=str(values["msg_signature"]),
            timestamp=str(values["timestamp"]),
            nonce=str(values["nonce"]),
        )


def check_encoding_aes_key(encoding_aes_key: str) -> None:
    """Raise ValueError unless the key is 43 base64 characters decoding to 32 bytes."""
    if len(encoding_aes_key) != AES_KEY_LENGTH:
        raise ValueError(f"an EncodingAESKey is exactly {AES_KEY_LENGTH} characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise ValueError("an EncodingAESKey is base64 (A-Z, a-z, 0-9, + and /)") from error
    if len(key) != 32:
        raise ValueError("an EncodingAESKey decodes to a 32-byte AES key")


class CallbackCrypto:
    """Checks and opens callbacks for one receive id (corp id, or "" for the AI bot)."""

    def __init__(
        self,
        *,
        token: str,
        encoding_aes_key: str,
        receive_id: str,
        clock: Clock,
        max_age_seconds: float = CALLBACK_MAX_AGE_SECONDS,
    ) -> None:
        check_encoding_aes_key(encoding_aes_key)
        if not token:
            raise ValueError("the callback token is empty")
        self._crypto = WeChatCrypto(token, encoding_aes_key, receive_id)
        self._token = token
        self._receive_id = receive_id
        self._clock = clock
        self._max_age = max_age_seconds

    @classmethod
    def for_app(
        cls, *, token: str, encoding_aes_key: str, corp_id: str, clock: Clock
    ) -> CallbackCrypto:
        """The self-built app's callbacks: the receive id is the corp id."""
        if not corp_id:
            raise ValueError("the corp id is empty")
        return cls(token=token, encoding_aes_key=encoding_aes_key, receive_id=corp_id, clock=clock)

    @classmethod
    def for_ai_bot(cls, *, token: str, encoding_aes_key: str, clock: Clock) -> CallbackCrypto:
        """The AI bot's callbacks: WeCom documents the receive id as the empty string."""
        return cls(token=token, encoding_aes_key=encoding_aes_key, receive_id="", clock=clock)

    # ------------------------------------------------------------ incoming

    def verify_url(self, params: CallbackParams, echostr: str) -> str:
        """Check a URL-verification GET and return the decrypted echostr to answer with."""
        self._check_fresh(params.timestamp)
        return self._open(params, echostr)

    def decrypt_xml(self, params: CallbackParams, body: bytes | str) -> str:
        """Check a self-built app callback (XML with <Encrypt>) and return the plaintext XML."""
        self._check_fresh(params.timestamp)
        envelope = _parse_xml(body)
        encrypted = envelope.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise CallbackRejected(MALFORMED_BODY, "no <Encrypt> element")
        plaintext = self._open(params, encrypted)
        _parse_xml(plaintext)
        return plaintext

    def decrypt_json(self, params: CallbackParams, body: bytes | str) -> dict[str, Any]:
        """Check an AI bot callback (JSON ``{"encrypt": ...}``) and return the message object."""
        self._check_fresh(params.timestamp)
        envelope = _parse_json(body)
        encrypted = envelope.get("encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise CallbackRejected(MALFORMED_BODY, 'no "encrypt" string')
        return _parse_json(self._open(params, encrypted))

    # ------------------------------------------------------------ passive replies

    def encrypt_xml_reply(self, xml: str, *, nonce: str, timestamp: str | None = None) -> str:
        """The encrypted, signed XML answer to an app callback (wechatpy's envelope)."""
        reply: str = self._crypto.encrypt_message(xml, nonce, timestamp or self._timestamp())
        return reply

    def encrypt_json_reply(
        self, payload: Mapping[str, Any], *, nonce: str, timestamp: str | None = None
    ) -> str:
        """The encrypted, signed JSON answer to an AI bot callback."""
        stamp = timestamp or self._timestamp()
        plaintext = json.dumps(payload, ensure_ascii=False)
        encrypted = PrpCrypto(self._crypto.key).encrypt(plaintext, self._receive_id).decode()
        signer = WeChatSigner()
        signer.add_data(self._token, stamp, nonce, encrypted)
        envelope = {
            "encrypt": encrypted,
            "msgsignature": signer.signature,
            "timestamp": stamp,
            "nonce": nonce,
        }
        return json.dumps(envelope)

    # ------------------------------------------------------------ checks

    def _timestamp(self) -> str:
        return str(int(self._clock.now().timestamp()))

    def _check_fresh(self, timestamp: str) -> None:
        """Refuse a timestamp that is not whole seconds or is outside the window either way."""
        if not timestamp.isascii() or not timestamp.isdigit():
            raise CallbackRejected(BAD_TIMESTAMP, "not whole seconds")
        skew = abs(int(self._clock.now().timestamp()) - int(timestamp))
        if skew > self._max_age:
            raise CallbackRejected(STALE_TIMESTAMP, "outside the accepted window")

    def _open(self, params: CallbackParams, encrypted: str) -> str:
        """Verify the signature over `encrypted` and decrypt it, all with wechatpy."""
        try:
            plaintext: str = self._crypto.decrypt_message(
                {"Encrypt": encrypted}, params.msg_signature, params.timestamp, params.nonce
            )
        except InvalidSignatureException as error:
            raise CallbackRejected(BAD_SIGNATURE) from error
        except InvalidCorpIdException as error:
            raise CallbackRejected(WRONG_RECEIVE_ID) from error
        except _UNDECRYPTABLE as error:
            raise CallbackRejected(MALFORMED_BODY, type(error).__name__) from error
        return plaintext


def _parse_xml(body: bytes | str) -> dict[str, Any]:
    """The children of a WeCom ``<xml>`` document, or CallbackRejected."""
    try:
        document = xmltodict.parse(body, disable_entities=True)
    except (ExpatError, ValueError) as error:
        raise CallbackRejected(MALFORMED_BODY, "not XML") from error
    root = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(root, dict):
        raise CallbackRejected(MALFORMED_BODY, "no <xml> root")
    return root


def _parse_json(body: bytes | str) -> dict[str, Any]:
    """A JSON object, or CallbackRejected."""
    try:
        value = json.loads(body)
    except ValueError as error:
        raise CallbackRejected(MALFORMED_BODY, "not JSON") from error
    if not isinstance(value, dict):
        raise CallbackRejected(MALFORMED_BODY, "not a JSON object")
    return value
