"""Staff edit and cancel events: attendees are told, invitations edited, answers and reminders
follow a new time, more places promote the waitlist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.simulation import OUTSIDER, RESIDENTS, RIDER, RIDER_2, STAFF, World
from handlers.event_form import EventDraft
from handlers.events import publish_event
from schedules.reminders import send_due_reminders
from storage.events import rsvp_counts
from storage.models import Event, EventRsvp

# The world's clock starts at 2023-07-10 20:00 in Shanghai; the event is two days later.
ANNOUNCE = "/event 电影之夜 | 2023-07-12 19:30 | 扬帆公园 | 名额 2"
STARTS_AT = datetime(2023, 7, 12, 11, 30, tzinfo=UTC)
GROUPS = 2  # the Telegram residents' groups (the WeCom one is not served here)


async def announce_with_attendees(world: World, *user_ids: int) -> None:
    world.send(STAFF, STAFF, ANNOUNCE)
    await world.settle()
    for user_id in user_ids:
        press(world, "参加", user_id)
        await world.settle()


def press(world: World, label: str, user_id: int) -> None:
    message_id, data = world.button_data(RESIDENTS, label)
    world.press(RESIDENTS, message_id, data, user_id=user_id)


async def staff_says(world: World, command: str) -> str:
    world.send(STAFF, STAFF, command)
    await world.settle()
    return world.texts_to(STAFF)[-1]


def invitation(world: World) -> dict[str, object]:
    """The invitation post, as edited since (reminders come later)."""
    return next(m for m in world.messages_to(RESIDENTS) if "电影之夜" in (m.get("text") or ""))


def move_to(world: World, moment: datetime) -> None:
    world.clock.advance((moment - world.clock.now()).total_seconds())


async def stored_event(world: World) -> Event:
    async with world.service.runtime.sessions() as session:
        return (await session.exec(select(Event))).one()


async def test_cancelling_tells_everyone_who_joined_and_closes_the_invitation(
    world: World,
) -> None:
    await announce_with_attendees(world, RIDER, RIDER_2, OUTSIDER)  # OUTSIDER is waitlisted
    world.clock.advance(3600)
    cancelled_at = world.clock.now()

    answer = await staff_says(world, "/event_cancel 1")

    assert answer == "已取消活动「电影之夜」，已通知 3 位报名者。"
    for user_id in (RIDER, RIDER_2, OUTSIDER):
        assert "❌ 很抱歉，活动「电影之夜」（07-12 19:30）已取消。" in world.texts_to(user_id)
    post = invitation(world)
    assert str(post["text"]).startswith("❌ 活动已取消：电影之夜")
    assert "reply_markup" not in post
    event = await stored_event(world)
    assert event.status == "cancelled" and event.updated_at >= cancelled_at > event.created_at

    move_to(world, STARTS_AT - timedelta(hours=1))
    assert await send_due_reminders(world.service.runtime) == 0
    world.send(RESIDENTS, RIDER, "/events")
    await world.settle()
    assert world.texts_to(RESIDENTS)[-1] == "近期没有活动。"


async def test_a_new_time_moves_the_answers_and_the_reminders(world: World) -> None:
    await announce_with_attendees(world, RIDER)
    runtime = world.service.runtime
    move_to(world, STARTS_AT - timedelta(hours=24))
    assert await send_due_reminders(runtime) == GROUPS + 1  # the old time's 24-hour reminder

    answer = await staff_says(world, "/event_edit 1 | 时间 | 2023-07-13 20:00")

    new_start = datetime(2023, 7, 13, 12, 0, tzinfo=UTC)
    assert answer == "已修改活动「电影之夜」：时间改为 07-13 20:00。已通知 1 位报名者。"
    assert any(
        "📝 活动有变动：时间改为 07-13 20:00" in t and "🕒 07-13 20:00" in t
        for t in world.texts_to(RIDER)
    )
    assert "🕒 07-13 20:00" in str(invitation(world)["text"])
    async with runtime.sessions() as session:
        [answer_row] = (await session.exec(select(EventRsvp))).all()
        counts = await rsvp_counts(
            session, event_id=answer_row.event_id, occurrence_start=new_start
        )
    assert answer_row.occurrence_start == new_start and counts.going == 1

    # The reminder sent for the old time does not hold back the new ones, nor repeat them.
    assert await send_due_reminders(runtime) == 0
    move_to(world, STARTS_AT)
    assert await send_due_reminders(runtime) == 0
    for lead in (timedelta(hours=24), timedelta(hours=1)):
        move_to(world, new_start - lead)
        assert await send_due_reminders(runtime) == GROUPS + 1
        assert await send_due_reminders(runtime) == 0
    await world.settle()
    reminders = [t for t in world.texts_to(RIDER) if "活动提醒" in t]
    assert [r for r in reminders if "07-13 20:00" in r] == reminders[1:]
    assert len(reminders) == 3


async def test_more_places_promote_the_waitlist_and_fewer_remove_nobody(world: World) -> None:
    await announce_with_attendees(world, RIDER, RIDER_2, OUTSIDER)

    answer = await staff_says(world, "/event_edit 1 | 名额 | 5")

    assert answer == "已修改活动「电影之夜」：名额改为 5。已通知 1 位报名者。"
    assert any("您已从候补转为「电影之夜」的正式报名" in t for t in world.texts_to(OUTSIDER))
    assert "已报名 3/5，候补 0" in str(invitation(world)["text"])

    answer = await staff_says(world, "/event_edit 1 | capacity | 1")

    assert "名额改为 1" in answer
    assert "已报名 3/1，候补 0" in str(invitation(world)["text"])
    event = await stored_event(world)
    async with world.service.runtime.sessions() as session:
        counts = await rsvp_counts(session, event_id=event.id, occurrence_start=STARTS_AT)
    assert (counts.going, counts.waitlist) == (3, 0)

    await staff_says(world, "/event_edit 1 | 名额 | 不限")
    assert "已报名 3\n" in str(invitation(world)["text"]) + "\n"


async def test_a_new_place_or_title_shows_in_the_invitation_and_attendees_are_told(
    world: World,
) -> None:
    await announce_with_attendees(world, RIDER)

    await staff_says(world, "/event_edit 1 | 地点 | 社区服务中心")
    await staff_says(world, "/event_edit 1 | title | 露天电影之夜")

    text = str(invitation(world)["text"])
    assert "露天电影之夜" in text and "📍 社区服务中心" in text
    notices = [t for t in world.texts_to(RIDER) if t.startswith("📝")]
    assert "地点改为 社区服务中心" in notices[0]
    assert "名称改为「露天电影之夜」" in notices[1]


async def test_residents_are_refused_and_bad_edits_are_explained(world: World) -> None:
    await announce_with_attendees(world, RIDER)

    world.send(RESIDENTS, RIDER, "/event_cancel 1")
    await world.settle()
    assert world.texts_to(RESIDENTS)[-1] == "抱歉，只有社区工作人员可以修改或取消活动。"

    assert (await staff_says(world, "/event_cancel")).startswith("用法：/event_cancel")
    assert await staff_says(world, "/event_cancel 9") == "/events 里没有编号 9 的活动。"
    assert (await staff_says(world, "/event_edit 1 | colour | red")).startswith("用法：")
    assert "已经过去了" in await staff_says(world, "/event_edit 1 | 时间 | 2023-07-01 19:30")
    assert "看不懂时间" in await staff_says(world, "/event_edit 1 | 时间 | 明天")
    assert "看不懂名额" in await staff_says(world, "/event_edit 1 | 名额 | 很多")
    assert (await stored_event(world)).starts_at == STARTS_AT


async def test_a_series_moved_to_a_new_hour_keeps_its_answers(world: World) -> None:
    runtime = world.service.runtime
    draft = EventDraft(
        "电影之夜", datetime(2023, 7, 14, 19, 30), "扬帆公园", 10, rrule="FREQ=WEEKLY;BYDAY=FR"
    )
    async with runtime.sessions() as session, session.begin():
        await publish_event(runtime, session, runtime.communities[0], draft, organiser_id=None)
    await world.settle()
    press(world, "参加", RIDER)
    await world.settle()

    answer = await staff_says(world, "/event_edit 1 | 时间 | 20:00")

    assert "时间改为 07-14 20:00 · 🔁 每周五 20:00" in answer
    assert "07-14 20:00（下一场）\n🔁 每周五 20:00" in str(invitation(world)["text"])
    assert "已报名 1/10" in str(invitation(world)["text"])
    async with runtime.sessions() as session:
        [moved] = (await session.exec(select(EventRsvp))).all()
    assert moved.occurrence_start == datetime(2023, 7, 14, 12, 0, tzinfo=UTC)
