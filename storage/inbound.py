"""Idempotent intake: remember which platform messages were already taken in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.claims import insert_once
from storage.column_types import require_aware
from storage.errors import NotFound
from storage.models import ProcessedMessage


async def claim_inbound_message(
    session: AsyncSession, *, platform: str, chat_id: str, message_id: str, now: datetime
) -> bool:
    """Record a message as taken in: True the first time, False if it was already recorded."""
    claim = ProcessedMessage(
        platform=platform,
        chat_id=chat_id,
        message_id=message_id,
        processed_at=require_aware(now, name="now"),
    )
    return await insert_once(session, claim)


async def get_processed_message(
    session: AsyncSession, *, platform: str, chat_id: str, message_id: str
) -> ProcessedMessage | None:
    """The intake record of a message, or None if it was never claimed."""
    return await session.get(ProcessedMessage, (platform, chat_id, message_id))


async def link_inbound_message_to_ticket(
    session: AsyncSession, *, platform: str, chat_id: str, message_id: str, ticket_id: uuid.UUID
) -> None:
    """Remember which ticket a claimed message produced or was added to."""
    record = await get_processed_message(
        session, platform=platform, chat_id=chat_id, message_id=message_id
    )
    if record is None:
        raise NotFound(f"message {platform}/{chat_id}/{message_id} was never claimed")
    record.ticket_id = ticket_id
    session.add(record)
    await session.flush()
