"""Outbox sender: a sent message whose row cannot be marked sent at once is not sent twice.

The database drops the connection right after the platform accepted a message (as when
PostgreSQL restarts or every connection is cut): the sender tries to record it again.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy.exc import OperationalError

from handlers.actions import Outgoing
from handlers.clock import FakeClock
from schedules.outbox_sender import RECORD_SENT_TRIES, OutboxSender
from storage.database import AsyncSession
from storage.models import OutboxStatus
from storage.outbox import count_by_status
from tests.test_outbox_sender import LIMITS, PRIVATE, RecordingMessenger, SessionFactory, _queue

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class DroppedCommits:
    """A session factory whose next `drops` commits fail as on a dropped connection."""

    def __init__(self, factory: SessionFactory) -> None:
        self.factory = factory
        self.drops = 0
        self.dropped = 0

    def __call__(self) -> _Session:
        return _Session(self, self.factory())


class _Session:
    """A session whose commit may fail (then nothing of its transaction is kept)."""

    def __init__(self, commits: DroppedCommits, session: AsyncSession) -> None:
        self._commits = commits
        self._session = session

    async def __aenter__(self) -> _Session:
        await self._session.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._session.__aexit__(*exc_info)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def commit(self) -> None:
        if self._commits.drops:
            self._commits.drops -= 1
            self._commits.dropped += 1
            await self._session.rollback()
            raise OperationalError("COMMIT", None, ConnectionResetError("connection lost"))
        await self._session.commit()


def sender_with(commits: DroppedCommits, messenger: RecordingMessenger) -> OutboxSender:
    sessions = cast(SessionFactory, commits)
    return OutboxSender(sessions, {"tg": messenger}, messenger.clock, LIMITS)


async def test_a_sent_message_is_recorded_after_the_connection_drops(
    session_factory: SessionFactory,
) -> None:
    clock = FakeClock()
    commits = DroppedCommits(session_factory)
    messenger = RecordingMessenger(clock, on_delivery=lambda _: setattr(commits, "drops", 1))
    await _queue(session_factory, clock, Outgoing(chat_id=PRIVATE, text="一"))

    report = await sender_with(commits, messenger).drain_once()

    assert (report.sent, commits.dropped, len(messenger.delivered)) == (1, 1, 1)
    async with session_factory() as session:
        assert (await count_by_status(session))[str(OutboxStatus.SENT)] == 1


async def test_a_database_that_stays_away_leaves_the_row_leased_not_resent(
    session_factory: SessionFactory,
) -> None:
    clock = FakeClock()
    commits = DroppedCommits(session_factory)
    messenger = RecordingMessenger(
        clock, on_delivery=lambda _: setattr(commits, "drops", RECORD_SENT_TRIES)
    )
    await _queue(session_factory, clock, Outgoing(chat_id=PRIVATE, text="一"))
    sender = sender_with(commits, messenger)

    assert (await sender.drain_once()).sent == 0
    assert (await sender.drain_once()).claimed == 0  # still leased: not sent a second time
    assert (commits.dropped, len(messenger.delivered)) == (RECORD_SENT_TRIES, 1)
