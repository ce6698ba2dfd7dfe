"""Reading one row's values into column types, and the rules a row must meet before it
is written: required fields, coordinates, clock times, days, lengths. Each failure is a
ValueError whose message is the reason reported for the row."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Enum, Float, Integer, String
from sqlalchemy.sql.schema import Column

from api.core.db import UTCDateTime
from resources.search import hours

REQUIRED: dict[str, tuple[str, ...]] = {
    "taxonomies": ("name",),
    "taxonomy_terms": ("name",),
    "organizations": ("name",),
    "services": ("name", "organization_id"),
    "service_at_location": ("service_id", "location_id"),
    "addresses": ("location_id", "address_1", "city", "state_province", "postal_code", "country"),
    "phones": ("number",),
    "attributes": ("link_id", "link_entity"),
}
# A row of these must belong to at least one of the given parents.
ONE_OF: dict[str, tuple[str, ...]] = {
    "phones": ("location_id", "service_id", "organization_id", "service_at_location_id"),
    "schedules": ("service_id", "location_id", "service_at_location_id"),
    "languages": ("service_id", "location_id", "phone_id"),
}
_HSDS_CLOCK = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def coerce(column: Column[Any], value: Any) -> Any:
    """``value`` (CSV text or a JSON value) in the column's Python type; None if empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind, name = column.type, column.name
    if isinstance(value, (dict, list)):
        raise ValueError(f"{name} must be a single value, not {type(value).__name__}")
    if isinstance(kind, Enum):
        text = str(value).strip().lower()
        assert kind.enum_class is not None
        try:
            return kind.enum_class(text)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind.enum_class)
            raise ValueError(f"{name} '{value}' is not one of: {allowed}") from None
    if isinstance(kind, Boolean):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(f"{name} '{value}' is not true or false")
    if isinstance(kind, Integer):
        number = _number(name, value)
        if not number.is_integer():
            raise ValueError(f"{name} '{value}' is not a whole number")
        return int(number)
    if isinstance(kind, Float):
        return _number(name, value)
    if isinstance(kind, UTCDateTime):
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} '{value}' is not a date and time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(kind, Date):
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{name} '{value}' is not a date (YYYY-MM-DD)") from None
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    if isinstance(kind, String) and kind.length and len(text) > kind.length:
        raise ValueError(f"{name} is longer than {kind.length} characters")
    return text


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} '{value}' is not a number")
    try:
        number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        raise ValueError(f"{name} '{value}' is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} '{value}' is not a number")
    return number


_DIGITS_CLOCK = re.compile(r"^(\d{1,2})(\d{2})$")  # "0900", "930", "1730"
_OFFSET = re.compile(r"^(.*\d(?:\s*[ap]\.?m\.?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_WEEKDAY_NUMBERS = {"1": "MO", "2": "TU", "3": "WE", "4": "TH", "5": "FR", "6": "SA", "7": "SU"}


def strip_offset(text: str) -> tuple[str, bool]:
    """``text`` without a trailing UTC offset ("09:00Z", "09:00-05:00", as HSDS 1.1
    suggests), and whether it had one. The clock time is kept as the place's own."""
    match = _OFFSET.match(text.strip())
    return (match.group(1).strip(), True) if match else (text, False)


def weekday(text: str) -> str:
    """The iCalendar day ("MO".."SU") of a weekday as directories write it: HSDS 1.1's
    numbers (1 Monday .. 7 Sunday; 0 is read as Sunday too), or a name or its
    abbreviation in any case ("Monday", "MON", "Mo", "thurs."). ValueError otherwise."""
    key = text.strip().lower().rstrip(".")
    if key in _WEEKDAY_NUMBERS or key == "0":
        return _WEEKDAY_NUMBERS.get(key, "SU")
    if len(key) >= 2:
        found = {code for name, code in hours.WEEKDAY_NAMES.items() if name.startswith(key)}
        if len(found) == 1:
            return found.pop()
    raise ValueError(f"weekday '{text}' is not a day of the week")


def clock(name: str, text: str) -> str:
    """A clock time as HSDS keeps it: "HH:MM" (or "HH:MM:SS" when given so). Besides what
    ``hours.parse_clock`` reads ("9:00 AM", "9am", "17:00"), four digits of a 24-hour
    clock ("0900", "1730") are read."""
    digits = _DIGITS_CLOCK.match(text.strip())
    if digits:
        text = f"{digits.group(1)}:{digits.group(2)}"
    try:
        minutes = hours.parse_clock(text)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return text if _HSDS_CLOCK.match(text) else hours.format_clock(minutes)


def check(table: str, values: dict[str, Any]) -> None:
    """The rules of one row of ``table`` (values already coerced); may normalize times."""
    for name in REQUIRED.get(table, ()):
        if values.get(name) is None:
            raise ValueError(f"missing {name}")
    parents = ONE_OF.get(table)
    if parents and not any(values.get(p) for p in parents):
        raise ValueError(f"belongs to nothing (no {' / '.join(parents)})")
    if table == "locations":
        lat, lng = values.get("latitude"), values.get("longitude")
        if (lat is None) != (lng is None):
            raise ValueError("bad coordinates: latitude and longitude go together")
        if lat is not None and not -90 <= lat <= 90:
            raise ValueError(f"bad coordinates: latitude {lat:g} is outside -90..90")
        if lng is not None and not -180 <= lng <= 180:
            raise ValueError(f"bad coordinates: longitude {lng:g} is outside -180..180")
    if table == "schedules":
        for name in ("opens_at", "closes_at"):
            if values.get(name) is not None:
                values[name] = clock(name, values[name])
        if values.get("byday"):
            try:
                hours.parse_byday(values["byday"])
            except ValueError as error:
                raise ValueError(f"byday: {error}") from None
