"""Opening hours: reading the clock times directories publish, and weekly ranges.

Directories write times many ways ("08:00", "8:00:00", "4:00 PM", "3pm", "9am"). Each is
read into minutes after midnight, or refused with a reason. A range that closes at or
before it opens runs past midnight and is split in two, one part per day, so a search can
ask "is any range of this weekday around this minute" with plain comparisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY = 24 * 60
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)


def parse_clock(text: str) -> int:
    """Minutes after midnight of a clock time; ValueError with a reason if it is not one."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a time of day (use HH:MM)")
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    meridiem = (match.group(4) or "").lower().replace(".", "")
    if meridiem:
        if not 1 <= hours <= 12:
            raise ValueError(f"'{text}' is not a time of day (12-hour clock hours are 1 to 12)")
        hours = hours % 12 + (12 if meridiem == "pm" else 0)
    elif match.group(2) is None:
        raise ValueError(f"'{text}' is not a time of day (use HH:MM)")
    if hours == 24 and minutes == 0:
        return DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"'{text}' is not a time of day (hours 0-23, minutes 0-59)")
    return hours * 60 + minutes


def format_clock(minutes: int) -> str:
    """HSDS's form, "HH:MM"; midnight at the end of a day is "00:00"."""
    minutes %= DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_byday(text: str) -> list[int]:
    """iCalendar BYDAY ("MO,WE,FR"; ordinal prefixes such as "1MO" are read as the day)
    or weekday names; weekday numbers Monday 0 .. Sunday 6."""
    days = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        name = WEEKDAY_NAMES.get(part.lower(), part.upper().lstrip("+-0123456789"))
        if name not in WEEKDAYS:
            raise ValueError(f"'{part}' is not a day of the week")
        days.append(WEEKDAYS.index(name))
    if not days:
        raise ValueError("no day of the week given")
    return sorted(set(days))


@dataclass(frozen=True)
class WeeklyRange:
    weekday: int  # Monday 0
    opens: int  # minutes after midnight
    closes: int  # exclusive, at most 1440


def weekly_ranges(days: list[int], opens: int, closes: int) -> list[WeeklyRange]:
    """The ranges of "open ``opens`` to ``closes`` on ``days``", split at midnight."""
    ranges = []
    for day in days:
        if closes > opens:
            ranges.append(WeeklyRange(day, opens, closes))
        else:  # past midnight (or round the clock when both are equal)
            ranges.append(WeeklyRange(day, opens, DAY))
            if closes > 0:
                ranges.append(WeeklyRange((day + 1) % 7, 0, closes))
    return ranges
