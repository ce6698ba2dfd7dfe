"""Reminder planning: which deliveries an appointment should have, and when.

Local times stay local: an appointment is a wall-clock time in an IANA zone, and
"1 day before at 10:00" means 10:00 on the member's own calendar. A local time that does
not exist (spring forward) moves forward by the gap; one that happens twice (fall back)
is taken once, at its first instant. Nothing is planned after the appointment starts, and
nothing inside the member's quiet hours: such a reminder moves earlier, to just before
the quiet hours begin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

DEFAULT_OFFSETS = ("7d@10:00", "3d@10:00", "1d@10:00", "2h")
DEFAULT_CHANNELS = ("push", "sms")
# A reminder moved out of quiet hours is sent this long before they begin.
QUIET_MARGIN = timedelta(minutes=15)
# Planning that runs a moment after a due time still sends it.
DUE_GRACE = timedelta(minutes=5)

_OFFSET = re.compile(
    r"^(?:(?P<days>[1-9]|[12][0-9]|30)d@(?P<at>(?:[01][0-9]|2[0-3]):[0-5][0-9])"
    r"|(?P<hours>[1-9][0-9]?|1[0-5][0-9]|16[0-8])h"
    r"|(?P<minutes>[1-9][0-9]{0,3})m)$"
)
ALLOWED_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


@dataclass(frozen=True)
class Offset:
    """ "7d@10:00": seven calendar days before, at 10:00 local; "2h", "30m": a duration before."""

    key: str
    days: int | None = None
    at: time | None = None
    before: timedelta | None = None


def parse_offset(key: str) -> Offset:
    match = _OFFSET.match(key)
    if match is None:
        raise ValueError(f"{key!r} is not an offset like '1d@10:00', '2h' or '30m'")
    if match["days"]:
        hours, minutes = map(int, match["at"].split(":"))
        return Offset(key, days=int(match["days"]), at=time(hours, minutes))
    if match["hours"]:
        return Offset(key, before=timedelta(hours=int(match["hours"])))
    minutes = int(match["minutes"])
    if minutes > 7 * 24 * 60:
        raise ValueError(f"{key!r} is more than 7 days")
    return Offset(key, before=timedelta(minutes=minutes))


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time. fold=0 gives the first of a repeated time, and a
    time inside a spring-forward gap lands after the gap (02:30 becomes 03:30)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)


def normalize_rrule(text: str, zone: ZoneInfo) -> str:
    """Validate an RRULE (the value, with or without 'RRULE:') and return its canonical
    form. UNTIL given in UTC (as most clients write it) is turned into local time."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or "DTSTART" in body.upper():
        raise ValueError("Give only the rule, such as FREQ=WEEKLY;BYDAY=MO.")

    def _local_until(match: re.Match[str]) -> str:
        instant = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + to_local(instant, zone).strftime("%Y%m%dT%H%M%S")

    body = _UNTIL_UTC.sub(_local_until, body)
    parts = dict(part.split("=", 1) for part in body.upper().split(";") if "=" in part)
    if parts.get("FREQ") not in ALLOWED_FREQS:
        raise ValueError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    if any(key in parts for key in ("BYHOUR", "BYMINUTE", "BYSECOND")):
        raise ValueError("BYHOUR, BYMINUTE and BYSECOND are not supported; use the start time.")
    try:
        rrulestr("RRULE:" + body, dtstart=datetime(2026, 1, 1, 9, 0))
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"Not a valid RRULE: {error}") from None
    return body


def occurrences(
    starts_local: datetime,
    zone: ZoneInfo,
    recurrence: str | None,
    window_start: datetime,
    window_end: datetime,
) -> list[tuple[datetime, datetime]]:
    """(local start, UTC instant) of each occurrence starting in [window_start, window_end)."""
    if not recurrence:
        candidates: Iterable[datetime] = [starts_local]
    else:
        rule = rrulestr("RRULE:" + recurrence, dtstart=starts_local)
        assert isinstance(rule, rrule)
        low = to_local(window_start, zone) - timedelta(days=1)
        high = to_local(window_end, zone) + timedelta(days=1)
        candidates = rule.between(low, high, inc=True)
    result = []
    for local in candidates:
        instant = to_utc(local, zone)
        if window_start <= instant < window_end:
            result.append((local, instant))
    return result


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def of(cls, start: str | None, end: str | None) -> QuietHours | None:
        if not start or not end:
            return None
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # wraps midnight

    def began(self, local: datetime) -> datetime:
        """When the quiet period containing ``local`` began."""
        day: date = local.date()
        if self.start > self.end and local.time() < self.end:
            day -= timedelta(days=1)
        return datetime.combine(day, self.start)

    def ends(self, local: datetime) -> datetime:
        """When the quiet period containing ``local`` ends."""
        day: date = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end)


def due_at(offset: Offset, occurrence_at: datetime, member_zone: ZoneInfo) -> datetime:
    """When a reminder for an occurrence is due, before any quiet-hours move."""
    if offset.before is not None:
        return occurrence_at - offset.before
    assert offset.days is not None and offset.at is not None
    day = to_local(occurrence_at, member_zone).date() - timedelta(days=offset.days)
    return to_utc(datetime.combine(day, offset.at), member_zone)


def out_of_quiet_hours(due: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """Move a due time inside quiet hours to just before they begin."""
    if quiet is None:
        return due
    local = to_local(due, zone)
    if not quiet.contains(local.time()):
        return due
    return to_utc(quiet.began(local) - QUIET_MARGIN, zone)


@dataclass(frozen=True)
class PlannedReminder:
    occurrence_local: datetime
    occurrence_at: datetime
    offset_key: str
    due_at: datetime


def plan(
    *,
    starts_local: datetime,
    timezone: str,
    recurrence: str | None,
    offsets: Iterable[str],
    member_timezone: str,
    quiet: QuietHours | None,
    now: datetime,
    horizon: datetime,
) -> list[PlannedReminder]:
    """Every reminder an appointment should get from ``now`` up to ``horizon``.

    Reminders already past (beyond a short grace) or at/after the start are left out.
    """
    zone, member_zone = ZoneInfo(timezone), ZoneInfo(member_timezone)
    parsed = [parse_offset(key) for key in offsets]
    planned = []
    for occurrence_local, occurrence_at in occurrences(
        starts_local, zone, recurrence, now, horizon
    ):
        for offset in parsed:
            due = out_of_quiet_hours(due_at(offset, occurrence_at, member_zone), member_zone, quiet)
            if due >= occurrence_at or due < now - DUE_GRACE:
                continue
            planned.append(PlannedReminder(occurrence_local, occurrence_at, offset.key, due))
    return planned
