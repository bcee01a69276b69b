"""Outbox: postponing many leased rows at once (what a sender does for chats told to wait)."""

from __future__ import annotations

from datetime import timedelta

from storage.database import AsyncSession
from storage.outbox import mark_sent, postpone
from tests.storage.support import NOW
from tests.storage.test_storage_outbox import GROUP, PRIVATE, _claim, _enqueue


async def test_postpone_releases_only_pending_rows_the_owner_still_holds(
    session: AsyncSession,
) -> None:
    first, second, sent = [await _enqueue(session, GROUP, t) for t in ("一", "二", "三")]
    other = await _enqueue(session, PRIVATE)
    assert await _claim(session, owner="a") == [first.id, second.id, sent.id, other.id]
    assert sent.id is not None and other.id is not None
    await mark_sent(session, message_id=sent.id, sent_message_id="9", now=NOW)
    later = NOW + timedelta(seconds=5)

    ids = [m.id for m in (first, second, sent) if m.id is not None]
    assert await postpone(session, message_ids=ids, due_at=later, owner="a") == 2
    assert await postpone(session, message_ids=[other.id], due_at=later, owner="b") == 0

    for message in (first, second, sent, other):
        await session.refresh(message)
    assert [(m.due_at, m.lease_owner, m.attempts) for m in (first, second)] == [
        (later, None, 0),
        (later, None, 0),
    ]
    assert (sent.due_at, sent.sent_message_id) == (NOW, "9")  # sent rows are left alone
    assert other.lease_owner == "a"  # "b" does not hold it, so it stays a's
    assert await _claim(session, at=later, owner="b") == [first.id, second.id]
