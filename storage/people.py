"""People and the platform accounts they write from."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person, PersonRole, PlatformAccount


async def find_person_by_account(
    session: AsyncSession, *, platform: str, platform_user_id: str
) -> Person | None:
    """The person behind a platform user id, or None if unknown."""
    statement = (
        select(Person)
        .join(PlatformAccount, col(PlatformAccount.person_id) == col(Person.id))
        .where(
            PlatformAccount.platform == platform,
            PlatformAccount.platform_user_id == platform_user_id,
        )
    )
    return (await session.exec(statement)).first()


async def get_person(session: AsyncSession, *, person_id: uuid.UUID) -> Person | None:
    """A person by id, or None."""
    return await session.get(Person, person_id)


async def list_people(
    session: AsyncSession, *, community_id: str, role: PersonRole | None = None
) -> list[Person]:
    """People of a community, optionally only those with `role`, by name."""
    statement = select(Person).where(Person.community_id == community_id)
    if role is not None:
        statement = statement.where(Person.role == role)
    statement = statement.order_by(col(Person.display_name), col(Person.id))
    return list(await session.exec(statement))


async def upsert_person(
    session: AsyncSession,
    *,
    community_id: str,
    display_name: str,
    role: PersonRole,
    platform: str,
    platform_user_id: str,
    language: str | None = None,
) -> Person:
    """Find the person by platform account and update them, or create person and account.

    Community, name and role are overwritten (the configuration is authoritative);
    language only when given.
    """
    person = await find_person_by_account(
        session, platform=platform, platform_user_id=platform_user_id
    )
    if person is None:
        person = await _create_person_with_account(
            session,
            Person(
                community_id=community_id,
                display_name=display_name,
                role=role,
                language=language,
            ),
            platform=platform,
            platform_user_id=platform_user_id,
        )
    person.community_id = community_id
    person.display_name = display_name
    person.role = role
    if language is not None:
        person.language = language
    session.add(person)
    await session.flush()
    return person


async def _create_person_with_account(
    session: AsyncSession, person: Person, *, platform: str, platform_user_id: str
) -> Person:
    try:
        async with session.begin_nested():
            session.add(person)
            await session.flush()
            session.add(
                PlatformAccount(
                    person_id=person.id, platform=platform, platform_user_id=platform_user_id
                )
            )
    except IntegrityError:
        # Another transaction registered the same account first: use that person.
        existing = await find_person_by_account(
            session, platform=platform, platform_user_id=platform_user_id
        )
        if existing is None:
            raise
        return existing
    return person
