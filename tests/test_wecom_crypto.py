"""Callback crypto: WeCom's published test vector, an independent signer, and wechatpy's checks.

The vector is the sample in WeCom's 加解密方案说明 (token QDG6eK, corp id wx5823bf96d3bd56c7):
one URL verification and one encrypted text message. `CallbackSigner` (bot/fake_wecom.py,
written with the cryptography package) must reproduce it; `CallbackCrypto` (bot/wecom_crypto.py,
wechatpy) must accept it and whatever the signer produces, and refuse every bad callback.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import xmltodict

from bot.fake_wecom import CallbackSigner, SignedCallback
from bot.wecom_crypto import (
    CALLBACK_MAX_AGE_SECONDS,
    CallbackCrypto,
    CallbackParams,
    CallbackRejected,
)
from handlers.clock import FakeClock

TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

VERIFY_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
VERIFY_TIMESTAMP = "1409659589"
VERIFY_NONCE = "263014780"
VERIFY_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
VERIFY_ECHO = "1616140317555161061"

MESSAGE_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
MESSAGE_TIMESTAMP = "1409659813"
MESSAGE_NONCE = "1372623149"
MESSAGE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczcd"
    "CUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4"
    "Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r"
    "+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx"
    "4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyP"
    "IGHBZZIs2pDBS8R07+qN+E7Q=="
)
MESSAGE_BODY = (
    f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
    f"<Encrypt><![CDATA[{MESSAGE_ENCRYPT}]]></Encrypt>"
    "<AgentID><![CDATA[218]]></AgentID></xml>"
)
# What the documentation says the sample decrypts to.
MESSAGE_FIELDS = {
    "ToUserName": CORP_ID,
    "FromUserName": "mycreate",
    "CreateTime": "1409659813",
    "MsgType": "text",
    "Content": "hello",
    "MsgId": "4561255354251345929",
    "AgentID": "218",
}

NOW = datetime(2024, 5, 20, 9, 30, tzinfo=UTC)
NOW_STAMP = str(int(NOW.timestamp()))


def clock_at(timestamp: str) -> FakeClock:
    return FakeClock(datetime.fromtimestamp(int(timestamp), UTC))


def app_crypto(clock: FakeClock, corp_id: str = CORP_ID) -> CallbackCrypto:
    return CallbackCrypto.for_app(
        token=TOKEN, encoding_aes_key=AES_KEY, corp_id=corp_id, clock=clock
    )


def ai_bot_crypto(clock: FakeClock) -> CallbackCrypto:
    return CallbackCrypto.for_ai_bot(token=TOKEN, encoding_aes_key=AES_KEY, clock=clock)


def params_of(signed: SignedCallback) -> CallbackParams:
    return CallbackParams.from_query(signed.query)


@pytest.fixture
def signer() -> CallbackSigner:
    return CallbackSigner(token=TOKEN, encoding_aes_key=AES_KEY, receive_id=CORP_ID)


@pytest.fixture
def ai_signer() -> CallbackSigner:
    return CallbackSigner(token=TOKEN, encoding_aes_key=AES_KEY, receive_id="")


# ---------------------------------------------------------------- the independent signer


def test_signer_reproduces_the_published_signatures(signer: CallbackSigner) -> None:
    assert signer.signature(VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR) == VERIFY_SIGNATURE
    assert signer.signature(MESSAGE_TIMESTAMP, MESSAGE_NONCE, MESSAGE_ENCRYPT) == MESSAGE_SIGNATURE


def test_signer_decrypts_the_published_samples(signer: CallbackSigner) -> None:
    echo = signer.decrypt(VERIFY_ECHOSTR)
    assert (echo.message.decode(), echo.receive_id) == (VERIFY_ECHO, CORP_ID)

    opened = signer.decrypt(MESSAGE_ENCRYPT)
    assert opened.receive_id == CORP_ID
    assert xmltodict.parse(opened.message)["xml"] == MESSAGE_FIELDS


def test_signer_encrypts_byte_for_byte_like_wecom(signer: CallbackSigner) -> None:
    """Same key, IV, random prefix and message: the ciphertext must be the published one."""
    opened = signer.decrypt(MESSAGE_ENCRYPT)
    assert signer.encrypt(opened.message, random_prefix=opened.random_prefix) == MESSAGE_ENCRYPT
    echo = signer.decrypt(VERIFY_ECHOSTR)
    assert signer.encrypt(echo.message, random_prefix=echo.random_prefix) == VERIFY_ECHOSTR


def test_signer_refuses_bad_ciphertext(signer: CallbackSigner) -> None:
    raw = base64.b64decode(MESSAGE_ENCRYPT)
    for bad in ("%%%", base64.b64encode(raw[:-5]).decode(), base64.b64encode(raw[:32]).decode()):
        with pytest.raises(ValueError):
            signer.decrypt(bad)


# ---------------------------------------------------------------- wechatpy on the vector


def test_bot_verifies_the_published_url_check() -> None:
    crypto = app_crypto(clock_at(VERIFY_TIMESTAMP))
    params = CallbackParams(VERIFY_SIGNATURE, VERIFY_TIMESTAMP, VERIFY_NONCE)
    assert crypto.verify_url(params, VERIFY_ECHOSTR) == VERIFY_ECHO


def test_bot_decrypts_the_published_message() -> None:
    crypto = app_crypto(clock_at(MESSAGE_TIMESTAMP))
    params = CallbackParams(MESSAGE_SIGNATURE, MESSAGE_TIMESTAMP, MESSAGE_NONCE)
    plaintext = crypto.decrypt_xml(params, MESSAGE_BODY.encode())
    assert xmltodict.parse(plaintext)["xml"] == MESSAGE_FIELDS


def test_published_message_is_stale_a_day_later() -> None:
    crypto = app_crypto(clock_at(str(int(MESSAGE_TIMESTAMP) + 86_400)))
    params = CallbackParams(MESSAGE_SIGNATURE, MESSAGE_TIMESTAMP, MESSAGE_NONCE)
    with pytest.raises(CallbackRejected) as info:
        crypto.decrypt_xml(params, MESSAGE_BODY)
    assert info.value.reason == "stale timestamp"


# ---------------------------------------------------------------- the two implementations agree


def test_bot_accepts_what_wecom_signs(signer: CallbackSigner) -> None:
    xml = (
        "<xml><FromUserName><![CDATA[zhangmin]]></FromUserName>"
        "<Content><![CDATA[井盖没了 🚧]]></Content></xml>"
    )
    signed = signer.app_callback(xml, timestamp=NOW_STAMP, nonce="1320562132", agent_id=1000002)
    crypto = app_crypto(FakeClock(NOW))
    assert crypto.decrypt_xml(params_of(signed), signed.body) == xml

    echo = signer.url_verification("20240520", timestamp=NOW_STAMP, nonce="77")
    assert crypto.verify_url(params_of(echo), echo.query["echostr"]) == "20240520"


def test_ai_bot_json_with_empty_receive_id(ai_signer: CallbackSigner) -> None:
    message = {
        "msgid": "m1",
        "chattype": "group",
        "msgtype": "text",
        "text": {"content": "@bot 路灯坏了"},
    }
    signed = ai_signer.ai_bot_callback(message, timestamp=NOW_STAMP, nonce="5")
    assert json.loads(signed.body).keys() == {"encrypt"}
    assert ai_bot_crypto(FakeClock(NOW)).decrypt_json(params_of(signed), signed.body) == message


def test_replies_open_on_wecoms_side(signer: CallbackSigner, ai_signer: CallbackSigner) -> None:
    clock = FakeClock(NOW)
    reply = app_crypto(clock).encrypt_xml_reply("<xml><Content>收到</Content></xml>", nonce="9")
    assert signer.open_xml_reply(reply) == "<xml><Content>收到</Content></xml>"

    answer = {"msgtype": "markdown", "markdown": {"content": "已登记 #3"}}
    envelope = ai_bot_crypto(clock).encrypt_json_reply(answer, nonce="9")
    assert json.loads(envelope).keys() == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert ai_signer.open_json_reply(envelope) == answer


# ---------------------------------------------------------------- what must be refused


def _reason(crypto: CallbackCrypto, signed: SignedCallback, *, json_body: bool = False) -> str:
    with pytest.raises(CallbackRejected) as info:
        if json_body:
            crypto.decrypt_json(CallbackParams.from_query(signed.query), signed.body)
        else:
            crypto.decrypt_xml(CallbackParams.from_query(signed.query), signed.body)
    return info.value.reason


@pytest.fixture
def good(signer: CallbackSigner) -> SignedCallback:
    xml = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>"
    return signer.app_callback(xml, timestamp=NOW_STAMP, nonce="42", agent_id=1000002)


def test_forged_signature_is_refused(good: SignedCallback) -> None:
    forged = good.with_query(msg_signature="0" * 40)
    assert _reason(app_crypto(FakeClock(NOW)), forged) == "bad signature"
    other_nonce = good.with_query(nonce="43")  # the signature covers the nonce
    assert _reason(app_crypto(FakeClock(NOW)), other_nonce) == "bad signature"


@pytest.mark.parametrize("offset", [CALLBACK_MAX_AGE_SECONDS + 1, -(CALLBACK_MAX_AGE_SECONDS + 1)])
def test_stale_or_future_timestamp_is_refused(signer: CallbackSigner, offset: float) -> None:
    stamp = str(int(NOW.timestamp() - offset))
    signed = signer.app_callback("<xml><A>1</A></xml>", timestamp=stamp, nonce="1", agent_id=1)
    assert _reason(app_crypto(FakeClock(NOW)), signed) == "stale timestamp"


def test_timestamp_within_the_window_is_accepted(signer: CallbackSigner) -> None:
    stamp = str(int(NOW.timestamp() - CALLBACK_MAX_AGE_SECONDS + 5))
    signed = signer.app_callback("<xml><A>1</A></xml>", timestamp=stamp, nonce="1", agent_id=1)
    assert app_crypto(FakeClock(NOW)).decrypt_xml(params_of(signed), signed.body)


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "-5", "１７１６"])
def test_malformed_timestamp_is_refused(good: SignedCallback, timestamp: str) -> None:
    assert (
        _reason(app_crypto(FakeClock(NOW)), good.with_query(timestamp=timestamp)) == "bad timestamp"
    )


def test_wrong_corp_id_is_refused(good: SignedCallback) -> None:
    assert (
        _reason(app_crypto(FakeClock(NOW), corp_id="ww0000000000000000"), good)
        == "wrong receive id"
    )


def test_app_callback_is_not_an_ai_bot_callback(signer: CallbackSigner) -> None:
    """Signed for the corp id, the payload carries a receive id the AI bot must not accept."""
    signed = signer.ai_bot_callback({"msgid": "x"}, timestamp=NOW_STAMP, nonce="1")
    assert _reason(ai_bot_crypto(FakeClock(NOW)), signed, json_body=True) == "wrong receive id"


def _resigned(signer: CallbackSigner, encrypted: str) -> SignedCallback:
    """A correctly signed request around an arbitrary Encrypt value."""
    signature = signer.signature(NOW_STAMP, "1", encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    query = {"msg_signature": signature, "timestamp": NOW_STAMP, "nonce": "1"}
    return SignedCallback("POST", query, body)


def test_bad_base64_and_bad_padding_are_malformed(signer: CallbackSigner) -> None:
    crypto = app_crypto(FakeClock(NOW))
    raw = base64.b64decode(signer.encrypt("<xml><A>1</A></xml>"))
    not_blocks = base64.b64encode(raw[:-3]).decode()
    garbage = base64.b64encode(bytes(64)).decode()  # decrypts to noise with a broken frame
    for encrypted in ("not base64 at all!", not_blocks, garbage):
        assert _reason(crypto, _resigned(signer, encrypted)) == "malformed body"


def test_truncated_and_broken_bodies_are_refused(good: SignedCallback) -> None:
    crypto = app_crypto(FakeClock(NOW))
    assert _reason(crypto, good.with_body(good.body[: len(good.body) // 2])) == "malformed body"
    assert _reason(crypto, good.with_body(b"")) == "malformed body"
    assert _reason(crypto, good.with_body(b"<xml><AgentID>1</AgentID></xml>")) == "malformed body"
    assert _reason(crypto, good.with_body(b"<other/>")) == "malformed body"
    entities = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert _reason(crypto, good.with_body(entities)) == "malformed body"
    encrypted = good.body.split(b"<![CDATA[")[2].split(b"]]>")[0]
    shortened = good.body.replace(encrypted, encrypted[:-8])  # still XML, ciphertext cut short
    assert _reason(crypto, good.with_body(shortened)) == "bad signature"


def test_ai_bot_body_must_be_an_object_with_encrypt(ai_signer: CallbackSigner) -> None:
    crypto = ai_bot_crypto(FakeClock(NOW))
    signed = ai_signer.ai_bot_callback({"msgid": "m"}, timestamp=NOW_STAMP, nonce="1")
    for body in (b"[1]", b"{}", b'{"encrypt": 5}', b"{not json", signed.body[:20]):
        assert _reason(crypto, signed.with_body(body), json_body=True) == "malformed body"


def test_ai_bot_plaintext_must_be_json(ai_signer: CallbackSigner) -> None:
    encrypted = ai_signer.encrypt("not json")
    signature = ai_signer.signature(NOW_STAMP, "1", encrypted)
    query = {"msg_signature": signature, "timestamp": NOW_STAMP, "nonce": "1"}
    signed = SignedCallback("POST", query, json.dumps({"encrypt": encrypted}).encode())
    assert _reason(ai_bot_crypto(FakeClock(NOW)), signed, json_body=True) == "malformed body"


def test_missing_query_parameters_are_named() -> None:
    with pytest.raises(CallbackRejected) as info:
        CallbackParams.from_query({"timestamp": "1"})
    assert info.value.reason == "missing parameter"
    assert "msg_signature" in str(info.value) and "nonce" in str(info.value)


def test_bad_configuration_is_a_value_error() -> None:
    clock = FakeClock(NOW)
    for key in ("short", AES_KEY[:-1] + "!", "A" * 42 + "="):
        with pytest.raises(ValueError):
            CallbackCrypto.for_app(token=TOKEN, encoding_aes_key=key, corp_id=CORP_ID, clock=clock)
    with pytest.raises(ValueError):
        CallbackCrypto.for_app(token=TOKEN, encoding_aes_key=AES_KEY, corp_id="", clock=clock)
