"""Outbox: messages queued in the caller's transaction, leased to a sender, then settled.

A row goes `pending` → `sent` | `failed` | `coalesced`. A sender claims due rows with a lease
(`lease_owner`, `lease_until`); if it dies, the rows become claimable again once the lease
expires. A chat's rows are only ever claimed in queue order, so its messages keep their order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.column_types import require_aware
from storage.errors import NotFound
from storage.models import OutboxMessage, OutboxStatus


async def enqueue_outgoing(
    session: AsyncSession,
    *,
    chat_id: str,
    payload: str,
    now: datetime,
    coalesce_key: str | None = None,
    ticket_id: uuid.UUID | None = None,
) -> OutboxMessage:
    """Add a pending message, due at once, to the caller's transaction."""
    queued_at = require_aware(now, name="now")
    message = OutboxMessage(
        chat_id=chat_id,
        payload=payload,
        coalesce_key=coalesce_key,
        ticket_id=ticket_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=queued_at,
        due_at=queued_at,
    )
    session.add(message)
    await session.flush()
    return message


async def get_outbox_message(session: AsyncSession, *, message_id: int) -> OutboxMessage | None:
    """An outbox row by id, or None."""
    return await session.get(OutboxMessage, message_id)


async def claim_due(
    session: AsyncSession, *, now: datetime, owner: str, lease_seconds: float, limit: int
) -> list[OutboxMessage]:
    """Lease up to `limit` due, unleased pending rows, oldest first, for `owner`.

    A row is left out while an earlier pending row of its chat is not claimed with it (not yet
    due, leased by another sender, or locked by a concurrent claim), so chats keep their order.
    """
    now = require_aware(now, name="now")
    candidates = await _lock_due_rows(session, now=now, limit=limit)
    claimed = await _in_chat_order(session, candidates)
    lease_until = now + timedelta(seconds=lease_seconds)
    for message in claimed:
        message.lease_owner = owner
        message.lease_until = lease_until
        session.add(message)
    await session.flush()
    return claimed


async def _lock_due_rows(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[OutboxMessage]:
    # PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claimers take disjoint rows. SQLite
    # renders no locking clause; its BEGIN IMMEDIATE already serialises writing transactions.
    # Rows stuck behind an earlier row of their chat (not yet due, or leased) are skipped in
    # the query itself: otherwise a long queue behind a postponed row fills every batch and
    # starves the other chats.
    earlier = aliased(OutboxMessage)
    waits_behind = (
        select(earlier.id)
        .where(
            earlier.chat_id == OutboxMessage.chat_id,
            col(earlier.id) < col(OutboxMessage.id),
            earlier.status == OutboxStatus.PENDING,
            or_(
                col(earlier.due_at) > now,
                and_(col(earlier.lease_until).is_not(None), col(earlier.lease_until) > now),
            ),
        )
        .exists()
    )
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.due_at <= now,
            or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) <= now),
            ~waits_behind,
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(statement)).all())


async def _in_chat_order(
    session: AsyncSession, candidates: list[OutboxMessage]
) -> list[OutboxMessage]:
    if not candidates:
        return []
    candidate_ids = {message.id for message in candidates}
    statement = (
        select(OutboxMessage.id, OutboxMessage.chat_id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            col(OutboxMessage.chat_id).in_({message.chat_id for message in candidates}),
            col(OutboxMessage.id) <= max(message.id or 0 for message in candidates),
        )
        .order_by(col(OutboxMessage.id))
    )
    blocked_chats: set[str] = set()
    allowed: set[int | None] = set()
    for message_id, chat_id in (await session.exec(statement)).all():
        if message_id not in candidate_ids:
            blocked_chats.add(chat_id)
        elif chat_id not in blocked_chats:
            allowed.add(message_id)
    return [message for message in candidates if message.id in allowed]


async def _require(session: AsyncSession, message_id: int) -> OutboxMessage:
    message = await session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"outbox message {message_id} does not exist")
    return message


async def release_leases(session: AsyncSession, *, owner: str) -> int:
    """Free the rows `owner` leased before it died: at restart they are due again at once."""
    leased = await session.exec(select(OutboxMessage).where(OutboxMessage.lease_owner == owner))
    rows = list(leased)
    for message in rows:
        _release(message)
        session.add(message)
    await session.flush()
    return len(rows)


def _release(message: OutboxMessage) -> None:
    message.lease_owner = None
    message.lease_until = None


async def mark_sent(
    session: AsyncSession, *, message_id: int, sent_message_id: str, now: datetime
) -> OutboxMessage:
    """Record that the platform accepted the message, with its message id there."""
    message = await _require(session, message_id)
    message.status = OutboxStatus.SENT
    message.sent_message_id = sent_message_id
    message.sent_at = require_aware(now, name="now")
    _release(message)
    session.add(message)
    await session.flush()
    return message


async def reschedule(
    session: AsyncSession,
    *,
    message_id: int,
    due_at: datetime,
    error: str | None,
    count_attempt: bool = True,
) -> OutboxMessage:
    """Make the message due again at `due_at` and release it; a failed try counts an attempt."""
    message = await _require(session, message_id)
    message.due_at = require_aware(due_at, name="due_at")
    if count_attempt:
        message.attempts += 1
    if error is not None:
        message.last_error = error
    _release(message)
    session.add(message)
    await session.flush()
    return message


async def postpone(
    session: AsyncSession, *, message_ids: Sequence[int], due_at: datetime, owner: str
) -> int:
    """Make these pending messages, still leased to `owner`, due at `due_at` and release them
    without counting an attempt; returns how many were."""
    statement = (
        sa.update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(message_ids),
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.lease_owner) == owner,
        )
        .values(due_at=require_aware(due_at, name="due_at"), lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(statement)
    return int(result.rowcount)


async def mark_failed(
    session: AsyncSession, *, message_id: int, error: str, now: datetime
) -> OutboxMessage:
    """Give up on the message: the last try counts an attempt, `due_at` becomes when it ended."""
    message = await _require(session, message_id)
    message.status = OutboxStatus.FAILED
    message.attempts += 1
    message.last_error = error
    message.due_at = require_aware(now, name="now")
    _release(message)
    session.add(message)
    await session.flush()
    return message


async def mark_coalesced(
    session: AsyncSession,
    *,
    message_ids: Sequence[int],
    into_id: int,
    payload: str | None = None,
) -> None:
    """Record that `message_ids` were merged into `into_id`, whose payload becomes `payload`."""
    target = await _require(session, into_id)
    if payload is not None:
        target.payload = payload
        session.add(target)
    statement = select(OutboxMessage).where(col(OutboxMessage.id).in_(message_ids))
    merged = list((await session.exec(statement)).all())
    missing = set(message_ids) - {message.id for message in merged}
    if missing:
        raise NotFound(f"outbox messages {sorted(missing)} do not exist")
    for message in merged:
        message.status = OutboxStatus.COALESCED
        message.coalesced_into_id = into_id
        _release(message)
        session.add(message)
    await session.flush()


async def pending_for_chat(session: AsyncSession, *, chat_id: str) -> list[OutboxMessage]:
    """A chat's pending messages in queue order."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(col(OutboxMessage.id))
    )
    return list((await session.exec(statement)).all())


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """How many outbox rows are in each status (every status present, zero included)."""
    statement = select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
    counts = {str(status): 0 for status in OutboxStatus}
    for status, count in (await session.exec(statement)).all():
        counts[str(status)] = count
    return counts


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When a pending row next becomes claimable: the soonest due, unleased head of a chat.

    Only each chat's oldest pending row counts, since the rows behind it wait for it.
    """
    pending = OutboxMessage.status == OutboxStatus.PENDING
    heads = select(func.min(OutboxMessage.id)).where(pending).group_by(col(OutboxMessage.chat_id))
    lease = col(OutboxMessage.lease_until)
    due = col(OutboxMessage.due_at)
    claimable_at = sa.case((lease > due, lease), else_=due)
    statement = select(func.min(claimable_at)).where(col(OutboxMessage.id).in_(heads))
    earliest: datetime | None = (await session.exec(statement)).one()
    return earliest
