"""Recurring events: local wall time across DST, answers and reminders per occurrence."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select

from bot.simulation import RESIDENTS, RIDER, RIDER_2, World
from handlers.clock import FakeClock
from handlers.community import CommunityConfig
from handlers.event_form import EventDraft, EventFormError
from handlers.events import publish_event
from handlers.recurrence import (
    RuleError,
    occurrences_between,
    plan_schedule,
    repeat_text,
)
from handlers.runtime import Runtime
from schedules.reminders import send_due_reminders
from storage.database import AsyncSession
from storage.events import active_events_between, audience_of, rsvp_counts, rsvp_join
from storage.models import Event, EventRsvp, PersonRole, ReminderSent
from storage.people import upsert_person

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLY, LATE = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def starts_of(first_local: datetime, rule: str, zone: ZoneInfo = BERLIN) -> list[datetime]:
    return occurrences_between(
        plan_schedule(first_local, rule, zone), zone, after=EARLY, until=LATE
    )


def test_a_weekly_series_keeps_its_local_time_across_the_spring_change() -> None:
    schedule = plan_schedule(datetime(2023, 3, 17, 19, 30), "FREQ=WEEKLY;BYDAY=FR;COUNT=3", BERLIN)
    starts = occurrences_between(schedule, BERLIN, after=EARLY, until=LATE)

    assert starts == [
        datetime(2023, 3, 17, 18, 30, tzinfo=UTC),  # CET, UTC+1
        datetime(2023, 3, 24, 18, 30, tzinfo=UTC),
        datetime(2023, 3, 31, 17, 30, tzinfo=UTC),  # CEST from 26 March, UTC+2
    ]
    assert {start.astimezone(BERLIN).strftime("%a %H:%M") for start in starts} == {"Fri 19:30"}
    assert (schedule.starts_at, schedule.last_starts_at) == (starts[0], starts[-1])


def test_the_skipped_and_the_repeated_hour_each_give_exactly_one_occurrence() -> None:
    spring = starts_of(datetime(2023, 3, 25, 2, 30), "FREQ=DAILY;COUNT=3")
    autumn = starts_of(datetime(2023, 10, 28, 2, 30), "FREQ=DAILY;COUNT=3")

    # 02:30 does not exist on 26 March: read with the offset before the gap, i.e. 03:30 CEST.
    assert [s.astimezone(BERLIN).strftime("%d %H:%M") for s in spring] == [
        "25 02:30",
        "26 03:30",
        "27 02:30",
    ]
    # 02:30 happens twice on 29 October: the first one (CEST) only.
    assert autumn == [
        datetime(2023, 10, 28, 0, 30, tzinfo=UTC),
        datetime(2023, 10, 29, 0, 30, tzinfo=UTC),
        datetime(2023, 10, 30, 1, 30, tzinfo=UTC),
    ]


def test_until_is_stored_in_utc_and_a_series_starts_on_its_rule() -> None:
    schedule = plan_schedule(datetime(2023, 7, 12, 19, 30), "rrule:freq=weekly;byday=fr", SHANGHAI)
    assert schedule.rrule == "FREQ=WEEKLY;BYDAY=FR"
    assert schedule.starts_at == datetime(2023, 7, 14, 11, 30, tzinfo=UTC)  # the first Friday
    assert schedule.last_starts_at is None  # no end

    until = plan_schedule(datetime(2023, 7, 14, 19, 30), "FREQ=WEEKLY;UNTIL=20230728", SHANGHAI)
    assert until.rrule == "FREQ=WEEKLY;UNTIL=20230728T155959Z"  # the end of 28 July, local
    assert until.last_starts_at == datetime(2023, 7, 28, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "rule",
    ["FREQ=HOURLY", "every friday", "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;UNTIL=20200101", "FREQ=1"],
)
def test_unusable_rules_are_refused(rule: str) -> None:
    with pytest.raises(RuleError):
        plan_schedule(datetime(2023, 7, 14, 19, 30), rule, SHANGHAI)


@pytest.mark.parametrize(
    ("rule", "chinese", "english"),
    [
        ("FREQ=DAILY", "每天 19:30", "every day 19:30"),
        ("FREQ=WEEKLY", "每周五 19:30", "every Friday 19:30"),
        ("FREQ=WEEKLY;BYDAY=TU,FR", "每周二、周五 19:30", "every Tuesday, Friday 19:30"),
        ("FREQ=MONTHLY", "每月 14 日 19:30", "monthly on day 14, 19:30"),
        (
            "FREQ=MONTHLY;BYDAY=1SA",
            "每月第一个周六 19:30",
            "the first Saturday of every month, 19:30",
        ),
        (
            "FREQ=MONTHLY;BYDAY=SA;BYSETPOS=-1",
            "每月最后一个周六 19:30",
            "the last Saturday of every month, 19:30",
        ),
        ("FREQ=WEEKLY;COUNT=4", "每周五 19:30，共 4 次", "every Friday 19:30, 4 times"),
        (
            "FREQ=WEEKLY;UNTIL=20230728",
            "每周五 19:30，至 2023-07-28",
            "every Friday 19:30, until 2023-07-28",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2",
            "按规则重复：FREQ=WEEKLY;INTERVAL=2",
            "repeats: FREQ=WEEKLY;INTERVAL=2",
        ),
    ],
)
def test_common_rules_read_as_short_text(rule: str, chinese: str, english: str) -> None:
    schedule = plan_schedule(datetime(2023, 7, 14, 19, 30), rule, SHANGHAI)

    assert repeat_text(schedule, SHANGHAI, "zh") == chinese
    assert repeat_text(schedule, SHANGHAI, "en") == english


# ---------------------------------------------------------------- reminders across DST


@pytest.fixture
def berlin(sample_community: CommunityConfig) -> CommunityConfig:
    """The sample community, moved to a time zone with daylight saving time."""
    info = sample_community.community.model_copy(update={"timezone": "Europe/Berlin"})
    return sample_community.model_copy(update={"community": info})


async def attendee(session: AsyncSession, user_id: str) -> uuid.UUID:
    person = await upsert_person(
        session,
        community_id="yangfan",
        display_name=f"resident {user_id}",
        role=PersonRole.RESIDENT,
        platform="tg",
        platform_user_id=user_id,
    )
    return person.id


async def claims(sessions: async_sessionmaker[AsyncSession]) -> list[ReminderSent]:
    async with sessions() as session:
        statement = select(ReminderSent).order_by(
            col(ReminderSent.occurrence_start), col(ReminderSent.sent_at)
        )
        return list(await session.exec(statement))


async def test_weekly_reminders_keep_the_local_time_across_the_dst_change(
    session_factory: async_sessionmaker[AsyncSession], berlin: CommunityConfig
) -> None:
    clock = FakeClock(start=datetime(2023, 3, 16, 12, 0, tzinfo=UTC))
    runtime = Runtime(communities=[berlin], sessions=session_factory, clock=clock)
    draft = EventDraft("Kino", datetime(2023, 3, 17, 19, 30), rrule="FREQ=WEEKLY;BYDAY=FR;COUNT=3")
    async with session_factory() as session, session.begin():
        event = await publish_event(runtime, session, berlin, draft, organiser_id=None)
        groups = len(audience_of(event))
        starts = occurrences_between(event, BERLIN, after=EARLY, until=LATE)
        # One attendee for the second Friday (before the change), one for the third (after).
        for user_id, start in (("7000001", starts[1]), ("7000002", starts[2])):
            person_id = await attendee(session, user_id)
            await rsvp_join(
                session,
                event_id=event.id,
                occurrence_start=start,
                person_id=person_id,
                now=clock.now(),
            )

    due = sorted((start - timedelta(minutes=m), start) for start in starts for m in (1440, 60))
    for moment, start in due:
        clock.advance((moment - timedelta(minutes=1) - clock.now()).total_seconds())
        assert await send_due_reminders(runtime) == 0
        clock.advance(60)
        assert await send_due_reminders(runtime) == groups + (start != starts[0])
        assert await send_due_reminders(runtime) == 0

    sent = await claims(session_factory)
    assert {
        (c.occurrence_start - timedelta(minutes=c.offset_minutes)) == c.sent_at for c in sent
    } == {True}
    private = {(c.target, c.occurrence_start) for c in sent if not c.target.startswith("tg:-")}
    assert private == {("tg:7000001", starts[1]), ("tg:7000002", starts[2])}
    # The 1-hour reminder of the third Friday is at 18:30 Berlin summer time, 16:30 UTC.
    assert datetime(2023, 3, 31, 16, 30, tzinfo=UTC) in {c.sent_at for c in sent}


async def test_a_daily_event_at_the_repeated_hour_is_reminded_once_a_day(
    session_factory: async_sessionmaker[AsyncSession], berlin: CommunityConfig
) -> None:
    clock = FakeClock(start=datetime(2023, 10, 27, 23, 0, tzinfo=UTC))
    runtime = Runtime(communities=[berlin], sessions=session_factory, clock=clock)
    draft = EventDraft(
        "Night walk",
        datetime(2023, 10, 28, 2, 30),
        rrule="FREQ=DAILY;COUNT=3",
        reminder_offsets_minutes=(60,),
    )
    async with session_factory() as session, session.begin():
        await publish_event(runtime, session, berlin, draft, organiser_id=None)

    while clock.now() < datetime(2023, 10, 30, 2, 0, tzinfo=UTC):  # a pass every 15 minutes
        await send_due_reminders(runtime)
        clock.advance(15 * 60)

    sent = [c for c in await claims(session_factory) if c.target == "tg:-1001000000001"]
    assert [c.occurrence_start for c in sent] == [
        datetime(2023, 10, 28, 0, 30, tzinfo=UTC),
        datetime(2023, 10, 29, 0, 30, tzinfo=UTC),  # 02:30 summer time, the first of the two
        datetime(2023, 10, 30, 1, 30, tzinfo=UTC),
    ]
    assert all(c.sent_at == c.occurrence_start - timedelta(hours=1) for c in sent)


async def test_series_are_found_while_they_run_and_not_after(
    session_factory: async_sessionmaker[AsyncSession], sample_community: CommunityConfig
) -> None:
    clock = FakeClock(start=datetime(2023, 7, 10, 12, 0, tzinfo=UTC))
    runtime = Runtime(communities=[sample_community], sessions=session_factory, clock=clock)
    async with session_factory() as session, session.begin():
        for title, rule in (("open", "FREQ=WEEKLY"), ("count", "FREQ=WEEKLY;COUNT=2")):
            draft = EventDraft(title, datetime(2023, 7, 14, 19, 30), rrule=rule)
            await publish_event(runtime, session, sample_community, draft, organiser_id=None)
        draft = EventDraft("once", datetime(2023, 7, 14, 19, 30))
        await publish_event(runtime, session, sample_community, draft, organiser_id=None)

    async def running(after: datetime) -> list[str]:
        async with session_factory() as session:
            found = await active_events_between(session, after=after, until=after + timedelta(1))
            return sorted(event.title for event in found)

    assert await running(datetime(2023, 7, 14, tzinfo=UTC)) == ["count", "once", "open"]
    assert await running(datetime(2023, 7, 15, tzinfo=UTC)) == ["count", "open"]
    assert await running(datetime(2023, 7, 22, tzinfo=UTC)) == ["open"]
    assert await running(datetime(2033, 7, 22, tzinfo=UTC)) == ["open"]


async def test_a_bad_rule_or_a_skipped_local_time_is_refused(
    session_factory: async_sessionmaker[AsyncSession], berlin: CommunityConfig
) -> None:
    clock = FakeClock(start=datetime(2023, 3, 1, 12, 0, tzinfo=UTC))
    runtime = Runtime(communities=[berlin], sessions=session_factory, clock=clock)
    async with session_factory() as session, session.begin():
        with pytest.raises(EventFormError) as bad_rule:
            draft = EventDraft("Kino", datetime(2023, 3, 17, 19, 30), rrule="FREQ=SOMETIMES")
            await publish_event(runtime, session, berlin, draft, organiser_id=None)
        with pytest.raises(EventFormError) as skipped:
            draft = EventDraft("Kino", datetime(2023, 3, 26, 2, 30))
            await publish_event(runtime, session, berlin, draft, organiser_id=None)
        stored = (await session.exec(select(Event))).all()

    assert (bad_rule.value.key, skipped.value.key) == ("event.bad_rrule", "event.no_such_time")
    assert stored == []


# ---------------------------------------------------------------- in the Telegram group


async def publish_weekly(world: World) -> Event:
    runtime = world.service.runtime
    community = runtime.communities[0]
    draft = EventDraft(
        "电影之夜", datetime(2023, 7, 14, 19, 30), "扬帆公园", 10, rrule="FREQ=WEEKLY;BYDAY=FR"
    )
    async with runtime.sessions() as session, session.begin():
        event = await publish_event(runtime, session, community, draft, organiser_id=None)
    await world.settle()
    return event


def invitation_text(world: World) -> str:
    """The invitation post, as edited since (reminders come later)."""
    return str(
        next(m for m in world.messages_to(RESIDENTS) if "社区活动" in (m.get("text") or ""))["text"]
    )


def edits_in_residents(world: World) -> list[object]:
    return [
        call
        for call in world.fake.calls
        if call.method == "editMessageText" and call.params.get("chat_id") == RESIDENTS
    ]


def move_to(world: World, moment: datetime) -> None:
    world.clock.advance((moment - world.clock.now()).total_seconds())


async def test_a_weekly_event_takes_answers_for_its_next_occurrence(world: World) -> None:
    event = await publish_weekly(world)
    first, second = (
        datetime(2023, 7, 14, 11, 30, tzinfo=UTC),
        datetime(2023, 7, 21, 11, 30, tzinfo=UTC),
    )
    assert "07-14 19:30（下一场）\n🔁 每周五 19:30" in invitation_text(world)

    message_id, data = world.button_data(RESIDENTS, "参加")
    world.press(RESIDENTS, message_id, data, user_id=RIDER)
    await world.settle()
    assert "已报名「电影之夜」（07-14 19:30）" in world.fake.callback_answers[-1]["text"]

    move_to(world, first + timedelta(minutes=1))  # the first Friday has begun
    edits = len(edits_in_residents(world))
    assert await send_due_reminders(world.service.runtime) == 0
    assert await send_due_reminders(world.service.runtime) == 0
    await world.settle()
    assert len(edits_in_residents(world)) == edits + 1  # moved on once, with no press
    assert "07-21 19:30（下一场）" in invitation_text(world)
    assert "已报名 0/10，候补 0" in invitation_text(world)

    world.press(RESIDENTS, message_id, data, user_id=RIDER_2)
    await world.settle()

    assert "（07-21 19:30）" in world.fake.callback_answers[-1]["text"]
    assert "07-21 19:30（下一场）" in invitation_text(world)
    assert "已报名 1/10，候补 0" in invitation_text(world)
    async with world.service.runtime.sessions() as session:
        answers = (await session.exec(select(EventRsvp))).all()
        counts = await rsvp_counts(session, event_id=event.id, occurrence_start=second)
    assert sorted(a.occurrence_start for a in answers) == [first, second]
    assert (counts.going, counts.waitlist) == (1, 0)


async def test_events_lists_each_next_occurrence_soonest_first(world: World) -> None:
    await publish_weekly(world)
    runtime = world.service.runtime
    draft = EventDraft("义剪", datetime(2023, 7, 13, 9, 0), "社区服务中心")
    async with runtime.sessions() as session, session.begin():
        await publish_event(runtime, session, runtime.communities[0], draft, organiser_id=None)
    await world.settle()

    world.send(RESIDENTS, RIDER, "/events")
    await world.settle()

    listing = world.texts_to(RESIDENTS)[-1].splitlines()
    assert listing[1].startswith("1. 07-13 09:00 义剪 · 社区服务中心")
    assert (
        listing[2] == "2. 07-14 19:30 电影之夜 · 扬帆公园 · 已报名 0/10，候补 0 · 🔁 每周五 19:30"
    )


async def test_a_series_begun_in_the_past_is_announced_at_its_next_occurrence(
    world: World,
) -> None:
    runtime = world.service.runtime
    community = runtime.communities[0]
    started = EventDraft("电影之夜", datetime(2023, 7, 7, 19, 30), rrule="FREQ=WEEKLY;BYDAY=FR")
    over = EventDraft("旧活动", datetime(2023, 7, 7, 19, 30), rrule="FREQ=WEEKLY;COUNT=1")
    async with runtime.sessions() as session, session.begin():
        await publish_event(runtime, session, community, started, organiser_id=None)
        with pytest.raises(EventFormError) as refused:
            await publish_event(runtime, session, community, over, organiser_id=None)
    await world.settle()

    assert refused.value.key == "event.in_past"
    assert "🕒 07-14 19:30（下一场）" in invitation_text(world)
