"""Outbox repository: enqueue, leased claims in chat order, settling, and concurrent claimers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage.database import AsyncSession, create_session_factory
from storage.errors import NotFound
from storage.models import OutboxMessage, OutboxStatus
from storage.outbox import (
    claim_due,
    count_by_status,
    enqueue_outgoing,
    get_outbox_message,
    mark_coalesced,
    mark_failed,
    mark_sent,
    next_due_at,
    pending_for_chat,
    reschedule,
)
from tests.storage.support import NOW, TicketFactory

GROUP = "tg:-1001000000001"
PRIVATE = "tg:5000001"
LEASE = 60.0
LOCK_TIMEOUT_SECONDS = 10


async def _enqueue(session: AsyncSession, chat_id: str = GROUP, text: str = "hi") -> OutboxMessage:
    return await enqueue_outgoing(
        session, chat_id=chat_id, payload=f'{{"text": "{text}"}}', now=NOW
    )


async def _claim(
    session: AsyncSession, *, at: datetime = NOW, owner: str = "a", limit: int = 100
) -> list[int]:
    claimed = await claim_due(session, now=at, owner=owner, lease_seconds=LEASE, limit=limit)
    return [message.id for message in claimed if message.id is not None]


async def _fresh(
    session_factory: async_sessionmaker[AsyncSession], message_id: int
) -> OutboxMessage:
    async with session_factory() as fresh:
        message = await get_outbox_message(fresh, message_id=message_id)
    assert message is not None
    return message


async def test_enqueued_message_is_pending_and_due_at_once(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    message = await enqueue_outgoing(
        session, chat_id=GROUP, payload='{"text": "收到"}', now=NOW, coalesce_key="ack"
    )
    await session.commit()

    assert message.id is not None
    stored = await _fresh(session_factory, message.id)
    assert stored.status == OutboxStatus.PENDING
    assert (stored.attempts, stored.coalesce_key, stored.payload) == (0, "ack", '{"text": "收到"}')
    assert stored.created_at == stored.due_at == NOW
    assert stored.lease_owner is None and stored.sent_at is None


async def test_message_commits_with_its_ticket_or_not_at_all(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    new_ticket: TicketFactory,
) -> None:
    ticket = await new_ticket()
    await enqueue_outgoing(session, chat_id=GROUP, payload="{}", now=NOW, ticket_id=ticket.id)
    await session.rollback()
    async with session_factory() as fresh:
        assert await pending_for_chat(fresh, chat_id=GROUP) == []

    ticket = await new_ticket()
    kept = await enqueue_outgoing(
        session, chat_id=GROUP, payload="{}", now=NOW, ticket_id=ticket.id
    )
    await session.commit()
    assert kept.id is not None
    assert (await _fresh(session_factory, kept.id)).ticket_id == ticket.id


async def test_naive_time_is_refused(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await enqueue_outgoing(session, chat_id=GROUP, payload="{}", now=NOW.replace(tzinfo=None))


async def test_claim_takes_due_rows_oldest_first_up_to_the_limit_and_leases_them(
    session: AsyncSession,
) -> None:
    ids = [(await _enqueue(session, f"tg:{chat}")).id for chat in range(1, 5)]
    not_yet_due = await _enqueue(session, "tg:9")
    assert not_yet_due.id is not None
    await reschedule(
        session,
        message_id=not_yet_due.id,
        due_at=NOW + timedelta(minutes=5),
        error=None,
        count_attempt=False,
    )

    claimed = await claim_due(session, now=NOW, owner="sender-a", lease_seconds=LEASE, limit=3)

    assert [message.id for message in claimed] == ids[:3]
    assert {message.lease_owner for message in claimed} == {"sender-a"}
    assert {message.lease_until for message in claimed} == {NOW + timedelta(seconds=LEASE)}
    assert await _claim(session) == ids[3:]


async def test_leased_rows_are_claimable_again_only_after_the_lease_expires(
    session: AsyncSession,
) -> None:
    message = await _enqueue(session)
    assert await _claim(session, owner="dead") == [message.id]

    assert await _claim(session, at=NOW + timedelta(seconds=LEASE - 1), owner="b") == []
    assert await _claim(session, at=NOW + timedelta(seconds=LEASE), owner="b") == [message.id]
    assert message.lease_owner == "b"


async def test_sent_failed_and_coalesced_rows_are_never_claimed(session: AsyncSession) -> None:
    sent, failed, merged, into = [await _enqueue(session, f"tg:{n}") for n in range(4)]
    assert sent.id and failed.id and merged.id and into.id
    await mark_sent(session, message_id=sent.id, sent_message_id="77", now=NOW)
    await mark_failed(session, message_id=failed.id, error="blocked", now=NOW)
    await mark_coalesced(session, message_ids=[merged.id], into_id=into.id)

    assert await _claim(session) == [into.id]


async def test_a_chat_is_claimed_only_in_queue_order(session: AsyncSession) -> None:
    first, second = await _enqueue(session, GROUP, "1"), await _enqueue(session, GROUP, "2")
    other = await _enqueue(session, PRIVATE)
    assert first.id is not None
    later = NOW + timedelta(seconds=30)
    await reschedule(session, message_id=first.id, due_at=later, error=None, count_attempt=False)

    # The second row is due, but the first of its chat is not: it must wait behind it.
    assert await _claim(session) == [other.id]
    assert await _claim(session, at=later) == [first.id, second.id]


async def test_a_long_queue_behind_a_postponed_row_does_not_starve_other_chats(
    session: AsyncSession,
) -> None:
    head = await _enqueue(session, GROUP, "head")
    for index in range(5):
        await _enqueue(session, GROUP, f"behind {index}")
    other = await _enqueue(session, PRIVATE)
    assert head.id is not None
    later = NOW + timedelta(seconds=30)
    await reschedule(session, message_id=head.id, due_at=later, error=None, count_attempt=False)

    # Five due rows wait behind the head; a batch of two must still reach the other chat.
    assert await _claim(session, limit=2) == [other.id]


async def test_rows_waiting_behind_another_senders_lease_are_not_claimed(
    session: AsyncSession,
) -> None:
    first = await _enqueue(session, GROUP, "1")
    assert await _claim(session, owner="a", limit=1) == [first.id]
    second = await _enqueue(session, GROUP, "2")

    assert await _claim(session, owner="b") == []
    assert first.id is not None
    await mark_sent(session, message_id=first.id, sent_message_id="1", now=NOW)
    assert await _claim(session, owner="b") == [second.id]


async def test_mark_sent_records_the_platform_id_and_releases_the_lease(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    message = await _enqueue(session)
    await _claim(session)
    assert message.id is not None
    at = NOW + timedelta(seconds=2)

    await mark_sent(session, message_id=message.id, sent_message_id="4242", now=at)
    await session.commit()

    stored = await _fresh(session_factory, message.id)
    assert (stored.status, stored.sent_message_id, stored.sent_at) == (
        OutboxStatus.SENT,
        "4242",
        at,
    )
    assert stored.lease_owner is None and stored.lease_until is None


async def test_reschedule_counts_an_attempt_unless_told_not_to(session: AsyncSession) -> None:
    message = await _enqueue(session)
    await _claim(session)
    assert message.id is not None
    later = NOW + timedelta(seconds=5)

    await reschedule(session, message_id=message.id, due_at=later, error="retry after 5s")
    assert (message.attempts, message.due_at, message.last_error) == (1, later, "retry after 5s")
    assert message.lease_owner is None and message.lease_until is None

    await reschedule(session, message_id=message.id, due_at=later, error=None, count_attempt=False)
    assert (message.attempts, message.last_error) == (1, "retry after 5s")
    assert await _claim(session) == []
    assert await _claim(session, at=later) == [message.id]


async def test_mark_failed_keeps_the_error_and_counts_the_last_try(session: AsyncSession) -> None:
    message = await _enqueue(session)
    assert message.id is not None

    await mark_failed(session, message_id=message.id, error="bot was blocked", now=NOW)

    assert (message.status, message.attempts, message.last_error) == (
        OutboxStatus.FAILED,
        1,
        "bot was blocked",
    )


async def test_mark_coalesced_points_at_the_merged_row_and_replaces_its_payload(
    session: AsyncSession,
) -> None:
    first, second, third = [await _enqueue(session, GROUP, str(n)) for n in range(3)]
    assert first.id and second.id and third.id

    await mark_coalesced(
        session, message_ids=[second.id, third.id], into_id=first.id, payload='{"text": "merged"}'
    )

    assert first.payload == '{"text": "merged"}'
    assert first.status == OutboxStatus.PENDING
    assert {second.status, third.status} == {OutboxStatus.COALESCED}
    assert second.coalesced_into_id == third.coalesced_into_id == first.id
    assert [m.id for m in await pending_for_chat(session, chat_id=GROUP)] == [first.id]


async def test_unknown_ids_raise_not_found(session: AsyncSession) -> None:
    message = await _enqueue(session)
    assert message.id is not None
    with pytest.raises(NotFound):
        await mark_sent(session, message_id=999_999, sent_message_id="1", now=NOW)
    with pytest.raises(NotFound):
        await reschedule(session, message_id=999_999, due_at=NOW, error=None)
    with pytest.raises(NotFound):
        await mark_failed(session, message_id=999_999, error="x", now=NOW)
    with pytest.raises(NotFound):
        await mark_coalesced(session, message_ids=[999_999], into_id=message.id)


async def test_pending_for_chat_and_counts_by_status(session: AsyncSession) -> None:
    rows = [await _enqueue(session, GROUP, str(n)) for n in range(3)]
    await _enqueue(session, PRIVATE)
    assert rows[0].id is not None
    await mark_sent(session, message_id=rows[0].id, sent_message_id="1", now=NOW)

    pending = await pending_for_chat(session, chat_id=GROUP)

    assert [m.id for m in pending] == [rows[1].id, rows[2].id]
    assert await count_by_status(session) == {
        "pending": 3,
        "sent": 1,
        "failed": 0,
        "coalesced": 0,
    }


async def test_next_due_at_accounts_for_due_times_and_leases(session: AsyncSession) -> None:
    assert await next_due_at(session) is None
    message = await _enqueue(session)
    assert await next_due_at(session) == NOW

    await _claim(session)
    assert await next_due_at(session) == NOW + timedelta(seconds=LEASE)

    assert message.id is not None
    later = NOW + timedelta(seconds=7)
    await reschedule(session, message_id=message.id, due_at=later, error=None)
    assert await next_due_at(session) == later


# --- PostgreSQL: concurrent claimers ---


async def test_concurrent_claimers_skip_each_others_locked_rows(
    postgres_engine: AsyncEngine,
) -> None:
    factory = create_session_factory(postgres_engine)
    async with factory() as setup:
        ids = [(await _enqueue(setup, f"tg:{n}")).id for n in range(10)]
        await setup.commit()

    async with factory() as first, factory() as second:
        first_ids = await _claim(first, owner="a", limit=6)  # holds row locks, not committed
        async with asyncio.timeout(LOCK_TIMEOUT_SECONDS):  # waiting on the locks would hang
            second_ids = await _claim(second, owner="b", limit=10)
        await first.commit()
        await second.commit()

    assert first_ids == ids[:6]
    assert second_ids == ids[6:]


async def test_a_concurrent_claimer_does_not_jump_ahead_in_a_locked_chat(
    postgres_engine: AsyncEngine,
) -> None:
    factory = create_session_factory(postgres_engine)
    async with factory() as setup:
        ids = [(await _enqueue(setup, GROUP, str(n))).id for n in range(4)]
        await setup.commit()

    async with factory() as first, factory() as second:
        first_ids = await _claim(first, owner="a", limit=2)
        async with asyncio.timeout(LOCK_TIMEOUT_SECONDS):
            second_ids = await _claim(second, owner="b")
        await first.commit()
        await second.commit()

    assert (first_ids, second_ids) == (ids[:2], [])


async def test_many_concurrent_claimers_never_share_a_row(postgres_engine: AsyncEngine) -> None:
    factory = create_session_factory(postgres_engine)
    async with factory() as setup:
        ids = [(await _enqueue(setup, f"tg:{n}")).id for n in range(60)]
        await setup.commit()

    async def claimer(owner: str) -> list[int]:
        taken: list[int] = []
        while True:
            async with factory() as session:
                batch = await _claim(session, owner=owner, limit=4)
                await session.commit()
            if not batch:
                return taken
            taken.extend(batch)
            await asyncio.sleep(0)

    results = await asyncio.gather(*(claimer(f"sender-{n}") for n in range(5)))

    claimed = [message_id for result in results for message_id in result]
    assert sorted(claimed) == ids
    assert len(set(claimed)) == len(claimed)
