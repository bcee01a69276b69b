"""/mytickets and /stats over stored tickets: a worker's open queue and the staff's figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select

from handlers.actions import Outgoing
from handlers.clock import FakeClock
from handlers.community import CommunityConfig
from handlers.dispatch import handle_incoming
from handlers.messages import ChatKind, Incoming, Platform, Sender
from handlers.runtime import Runtime, remember_person
from storage.database import AsyncSession
from storage.models import OutboxMessage, TicketStatus
from storage.tickets import create_ticket

NOW = datetime(2023, 7, 10, 8, 0, tzinfo=UTC)
WORKER_G1 = "6000001"  # 张敏
STAFF = "5000002"  # 刘洋
STAFF_GROUP = "tg:-1001000000009"

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def command(text: str, chat_id: str, user_id: str) -> Incoming:
    private = chat_id == f"tg:{user_id}"
    return Incoming(
        platform=Platform.TELEGRAM,
        chat_id=chat_id,
        chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
        sender=Sender(user_id=user_id),
        message_id=text,
        sent_at=NOW,
        text=text,
        command=text.split()[0].lstrip("/"),
    )


async def add_tickets(
    community: CommunityConfig, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """#1 G1 acknowledged in 10 min, #2 G1 late for acknowledgement, #3 G2 closed (30 min),
    #4 G1 rejected; all but #3 are the G1 worker's."""
    async with sessions() as session, session.begin():
        worker = await remember_person(session, community, platform="tg", user_id=WORKER_G1)

        async def ticket(grid: str, created: datetime, **changes: Any) -> None:
            made = await create_ticket(
                session,
                community_id=community.community.id,
                category="facility_damage",
                urgent=False,
                description="路灯坏了",
                source_platform="tg",
                source_chat_id="tg:-1001000000001",
                source_message_id=created.isoformat() + grid,
                now=created,
                grid_id=grid,
                assignee_id=worker.id if grid == "G1" else None,
                ack_due_at=created + timedelta(hours=2),
            )
            for name, value in changes.items():
                setattr(made, name, value)

        earlier = NOW - timedelta(hours=5)
        await ticket("G1", NOW, status=TicketStatus.ACKNOWLEDGED, acknowledged_at=NOW + minutes(10))
        await ticket("G1", earlier)
        await ticket(
            "G2", earlier, status=TicketStatus.CLOSED, acknowledged_at=earlier + minutes(30)
        )
        await ticket("G1", earlier, status=TicketStatus.REJECTED)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


async def answers(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return [Outgoing.from_json(row.payload).text for row in rows]


async def test_a_worker_lists_their_open_tickets_and_staff_get_the_figures(
    sample_community: CommunityConfig, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_tickets(sample_community, session_factory)
    runtime = Runtime([sample_community], session_factory, FakeClock(start=NOW))

    await handle_incoming(runtime, command("/mytickets", f"tg:{WORKER_G1}", WORKER_G1))
    await handle_incoming(runtime, command("/stats", STAFF_GROUP, STAFF))

    queue, figures = await answers(session_factory)
    assert [line.split()[0] for line in queue.splitlines()] == ["#2", "#1"]  # oldest first
    assert figures.splitlines() == [
        "工单统计：共 4，未办结 2，已处理/结案 1，超时未确认 1",
        "第一网格（扬帆夜市片区）：未办结 2",
        "第二网格（扬帆小区一期）：未办结 0",
        "第三网格（扬帆小区二期）：未办结 0",
        "第四网格（沿街商铺与扬帆公园）：未办结 0",
        "⏱ 20 min",
    ]
