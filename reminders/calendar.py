"""RFC 5545 calendars (icalendar package): one appointment, or a member's private feed.

Summaries are discreet unless the member opted in to detailed text; each reminder offset
becomes a VALARM, so the phone's own calendar reminds even with Homeward closed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from api.accounts.models import Account, NotificationDetail
from reminders import texts
from reminders.models import Appointment, Status
from reminders.planning import parse_offset, to_utc

PRODID = "-//Homeward//Reminders//EN"
DEFAULT_LENGTH = timedelta(hours=1)
_UNTIL_LOCAL = re.compile(r"UNTIL=(\d{8}T\d{6})(?!Z)", re.IGNORECASE)


def alarm_trigger(offset_key: str, starts_local: datetime) -> timedelta:
    """How long before the start the alarm rings, as a negative duration."""
    offset = parse_offset(offset_key)
    if offset.before is not None:
        return -offset.before
    assert offset.days is not None and offset.at is not None
    at = datetime.combine(starts_local.date() - timedelta(days=offset.days), offset.at)
    return at - starts_local


def _rrule_utc_until(recurrence: str, zone: ZoneInfo) -> str:
    # Stored UNTIL is local; RFC 5545 wants UTC when DTSTART has a TZID.
    def _utc(match: re.Match[str]) -> str:
        local = datetime.strptime(match[1], "%Y%m%dT%H%M%S")
        return "UNTIL=" + to_utc(local, zone).strftime("%Y%m%dT%H%M%SZ")

    return _UNTIL_LOCAL.sub(_utc, recurrence)


def event(appointment: Appointment, member: Account, now: datetime) -> icalendar.Event:
    zone = ZoneInfo(appointment.timezone)
    detailed = member.notification_detail == NotificationDetail.DETAILED
    # The sealed title is opened only when it is to be shown.
    title = appointment.title if detailed else ""
    summary = texts.calendar_summary(member.locale, detailed, appointment.kind, title)
    item = icalendar.Event()
    item.add("uid", f"{appointment.id}@homeward")
    item.add("dtstamp", now)
    item.add("last-modified", appointment.updated_at)
    item.add("dtstart", appointment.starts_local.replace(tzinfo=zone))
    ends = appointment.ends_local or appointment.starts_local + DEFAULT_LENGTH
    item.add("dtend", ends.replace(tzinfo=zone))
    item.add("summary", summary)
    if detailed and appointment.location:
        item.add("location", appointment.location)
    # What to take along is the member's own list, shown when the event is opened.
    description = texts.calendar_description(member.locale, appointment.bring)
    if description:
        item.add("description", description)
    if appointment.recurrence:
        item.add(
            "rrule", icalendar.vRecur.from_ical(_rrule_utc_until(appointment.recurrence, zone))
        )
    item.add("status", "CANCELLED" if appointment.status == Status.CANCELLED else "CONFIRMED")
    for offset_key in appointment.reminder_offsets:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", alarm_trigger(offset_key, appointment.starts_local))
        item.add_component(alarm)
    return item


def calendar(appointments: list[Appointment], member: Account, now: datetime) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Homeward")
    for appointment in appointments:
        cal.add_component(event(appointment, member, now))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
