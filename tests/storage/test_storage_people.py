"""People found by platform account, updated from configuration; chats kept up to date."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from storage.chats import get_chat, list_chats, upsert_chat
from storage.database import AsyncSession
from storage.models import ChatKind, PersonRole, PlatformAccount
from storage.people import find_person_by_account, get_person, list_people, upsert_person
from tests.storage.support import COMMUNITY


async def test_upsert_creates_a_person_with_their_account(session: AsyncSession) -> None:
    person = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="李阿姨",
        role=PersonRole.RESIDENT,
        platform="tg",
        platform_user_id="1001",
        language="zh-hans",
    )
    await session.commit()

    found = await find_person_by_account(session, platform="tg", platform_user_id="1001")
    assert found is not None
    assert (found.id, found.display_name, found.role, found.language) == (
        person.id,
        "李阿姨",
        PersonRole.RESIDENT,
        "zh-hans",
    )
    assert await find_person_by_account(session, platform="wecom", platform_user_id="1001") is None


async def test_upsert_again_updates_name_and_role_but_keeps_one_account(
    session: AsyncSession,
) -> None:
    first = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="王",
        role=PersonRole.RESIDENT,
        platform="wecom",
        platform_user_id="wangwg",
        language="zh-hans",
    )

    second = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="王网格",
        role=PersonRole.GRID_WORKER,
        platform="wecom",
        platform_user_id="wangwg",
    )
    await session.commit()

    accounts = (await session.exec(select(func.count()).select_from(PlatformAccount))).one()
    stored = await get_person(session, person_id=first.id)
    assert second.id == first.id
    assert accounts == 1
    assert stored is not None
    assert (stored.display_name, stored.role, stored.language) == (
        "王网格",
        PersonRole.GRID_WORKER,
        "zh-hans",
    )


async def test_people_are_listed_by_community_and_role(session: AsyncSession) -> None:
    for user_id, name, role, community in [
        ("1", "乙", PersonRole.GRID_WORKER, COMMUNITY),
        ("2", "甲", PersonRole.GRID_WORKER, COMMUNITY),
        ("3", "丙", PersonRole.STAFF, COMMUNITY),
        ("4", "丁", PersonRole.GRID_WORKER, "hillside"),
    ]:
        await upsert_person(
            session,
            community_id=community,
            display_name=name,
            role=role,
            platform="tg",
            platform_user_id=user_id,
        )

    workers = await list_people(session, community_id=COMMUNITY, role=PersonRole.GRID_WORKER)
    everyone = await list_people(session, community_id=COMMUNITY)

    assert sorted(p.display_name for p in workers) == ["乙", "甲"]
    assert len(everyone) == 3


async def test_upsert_chat_creates_then_updates(session: AsyncSession) -> None:
    await upsert_chat(
        session,
        chat_id="tg:-1001000000001",
        community_id=COMMUNITY,
        title="居民群",
        kind=ChatKind.RESIDENTS,
    )
    await upsert_chat(
        session,
        chat_id="wecom:wrSTAFF",
        community_id=COMMUNITY,
        title="工作群",
        kind=ChatKind.STAFF,
    )
    await session.commit()

    renamed = await upsert_chat(
        session,
        chat_id="tg:-1001000000001",
        community_id=COMMUNITY,
        title="一期居民群",
        kind=ChatKind.RESIDENTS,
    )
    await session.commit()

    stored = await get_chat(session, chat_id="tg:-1001000000001")
    staff_chats = await list_chats(session, community_id=COMMUNITY, kind=ChatKind.STAFF)
    assert stored is renamed
    assert (stored.title, stored.kind) == ("一期居民群", ChatKind.RESIDENTS)
    assert [c.id for c in staff_chats] == ["wecom:wrSTAFF"]
    assert len(await list_chats(session, community_id=COMMUNITY)) == 2


async def test_a_configured_person_stays_one_person_on_both_platforms(
    session: AsyncSession,
) -> None:
    accounts = (("tg", "6000001"), ("wecom", "zhangwei"))
    on_wecom = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="张伟",
        role=PersonRole.GRID_WORKER,
        platform="wecom",
        platform_user_id="zhangwei",
        linked_accounts=accounts,
    )
    await session.commit()
    on_telegram = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="张伟",
        role=PersonRole.GRID_WORKER,
        platform="tg",
        platform_user_id="6000001",
        linked_accounts=accounts,
    )
    await session.commit()

    assert on_telegram.id == on_wecom.id
    held = await session.exec(
        select(PlatformAccount).where(PlatformAccount.person_id == on_wecom.id)
    )
    assert sorted((a.platform, a.platform_user_id) for a in held) == sorted(accounts)


async def test_someone_first_seen_as_a_resident_becomes_the_configured_worker(
    session: AsyncSession,
) -> None:
    resident = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="Zhang",
        role=PersonRole.RESIDENT,
        platform="tg",
        platform_user_id="42",
    )
    await session.commit()
    worker = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="张伟",
        role=PersonRole.GRID_WORKER,
        platform="wecom",
        platform_user_id="zhangwei",
        linked_accounts=(("tg", "42"), ("wecom", "zhangwei")),
    )
    await session.commit()
    assert (worker.id, worker.role, worker.display_name) == (
        resident.id,
        PersonRole.GRID_WORKER,
        "张伟",
    )
    found = await find_person_by_account(session, platform="wecom", platform_user_id="zhangwei")
    assert found is not None and found.id == resident.id
