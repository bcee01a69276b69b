"""The group and private chats the bot serves."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, ChatKind


async def get_chat(session: AsyncSession, *, chat_id: str) -> Chat | None:
    """A chat by its namespaced id ("tg:-100…"), or None."""
    return await session.get(Chat, chat_id)


async def upsert_chat(
    session: AsyncSession, *, chat_id: str, community_id: str, title: str, kind: ChatKind
) -> Chat:
    """Create the chat or bring its community, title and kind up to date."""
    chat = await get_chat(session, chat_id=chat_id)
    if chat is None:
        chat = Chat(id=chat_id, community_id=community_id, title=title, kind=kind)
    else:
        chat.community_id = community_id
        chat.title = title
        chat.kind = kind
    session.add(chat)
    await session.flush()
    return chat


async def list_chats(
    session: AsyncSession, *, community_id: str, kind: ChatKind | None = None
) -> list[Chat]:
    """Chats of a community, optionally only of one kind."""
    statement = select(Chat).where(Chat.community_id == community_id)
    if kind is not None:
        statement = statement.where(Chat.kind == kind)
    return list(await session.exec(statement.order_by(col(Chat.id))))
