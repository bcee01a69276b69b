"""An event as an iCalendar (.ics) file, for attendees to add to their phone's calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, vRecur
from icalendar import Event as CalendarEvent

from handlers.community import CommunityConfig
from handlers.texts import text
from storage.events import reminder_offsets
from storage.models import Event

PRODUCT_ID = "-//community-liaison-bot//events//ZH"
UID_DOMAIN = "community-liaison-bot"
MIME_TYPE = "text/calendar"


def calendar_file_name(event: Event) -> str:
    """'event-1a2b3c4d.ics': short, ASCII, the same for every copy of one event."""
    return f"event-{event.id.hex[:8]}.ics"


def event_calendar(community: CommunityConfig, event: Event, *, now: datetime) -> str:
    """The event (a series with its RRULE) as one VEVENT with a VALARM per reminder."""
    zone = community.timezone_info
    entry = CalendarEvent()
    entry.add("uid", f"{event.id}@{UID_DOMAIN}")  # stable: a second download updates the first
    entry.add("dtstamp", now)
    entry.add("last-modified", event.updated_at)
    entry.add("dtstart", event.starts_at.astimezone(zone))
    if event.ends_at is not None:
        entry.add("dtend", event.ends_at.astimezone(zone))
    if event.rrule is not None:
        entry.add("rrule", vRecur.from_ical(event.rrule))
    entry.add("summary", event.title)
    if event.place:
        entry.add("location", event.place)
    if event.description:
        entry.add("description", event.description)
    for minutes in reminder_offsets(event):
        entry.add_component(_alarm(event, minutes, community.community.language))
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    # Readers meet the time zone before the event that refers to it.
    calendar.subcomponents.sort(key=lambda component: component.name != "VTIMEZONE")
    return str(calendar.to_ical().decode("utf-8"))


def _alarm(event: Event, minutes: int, language: str) -> Alarm:
    """A display alarm `minutes` before each occurrence."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text("event.ics_alarm", language, title=event.title))
    alarm.add("trigger", timedelta(minutes=-minutes))
    return alarm
