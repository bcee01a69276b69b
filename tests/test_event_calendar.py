"""The .ics file: offered after joining, sent privately as a document, parsed back intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Calendar
from sqlmodel import select

from bot.simulation import RESIDENTS, RIDER, STAFF, World
from handlers.actions import CALLBACK_DATA_MAX_BYTES, Document, Outgoing
from handlers.event_form import EventDraft
from handlers.events import publish_event
from storage.models import Event

SHANGHAI = ZoneInfo("Asia/Shanghai")
ANNOUNCE = "/event 电影之夜 | 2023-07-11 19:30 | 扬帆公园 | 名额 50"


async def join(world: World) -> None:
    message_id, data = world.button_data(RESIDENTS, "参加")
    world.press(RESIDENTS, message_id, data, user_id=RIDER)
    await world.settle()


async def calendar_from_private_chat(world: World) -> tuple[dict[str, Any], Any]:
    """Press the private note's calendar button; the document sent back and its VEVENT."""
    message_id, data = world.button_data(RIDER, "加入日历")
    assert len(data.encode()) <= CALLBACK_DATA_MAX_BYTES and data.endswith(":ics")
    world.press(RIDER, message_id, data, user_id=RIDER)
    await world.settle()
    sent = world.messages_to(RIDER)[-1]
    document = sent["document"]
    calendar = Calendar.from_ical(world.fake.file_content(document["file_id"]))
    [entry] = calendar.walk("VEVENT")
    return sent, entry


async def stored_event(world: World) -> Event:
    async with world.service.runtime.sessions() as session:
        return (await session.exec(select(Event))).one()


async def test_a_new_attendee_gets_the_event_as_an_ics_file(world: World) -> None:
    world.send(STAFF, STAFF, ANNOUNCE)
    await world.settle()
    await join(world)
    note = world.texts_to(RIDER)[-1]
    assert note.startswith("✅ 您已报名「电影之夜」\n🕒 07-11 19:30\n📍 扬帆公园")

    sent, entry = await calendar_from_private_chat(world)

    assert world.fake.callback_answers[-1]["text"] == "日历文件已私信发给您。"
    event = await stored_event(world)
    document = sent["document"]
    assert document["file_name"] == f"event-{event.id.hex[:8]}.ics"
    assert document["mime_type"] == "text/calendar"
    assert document["file_size"] == len(world.fake.file_content(document["file_id"]))
    assert document["file_unique_id"] and sent["caption"].startswith("📅「电影之夜」的日历文件")
    assert str(entry["uid"]) == f"{event.id}@community-liaison-bot"
    start = entry.decoded("dtstart")
    assert start == datetime(2023, 7, 11, 19, 30, tzinfo=SHANGHAI)
    assert entry["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert (str(entry["summary"]), str(entry["location"])) == ("电影之夜", "扬帆公园")
    assert "rrule" not in entry
    triggers = [alarm.decoded("trigger") for alarm in entry.walk("VALARM")]
    assert triggers == [timedelta(hours=-24), timedelta(hours=-1)]

    _, again = await calendar_from_private_chat(world)
    assert again["uid"] == entry["uid"]  # the same event, not a second one in the calendar


async def test_a_weekly_event_s_file_carries_its_rule_end_and_description(world: World) -> None:
    runtime = world.service.runtime
    draft = EventDraft(
        "电影之夜",
        datetime(2023, 7, 14, 19, 30),
        "扬帆公园",
        description="自带小板凳",
        ends_local=datetime(2023, 7, 14, 21, 30),
        rrule="FREQ=WEEKLY;BYDAY=FR;COUNT=4",
        reminder_offsets_minutes=(90,),
    )
    async with runtime.sessions() as session, session.begin():
        await publish_event(runtime, session, runtime.communities[0], draft, organiser_id=None)
    await world.settle()
    await join(world)

    _, entry = await calendar_from_private_chat(world)

    assert entry["rrule"].to_ical() == b"FREQ=WEEKLY;COUNT=4;BYDAY=FR"
    assert entry.decoded("dtend") == datetime(2023, 7, 14, 21, 30, tzinfo=SHANGHAI)
    assert str(entry["description"]) == "自带小板凳"
    assert [a.decoded("trigger") for a in entry.walk("VALARM")] == [timedelta(minutes=-90)]
    # A calendar app expanding the file finds the same four Fridays at 19:30.
    rule = rrulestr(entry["rrule"].to_ical().decode(), dtstart=entry.decoded("dtstart"))
    assert [start.astimezone(UTC).day for start in rule] == [14, 21, 28, 4]
    assert {start.strftime("%a %H:%M") for start in rule} == {"Fri 19:30"}


async def test_a_cancelled_event_sends_no_file(world: World) -> None:
    world.send(STAFF, STAFF, ANNOUNCE)
    await world.settle()
    await join(world)
    world.send(STAFF, STAFF, "/event_cancel 1")
    await world.settle()
    sent_before = len(world.messages_to(RIDER))

    message_id, data = world.button_data(RIDER, "加入日历")
    world.press(RIDER, message_id, data, user_id=RIDER)
    await world.settle()

    assert world.fake.callback_answers[-1]["text"] == "这个活动已取消或不存在。"
    assert len(world.messages_to(RIDER)) == sent_before


def test_a_document_survives_the_outbox() -> None:
    message = Outgoing(
        chat_id="tg:7000001",
        text="📅",
        document=Document(
            file_name="event.ics", content="BEGIN:VCALENDAR", mime_type="text/calendar"
        ),
    )

    assert Outgoing.from_json(message.to_json()) == message
    assert Outgoing.from_json(Outgoing(chat_id="tg:1", text="x").to_json()).document is None
