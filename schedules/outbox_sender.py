"""Outbox drain: send queued messages within flood limits, retry with backoff, survive crashes.

Each drain claims due rows under a lease (committed first), then works through each chat's
rows one at a time in queue order; chats proceed side by side. Every send's outcome is
committed in its own short transaction, and a row is marked sent only after the messenger
returned, so a sender that dies leaves leased rows that another sender picks up once the lease
expires. Chats told to wait (flood limits, a retry) are postponed together when the drain ends.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import (
    TELEGRAM_TEXT_LIMIT,
    Messenger,
    Outgoing,
    Rejected,
    RetryLater,
    Unreachable,
    is_group_chat,
    utf16_length,
)
from handlers.clock import Clock
from schedules.flood_control import FloodControl, FloodLimits, platform_of
from storage import outbox
from storage.models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # for unexpected errors; platform back-pressure is retried until MAX_AGE
MAX_AGE = timedelta(hours=24)
BACKOFF_CAP_SECONDS = 300.0
# Postponing by at least this much guarantees progress on virtual clocks and rounding.
MIN_POSTPONE_SECONDS = 0.001
# Longest merged text: Telegram counts UTF-16 code units, WeCom counts UTF-8 bytes.
WECOM_TEXT_LIMIT_BYTES = 2048
COALESCE_SEPARATOR = "\n\n"
# A chat starts no new send after this share of the lease has passed: the rest of its rows stay
# leased and go after expiry, rather than risk another sender claiming them mid-send.
LEASE_USABLE_SHARE = 0.5
# A sent message whose row cannot be marked sent goes again after the lease: worth a few tries
# (the pool reconnects after a dropped connection) before letting the drain fail.
RECORD_SENT_TRIES = 3
RECORD_SENT_PAUSE_SECONDS = 0.5


@dataclass(slots=True)
class DrainReport:
    """What one drain did: rows claimed, messages sent, rows rescheduled, failed, merged."""

    claimed: int = 0
    sent: int = 0
    rescheduled: int = 0
    failed: int = 0
    coalesced: int = 0


@dataclass(frozen=True, slots=True)
class _Row:
    """A claimed outbox row, detached from its session, with its decoded message."""

    id: int
    chat_id: str
    attempts: int
    ticket_id: uuid.UUID | None
    coalesce_key: str | None
    payload: str
    message: Outgoing | None
    created_at: datetime

    @classmethod
    def of(cls, row: OutboxMessage) -> _Row:
        """Snapshot a claimed row."""
        assert row.id is not None
        return cls(
            id=row.id,
            chat_id=row.chat_id,
            attempts=row.attempts,
            ticket_id=row.ticket_id,
            coalesce_key=row.coalesce_key,
            payload=row.payload,
            message=_decode(row.payload),
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A chat's rows that wait until `due_at` (flood limits, or a retry of the row before)."""

    rows: tuple[_Row, ...]
    due_at: datetime


def _decode(payload: str) -> Outgoing | None:
    try:
        return Outgoing.from_json(payload)
    except (ValueError, KeyError, TypeError):
        return None


def backoff_seconds(attempts: int) -> float:
    """Delay after the `attempts`-th failed try: 1, 2, 4 … seconds, capped at 300."""
    return min(BACKOFF_CAP_SECONDS, 2.0 ** max(0, attempts - 1))


def fits_one_message(chat_id: str, text: str) -> bool:
    """Whether `text` is within the platform's length limit for one message."""
    if platform_of(chat_id) == "wecom":
        return len(text.encode("utf-8")) <= WECOM_TEXT_LIMIT_BYTES
    return utf16_length(text) <= TELEGRAM_TEXT_LIMIT


class OutboxSender:
    """Drains the outbox through the messengers, keyed by platform prefix ("tg", "wecom")."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        messengers: Mapping[str, Messenger],
        clock: Clock,
        limits: FloodLimits,
        owner: str = "sender-1",
        batch: int = 100,
        lease_seconds: float = 60,
        concurrency: int = 8,
        platform_limits: Mapping[str, FloodLimits] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._messengers = dict(messengers)
        self._clock = clock
        self.flood = FloodControl(limits, clock, platform_limits)
        self.owner = owner
        self._batch = batch
        self._lease_seconds = lease_seconds
        self._chat_slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Wake the run loop now (new rows were enqueued)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle_seconds: float = 0.5) -> None:
        """Drain until `stop` is set, sleeping until the next due row or `idle_seconds`."""
        await self._release_own_leases()
        while not stop.is_set():
            self._wake.clear()
            claimed = 0
            try:
                claimed = (await self.drain_once()).claimed
            except Exception as error:  # the loop must outlive database hiccups
                logger.error("outbox drain failed: %s", type(error).__name__)
            delay = await self._next_delay(idle_seconds, claimed)
            await self._pause(stop, delay)

    async def drain_once(self) -> DrainReport:
        """Claim due rows and send them, chat by chat in the order of each chat's oldest row."""
        report = DrainReport()
        deadline = self._clock.now() + timedelta(seconds=self._lease_seconds * LEASE_USABLE_SHARE)
        rows = await self._claim()
        report.claimed = len(rows)
        chats: dict[str, list[_Row]] = {}
        for row in rows:
            chats.setdefault(row.chat_id, []).append(row)
        waiting: list[_Waiting] = []
        results = await asyncio.gather(
            *(
                self._drain_chat_in_slot(queue, deadline, report, waiting)
                for queue in chats.values()
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                logger.error("outbox chat drain failed: %s", type(result).__name__)
        # One transaction for every chat told to wait: when the platform-wide limit is reached,
        # most chats of a batch wait, and one commit per chat cost more than the sends did.
        # Their rows stay leased until then, so no other sender takes them meanwhile.
        await self._postpone(waiting, report)
        return report

    # --- Claiming and the run loop ---

    async def _claim(self) -> list[_Row]:
        async with self._sessions() as session:
            claimed = await outbox.claim_due(
                session,
                now=self._clock.now(),
                owner=self.owner,
                lease_seconds=self._lease_seconds,
                limit=self._batch,
            )
            rows = [_Row.of(row) for row in claimed]
            await session.commit()
        return rows

    async def _release_own_leases(self) -> None:
        """Rows this owner leased before a crash go now, not when the lease runs out."""
        try:
            async with self._sessions() as session:
                released = await outbox.release_leases(session, owner=self.owner)
                await session.commit()
        except Exception as error:  # the drain loop retries the rows after the lease anyway
            logger.error("releasing old leases failed: %s", type(error).__name__)
            return
        if released:
            logger.warning("%d outbox rows leased before a restart are due again", released)

    async def _next_delay(self, idle_seconds: float, claimed: int) -> float:
        try:
            async with self._sessions() as session:
                next_due = await outbox.next_due_at(session)
        except Exception as error:
            logger.error("outbox next-due query failed: %s", type(error).__name__)
            return idle_seconds
        if next_due is None:
            return idle_seconds
        delay = min(idle_seconds, max(0.0, (next_due - self._clock.now()).total_seconds()))
        # Due rows that could not be claimed belong to another sender (or wait behind one).
        return idle_seconds if delay == 0 and claimed == 0 else delay

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        if seconds <= 0 or stop.is_set() or self._wake.is_set():
            return
        waiters = {
            asyncio.ensure_future(self._clock.sleep(seconds)),
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    # --- One chat ---

    async def _drain_chat_in_slot(
        self, rows: list[_Row], deadline: datetime, report: DrainReport, waiting: list[_Waiting]
    ) -> None:
        async with self._chat_slots:
            await self._drain_chat(deque(rows), deadline, report, waiting)

    async def _drain_chat(
        self,
        queue: deque[_Row],
        deadline: datetime,
        report: DrainReport,
        waiting: list[_Waiting],
    ) -> None:
        """Send a chat's rows one at a time; on the first postponement the rest wait too."""
        while queue and self._clock.now() < deadline:
            if self._should_coalesce(queue):
                await self._coalesce(queue, report)
            wait = self.flood.wait_time(queue[0].chat_id)
            if wait > 0:
                waiting.append(_Waiting(tuple(queue), self._after(wait)))
                return
            row = queue.popleft()
            self.flood.record(row.chat_id)
            retry_at = await self._deliver(row, report)
            if retry_at is not None:
                if queue:
                    waiting.append(_Waiting(tuple(queue), retry_at))
                return

    async def _deliver(self, row: _Row, report: DrainReport) -> datetime | None:
        """Send one row and settle it; return the retry time if the chat must pause."""
        messenger = self._messengers.get(platform_of(row.chat_id))
        if messenger is None:
            await self._fail(row, f"no messenger for platform {platform_of(row.chat_id)!r}", report)
            return None
        if row.message is None:
            await self._fail(row, "payload is not a valid outgoing message", report)
            return None
        try:
            sent_id = await messenger.send(row.message)
        except RetryLater as error:
            # 429 and 5xx are the platform asking for patience, not a broken message: wait as
            # long as it says (with backoff) and give up only when the message is a day old.
            self.flood.block(row.chat_id, error.seconds)
            return await self._retry(row, error.seconds, str(error), report, counted=False)
        except Unreachable as error:
            await self._fall_back(row, row.message, str(error), report)
            return None
        except Rejected as error:
            await self._fail(row, str(error), report)
            return None
        except Exception as error:  # an adapter bug must not stop the other messages
            logger.warning(
                "sending outbox message %s to %s raised %s",
                row.id,
                row.chat_id,
                type(error).__name__,
            )
            return await self._retry(row, 0.0, type(error).__name__, report)
        await self._record_sent(row, sent_id)
        report.sent += 1
        return None

    async def _record_sent(self, row: _Row, sent_id: str) -> None:
        """Mark the row sent, trying again after a database error: the message is out, and a
        row left pending would go a second time once its lease runs out."""
        for attempt in range(1, RECORD_SENT_TRIES + 1):
            try:
                await self._settle(
                    lambda s: outbox.mark_sent(
                        s, message_id=row.id, sent_message_id=sent_id, now=self._clock.now()
                    )
                )
                return
            except (SQLAlchemyError, OSError) as error:
                if attempt == RECORD_SENT_TRIES:
                    raise
                logger.warning(
                    "recording outbox message %s as sent failed (%s); trying again",
                    row.id,
                    type(error).__name__,
                )
                await self._clock.sleep(RECORD_SENT_PAUSE_SECONDS * attempt)

    # --- Outcomes ---

    async def _retry(
        self, row: _Row, seconds: float, error: str, report: DrainReport, *, counted: bool = True
    ) -> datetime | None:
        """Reschedule after a failed try (backoff, at least `seconds`), or give up: after 8
        counted tries, or once the message is older than a day."""
        attempts = row.attempts + 1
        too_old = self._clock.now() - row.created_at > MAX_AGE
        if (counted and attempts >= MAX_ATTEMPTS) or too_old:
            await self._fail(row, error, report)
            return None
        due_at = self._after(max(seconds, backoff_seconds(min(attempts, 12))))
        await self._settle(
            lambda s: outbox.reschedule(
                s, message_id=row.id, due_at=due_at, error=error, count_attempt=True
            )
        )
        report.rescheduled += 1
        return due_at

    async def _postpone(self, waiting: Sequence[_Waiting], report: DrainReport) -> None:
        """Make each waiting chat's rows due at its time, without counting an attempt."""
        if not waiting:
            return

        by_due_at: dict[datetime, list[int]] = {}
        for chat in waiting:
            by_due_at.setdefault(chat.due_at, []).extend(row.id for row in chat.rows)

        async def postpone_all(session: AsyncSession) -> None:
            for due_at, message_ids in by_due_at.items():
                await outbox.postpone(
                    session, message_ids=message_ids, due_at=due_at, owner=self.owner
                )

        await self._settle(postpone_all)
        report.rescheduled += sum(len(chat.rows) for chat in waiting)

    async def _fail(self, row: _Row, error: str, report: DrainReport) -> None:
        logger.warning("outbox message %s to %s failed: %s", row.id, row.chat_id, error)
        await self._settle(
            lambda s: outbox.mark_failed(s, message_id=row.id, error=error, now=self._clock.now())
        )
        report.failed += 1

    async def _fall_back(
        self, row: _Row, message: Outgoing, error: str, report: DrainReport
    ) -> None:
        """The recipient cannot be reached: queue the fallback message, if any, and fail."""
        if message.fallback_chat_id is None:
            await self._fail(row, error, report)
            return
        fallback = replace(
            message,
            chat_id=message.fallback_chat_id,
            text=message.fallback_text or message.text,
            reply_to=None,
            coalesce_key=None,
            fallback_chat_id=None,
            fallback_text=None,
        )
        now = self._clock.now()

        async def fail_and_redirect(session: AsyncSession) -> None:
            await outbox.enqueue_outgoing(
                session,
                chat_id=fallback.chat_id,
                payload=fallback.to_json(),
                now=now,
                ticket_id=row.ticket_id,
            )
            await outbox.mark_failed(session, message_id=row.id, error=error, now=now)

        await self._settle(fail_and_redirect)
        report.failed += 1
        self.notify()

    async def _settle(self, change: Callable[[AsyncSession], Awaitable[object]]) -> None:
        """Apply one outcome in its own short transaction."""
        async with self._sessions() as session:
            await change(session)
            await session.commit()

    def _after(self, seconds: float) -> datetime:
        return self._clock.now() + timedelta(seconds=max(seconds, MIN_POSTPONE_SECONDS))

    # --- Coalescing ---

    def _should_coalesce(self, queue: deque[_Row]) -> bool:
        """A group about to run out of its minute's budget with 2+ mergeable rows at the head."""
        chat_id = queue[0].chat_id
        return (
            is_group_chat(chat_id)
            and self.flood.group_budget_left(chat_id) <= 1
            and len(_mergeable_head(queue)) >= 2
        )

    async def _coalesce(self, queue: deque[_Row], report: DrainReport) -> None:
        """Merge the mergeable rows at the head of `queue` into the first one."""
        head = _mergeable_head(queue)
        merged = _merge([row.message for row in head if row.message is not None])
        first = replace(head[0], payload=merged.to_json(), message=merged)
        others = [row.id for row in head[1:]]
        await self._settle(
            lambda s: outbox.mark_coalesced(
                s, message_ids=others, into_id=first.id, payload=first.payload
            )
        )
        for _ in head:
            queue.popleft()
        queue.appendleft(first)
        report.coalesced += len(others)


def _mergeable_head(queue: deque[_Row]) -> list[_Row]:
    """The leading rows that have a coalesce key, text only, and still fit in one message."""
    head: list[_Row] = []
    texts: list[str] = []
    for row in queue:
        if row.coalesce_key is None or row.message is None or row.message.media:
            break
        candidate = COALESCE_SEPARATOR.join([*texts, row.message.text])
        if not fits_one_message(row.chat_id, candidate):
            break
        head.append(row)
        texts.append(row.message.text)
    return head


def _merge(messages: Sequence[Outgoing]) -> Outgoing:
    """One message carrying every text in order; buttons dropped, the first reply_to kept."""
    mentions = tuple(dict.fromkeys(m for message in messages for m in message.mentions))
    return replace(
        messages[0],
        text=COALESCE_SEPARATOR.join(message.text for message in messages),
        buttons=(),
        mentions=mentions,
        fallback_text=None,
    )
