"""What the bot is waiting for: open questions, wordless pieces, subscribers, one-off notices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.claims import insert_once
from storage.column_types import require_aware
from storage.models import (
    ConversationQuestion,
    NoticeSent,
    PendingPiece,
    Ticket,
    TicketSubscriber,
)


async def open_question(
    session: AsyncSession,
    *,
    chat_id: str,
    user_id: str,
    kind: str,
    now: datetime,
    expires_at: datetime,
    ticket_id: uuid.UUID | None = None,
    payload: str | None = None,
) -> ConversationQuestion:
    """Record a question asked of a user in a chat; an older open one of that kind is closed."""
    earlier = await current_question(session, chat_id=chat_id, user_id=user_id, kind=kind, now=now)
    if earlier is not None and earlier.id is not None:
        await close_question(session, question_id=earlier.id)
    question = ConversationQuestion(
        chat_id=chat_id,
        user_id=user_id,
        kind=kind,
        ticket_id=ticket_id,
        payload=payload,
        created_at=require_aware(now, name="now"),
        expires_at=require_aware(expires_at, name="expires_at"),
    )
    session.add(question)
    await session.flush()
    return question


async def current_question(
    session: AsyncSession, *, chat_id: str, user_id: str, kind: str, now: datetime
) -> ConversationQuestion | None:
    """The open, unexpired question of that kind, newest first."""
    statement = (
        select(ConversationQuestion)
        .where(
            ConversationQuestion.chat_id == chat_id,
            ConversationQuestion.user_id == user_id,
            ConversationQuestion.kind == kind,
            col(ConversationQuestion.closed).is_(False),
            ConversationQuestion.expires_at > require_aware(now, name="now"),
        )
        .order_by(col(ConversationQuestion.id).desc())
    )
    return (await session.exec(statement)).first()


async def get_question(
    session: AsyncSession, *, question_id: int, now: datetime
) -> ConversationQuestion | None:
    """An open, unexpired question by id (None once answered or expired)."""
    question = await session.get(ConversationQuestion, question_id)
    if question is None or question.closed:
        return None
    return question if question.expires_at > require_aware(now, name="now") else None


async def close_question(session: AsyncSession, *, question_id: int) -> None:
    """Mark a question answered."""
    question = await session.get(ConversationQuestion, question_id)
    if question is not None:
        question.closed = True
        session.add(question)
        await session.flush()


async def keep_pending_piece(
    session: AsyncSession,
    *,
    chat_id: str,
    user_id: str,
    message_id: str,
    payload: str,
    now: datetime,
) -> PendingPiece:
    """Keep a wordless photo or pin until its author's next words."""
    piece = PendingPiece(
        chat_id=chat_id,
        user_id=user_id,
        message_id=message_id,
        payload=payload,
        received_at=require_aware(now, name="now"),
    )
    session.add(piece)
    await session.flush()
    return piece


async def take_pending_pieces(
    session: AsyncSession, *, chat_id: str, user_id: str, since: datetime, asked_since: datetime
) -> list[PendingPiece]:
    """Remove and return the author's pieces that are recent (or recently asked about)."""
    statement = (
        select(PendingPiece)
        .where(PendingPiece.chat_id == chat_id, PendingPiece.user_id == user_id)
        .order_by(col(PendingPiece.id))
    )
    pieces = [
        piece
        for piece in await session.exec(statement)
        if piece.received_at >= since or (piece.asked and piece.received_at >= asked_since)
    ]
    for piece in pieces:
        await session.delete(piece)
    await session.flush()
    return pieces


async def take_piece_by_message(
    session: AsyncSession, *, chat_id: str, message_id: str
) -> list[PendingPiece]:
    """Remove and return the waiting piece that is this message (a reply's target), if any."""
    statement = select(PendingPiece).where(
        PendingPiece.chat_id == chat_id, PendingPiece.message_id == message_id
    )
    pieces = list(await session.exec(statement))
    for piece in pieces:
        await session.delete(piece)
    await session.flush()
    return pieces


async def unasked_pieces_before(session: AsyncSession, *, before: datetime) -> list[PendingPiece]:
    """Pieces nobody explained in time and that the bot has not asked about yet."""
    statement = (
        select(PendingPiece)
        .where(
            col(PendingPiece.asked).is_(False),
            PendingPiece.received_at < require_aware(before, name="before"),
        )
        .order_by(col(PendingPiece.id))
    )
    return list(await session.exec(statement))


async def mark_pieces_asked(session: AsyncSession, *, piece_ids: list[int]) -> None:
    """Remember that the author was asked about these pieces."""
    for piece_id in piece_ids:
        piece = await session.get(PendingPiece, piece_id)
        if piece is not None:
            piece.asked = True
            session.add(piece)
    await session.flush()


async def forget_pieces_before(session: AsyncSession, *, before: datetime) -> int:
    """Drop pieces older than this; returns how many."""
    statement = delete(PendingPiece).where(
        col(PendingPiece.received_at) < require_aware(before, name="before")
    )
    result = await session.exec(statement)
    return int(result.rowcount or 0)


async def latest_ticket_from(
    session: AsyncSession, *, chat_id: str, reporter_id: uuid.UUID, since: datetime
) -> Ticket | None:
    """The reporter's newest ticket from this chat since a moment, if any."""
    statement = (
        select(Ticket)
        .where(
            Ticket.source_chat_id == chat_id,
            Ticket.reporter_id == reporter_id,
            Ticket.created_at >= require_aware(since, name="since"),
        )
        .order_by(col(Ticket.created_at).desc(), col(Ticket.number).desc())
    )
    return (await session.exec(statement)).first()


async def subscribe(
    session: AsyncSession,
    *,
    ticket_id: uuid.UUID,
    person_id: uuid.UUID,
    chat_id: str,
    message_id: str,
    now: datetime,
) -> None:
    """Tell this person (at their message in that chat) about the ticket's progress."""
    if await session.get(TicketSubscriber, (ticket_id, person_id)) is not None:
        return
    session.add(
        TicketSubscriber(
            ticket_id=ticket_id,
            person_id=person_id,
            chat_id=chat_id,
            message_id=message_id,
            joined_at=require_aware(now, name="now"),
        )
    )
    await session.flush()


async def subscribers(session: AsyncSession, *, ticket_id: uuid.UUID) -> list[TicketSubscriber]:
    """Everyone subscribed to a ticket, in the order they joined."""
    statement = (
        select(TicketSubscriber)
        .where(TicketSubscriber.ticket_id == ticket_id)
        .order_by(col(TicketSubscriber.joined_at))
    )
    return list(await session.exec(statement))


async def first_notice(session: AsyncSession, *, key: str, now: datetime) -> bool:
    """True the first time a notice key is seen (safe under races), False afterwards."""
    return await insert_once(session, NoticeSent(key=key, sent_at=require_aware(now, name="now")))
