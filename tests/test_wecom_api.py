"""The async WeCom client against the fake WeCom over HTTP: token caching and refresh, errcodes
as delivery errors, every endpoint through the configured base URL, secrets kept out of logs.
(No database plays a role here.)"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.fake_wecom import FakeWeCom, WeComLimits
from bot.redaction import MASK, SecretRedactor
from bot.wecom_api import (
    RATE_LIMIT_WAIT_SECONDS,
    WeComApi,
    WeComCredentialsRejected,
    button_card,
    delivery_error,
)
from handlers.actions import Rejected, RetryLater, Unreachable
from handlers.clock import FakeClock
from tests.wecom_support import corp_with_members

START = datetime(2024, 5, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeWeCom]:
    async with corp_with_members(clock) as fake:
        yield fake


def client_for(fake: FakeWeCom, clock: FakeClock, *, secret: str | None = None) -> WeComApi:
    return WeComApi(
        corp_id=fake.corp_id,
        secret=secret or fake.secret,
        agent_id=fake.agent_id,
        base_url=fake.base_url,
        clock=clock,
    )


@pytest.fixture
async def api(fake: FakeWeCom, clock: FakeClock) -> AsyncIterator[WeComApi]:
    async with client_for(fake, clock) as api:
        yield api


async def test_token_is_fetched_once_and_cached(fake: FakeWeCom, api: WeComApi) -> None:
    for index in range(3):
        await api.send_text(users=["zhangmin"], content=f"#{index}")
    assert len(fake.calls_to("gettoken")) == 1
    assert [m.text for m in fake.messages_to("zhangmin")] == ["#0", "#1", "#2"]


async def test_token_refreshed_before_it_expires(
    fake: FakeWeCom, api: WeComApi, clock: FakeClock
) -> None:
    await api.send_text(users=["zhangmin"], content="before")
    clock.advance(7200 - 200)  # inside the early-refresh margin
    await api.send_text(users=["zhangmin"], content="after")
    assert len(fake.calls_to("gettoken")) == 2
    assert all(call.response["errcode"] == 0 for call in fake.calls_to("message/send"))


@pytest.mark.parametrize(("break_tokens", "errcode"), [("expire", 42001), ("invalidate", 40014)])
async def test_refused_token_is_refreshed_and_the_call_repeated(
    fake: FakeWeCom, api: WeComApi, break_tokens: str, errcode: int
) -> None:
    await api.send_text(users=["zhangmin"], content="first")
    fake.expire_tokens() if break_tokens == "expire" else fake.invalidate_tokens()

    sent = await api.send_text(users=["zhangmin"], content="second")

    assert sent.msgid
    assert [c.response["errcode"] for c in fake.calls_to("message/send")] == [0, errcode, 0]
    assert [m.text for m in fake.messages_to("zhangmin")] == ["first", "second"]
    assert len(fake.calls_to("gettoken")) == 2


async def test_token_refused_twice_is_retried_later(fake: FakeWeCom, api: WeComApi) -> None:
    fake.fail_next("message/send", errcode=40014, times=2)
    with pytest.raises(RetryLater):
        await api.send_text(users=["zhangmin"], content="x")
    assert fake.messages_to("zhangmin") == []


async def test_invalid_secret_is_a_clear_error(fake: FakeWeCom, clock: FakeClock) -> None:
    async with client_for(fake, clock, secret="not-the-secret") as api:
        with pytest.raises(WeComCredentialsRejected) as info:
            await api.send_text(users=["zhangmin"], content="x")
    message = str(info.value)
    assert "errcode 40001" in message and "WECOM_SECRET" in message
    assert "not-the-secret" not in message
    assert fake.calls_to("message/send") == []


async def test_robot_rate_limit_is_retry_later(fake: FakeWeCom, api: WeComApi) -> None:
    fake.add_robot("robot-key-1", "扬帆社区居民群")
    for index in range(20):
        await api.webhook_send_text(key="robot-key-1", content=f"提醒 {index}")
    with pytest.raises(RetryLater) as info:
        await api.webhook_send_markdown(key="robot-key-1", content="**第21条**")
    assert info.value.seconds == RATE_LIMIT_WAIT_SECONDS
    assert "errcode 45009" in str(info.value) and "hint" not in str(info.value)
    assert len(fake.robot_messages) == 20


async def test_errcodes_become_delivery_errors(fake: FakeWeCom, api: WeComApi) -> None:
    with pytest.raises(Unreachable, match="81013"):
        await api.send_text(users=["ghost"], content="x")
    with pytest.raises(Unreachable, match="86001"):
        await api.send_chat_text(chat_id="wrGone", content="x")
    with pytest.raises(Unreachable, match="93000"):
        await api.webhook_send_text(key="removed-robot", content="x")
    with pytest.raises(Rejected, match="40007"):
        await api.send_image(users=["zhangmin"], media_id="expired")
    fake.fail_next("appchat/send", errcode=-1)
    with pytest.raises(RetryLater):
        await api.send_chat_text(chat_id="wrStaff01", content="x")
    fake.fail_next("appchat/send", status=502)
    with pytest.raises(RetryLater, match="HTTP 502"):
        await api.send_chat_text(chat_id="wrStaff01", content="x")
    await api.send_chat_text(chat_id="wrStaff01", content="日报")
    assert [m.text for m in fake.chat_messages] == ["日报"]


def test_delivery_error_mapping() -> None:
    assert isinstance(delivery_error("x", 45033, "api concurrent out of limit"), RetryLater)
    assert isinstance(delivery_error("x", 40003, "invalid Userid"), Unreachable)
    assert isinstance(delivery_error("x", 40008, "invalid message type"), Rejected)


async def test_network_failure_is_retry_later(clock: FakeClock) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = WeComApi(
        corp_id="ww1", secret="s", agent_id=1, base_url=f"http://127.0.0.1:{port}", clock=clock
    )
    async with api:
        with pytest.raises(RetryLater, match="ConnectError"):
            await api.send_text(users=["zhangmin"], content="x")


async def test_card_press_and_button_update(fake: FakeWeCom, api: WeComApi) -> None:
    card = button_card(
        task_id="t1-ping-1",
        title="新工单 #1 安全隐患",
        description="夜市南门门楼西侧",
        buttons=[("确认接单", "ack:1"), ("无效", "void:1")],
    )
    sent = await api.send_template_card(users=["zhangmin"], card=card)
    assert sent.response_code
    event = fake.press_button("zhangmin", task_id="t1-ping-1", key="ack:1")
    code = event.split("<ResponseCode><![CDATA[")[1].split("]]>")[0]
    await api.update_card_buttons(users=["zhangmin"], response_code=code, replace_name="已接单")
    assert fake.card("t1-ping-1")["replaced_name"] == "已接单"
    with pytest.raises(Rejected):
        await api.update_card_buttons(users=["zhangmin"], response_code=code, replace_name="again")


async def test_media_round_trip(fake: FakeWeCom, api: WeComApi) -> None:
    media_id = fake.add_media(b"\xff\xd8billboard", filename="billboard.jpg")
    media = await api.get_media(media_id)
    assert (media.content, media.filename, media.content_type) == (
        b"\xff\xd8billboard",
        "billboard.jpg",
        "image/jpeg",
    )
    with pytest.raises(Rejected, match="40007"):
        await api.get_media("unknown-media")

    uploaded = await api.upload_media(kind="image", content=b"\x89PNG after", filename="after.png")
    await api.send_image(users=["zhangmin"], media_id=uploaded)
    assert fake.messages_to("zhangmin")[-1].content == {"media_id": uploaded}


async def test_partly_invalid_recipients_are_reported(fake: FakeWeCom, api: WeComApi) -> None:
    sent = await api.send_markdown(users=["zhangmin", "Ghost"], content="**#2** 已解决")
    assert sent.invalid_users == ("ghost",)
    assert fake.messages_to("zhangmin")[-1].msgtype == "markdown"


async def test_ai_bot_reply_through_response_url(fake: FakeWeCom, api: WeComApi) -> None:
    message = fake.ai_bot_message(chat_id="wrResidents", user_id="hushifu", text="@助手 路灯不亮")
    await api.reply_to_ai_bot(response_url=message["response_url"], markdown="已登记工单 #5")
    assert fake.ai_bot_replies[0].content == {"content": "已登记工单 #5"}
    with pytest.raises(Unreachable):
        await api.reply_to_ai_bot(response_url=message["response_url"], markdown="again")


async def test_every_endpoint_uses_the_base_url(fake: FakeWeCom, api: WeComApi) -> None:
    fake.add_robot("k", "居民群")
    await api.send_text(users=["zhangmin"], content="x")
    await api.webhook_send_text(key="k", content="y")
    await api.get_media(fake.add_media(b"z", filename="z.jpg"))
    assert {call.api for call in fake.calls} == {
        "gettoken",
        "message/send",
        "webhook/send",
        "media/get",
    }


async def test_request_logs_never_show_token_secret_or_robot_key(
    fake: FakeWeCom, api: WeComApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_robot("robot-key-secret", "居民群")
    with caplog.at_level(logging.INFO, logger="httpx"):
        await api.send_text(users=["zhangmin"], content="x")
        await api.webhook_send_text(key="robot-key-secret", content="y")
    token = await api.access_token()
    redactor = SecretRedactor()
    lines = []
    for record in caplog.records:
        redactor.filter(record)
        lines.append(record.getMessage())
    logged = "\n".join(lines)
    assert "gettoken" in logged and "webhook/send" in logged, "httpx logs each request URL"
    for secret in (token, fake.secret, "robot-key-secret"):
        assert secret not in logged
    assert f"access_token={MASK}" in logged and f"corpsecret={MASK}" in logged


async def test_per_member_limit_is_silent_so_the_sender_must_pace(
    clock: FakeClock,
) -> None:
    """WeCom drops the 31st message a minute to one member without an error."""
    limits = WeComLimits(per_member_per_minute=2)
    async with FakeWeCom(clock=clock, limits=limits) as fake:
        fake.add_member("zhangmin")
        async with client_for(fake, clock) as api:
            for index in range(3):
                await api.send_text(users=["zhangmin"], content=f"#{index}")
        assert [m.text for m in fake.messages_to("zhangmin")] == ["#0", "#1"]
        assert fake.app_messages[-1].dropped_for == ["zhangmin"]
