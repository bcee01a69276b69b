"""SLA escalation, the daily digest and their schedule, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select

from bot.simulation import (
    RESIDENTS,
    RIDER,
    SECRETARY,
    STAFF_GROUP,
    WORKER_G1,
    World,
    fake_telegram,
    service_for,
)
from handlers.actions import Outgoing
from handlers.clock import FakeClock
from handlers.community import CommunityConfig
from handlers.runtime import Runtime
from schedules.digest import send_daily_digest
from schedules.escalation import escalate_overdue
from schedules.jobs import (
    ESCALATION_JOB,
    REMINDER_JOB,
    build_scheduler,
    digest_job_id,
    run_digest,
)
from storage.database import (
    AsyncSession,
    create_engine,
    create_session_factory,
    upgrade_database,
)
from storage.escalations import claim_escalation, overdue_tickets
from storage.models import OutboxMessage, Ticket, TicketStatus
from storage.tickets import create_ticket
from tests.conftest import all_tickets
from tests.storage.support import backend_pid, wait_until_blocked

BILLBOARD = "夜市南门的广告牌松了，快来人！"
STAFF_CHAT = f"tg:{STAFF_GROUP}"
SECRETARY_CHAT = f"tg:{SECRETARY}"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2023-07-10 23:50 in Shanghai: the digest day is 2023-07-10 local (16:00 UTC the day before).
DIGEST_NOW = datetime(2023, 7, 10, 15, 50, tzinfo=UTC)


def runtime_for(
    community: CommunityConfig, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> Runtime:
    return Runtime(communities=[community], sessions=sessions, clock=clock)


def advance_to(world: World, moment: datetime) -> None:
    world.clock.advance(max(0.0, (moment - world.clock.now()).total_seconds()))


async def queued_texts(sessions: async_sessionmaker[AsyncSession], chat_id: str) -> list[str]:
    """Texts in the outbox for a chat, in order."""
    async with sessions() as session:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id)
            .order_by(col(OutboxMessage.id))
        )
        return [Outgoing.from_json(row.payload).text for row in await session.exec(statement)]


async def add_ticket(
    sessions: async_sessionmaker[AsyncSession],
    *,
    created: datetime,
    grid_id: str | None,
    minutes_to_ack: int = 120,
    minutes_to_resolve: int = 2880,
    **changes: Any,
) -> Ticket:
    """A ticket of the sample community, with any fields changed afterwards."""
    async with sessions() as session, session.begin():
        ticket = await create_ticket(
            session,
            community_id="yangfan",
            category="facility_damage",
            urgent=False,
            description="路灯坏了",
            source_platform="tg",
            source_chat_id=f"tg:{RESIDENTS}",
            source_message_id=created.isoformat(),
            now=created,
            grid_id=grid_id,
            ack_due_at=created + timedelta(minutes=minutes_to_ack),
            resolve_due_at=created + timedelta(minutes=minutes_to_resolve),
        )
        for name, value in changes.items():
            setattr(ticket, name, value)
        session.add(ticket)
    return ticket


# --- escalation end to end on the fake Telegram ---


async def test_an_overdue_ticket_is_escalated_once_per_stage(world: World) -> None:
    world.send(RESIDENTS, RIDER, BILLBOARD)
    await world.settle()
    [ticket] = await all_tickets(world)
    assert (ticket.grid_id, ticket.urgent) == ("G1", True)
    assert ticket.ack_due_at == ticket.created_at + timedelta(minutes=15)
    runtime = world.service.runtime
    assert await escalate_overdue(runtime) == 0  # not late yet

    advance_to(world, ticket.created_at + timedelta(minutes=16))
    staff_before, secretary_before = world.texts_to(STAFF_GROUP), world.texts_to(SECRETARY)
    assert await escalate_overdue(runtime) == 1
    await world.settle()
    [to_staff] = world.texts_to(STAFF_GROUP)[len(staff_before) :]
    [to_secretary] = world.texts_to(SECRETARY)[len(secretary_before) :]
    for notice in (to_staff, to_secretary):
        assert "#1" in notice and "确认接单" in notice and "张敏" in notice and "1 分钟" in notice

    assert await escalate_overdue(runtime) == 0
    world.clock.advance(30 * 60)
    assert await escalate_overdue(runtime) == 0

    message_id, data = world.button_data(WORKER_G1, "确认")
    world.press(WORKER_G1, message_id, data, user_id=WORKER_G1)
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.status is TicketStatus.ACKNOWLEDGED
    assert ticket.resolve_due_at == ticket.created_at + timedelta(minutes=240)
    advance_to(world, ticket.created_at + timedelta(minutes=241))
    assert await escalate_overdue(runtime) == 1
    assert await escalate_overdue(runtime) == 0
    await world.settle()
    assert "办结" in world.texts_to(STAFF_GROUP)[-1]
    assert "办结" in world.texts_to(SECRETARY)[-1]
    assert len(world.texts_to(STAFF_GROUP)) == len(staff_before) + 2


# --- escalation against the database alone ---


async def test_an_unassigned_ticket_names_nobody(
    sample_community: CommunityConfig, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    created = datetime(2023, 7, 10, 8, 0, tzinfo=UTC)
    await add_ticket(session_factory, created=created, grid_id=None)
    clock = FakeClock(start=created + timedelta(hours=3))
    runtime = runtime_for(sample_community, session_factory, clock)

    assert await escalate_overdue(runtime) == 1
    [to_staff] = await queued_texts(session_factory, STAFF_CHAT)
    [to_secretary] = await queued_texts(session_factory, SECRETARY_CHAT)
    assert to_staff == to_secretary
    assert "无人负责（未分派）" in to_staff and "1 小时 0 分钟" in to_staff


async def test_finished_and_early_tickets_are_not_overdue(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = datetime(2023, 7, 10, 8, 0, tzinfo=UTC)
    later = created + timedelta(hours=3)
    await add_ticket(session_factory, created=created, grid_id="G1", status=TicketStatus.REJECTED)
    await add_ticket(session_factory, created=created, grid_id="G1", minutes_to_ack=600)
    acked = await add_ticket(
        session_factory, created=created, grid_id="G2", acknowledged_at=created, minutes_to_ack=1
    )
    async with session_factory() as session:
        assert await overdue_tickets(session, community_id="yangfan", now=later) == []
        assert await claim_escalation(session, ticket_id=acked.id, stage="resolve", now=later)
        assert not await claim_escalation(session, ticket_id=acked.id, stage="resolve", now=later)


async def test_two_bot_instances_escalate_once_in_total(
    sample_community: CommunityConfig, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two instances share a PostgreSQL database")
    created = datetime(2023, 7, 10, 8, 0, tzinfo=UTC)
    engines = [create_engine(database_url), create_engine(database_url)]
    try:
        await upgrade_database(database_url)
        first, second = (create_session_factory(engine) for engine in engines)
        ticket = await add_ticket(first, created=created, grid_id="G1")
        clock = FakeClock(start=created + timedelta(hours=3))
        runtimes = [runtime_for(sample_community, f, clock) for f in (first, second)]
        sent = await asyncio.gather(*(escalate_overdue(r) for r in runtimes))
        assert sum(sent) == 1
        assert len(await queued_texts(first, STAFF_CHAT)) == 1

        async with second() as winner, first() as loser:  # the loser waits for the winner
            assert await claim_escalation(
                winner, ticket_id=ticket.id, stage="resolve", now=clock.now()
            )
            loser_pid = await backend_pid(loser)
            late = asyncio.create_task(
                claim_escalation(loser, ticket_id=ticket.id, stage="resolve", now=clock.now())
            )
            await wait_until_blocked(engines[0], loser_pid)
            await winner.commit()
            assert await late is False
    finally:
        for engine in engines:
            await engine.dispose()


# --- the daily digest ---


async def digest_tickets(sessions: async_sessionmaker[AsyncSession]) -> None:
    """G1: three new today (one resolved, one late); G2: one new; G3: one late from yesterday."""
    day = datetime(2023, 7, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai

    def at(hours: float) -> datetime:
        return day + timedelta(hours=hours)

    await add_ticket(
        sessions,
        created=at(0),
        grid_id="G1",
        status=TicketStatus.RESOLVED,
        acknowledged_at=at(0) + timedelta(minutes=10),
        resolved_at=at(1),
    )
    await add_ticket(
        sessions,
        created=at(1),
        grid_id="G1",
        minutes_to_resolve=240,
        status=TicketStatus.ACKNOWLEDGED,
        acknowledged_at=at(1) + timedelta(minutes=30),
    )
    await add_ticket(
        sessions,
        created=at(2),
        grid_id="G1",
        status=TicketStatus.ACKNOWLEDGED,
        acknowledged_at=at(2) + timedelta(minutes=20),
    )
    await add_ticket(sessions, created=at(14.5), grid_id="G2")  # 23:30 local, still the 10th
    await add_ticket(sessions, created=at(-15), grid_id="G3")  # 18:00 local on the 9th


async def test_the_daily_digest_is_sent_once_per_day_with_the_figures(
    sample_community: CommunityConfig, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await digest_tickets(session_factory)
    runtime = runtime_for(sample_community, session_factory, FakeClock(start=DIGEST_NOW))

    assert await send_daily_digest(runtime, sample_community, day=date(2023, 7, 10))
    assert not await send_daily_digest(runtime, sample_community, day=date(2023, 7, 10))
    [digest] = await queued_texts(session_factory, STAFF_CHAT)
    lines = digest.splitlines()
    assert "2023-07-10" in lines[0]
    assert lines[1:] == [
        "第一网格（扬帆夜市片区）：新增 3，未办结 2，超时 1，当日办结 1，确认用时中位数 20 分钟",
        "第二网格（扬帆小区一期）：新增 1，未办结 1，超时 0，当日办结 0，确认用时中位数 —",
        "第三网格（扬帆小区二期）：新增 0，未办结 1，超时 1，当日办结 0，确认用时中位数 —",
        "第四网格（沿街商铺与扬帆公园）：新增 0，未办结 0，超时 0，当日办结 0，确认用时中位数 —",
    ]

    assert await send_daily_digest(runtime, sample_community, day=date(2023, 7, 9))
    first, second = await queued_texts(session_factory, STAFF_CHAT)
    assert first == digest
    assert "2023-07-09" in second and "第三网格（扬帆小区二期）：新增 1" in second


async def test_the_digest_job_reports_the_local_date(
    sample_community: CommunityConfig, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = FakeClock(start=datetime(2023, 7, 10, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    runtime = runtime_for(sample_community, session_factory, clock)
    await run_digest(runtime, sample_community)
    await run_digest(runtime, sample_community)
    [digest] = await queued_texts(session_factory, STAFF_CHAT)
    assert "2023-07-10" in digest.splitlines()[0]


# --- the schedule ---


def test_the_scheduler_escalates_every_minute_and_digests_at_eight_local(
    sample_community: CommunityConfig,
) -> None:
    runtime = runtime_for(sample_community, async_sessionmaker(class_=AsyncSession), FakeClock())
    scheduler = build_scheduler(runtime)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {ESCALATION_JOB, REMINDER_JOB, digest_job_id(sample_community)}
    interval = jobs[ESCALATION_JOB].trigger
    assert isinstance(interval, IntervalTrigger)
    assert interval.interval == timedelta(seconds=60)
    cron = jobs[digest_job_id(sample_community)].trigger
    assert isinstance(cron, CronTrigger)
    assert cron.timezone == SHANGHAI
    after = datetime(2023, 7, 10, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    assert cron.get_next_fire_time(None, after) == datetime(2023, 7, 11, 8, 0, tzinfo=SHANGHAI)


async def test_the_service_starts_and_stops_the_scheduler_with_the_sender(
    sample_community: CommunityConfig, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    async with fake_telegram([sample_community]) as fake:
        assert isinstance(fake.clock, FakeClock)
        service = service_for(fake, fake.clock, [sample_community], database_url, tmp_path)
        service.run_sender = True
        await service.start()
        try:
            scheduler = service._scheduler
            assert scheduler is not None and scheduler.running
            assert {job.id for job in scheduler.get_jobs()} == {
                ESCALATION_JOB,
                REMINDER_JOB,
                digest_job_id(sample_community),
            }
        finally:
            await service.stop()
        assert not scheduler.running
