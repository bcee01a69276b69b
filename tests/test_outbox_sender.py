"""Outbox sender: flood limits, order, retry_after, backoff, fallback, coalescing, crash recovery.

Time is virtual (FakeClock): nothing here really sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers.actions import (
    Button,
    ButtonPress,
    Outgoing,
    Rejected,
    RetryLater,
    Unreachable,
    is_group_chat,
)
from handlers.clock import FakeClock
from schedules.flood_control import WECOM_LIMITS, FloodControl, FloodLimits, platform_of
from schedules.outbox_sender import DrainReport, OutboxSender, backoff_seconds
from storage.database import AsyncSession
from storage.models import OutboxMessage
from storage.outbox import count_by_status, enqueue_outgoing, next_due_at, pending_for_chat
from tests.conftest import START

GROUP = "tg:-1001000000001"
OTHER_GROUP = "tg:-1001000000002"
PRIVATE = "tg:5000001"
STAFF = "tg:-1009999999999"
LIMITS = FloodLimits()
RUN_TIMEOUT_SECONDS = 60  # real seconds: a lost message makes a test fail, not hang

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Delivery:
    at: float
    chat_id: str
    text: str
    message: Outgoing


@dataclass
class RecordingMessenger:
    """Fake adapter: records deliveries with virtual times, returns ids 1, 2, 3 …

    `fail_next[chat]` errors are raised by that chat's next sends, in order; `fail_always[chat]`
    on every send to it; `fail_calls[n]` on the n-th call overall (1-based).
    """

    clock: FakeClock
    delivered: list[Delivery] = field(default_factory=list)
    calls: list[tuple[float, str]] = field(default_factory=list)
    fail_next: dict[str, list[Exception]] = field(default_factory=dict)
    fail_always: dict[str, Exception] = field(default_factory=dict)
    fail_calls: dict[int, Exception] = field(default_factory=dict)
    on_delivery: Callable[[RecordingMessenger], None] = lambda _: None

    async def send(self, message: Outgoing) -> str:
        self.calls.append((self.clock.monotonic(), message.chat_id))
        error = self._error_for(message.chat_id)
        if error is not None:
            raise error
        self.delivered.append(
            Delivery(self.clock.monotonic(), message.chat_id, message.text, message)
        )
        self.on_delivery(self)
        return str(len(self.delivered))

    async def answer_press(self, press: ButtonPress, text: str | None = None) -> None:
        return None

    def texts(self, chat_id: str) -> list[str]:
        return [d.text for d in self.delivered if d.chat_id == chat_id]

    def _error_for(self, chat_id: str) -> Exception | None:
        if len(self.calls) in self.fail_calls:
            return self.fail_calls.pop(len(self.calls))
        if chat_id in self.fail_always:
            return self.fail_always[chat_id]
        queued = self.fail_next.get(chat_id)
        return queued.pop(0) if queued else None


@dataclass
class HangingMessenger(RecordingMessenger):
    """A sender that dies mid-send: the call never returns; `two_in_flight` is set at two."""

    two_in_flight: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: Outgoing) -> str:
        self.calls.append((self.clock.monotonic(), message.chat_id))
        if len(self.calls) >= 2:
            self.two_in_flight.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def messenger(clock: FakeClock) -> RecordingMessenger:
    return RecordingMessenger(clock)


@pytest.fixture
def sender(
    session_factory: SessionFactory, messenger: RecordingMessenger, clock: FakeClock
) -> OutboxSender:
    return OutboxSender(session_factory, {"tg": messenger, "wecom": messenger}, clock, LIMITS)


async def _queue(session_factory: SessionFactory, clock: FakeClock, *messages: Outgoing) -> None:
    async with session_factory() as session:
        for message in messages:
            await enqueue_outgoing(
                session,
                chat_id=message.chat_id,
                payload=message.to_json(),
                now=clock.now(),
                coalesce_key=message.coalesce_key,
            )
        await session.commit()


def _texts(chat_id: str, prefix: str, count: int, **fields: object) -> list[Outgoing]:
    return [Outgoing(chat_id=chat_id, text=f"{prefix}{n}", **fields) for n in range(count)]  # type: ignore[arg-type]


async def _drain_until_done(
    sender: OutboxSender, session_factory: SessionFactory, clock: FakeClock
) -> DrainReport:
    """Drain, jumping virtual time to each next due row, until nothing is pending."""
    total = DrainReport()
    for _ in range(10_000):
        report = await sender.drain_once()
        for name in ("claimed", "sent", "rescheduled", "failed", "coalesced"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        async with session_factory() as session:
            due = await next_due_at(session)
        if due is None:
            return total
        clock.advance(max(0.0, (due - clock.now()).total_seconds()))
    raise AssertionError("the outbox never emptied")


async def _run_until(sender: OutboxSender, messenger: RecordingMessenger, deliveries: int) -> None:
    """Run the sender loop until `deliveries` messages arrived."""
    stop = asyncio.Event()

    def stop_when_done(recorder: RecordingMessenger) -> None:
        if len(recorder.delivered) >= deliveries:
            stop.set()

    messenger.on_delivery = stop_when_done
    async with asyncio.timeout(RUN_TIMEOUT_SECONDS):
        await sender.run(stop, idle_seconds=1.0)


async def _rows(session_factory: SessionFactory, chat_id: str) -> list[OutboxMessage]:
    async with session_factory() as session:
        return await pending_for_chat(session, chat_id=chat_id)


async def _statuses(session_factory: SessionFactory) -> dict[str, int]:
    async with session_factory() as session:
        return await count_by_status(session)


def _most_in_any_window(times: Iterable[float], period: float) -> int:
    """The largest number of `times` inside any half-open window [t, t + period)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + period) for t in ordered), default=0)


# --- Flood control on its own ---


def test_chat_ids_name_their_platform_and_kind() -> None:
    assert (platform_of(GROUP), platform_of("wecom:wrABC"), platform_of("bare")) == (
        "tg",
        "wecom",
        "",
    )
    assert is_group_chat(GROUP) and not is_group_chat(PRIVATE)


def test_a_group_may_receive_twenty_messages_a_minute(clock: FakeClock) -> None:
    flood = FloodControl(LIMITS, clock)
    for _ in range(20):
        assert flood.wait_time(GROUP) == 0
        flood.record(GROUP)
        clock.advance(1)

    assert flood.group_budget_left(GROUP) == 0
    assert flood.wait_time(GROUP) == pytest.approx(40)
    clock.advance(40)
    assert flood.wait_time(GROUP) == 0
    assert flood.group_budget_left(GROUP) == 1


def test_a_private_chat_gets_one_message_a_second(clock: FakeClock) -> None:
    flood = FloodControl(LIMITS, clock)
    flood.record(PRIVATE)

    assert flood.wait_time(PRIVATE) == pytest.approx(1)
    assert flood.wait_time("tg:5000002") == 0
    clock.advance(1)
    assert flood.wait_time(PRIVATE) == 0


def test_each_platform_has_its_own_overall_window(clock: FakeClock) -> None:
    flood = FloodControl(LIMITS, clock)
    for n in range(30):
        flood.record(f"tg:{n}")

    assert flood.wait_time("tg:999") == pytest.approx(1)
    assert flood.wait_time("wecom:someone") == 0


def test_wecom_members_get_thirty_messages_a_minute_and_robots_twenty(
    clock: FakeClock,
) -> None:
    flood = FloodControl(LIMITS, clock, {"wecom": WECOM_LIMITS})
    sent = 0
    for _ in range(60 * 10):  # one minute in steps of 0.1 s, sending whenever allowed
        if flood.wait_time("wecom:zhangwei") == 0:
            flood.record("wecom:zhangwei")
            sent += 1
        clock.advance(0.1)
    assert sent == 30
    for _ in range(20):
        flood.record("wecom:wrResidents01")
    assert flood.wait_time("wecom:wrResidents01") == pytest.approx(60)
    assert flood.wait_time(PRIVATE) == 0  # Telegram keeps its own limits


def test_a_block_holds_the_chat_and_optionally_the_platform(clock: FakeClock) -> None:
    flood = FloodControl(LIMITS, clock)
    flood.block(PRIVATE, 5)
    assert (flood.wait_time(PRIVATE), flood.wait_time(GROUP)) == (5, 0)

    flood.block(PRIVATE, 8, whole_platform=True)
    assert flood.wait_time(GROUP) == 8
    assert flood.wait_time("wecom:someone") == 0


def test_backoff_doubles_up_to_five_minutes() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 9, 10)] == [1, 2, 4, 8, 256, 300]


# --- Sending ---


async def test_each_chat_gets_its_messages_in_queue_order_despite_retries(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    chats = [GROUP, OTHER_GROUP, PRIVATE]
    batches = [_texts(chat, f"{chat}#", 8) for chat in chats]
    await _queue(session_factory, clock, *[m for trio in zip(*batches, strict=True) for m in trio])
    messenger.fail_next[GROUP] = [RetryLater(3)]
    messenger.fail_next[PRIVATE] = [RuntimeError("adapter bug")]
    messenger.fail_calls[5] = RetryLater(2)

    await _drain_until_done(sender, session_factory, clock)

    for chat, batch in zip(chats, batches, strict=True):
        assert messenger.texts(chat) == [m.text for m in batch]
    assert (await _statuses(session_factory))["sent"] == 24


async def test_flood_limits_hold_overall_per_group_and_per_private_chat(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    groups = [f"tg:-100100000000{n}" for n in range(3)]
    privates = [f"tg:50000{n:02d}" for n in range(10)]
    messages = [m for chat in groups for m in _texts(chat, "g", 25)]
    messages += [m for chat in privates for m in _texts(chat, "p", 3)]
    messages += _texts("wecom:wrGroupRobot", "w", 3)
    await _queue(session_factory, clock, *messages)

    await _run_until(sender, messenger, len(messages))

    times_by_chat: dict[str, list[float]] = {}
    for delivery in messenger.delivered:
        times_by_chat.setdefault(delivery.chat_id, []).append(delivery.at)
    telegram = [d.at for d in messenger.delivered if d.chat_id.startswith("tg:")]
    assert _most_in_any_window(telegram, 1.0) == 30
    assert all(_most_in_any_window(times_by_chat[chat], 60.0) == 20 for chat in groups)
    assert all(_most_in_any_window(times_by_chat[chat], 1.0) == 1 for chat in privates)
    assert sorted(d.text for d in messenger.delivered) == sorted(m.text for m in messages)
    assert max(telegram) <= 62  # first sends spread over 3 s at 30/s; the rest a minute on


async def test_retry_after_is_waited_out_then_the_message_goes(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    await _queue(session_factory, clock, *_texts(PRIVATE, "m", 3))
    messenger.fail_next[PRIVATE] = [RetryLater(5, "Too Many Requests: retry after 5")]

    report = await sender.drain_once()
    assert (report.sent, report.rescheduled) == (0, 3)
    [first, *_] = await _rows(session_factory, PRIVATE)
    assert (first.attempts, first.last_error) == (1, "Too Many Requests: retry after 5")

    await _drain_until_done(sender, session_factory, clock)

    assert messenger.texts(PRIVATE) == ["m0", "m1", "m2"]
    assert [at for at, _ in messenger.calls] == [0, 5, 6, 7]
    assert (await _statuses(session_factory))["sent"] == 3


async def test_platform_back_pressure_is_retried_with_backoff_until_it_clears(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    await _queue(session_factory, clock, Outgoing(PRIVATE, "patient"), Outgoing(PRIVATE, "next"))
    await _queue(session_factory, clock, Outgoing(GROUP, "unaffected"))
    messenger.fail_next[PRIVATE] = [RetryLater(1, "502 Bad Gateway") for _ in range(12)]

    report = await _drain_until_done(sender, session_factory, clock)

    call_times = [at for at, chat in messenger.calls if chat == PRIVATE]
    gaps = [b - a for a, b in itertools.pairwise(call_times)]
    assert gaps[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert max(gaps) <= 300  # the backoff is capped
    assert messenger.texts(PRIVATE) == ["patient", "next"]  # an outage loses nothing
    assert report.failed == 0
    assert messenger.texts(GROUP) == ["unaffected"]


async def test_a_message_the_platform_keeps_refusing_is_given_up_after_a_day(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    await _queue(session_factory, clock, Outgoing(PRIVATE, "doomed"))
    messenger.fail_always[PRIVATE] = RetryLater(1, "502 Bad Gateway")

    report = await _drain_until_done(sender, session_factory, clock)

    assert report.failed == 1
    assert clock.monotonic() >= 24 * 3600
    assert await _statuses(session_factory) == {
        "pending": 0,
        "sent": 0,
        "failed": 1,
        "coalesced": 0,
    }


async def test_an_unexpected_error_is_retried_and_never_stops_the_drain(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    await _queue(session_factory, clock, Outgoing(PRIVATE, "hello"), Outgoing(GROUP, "hi"))
    messenger.fail_next[PRIVATE] = [KeyError("secret-token-123")]

    first = await sender.drain_once()
    [row] = await _rows(session_factory, PRIVATE)
    await _drain_until_done(sender, session_factory, clock)

    assert (first.sent, first.rescheduled) == (1, 1)
    assert row.last_error == "KeyError"  # the exception's text may hold secrets: not stored
    assert messenger.texts(PRIVATE) == ["hello"]


async def test_unreachable_recipient_with_a_fallback_lands_in_the_fallback_chat(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    notice = Outgoing(
        PRIVATE,
        "工单 #12 已派给您",
        buttons=((Button("接单", "ack:12"),),),
        fallback_chat_id=STAFF,
        fallback_text="无法私信网格员，请在群里提醒：工单 #12",
    )
    await _queue(session_factory, clock, notice)
    messenger.fail_always[PRIVATE] = Unreachable("Forbidden: bot was blocked by the user")

    report = await _drain_until_done(sender, session_factory, clock)

    assert messenger.texts(STAFF) == ["无法私信网格员，请在群里提醒：工单 #12"]
    assert messenger.delivered[0].message.buttons == notice.buttons
    assert report.failed == 1
    assert await _statuses(session_factory) == {
        "pending": 0,
        "sent": 1,
        "failed": 1,
        "coalesced": 0,
    }


async def test_unreachable_without_fallback_and_rejected_fail_and_the_chat_goes_on(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    await _queue(session_factory, clock, *_texts(PRIVATE, "p", 2), *_texts(GROUP, "g", 2))
    messenger.fail_next[PRIVATE] = [Unreachable("chat not found")]
    messenger.fail_next[GROUP] = [Rejected("Bad Request: message text is empty")]

    report = await _drain_until_done(sender, session_factory, clock)

    assert (report.sent, report.failed) == (2, 2)
    assert (messenger.texts(PRIVATE), messenger.texts(GROUP)) == (["p1"], ["g1"])


async def test_a_message_for_a_platform_without_a_messenger_fails_cleanly(
    session_factory: SessionFactory, messenger: RecordingMessenger, clock: FakeClock
) -> None:
    sender = OutboxSender(session_factory, {"tg": messenger}, clock, LIMITS)
    await _queue(session_factory, clock, Outgoing("wecom:wrX", "hi"), Outgoing(GROUP, "hi"))

    report = await sender.drain_once()

    assert (report.sent, report.failed) == (1, 1)


# --- Coalescing ---


async def test_a_burst_of_group_replies_is_merged_once_the_minute_budget_runs_out(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    replies = _texts(GROUP, "回复", 45, coalesce_key="reply")
    for reply in replies:  # one reply a second, while the sender keeps draining
        await _queue(session_factory, clock, reply)
        await sender.drain_once()
        clock.advance(1)

    report = await _drain_until_done(sender, session_factory, clock)

    delivered = messenger.texts(GROUP)
    assert len(delivered) <= 21
    merged_parts = [part for text in delivered for part in text.split("\n\n")]
    assert merged_parts == [reply.text for reply in replies]  # all of it, in order, once
    assert _most_in_any_window([d.at for d in messenger.delivered], 60.0) <= 20
    assert max(d.at for d in messenger.delivered) <= 61
    assert report.coalesced == 45 - len(delivered)
    assert await _statuses(session_factory) == {
        "pending": 0,
        "sent": len(delivered),
        "failed": 0,
        "coalesced": 45 - len(delivered),
    }


async def test_a_queued_burst_uses_the_last_budget_slot_for_one_merged_message(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    replies = _texts(GROUP, "r", 40, coalesce_key="reply", reply_to="100")
    replies[20] = Outgoing(GROUP, "r20", buttons=((Button("查看", "t:1"),),), coalesce_key="x")
    replies[30] = Outgoing(GROUP, "not mergeable")  # ends the merge and keeps its place
    await _queue(session_factory, clock, *replies)

    report = await _drain_until_done(sender, session_factory, clock)

    delivered = [d.message for d in messenger.delivered]
    parts = [part for message in delivered for part in message.text.split("\n\n")]
    assert parts == [reply.text for reply in replies]
    # 19 singles, then r19…r29 merged into the minute's last slot; the rest a minute later.
    assert len(delivered) == 30
    merged = delivered[19]
    assert merged.text == "\n\n".join(f"r{n}" for n in range(19, 30))
    assert (merged.buttons, merged.reply_to) == ((), "100")
    assert [d.at for d in messenger.delivered] == [0] * 20 + [60] * 10
    assert report.coalesced == 10


async def test_merged_text_stays_within_one_telegram_message(
    session_factory: SessionFactory,
    sender: OutboxSender,
    messenger: RecordingMessenger,
    clock: FakeClock,
) -> None:
    replies = [Outgoing(GROUP, f"{n}" + "长" * 1000, coalesce_key="r") for n in range(30)]
    await _queue(session_factory, clock, *replies)

    await _drain_until_done(sender, session_factory, clock)

    assert all(len(text) <= 4096 for text in messenger.texts(GROUP))
    parts = [part for text in messenger.texts(GROUP) for part in text.split("\n\n")]
    assert parts == [reply.text for reply in replies]


# --- Crash safety and the run loop ---


async def _die_mid_send(session_factory: SessionFactory, clock: FakeClock, *, owner: str) -> None:
    """A sender claims the rows and dies while both chats are mid-send."""
    hanging = HangingMessenger(clock)
    doomed = OutboxSender(session_factory, {"tg": hanging}, clock, LIMITS, owner=owner)
    crashed = asyncio.create_task(doomed.drain_once())
    async with asyncio.timeout(RUN_TIMEOUT_SECONDS):
        await hanging.two_in_flight.wait()
    crashed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashed


async def test_rows_of_a_sender_that_died_are_sent_once_after_the_lease_expires(
    session_factory: SessionFactory, messenger: RecordingMessenger, clock: FakeClock
) -> None:
    messages = _texts(PRIVATE, "p", 3) + _texts(GROUP, "g", 3)
    await _queue(session_factory, clock, *messages)
    await _die_mid_send(session_factory, clock, owner="doomed")

    survivor = OutboxSender(session_factory, {"tg": messenger}, clock, LIMITS, owner="survivor")
    assert (await survivor.drain_once()).claimed == 0  # still leased
    clock.advance(60)
    await _drain_until_done(survivor, session_factory, clock)

    assert sorted(d.text for d in messenger.delivered) == sorted(m.text for m in messages)
    assert messenger.texts(PRIVATE) == ["p0", "p1", "p2"]
    assert await _statuses(session_factory) == {
        "pending": 0,
        "sent": 6,
        "failed": 0,
        "coalesced": 0,
    }


async def test_a_restarted_sender_sends_what_it_had_leased_before_it_died_at_once(
    session_factory: SessionFactory, messenger: RecordingMessenger, clock: FakeClock
) -> None:
    messages = _texts(PRIVATE, "p", 3) + _texts(GROUP, "g", 3)
    await _queue(session_factory, clock, *messages)
    await _die_mid_send(session_factory, clock, owner="bot-1")

    other = OutboxSender(session_factory, {"tg": messenger}, clock, LIMITS, owner="bot-2")
    after_restart = OutboxSender(session_factory, {"tg": messenger}, clock, LIMITS, owner="bot-1")
    stop = asyncio.Event()
    stop.set()  # run() releases the old leases, then stops at once
    await after_restart.run(stop)
    start = clock.monotonic()
    assert (await other.drain_once()).claimed == 6  # due now, not 60 s later
    await _drain_until_done(other, session_factory, clock)
    assert clock.monotonic() - start < 5  # only the 1-per-second pacing of the private chat
    assert messenger.texts(PRIVATE) == ["p0", "p1", "p2"]
    assert messenger.texts(GROUP) == ["g0", "g1", "g2"]


@dataclass
class SlowMessenger(RecordingMessenger):
    """Each send takes `seconds` of virtual time."""

    seconds: float = 40.0

    async def send(self, message: Outgoing) -> str:
        self.clock.advance(self.seconds)
        return await super().send(message)


async def test_a_slow_sender_starts_no_send_once_its_lease_may_lapse(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    slow = SlowMessenger(clock)
    sender = OutboxSender(session_factory, {"tg": slow}, clock, LIMITS, lease_seconds=60)
    other = OutboxSender(session_factory, {"tg": slow}, clock, LIMITS, owner="other")
    await _queue(session_factory, clock, *_texts(GROUP, "g", 3))

    first = await sender.drain_once()
    assert (first.claimed, first.sent) == (3, 1)  # 40 s into a 60 s lease: no second send
    assert (await other.drain_once()).claimed == 0  # the rest are still leased
    await _drain_until_done(other, session_factory, clock)

    assert slow.texts(GROUP) == ["g0", "g1", "g2"]


class StuckClock(FakeClock):
    """A clock whose sleeps never end: only notify() or stop can wake the run loop."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


async def test_notify_wakes_the_idle_loop_and_stop_ends_it(
    session_factory: SessionFactory,
) -> None:
    clock = StuckClock(START)
    messenger = RecordingMessenger(clock)
    sender = OutboxSender(session_factory, {"tg": messenger}, clock, LIMITS)
    stop = asyncio.Event()
    arrived = asyncio.Event()
    messenger.on_delivery = lambda _: arrived.set()
    loop = asyncio.create_task(sender.run(stop, idle_seconds=3600))

    await _queue(session_factory, clock, Outgoing(PRIVATE, "wake up"))
    sender.notify()
    async with asyncio.timeout(RUN_TIMEOUT_SECONDS):
        await arrived.wait()
        stop.set()
        await loop

    assert messenger.texts(PRIVATE) == ["wake up"]
