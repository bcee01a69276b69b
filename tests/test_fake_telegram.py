"""The fake Bot API, driven by python-telegram-bot's own Bot so every answer is parsed for real."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.fake_telegram import FakeTelegram, FloodLimits, detect_entities, html_to_plain
from handlers.clock import FakeClock

GROUP = -1001000000001
ZHANG = 7000001
LI = 7000002
STRANGER = 7000003
PHOTO = b"\xff\xd8\xff\xe0 fake jpeg bytes"

# PTB 22 warns whenever RetryAfter.retry_after is read (it will become a timedelta).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    """A started fake with two users in one group and one user who never started the bot."""
    fake = FakeTelegram(clock=clock)
    fake.add_user(ZHANG, "张敏", username="zhangmin")
    fake.add_user(LI, "李伟")
    fake.add_user(STRANGER, "王芳", started_bot=False)
    fake.add_group(GROUP, "阳帆社区 3 号楼", member_ids=[ZHANG, LI])
    async with fake:
        yield fake


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        yield bot


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds, whichever type this PTB version returns."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else value


async def polling(fake: FakeTelegram) -> None:
    """Return once a getUpdates request has reached the fake (at most 2 s)."""
    for _ in range(200):
        if any(call.method == "getUpdates" for call in fake.calls):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("getUpdates never arrived")


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "yangfan_ticket_bot")


async def test_photo_with_caption_arrives_with_entities_and_sizes(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.user_sends(GROUP, ZHANG, photo=PHOTO, caption="🚧 #积水 3号楼门口 @zhangmin")

    (update,) = await bot.get_updates()
    message = update.message
    assert message is not None and message.chat.type == "supergroup"
    assert message.from_user is not None and message.from_user.first_name == "张敏"
    assert message.caption_entities[0].type == "hashtag"
    assert message.parse_caption_entities() == {
        message.caption_entities[0]: "#积水",
        message.caption_entities[1]: "@zhangmin",
    }
    assert [(p.width, p.height) for p in message.photo] == [(90, 67), (320, 240), (1280, 960)]
    assert len({p.file_unique_id for p in message.photo}) == 3


async def test_get_file_downloads_the_uploaded_bytes(fake: FakeTelegram, bot: Bot) -> None:
    sent = fake.user_sends(GROUP, ZHANG, photo=PHOTO)

    file = await bot.get_file(sent["photo"][-1]["file_id"])
    assert file.file_path is not None and file.file_path.endswith("photos/file_3.jpg")
    assert await file.download_as_bytearray() == bytearray(PHOTO)
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{fake.base_file_url}{fake.token}/photos/nope.jpg")
    assert missing.status_code == 404


async def test_send_message_with_keyboard_as_a_reply(fake: FakeTelegram, bot: Bot) -> None:
    report = fake.user_sends(GROUP, ZHANG, "3号楼门口积水")

    sent = await bot.send_message(
        GROUP,
        "已登记 <b>工单 #12</b>",
        parse_mode=ParseMode.HTML,
        reply_parameters=ReplyParameters(report["message_id"]),
        reply_markup=keyboard(("受理", "accept:12"), ("转派", "route:12")),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )

    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "3号楼门口积水"
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][1].callback_data == "route:12"
    assert sent.message_id == report["message_id"] + 1
    assert [m["text"] for m in fake.sent_messages(GROUP)] == ["已登记 <b>工单 #12</b>"]
    assert fake.calls[-1].params["reply_markup"]["inline_keyboard"][0][0]["text"] == "受理"
    assert fake.transcript() == [
        "[阳帆社区 3 号楼] 张敏: 3号楼门口积水",
        "[阳帆社区 3 号楼] 🤖 bot: 已登记 工单 #12 [buttons: 受理 | 转派]",
    ]


async def test_button_press_and_answer(fake: FakeTelegram, bot: Bot) -> None:
    prompt = await bot.send_message(GROUP, "是否受理？", reply_markup=keyboard(("受理", "ok")))
    query_id = fake.user_presses(GROUP, prompt.message_id, "ok", user_id=LI)

    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.id == query_id
    assert update.callback_query.data == "ok"
    assert update.callback_query.from_user.id == LI
    assert await bot.answer_callback_query(query_id, text="已受理", show_alert=True)
    assert fake.callback_answers == [
        {"callback_query_id": query_id, "text": "已受理", "show_alert": True}
    ]
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired"):
        await bot.answer_callback_query("12345")


async def test_users_who_never_started_or_blocked_cannot_be_written_to(
    fake: FakeTelegram, bot: Bot
) -> None:
    with pytest.raises(Forbidden) as never:
        await bot.send_message(STRANGER, "你好")
    assert never.value.message == "Forbidden: bot can't initiate conversation with a user"

    fake.set_started(ZHANG, False)
    with pytest.raises(Forbidden) as blocked:
        await bot.send_message(ZHANG, "你好")
    assert blocked.value.message == "Forbidden: bot was blocked by the user"
    assert fake.sent_messages() == []


async def test_group_flood_limit_then_recovery(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    for number in range(20):
        await bot.send_message(GROUP, f"第 {number} 条")
        clock.advance(0.5)

    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(GROUP, "第 21 条")
    assert retry_seconds(refused.value) == 50
    assert fake.too_many_requests() == 1
    assert fake.calls[-1].status == 429

    clock.advance(60)
    assert (await bot.send_message(GROUP, "第 21 条")).text == "第 21 条"
    assert len(fake.sent_messages(GROUP)) == 21


async def test_private_chat_limit_is_one_per_second(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(ZHANG, "一")
    with pytest.raises(RetryAfter):
        await bot.send_message(ZHANG, "二")
    await bot.send_message(LI, "三")  # another chat is unaffected


async def test_limits_can_be_switched_off(clock: FakeClock) -> None:
    async with FakeTelegram(clock=clock, limits=FloodLimits(enforce=False)) as fake:
        fake.add_group(GROUP, "群")
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            for _ in range(25):
                await bot.send_message(GROUP, "x")
    assert fake.too_many_requests() == 0


async def test_injected_failures(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(GROUP, "一")
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(GROUP, "一")
    assert retry_seconds(refused.value) == 7
    fake.fail_next("getMe", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()

    assert (await bot.send_message(GROUP, "一")).text == "一"
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [500, 429, 200]
    assert fake.too_many_requests() == 1


async def test_a_storm_answers_errors_in_turn_for_its_window_only(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    fake.fail_during(10, statuses=(500, 502, 429), retry_after=30, start_in=5)
    assert (await bot.send_message(GROUP, "风暴前")).text == "风暴前"
    clock.advance(5)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(GROUP, "一")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_photo(ZHANG, PHOTO)
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(LI, "三")
    assert retry_seconds(refused.value) == 30
    assert fake.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 30",
        "parameters": {"retry_after": 30},
    }
    with pytest.raises(NetworkError, match="Internal Server Error"):  # the pattern repeats
        await bot.send_message(GROUP, "四")
    assert (await bot.get_me()).username  # not a message-sending method

    clock.advance(10)
    assert (await bot.send_message(GROUP, "风暴后")).text == "风暴后"
    assert [m["text"] for m in fake.sent_messages()] == ["风暴前", "风暴后"]
    statuses = [c.status for c in fake.calls if c.method != "getMe"]
    assert statuses == [200, 500, 502, 429, 500, 200]
    assert fake.too_many_requests() == 1


async def test_a_storm_can_hit_chosen_methods(
    fake: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    fake.fail_during(60, statuses=(502,), methods=["getMe"])
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()
    assert (await bot.send_message(GROUP, "一")).text == "一"
    clock.advance(60)
    assert (await bot.get_me()).username
    with pytest.raises(ValueError):
        fake.fail_during(10, statuses=(200,))


async def test_redeliver_gives_the_same_update_id(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(GROUP, ZHANG, "一")
    (first,) = await bot.get_updates()
    assert await bot.get_updates(offset=first.update_id + 1) == ()

    fake.redeliver(first.update_id)
    (again,) = await bot.get_updates(offset=first.update_id + 1)
    assert again.update_id == first.update_id
    assert again.message is not None and again.message.text == "一"


async def test_long_poll_waits_for_the_next_update(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await polling(fake)
    assert not poll.done()
    fake.user_sends(GROUP, LI, "到了")
    (update,) = await asyncio.wait_for(poll, 1)
    assert update.message is not None and update.message.text == "到了"


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    assert await bot.get_updates(timeout=0.1) == ()  # type: ignore[arg-type]


async def test_a_second_poll_terminates_the_first(fake: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await polling(fake)
    async with Bot(fake.token, base_url=fake.base_url) as second_instance:
        assert await second_instance.get_updates() == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 1)


async def test_stop_releases_a_waiting_poll(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await polling(fake)
    await asyncio.wait_for(fake.stop(), 1)
    assert await asyncio.wait_for(poll, 1) == ()


async def test_a_polling_application_answers_through_the_fake(fake: FakeTelegram) -> None:
    replied = asyncio.Event()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"收到：{update.message.text}")
        replied.set()

    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await app.start()
        fake.user_sends(GROUP, ZHANG, "3号楼积水")
        await asyncio.wait_for(replied.wait(), 2)
        await app.updater.stop()
        await app.stop()

    assert fake.transcript()[-1] == "[阳帆社区 3 号楼] 🤖 bot: 收到：3号楼积水"
    assert fake.pending_updates() == []  # the updater confirmed what it handled


async def test_allowed_updates_filter_new_updates(fake: FakeTelegram, bot: Bot) -> None:
    prompt = await bot.send_message(GROUP, "选择", reply_markup=keyboard(("好", "ok")))
    await bot.get_updates(allowed_updates=["callback_query"])
    fake.user_sends(GROUP, ZHANG, "不会送达")
    fake.user_presses(GROUP, prompt.message_id, "ok", user_id=ZHANG)

    updates = await bot.get_updates()
    assert [u.callback_query is not None for u in updates] == [True]


class WebhookInbox:
    """What a local webhook endpoint received: (update, secret header) pairs."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, Any], str | None]] = []
        self.failures_left = 0
        self.arrived = asyncio.Event()

    async def wait_for(self, count: int) -> None:
        """Wait (at most 2 s) until `count` deliveries have arrived."""
        async with asyncio.timeout(2):
            while len(self.deliveries) < count:
                self.arrived.clear()
                await self.arrived.wait()


class _Receiver(RequestHandler):
    """A webhook endpoint that records deliveries and answers 500 while told to fail."""

    def initialize(self, inbox: WebhookInbox) -> None:
        self.inbox = inbox

    def post(self) -> None:
        secret = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.inbox.deliveries.append((json.loads(self.request.body), secret))
        self.inbox.arrived.set()
        if self.inbox.failures_left:
            self.inbox.failures_left -= 1
            self.set_status(500)


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, WebhookInbox]]:
    """The URL of a local webhook endpoint and what it received."""
    inbox = WebhookInbox()
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(TornadoApplication([(r"/hook", _Receiver, {"inbox": inbox})]))
    server.add_sockets(sockets)
    yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook", inbox
    server.stop()
    await server.close_all_connections()


async def test_webhook_posts_updates_with_the_secret(
    fake: FakeTelegram, bot: Bot, webhook: tuple[str, WebhookInbox]
) -> None:
    url, inbox = webhook
    assert await bot.set_webhook(url, secret_token="s3cret")
    assert (await bot.get_webhook_info()).url == url

    message = fake.user_sends(GROUP, ZHANG, "/start@yangfan_ticket_bot")
    await inbox.wait_for(1)

    update, secret = inbox.deliveries[0]
    assert secret == "s3cret"
    assert update["message"] == message
    assert message["entities"] == [{"offset": 0, "length": 25, "type": "bot_command"}]
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    assert (await bot.get_webhook_info()).pending_update_count == 0

    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_failed_webhook_delivery_is_retried_with_the_same_update_id(
    fake: FakeTelegram, bot: Bot, webhook: tuple[str, WebhookInbox]
) -> None:
    url, inbox = webhook
    inbox.failures_left = 1
    await bot.set_webhook(url)
    fake.user_sends(GROUP, ZHANG, "一")
    await inbox.wait_for(2)

    (first, no_secret), (second, _) = inbox.deliveries
    assert first["update_id"] == second["update_id"]
    assert no_secret is None
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.pending_update_count == 0


async def test_edits(fake: FakeTelegram, bot: Bot, clock: FakeClock) -> None:
    sent = await bot.send_message(GROUP, "工单 #12：待受理", reply_markup=keyboard(("受理", "a")))
    clock.advance(1)

    with pytest.raises(BadRequest) as same:
        await bot.edit_message_text(
            "工单 #12：待受理", GROUP, sent.message_id, reply_markup=keyboard(("受理", "a"))
        )
    assert same.value.message == (
        "Message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )

    edited = await bot.edit_message_text("工单 #12：已受理", GROUP, sent.message_id)
    assert not isinstance(edited, bool) and edited.edit_date is not None
    assert fake.sent_messages(GROUP)[0]["text"] == "工单 #12：已受理"
    assert "reply_markup" not in fake.sent_messages(GROUP)[0]  # no markup given removes it
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", GROUP, 999)
    assert fake.transcript()[-1] == "[阳帆社区 3 号楼] 🤖 bot (edited): 工单 #12：已受理"


async def test_request_errors_use_the_real_texts(fake: FakeTelegram, bot: Bot) -> None:
    cases = [
        ({"chat_id": -1009999, "text": "x"}, "Chat not found"),
        ({"chat_id": GROUP, "text": "  "}, "Message text is empty"),
        ({"chat_id": GROUP, "text": "长" * 4097}, "Message is too long"),
        ({"chat_id": GROUP, "text": "x", "reply_to_message_id": 77}, "Message to be replied not"),
        (
            {"chat_id": GROUP, "text": "x", "reply_markup": keyboard(("a", "x" * 65))},
            "Button_data_invalid",
        ),
        (
            {"chat_id": GROUP, "text": "<x>y</x>", "parse_mode": "HTML"},
            'Can\'t parse entities: unsupported start tag "x" at byte offset 0',
        ),
    ]
    for kwargs, text in cases:
        with pytest.raises(BadRequest, match=text):
            await bot.send_message(**kwargs)  # type: ignore[arg-type]
    sent = await bot.send_message(
        GROUP, "x", reply_parameters=ReplyParameters(77, allow_sending_without_reply=True)
    )
    assert sent.reply_to_message is None


async def test_raw_envelopes_for_bad_token_unknown_method_and_encodings(
    fake: FakeTelegram,
) -> None:
    api = f"{fake.base_url}{fake.token}"
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{fake.base_url}1:WRONG/getMe")
        unknown = await client.post(f"{api}/sendTelepathy")
        as_json = await client.post(f"{api}/sendMessage", json={"chat_id": GROUP, "text": "j"})
        as_form = await client.post(f"{api}/sendMessage", data={"chat_id": str(GROUP), "text": "f"})
        as_query = await client.get(f"{api}/getChat", params={"chat_id": GROUP})
        refused = await client.post(f"{api}/sendMessage", json={"chat_id": STRANGER, "text": "x"})

    assert (wrong.status_code, wrong.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert as_json.json()["result"]["text"] == "j"
    assert as_form.json()["result"]["chat"]["id"] == GROUP
    assert as_query.json()["result"]["title"] == "阳帆社区 3 号楼"
    assert refused.json() == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot can't initiate conversation with a user",
    }


async def test_media_group_shares_one_media_group_id(fake: FakeTelegram, bot: Bot) -> None:
    earlier = fake.user_sends(GROUP, ZHANG, photo=PHOTO)
    album = await bot.send_media_group(
        GROUP,
        [
            InputMediaPhoto(b"new upload", caption="现场"),
            InputMediaPhoto(earlier["photo"][-1]["file_id"]),
        ],
    )

    assert len(album) == 2
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    assert album[0].caption == "现场"
    assert album[1].photo[-1].file_id == earlier["photo"][-1]["file_id"]
    downloaded = await (await bot.get_file(album[0].photo[-1].file_id)).download_as_bytearray()
    assert downloaded == bytearray(b"new upload")


async def test_user_sends_location_in_private_chat(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(ZHANG, ZHANG, location=(31.2304, 121.4737))

    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.chat.type == "private"
    assert update.message.location is not None
    assert update.message.location.latitude == pytest.approx(31.2304)
    assert fake.transcript() == ["[私聊 张敏] 张敏: 📍 31.2304, 121.4737"]


async def test_bot_added_to_group(fake: FakeTelegram, bot: Bot) -> None:
    fake.bot_added_to_group(-1001000000002, "阳帆社区 5 号楼", by_user_id=LI)

    membership, joined = await bot.get_updates()
    assert membership.my_chat_member is not None
    assert membership.my_chat_member.old_chat_member.status == "left"
    assert membership.my_chat_member.new_chat_member.status == "member"
    assert joined.message is not None
    assert [u.username for u in joined.message.new_chat_members] == ["yangfan_ticket_bot"]
    assert (await bot.send_message(-1001000000002, "大家好")).chat.title == "阳帆社区 5 号楼"


async def test_user_replies_to_the_bot_with_a_video(fake: FakeTelegram, bot: Bot) -> None:
    question = await bot.send_message(ZHANG, "请补充现场视频")
    fake.user_sends(ZHANG, ZHANG, video=b"mp4 bytes", caption="现场", reply_to_message_id=1)

    (update,) = await bot.get_updates()
    message = update.message
    assert message is not None and message.video is not None
    assert (message.video.width, message.video.height, message.video.duration) == (1280, 720, 10)
    assert message.caption == "现场"
    assert message.reply_to_message is not None
    assert message.reply_to_message.message_id == question.message_id
    assert message.reply_to_message.from_user is not None
    assert message.reply_to_message.from_user.is_bot


async def test_user_edit_arrives_as_edited_message(fake: FakeTelegram, bot: Bot) -> None:
    original = fake.user_sends(GROUP, ZHANG, "3号楼积水")
    fake.user_edits(GROUP, original["message_id"], "5号楼积水 #更正")

    _, edit = await bot.get_updates()
    assert edit.edited_message is not None
    assert edit.edited_message.text == "5号楼积水 #更正"
    assert edit.edited_message.edit_date is not None


async def test_other_methods(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_my_commands([("report", "报告问题")])
    assert [c.command for c in await bot.get_my_commands()] == ["report"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.send_chat_action(GROUP, "typing")
    member = await bot.get_chat_member(GROUP, ZHANG)
    assert member.status == "member"
    sent = await bot.send_message(GROUP, "临时")
    assert await bot.delete_message(GROUP, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(GROUP, sent.message_id)
    assert await bot.leave_chat(GROUP)
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(GROUP, "还在吗")


def test_entities_use_utf16_offsets() -> None:
    assert detect_entities("🚧 #积水 @zhangmin /start") == [
        {"offset": 3, "length": 3, "type": "hashtag"},
        {"offset": 7, "length": 9, "type": "mention"},
        {"offset": 17, "length": 6, "type": "bot_command"},
    ]
    assert detect_entities("a/b #123 @ab 1/2") == []


def test_html_to_plain() -> None:
    assert html_to_plain("<b>工单</b> &lt;12&gt;") == "工单 <12>"
    with pytest.raises(Exception, match='Can\'t find end tag corresponding to start tag "b"'):
        html_to_plain("<b>工单")
