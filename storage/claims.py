"""Once-only claims: insert a row whose unique key says "this was done"."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


async def insert_once(session: AsyncSession, row: SQLModel) -> bool:
    """Insert the row: True the first time, False if its key exists (safe under races).

    A SAVEPOINT, so losing the race rolls back only this insert, not the caller's work.
    """
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True
