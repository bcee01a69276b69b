"""Idempotent intake: a redelivered message is recognised and never breaks the transaction."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select

from storage.chats import get_chat, upsert_chat
from storage.database import AsyncSession, create_session_factory
from storage.errors import NotFound
from storage.inbound import (
    claim_inbound_message,
    get_processed_message,
    link_inbound_message_to_ticket,
)
from storage.models import ChatKind, ProcessedMessage
from tests.storage.support import NOW, TicketFactory, backend_pid, wait_until_blocked

KEY = {"platform": "tg", "chat_id": "tg:-1001000000001", "message_id": "42"}


async def _count_processed(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(ProcessedMessage))).one()


async def test_second_claim_of_the_same_message_returns_false_and_keeps_the_transaction(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await upsert_chat(
        session, chat_id=KEY["chat_id"], community_id="c", title="楼栋群", kind=ChatKind.RESIDENTS
    )

    first = await claim_inbound_message(session, **KEY, now=NOW)
    second = await claim_inbound_message(session, **KEY, now=NOW)
    other_message = await claim_inbound_message(session, **(KEY | {"message_id": "43"}), now=NOW)
    await session.commit()

    assert (first, second, other_message) == (True, False, True)
    async with session_factory() as fresh:
        assert await _count_processed(fresh) == 2
        assert await get_chat(fresh, chat_id=KEY["chat_id"]) is not None


async def test_claim_committed_earlier_is_recognised_in_a_later_transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as first:
        assert await claim_inbound_message(first, **KEY, now=NOW)
        await first.commit()

    async with session_factory() as redelivery:
        assert not await claim_inbound_message(redelivery, **KEY, now=NOW)
        await redelivery.commit()
        assert await _count_processed(redelivery) == 1


async def test_claimed_message_can_be_linked_to_its_ticket(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket()
    await claim_inbound_message(session, **KEY, now=NOW)

    await link_inbound_message_to_ticket(session, **KEY, ticket_id=ticket.id)
    await session.commit()

    record = await get_processed_message(session, **KEY)
    assert record is not None
    assert record.ticket_id == ticket.id
    assert record.processed_at == NOW


async def test_linking_an_unclaimed_message_raises_not_found(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket()

    with pytest.raises(NotFound, match="never claimed"):
        await link_inbound_message_to_ticket(session, **KEY, ticket_id=ticket.id)


async def test_concurrent_claims_on_postgresql_let_exactly_one_win(
    postgres_engine: AsyncEngine,
) -> None:
    factory = create_session_factory(postgres_engine)
    async with factory() as winner, factory() as loser:
        assert await claim_inbound_message(winner, **KEY, now=NOW)
        loser_pid = await backend_pid(loser)
        loser_claim = asyncio.create_task(claim_inbound_message(loser, **KEY, now=NOW))
        await wait_until_blocked(postgres_engine, loser_pid)

        await winner.commit()

        assert await loser_claim is False
        await loser.commit()
        assert await _count_processed(loser) == 1
