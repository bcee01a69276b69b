"""Ticket creation, numbering, queries, description edits and attachments."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage.database import AsyncSession, create_session_factory
from storage.lifecycle import change_ticket_status, mark_ticket_duplicate
from storage.models import (
    AttachmentKind,
    PersonRole,
    Ticket,
    TicketAction,
    TicketStatus,
)
from storage.people import upsert_person
from storage.tickets import (
    add_attachment,
    create_ticket,
    get_ticket,
    get_ticket_by_number,
    list_attachments,
    list_open_tickets,
    list_recent_open_tickets,
    list_tickets_for_assignee,
    list_tickets_for_reporter,
    ticket_history,
    update_ticket_description,
)
from tests.storage.support import (
    COMMUNITY,
    NOW,
    TicketFactory,
    backend_pid,
    ticket_fields,
    wait_until_blocked,
)


async def test_numbers_are_sequential_per_community(new_ticket: TicketFactory) -> None:
    numbers = [(await new_ticket()).number for _ in range(3)]
    other_community = await new_ticket(community_id="hillside")

    assert numbers == [1, 2, 3]
    assert other_community.number == 1


async def test_ticket_is_found_by_id_and_by_number(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    await new_ticket()
    second = await new_ticket(description="井盖缺失")

    by_number = await get_ticket_by_number(session, community_id=COMMUNITY, number=2)
    assert by_number is not None
    assert by_number.id == second.id
    assert await get_ticket(session, ticket_id=second.id) is second
    assert await get_ticket_by_number(session, community_id="hillside", number=2) is None


async def test_new_ticket_is_reported_with_a_created_event(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket(urgent=True, latitude=31.2304, longitude=121.4737)
    await session.commit()

    history = await ticket_history(session, ticket_id=ticket.id)
    assert ticket.status == TicketStatus.REPORTED
    assert (ticket.created_at, ticket.updated_at) == (NOW, NOW)
    assert [(e.action, e.from_status, e.to_status, e.at) for e in history] == [
        (TicketAction.CREATED, None, TicketStatus.REPORTED, NOW)
    ]


async def test_ticket_created_with_an_assignee_starts_assigned(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    worker = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="王网格",
        role=PersonRole.GRID_WORKER,
        platform="tg",
        platform_user_id="9001",
    )

    ticket = await new_ticket(assignee_id=worker.id, grid_id="g1")

    history = await ticket_history(session, ticket_id=ticket.id)
    assert ticket.status == TicketStatus.ASSIGNED
    assert [e.to_status for e in history] == [TicketStatus.ASSIGNED]


async def test_open_tickets_are_oldest_first_and_filtered_by_grid(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    newest = await new_ticket(grid_id="g1", now=NOW + timedelta(hours=2))
    oldest = await new_ticket(grid_id="g1", now=NOW)
    other_grid = await new_ticket(grid_id="g2", now=NOW + timedelta(hours=1))
    rejected = await new_ticket(grid_id="g1", now=NOW - timedelta(hours=1))
    await change_ticket_status(session, ticket=rejected, to_status=TicketStatus.REJECTED, now=NOW)
    duplicate = await new_ticket(grid_id="g1", now=NOW - timedelta(hours=1))
    await mark_ticket_duplicate(session, ticket=duplicate, original=oldest, now=NOW)
    await new_ticket(community_id="hillside", grid_id="g1")

    everywhere = await list_open_tickets(session, community_id=COMMUNITY)
    in_g1 = await list_open_tickets(session, community_id=COMMUNITY, grid_id="g1")

    assert [t.id for t in everywhere] == [oldest.id, other_grid.id, newest.id]
    assert [t.id for t in in_g1] == [oldest.id, newest.id]


async def test_recent_open_tickets_of_a_grid_and_category_since_a_time(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    since = NOW - timedelta(hours=24)
    older = await new_ticket(grid_id="g1", now=since + timedelta(hours=1))
    newer = await new_ticket(grid_id="g1", now=NOW)
    await new_ticket(grid_id="g1", now=since - timedelta(seconds=1))  # before the window
    await new_ticket(grid_id="g1", category="noise", now=NOW)
    await new_ticket(grid_id="g2", now=NOW)
    resolved = await new_ticket(grid_id="g1", now=NOW)
    await change_ticket_status(session, ticket=resolved, to_status=TicketStatus.REJECTED, now=NOW)

    found = await list_recent_open_tickets(
        session, community_id=COMMUNITY, grid_id="g1", category="streetlight", since=since
    )

    assert [t.id for t in found] == [older.id, newer.id]


async def test_tickets_by_reporter_newest_first_and_by_assignee_open_only(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    resident = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="李阿姨",
        role=PersonRole.RESIDENT,
        platform="tg",
        platform_user_id="1001",
    )
    worker = await upsert_person(
        session,
        community_id=COMMUNITY,
        display_name="王网格",
        role=PersonRole.GRID_WORKER,
        platform="wecom",
        platform_user_id="wangwg",
    )
    first = await new_ticket(reporter_id=resident.id, assignee_id=worker.id)
    second = await new_ticket(
        reporter_id=resident.id, assignee_id=worker.id, now=NOW + timedelta(minutes=5)
    )
    await new_ticket()
    await change_ticket_status(session, ticket=first, to_status=TicketStatus.REJECTED, now=NOW)

    reported = await list_tickets_for_reporter(session, reporter_id=resident.id)
    still_open = await list_tickets_for_reporter(session, reporter_id=resident.id, open_only=True)
    queue = await list_tickets_for_assignee(session, assignee_id=worker.id)
    everything = await list_tickets_for_assignee(session, assignee_id=worker.id, open_only=False)

    assert [t.id for t in reported] == [second.id, first.id]
    assert [t.id for t in still_open] == [second.id]
    assert [t.id for t in queue] == [second.id]
    assert [t.id for t in everything] == [first.id, second.id]


async def test_description_update_keeps_the_old_text_in_the_audit_log(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    new_ticket: TicketFactory,
) -> None:
    ticket = await new_ticket(description="路灯不亮")
    later = NOW + timedelta(minutes=3)

    event = await update_ticket_description(
        session, ticket=ticket, new_text="3号楼门口路灯不亮", now=later, platform="tg"
    )
    await session.commit()

    async with session_factory() as fresh:
        stored = await get_ticket(fresh, ticket_id=ticket.id)
        history = await ticket_history(fresh, ticket_id=ticket.id)
    assert stored is not None
    assert (stored.description, stored.updated_at, stored.status) == (
        "3号楼门口路灯不亮",
        later,
        TicketStatus.REPORTED,
    )
    assert [(e.action, e.note) for e in history] == [
        (TicketAction.CREATED, None),
        (TicketAction.DESCRIPTION_UPDATED, "路灯不亮"),
    ]
    assert history[-1].id == event.id


async def test_attachments_keep_the_order_they_were_added_in(
    session: AsyncSession, new_ticket: TicketFactory
) -> None:
    ticket = await new_ticket()
    for file_id in ("photo-b", "photo-a", "photo-c"):
        await add_attachment(
            session,
            ticket_id=ticket.id,
            kind=AttachmentKind.PHOTO,
            platform="tg",
            file_id=file_id,
            now=NOW,
            size_bytes=5_000_000_000,
        )
    await session.commit()

    attachments = await list_attachments(session, ticket_id=ticket.id)

    assert [a.file_id for a in attachments] == ["photo-b", "photo-a", "photo-c"]
    assert {a.kind for a in attachments} == {AttachmentKind.PHOTO}


async def test_concurrent_creators_on_postgresql_get_distinct_numbers(
    postgres_engine: AsyncEngine,
) -> None:
    factory = create_session_factory(postgres_engine)
    async with factory() as first, factory() as second:
        first_ticket = await create_ticket(first, **ticket_fields())
        second_pid = await backend_pid(second)
        # The second creator also computes number 1, then waits on the first one's row.
        second_creation = asyncio.create_task(create_ticket(second, **ticket_fields()))
        await wait_until_blocked(postgres_engine, second_pid)

        await first.commit()
        second_ticket = await second_creation
        await second.commit()

    assert (first_ticket.number, second_ticket.number) == (1, 2)
    async with factory() as fresh:
        history = await ticket_history(fresh, ticket_id=second_ticket.id)
        assert [e.action for e in history] == [TicketAction.CREATED]


async def test_many_concurrent_creators_on_postgresql_all_succeed(
    postgres_engine: AsyncEngine,
) -> None:
    factory = create_session_factory(postgres_engine)

    async def create_and_commit() -> Ticket:
        async with factory() as session:
            ticket = await create_ticket(session, **ticket_fields())
            await session.commit()
            return ticket

    tickets = await asyncio.gather(*(create_and_commit() for _ in range(6)))

    assert sorted(t.number for t in tickets) == [1, 2, 3, 4, 5, 6]
