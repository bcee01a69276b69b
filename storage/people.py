"""People and the platform accounts they write from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, or_
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
    linked_accounts: Sequence[tuple[str, str]] = (),
) -> Person:
    """Find the person by platform account and update them, or create person and account.

    `linked_accounts` are the same person's (platform, user id) on other platforms, as the
    community configuration lists them: whichever platform they first write from, they stay
    one person with one account per platform. Community, name and role are overwritten (the
    configuration is authoritative); language only when given.
    """
    accounts = [(platform, platform_user_id), *linked_accounts]
    person = None
    for account in accounts:
        person = await find_person_by_account(
            session, platform=account[0], platform_user_id=account[1]
        )
        if person is not None:
            await _link_accounts(session, person, [a for a in accounts if a != account])
            break
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
        await _link_accounts(session, person, linked_accounts)
    person.community_id = community_id
    person.display_name = display_name
    person.role = role
    if language is not None:
        person.language = language
    session.add(person)
    await session.flush()
    return person


async def _link_accounts(
    session: AsyncSession, person: Person, accounts: Sequence[tuple[str, str]]
) -> None:
    """Give the person each account no one holds yet (one query to learn which are held)."""
    wanted = list(dict.fromkeys(accounts))
    if not wanted:
        return
    held_statement = select(PlatformAccount.platform, PlatformAccount.platform_user_id).where(
        or_(
            *(
                and_(
                    col(PlatformAccount.platform) == platform,
                    col(PlatformAccount.platform_user_id) == user_id,
                )
                for platform, user_id in wanted
            )
        )
    )
    held = {(platform, user_id) for platform, user_id in await session.exec(held_statement)}
    for platform, user_id in wanted:
        if (platform, user_id) in held:
            continue
        try:
            async with session.begin_nested():
                session.add(
                    PlatformAccount(
                        person_id=person.id, platform=platform, platform_user_id=user_id
                    )
                )
        except IntegrityError:
            continue  # registered concurrently; the first writer keeps it


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
