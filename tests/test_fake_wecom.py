"""The fake WeCom server over real HTTP: tokens, messages, cards, chats, robots, media, limits,
failure injection, and callbacks delivered to a URL. (No database plays a role here.)"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import xmltodict
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler
from wechatpy.work import parse_message
from wechatpy.work.messages import (
    ImageMessage,
    LocationMessage,
    TextMessage,
    VideoMessage,
    VoiceMessage,
)

from bot.fake_wecom import FakeWeCom
from bot.wecom_crypto import CallbackCrypto, CallbackParams, CallbackRejected
from handlers.clock import FakeClock
from tests.wecom_support import corp_with_members

START = datetime(2024, 5, 20, 8, 0, tzinfo=UTC)
JSON = dict[str, Any]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeWeCom]:
    async with corp_with_members(clock) as fake:
        yield fake


@pytest.fixture
async def http(fake: FakeWeCom) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        yield client


async def token_of(http: httpx.AsyncClient, fake: FakeWeCom) -> str:
    params = {"corpid": fake.corp_id, "corpsecret": fake.secret}
    body = (await http.get("/cgi-bin/gettoken", params=params)).json()
    assert body["errcode"] == 0, body
    return str(body["access_token"])


async def post(http: httpx.AsyncClient, api: str, token: str, payload: JSON) -> JSON:
    response = await http.post(f"/cgi-bin/{api}", params={"access_token": token}, json=payload)
    assert response.status_code == 200
    body: JSON = response.json()
    return body


def text_to(fake: FakeWeCom, users: str, content: str = "你好") -> JSON:
    return {
        "touser": users,
        "msgtype": "text",
        "agentid": fake.agent_id,
        "text": {"content": content},
    }


def card_to(fake: FakeWeCom, task_id: str) -> JSON:
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "新工单 #1"},
        "task_id": task_id,
        "button_list": [{"text": "确认接单", "key": "ack:1"}, {"text": "无效", "key": "void:1"}],
    }
    return {
        "touser": "zhangmin",
        "msgtype": "template_card",
        "agentid": fake.agent_id,
        "template_card": card,
    }


# ---------------------------------------------------------------- tokens


async def test_gettoken_and_credential_errors(fake: FakeWeCom, http: httpx.AsyncClient) -> None:
    first = await token_of(http, fake)
    assert await token_of(http, fake) == first, "a valid token is handed out again"
    assert fake.tokens_issued == 1

    wrong = {"corpid": fake.corp_id, "corpsecret": "nope"}
    body = (await http.get("/cgi-bin/gettoken", params=wrong)).json()
    assert body["errcode"] == 40001 and body["errmsg"].startswith("invalid credential")
    body = (await http.get("/cgi-bin/gettoken", params={"corpid": "ww0", "corpsecret": "x"})).json()
    assert body["errcode"] == 40013


async def test_tokens_expire_by_the_clock_and_can_be_revoked(
    fake: FakeWeCom, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    token = await token_of(http, fake)
    assert (await post(http, "message/send", token, text_to(fake, "zhangmin")))["errcode"] == 0
    clock.advance(7200)
    assert (await post(http, "message/send", token, text_to(fake, "zhangmin")))["errcode"] == 42001
    fresh = await token_of(http, fake)
    assert fresh != token and fake.tokens_issued == 2

    fake.invalidate_tokens()
    assert (await post(http, "message/send", fresh, text_to(fake, "zhangmin")))["errcode"] == 40014
    assert (await http.post("/cgi-bin/message/send", json={})).json()["errcode"] == 41001


# ---------------------------------------------------------------- app messages


async def test_message_send_validates_and_records(fake: FakeWeCom, http: httpx.AsyncClient) -> None:
    token = await token_of(http, fake)
    body = await post(
        http, "message/send", token, text_to(fake, "zhangmin|Ghost", "夜市广告牌松了")
    )
    assert body["errcode"] == 0 and body["invaliduser"] == "ghost" and body["msgid"]
    assert [m.text for m in fake.messages_to("zhangmin")] == ["夜市广告牌松了"]

    assert (await post(http, "message/send", token, text_to(fake, "Ghost")))["errcode"] == 81013
    bad_agent = {**text_to(fake, "zhangmin"), "agentid": 42}
    assert (await post(http, "message/send", token, bad_agent))["errcode"] == 40056
    no_agent = {k: v for k, v in text_to(fake, "zhangmin").items() if k != "agentid"}
    assert (await post(http, "message/send", token, no_agent))["errcode"] == 41011
    voice = {**text_to(fake, "zhangmin"), "msgtype": "shout"}
    assert (await post(http, "message/send", token, voice))["errcode"] == 40008
    empty = text_to(fake, "zhangmin", "")
    assert (await post(http, "message/send", token, empty))["errcode"] == 44004
    bad_json = await http.post(
        "/cgi-bin/message/send", params={"access_token": token}, content=b"{oops"
    )
    assert bad_json.json()["errcode"] == 47001


async def test_long_text_is_truncated_to_2048_bytes(
    fake: FakeWeCom, http: httpx.AsyncClient
) -> None:
    token = await token_of(http, fake)
    await post(http, "message/send", token, text_to(fake, "zhangmin", "井" * 1000))
    text = fake.messages_to("zhangmin")[-1].text
    assert len(text.encode()) <= 2048 and text == "井" * 682


async def test_per_member_limit_drops_silently(
    fake: FakeWeCom, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    token = await token_of(http, fake)
    for index in range(31):
        body = await post(http, "message/send", token, text_to(fake, "zhangmin", f"#{index}"))
        assert body["errcode"] == 0, "WeCom does not report the drop"
    assert len(fake.messages_to("zhangmin")) == 30
    assert fake.app_messages[-1].dropped_for == ["zhangmin"]
    clock.advance(60)
    await post(http, "message/send", token, text_to(fake, "zhangmin", "later"))
    assert fake.messages_to("zhangmin")[-1].text == "later"


async def test_template_card_press_and_update(fake: FakeWeCom, http: httpx.AsyncClient) -> None:
    token = await token_of(http, fake)
    sent = await post(http, "message/send", token, card_to(fake, "ticket-1-ping-1"))
    assert sent["errcode"] == 0 and sent["response_code"]
    duplicate = await post(http, "message/send", token, card_to(fake, "ticket-1-ping-1"))
    assert duplicate["errcode"] == 42014
    no_buttons = card_to(fake, "ticket-2")
    no_buttons["template_card"]["button_list"] = []
    assert (await post(http, "message/send", token, no_buttons))["errcode"] == 40058

    event = xmltodict.parse(fake.press_button("zhangmin", task_id="ticket-1-ping-1", key="ack:1"))
    fields = event["xml"]
    assert fields["Event"] == "template_card_event" and fields["EventKey"] == "ack:1"
    assert fields["TaskId"] == "ticket-1-ping-1" and fields["CardType"] == "button_interaction"
    assert fields["FromUserName"] == "zhangmin" and fields["ResponseCode"]
    with pytest.raises(ValueError):
        fake.press_button("liwei", task_id="ticket-1-ping-1", key="ack:1")

    update = {
        "userids": ["zhangmin"],
        "agentid": fake.agent_id,
        "response_code": fields["ResponseCode"],
        "button": {"replace_name": "已接单"},
    }
    assert (await post(http, "message/update_template_card", token, update))["errcode"] == 0
    assert fake.card("ticket-1-ping-1")["replaced_name"] == "已接单"
    again = await post(http, "message/update_template_card", token, update)
    assert again["errcode"] == 40058, "a response_code is used once"
    with pytest.raises(ValueError):
        fake.press_button("zhangmin", task_id="ticket-1-ping-1", key="ack:1")


# ---------------------------------------------------------------- chats, robots, media


async def test_appchat_send(fake: FakeWeCom, http: httpx.AsyncClient) -> None:
    token = await token_of(http, fake)
    payload = {"chatid": "wrStaff01", "msgtype": "text", "text": {"content": "日报"}}
    assert (await post(http, "appchat/send", token, payload))["errcode"] == 0
    assert fake.chat_messages[-1].delivered_to == ["zhangmin", "liwei"]
    unknown = {**payload, "chatid": "wrNope"}
    assert (await post(http, "appchat/send", token, unknown))["errcode"] == 86001


async def test_webhook_twenty_a_minute_per_robot(
    fake: FakeWeCom, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    fake.add_robot("robot-key-1", "扬帆社区居民群")
    text = {"msgtype": "text", "text": {"content": "周六义诊"}}
    for _ in range(20):
        body = (
            await http.post("/cgi-bin/webhook/send", params={"key": "robot-key-1"}, json=text)
        ).json()
        assert body["errcode"] == 0
    limited = await http.post("/cgi-bin/webhook/send", params={"key": "robot-key-1"}, json=text)
    assert limited.json()["errcode"] == 45009
    assert limited.json()["errmsg"].startswith("api freq out of limit")
    clock.advance(60)
    again = await http.post("/cgi-bin/webhook/send", params={"key": "robot-key-1"}, json=text)
    assert again.json()["errcode"] == 0
    assert len(fake.robot_messages) == 21
    unknown = await http.post("/cgi-bin/webhook/send", params={"key": "nope"}, json=text)
    assert unknown.json()["errcode"] == 93000

    image = b"\x89PNG fake"
    picture = {
        "msgtype": "image",
        "image": {
            "base64": base64.b64encode(image).decode(),
            "md5": hashlib.md5(image).hexdigest(),
        },
    }
    ok = await http.post("/cgi-bin/webhook/send", params={"key": "robot-key-1"}, json=picture)
    assert ok.json()["errcode"] == 0


async def test_media_get_and_upload(fake: FakeWeCom, http: httpx.AsyncClient) -> None:
    token = await token_of(http, fake)
    media_id = fake.add_media(b"\xff\xd8jpeg-bytes", filename="billboard.jpg")
    response = await http.get(
        "/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}
    )
    assert response.content == b"\xff\xd8jpeg-bytes"
    assert response.headers["content-type"] == "image/jpeg"
    assert 'filename="billboard.jpg"' in response.headers["content-disposition"]

    missing = await http.get("/cgi-bin/media/get", params={"access_token": token, "media_id": "x"})
    assert missing.json()["errcode"] == 40007

    uploaded = await http.post(
        "/cgi-bin/media/upload",
        params={"access_token": token, "type": "image"},
        files={"media": ("after.png", b"\x89PNG after", "image/png")},
    )
    new_id = uploaded.json()["media_id"]
    image = {
        "touser": "zhangmin",
        "msgtype": "image",
        "agentid": fake.agent_id,
        "image": {"media_id": new_id},
    }
    assert (await post(http, "message/send", token, image))["errcode"] == 0


async def test_failure_injection(fake: FakeWeCom, http: httpx.AsyncClient) -> None:
    token = await token_of(http, fake)
    fake.fail_next("message/send", status=502)
    fake.fail_next("message/send", errcode=-1)
    assert (
        await http.post("/cgi-bin/message/send", params={"access_token": token})
    ).status_code == 502
    assert (await post(http, "message/send", token, text_to(fake, "zhangmin")))["errcode"] == -1
    assert (await post(http, "message/send", token, text_to(fake, "zhangmin")))["errcode"] == 0
    assert [c.status for c in fake.calls_to("message/send")] == [502, 200, 200]


# ---------------------------------------------------------------- callback payloads


def test_app_callback_xml_parses_with_wechatpy(fake: FakeWeCom) -> None:
    text = parse_message(fake.text_callback("zhangmin", "3栋门口井盖没了"))
    assert isinstance(text, TextMessage) and text.content == "3栋门口井盖没了"
    assert text.source == "zhangmin" and text.agent == fake.agent_id and text.id > 0

    image = parse_message(fake.image_callback("zhangmin", b"\xff\xd8photo"))
    assert isinstance(image, ImageMessage) and image.image.startswith("https://")
    assert xmltodict.parse(fake.image_callback("liwei", b"x"))["xml"]["MediaId"]

    video = parse_message(fake.video_callback("zhangmin", b"mp4"))
    assert isinstance(video, VideoMessage) and video.media_id and video.thumb_media_id
    voice = parse_message(fake.voice_callback("zhangmin", b"amr"))
    assert isinstance(voice, VoiceMessage) and voice.format == "amr"

    pin = fake.location_callback("zhangmin", latitude=30.61, longitude=114.27, label="夜市南门")
    location = parse_message(pin)
    assert isinstance(location, LocationMessage)
    assert location.location == ("30.61", "114.27") and location.label == "夜市南门"
    assert location.scale == "15"  # wechatpy keeps Location_X/Y and Scale as strings


def test_ai_bot_messages(fake: FakeWeCom) -> None:
    text = fake.ai_bot_message(chat_id="wrResidents", user_id="hushifu", text="@扬帆助手 路灯不亮")
    assert text["msgtype"] == "text" and text["chattype"] == "group"
    assert text["chatid"] == "wrResidents" and text["from"] == {"userid": "hushifu"}
    assert text["aibotid"] == fake.ai_bot_id and text["response_url"].startswith(fake.base_url)

    mixed = fake.ai_bot_message(
        chat_id="wrResidents",
        user_id="hushifu",
        text="@扬帆助手 看这里",
        image_urls=["https://img/1"],
    )
    assert mixed["msgtype"] == "mixed"
    assert mixed["mixed"]["msg_item"] == [
        {"msgtype": "text", "text": {"content": "@扬帆助手 看这里"}},
        {"msgtype": "image", "image": {"url": "https://img/1"}},
    ]
    assert mixed["msgid"] != text["msgid"]


# ---------------------------------------------------------------- callbacks over HTTP


class _Receiver(RequestHandler):
    """A minimal bot endpoint: wechatpy-based checks, records what it accepted."""

    def initialize(self, crypto: CallbackCrypto, seen: list[Any], ai_bot: bool) -> None:
        self.crypto, self.seen, self.ai_bot = crypto, seen, ai_bot

    def _params(self) -> CallbackParams:
        return CallbackParams.from_query(
            {k: self.get_query_argument(k) for k in self.request.query_arguments}
        )

    def get(self) -> None:
        try:
            self.finish(self.crypto.verify_url(self._params(), self.get_query_argument("echostr")))
        except CallbackRejected:
            self.set_status(403)

    def post(self) -> None:
        try:
            if self.ai_bot:
                self.seen.append(self.crypto.decrypt_json(self._params(), self.request.body))
            else:
                self.seen.append(self.crypto.decrypt_xml(self._params(), self.request.body))
        except CallbackRejected:
            self.set_status(403)
            return
        self.finish("success")


@pytest.fixture
async def receiver(fake: FakeWeCom, clock: FakeClock) -> AsyncIterator[tuple[str, list[Any]]]:
    app_crypto = CallbackCrypto.for_app(
        token=fake.app_signer.token,
        encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        corp_id=fake.corp_id,
        clock=clock,
    )
    bot_crypto = CallbackCrypto.for_ai_bot(
        token=fake.ai_bot_signer.token,
        encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        clock=clock,
    )
    seen: list[Any] = []
    application = Application(
        [
            (r"/wecom/app", _Receiver, {"crypto": app_crypto, "seen": seen, "ai_bot": False}),
            (r"/wecom/aibot", _Receiver, {"crypto": bot_crypto, "seen": seen, "ai_bot": True}),
        ]
    )
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(application)
    server.add_sockets(sockets)
    yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}", seen
    server.stop()
    await server.close_all_connections()


async def test_callbacks_reach_a_url_signed_and_encrypted(
    fake: FakeWeCom, receiver: tuple[str, list[Any]]
) -> None:
    root, seen = receiver
    answer, echo = await fake.verify_callback_url(f"{root}/wecom/app")
    assert answer.status == 200 and answer.text == echo
    answer, echo = await fake.verify_callback_url(f"{root}/wecom/aibot", ai_bot=True)
    assert answer.status == 200 and answer.text == echo

    xml = fake.text_callback("zhangmin", "井盖没了")
    answers = await fake.deliver_app_callback(f"{root}/wecom/app", xml, times=3)
    assert [a.status for a in answers] == [200, 200, 200]
    assert seen == [xml, xml, xml], "WeCom's retries resend the same callback"

    message = fake.ai_bot_message(chat_id="wrResidents", user_id="hushifu", text="@助手 路灯")
    (answer,) = await fake.deliver_ai_bot_callback(f"{root}/wecom/aibot", message)
    assert answer.status == 200 and seen[-1] == message

    forged = fake.sign_app_callback(xml).with_query(msg_signature="f" * 40)
    assert (await fake.post_callback(f"{root}/wecom/app", forged)).status == 403
    wrong_receiver = fake.sign_ai_bot_callback(message)  # AI bot key, sent to the app URL
    assert (await fake.post_callback(f"{root}/wecom/app", wrong_receiver)).status == 403


async def test_ai_bot_response_url_is_used_once(fake: FakeWeCom, http: httpx.AsyncClient) -> None:
    message = fake.ai_bot_message(chat_id="wrResidents", user_id="hushifu", text="@助手 路灯")
    reply = {"msgtype": "markdown", "markdown": {"content": "已登记工单 #4"}}
    first = await http.post(message["response_url"], json=reply)
    assert first.json()["errcode"] == 0
    assert [(r.chat_id, r.content["content"]) for r in fake.ai_bot_replies] == [
        ("wrResidents", "已登记工单 #4")
    ]
    assert (await http.post(message["response_url"], json=reply)).json()["errcode"] == 93000
