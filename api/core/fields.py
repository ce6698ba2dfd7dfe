"""marshmallow fields every domain uses: safe text, time zones, phone numbers, local times,
strict booleans."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from functools import cache
from typing import Any

import marshmallow as ma
import phonenumbers


class Text(ma.fields.String):
    """A string a database can store as given: no NUL, no lone surrogates, no control
    characters except newline and tab (when ``multiline``). Leading/trailing space trimmed."""

    def __init__(
        self,
        *,
        max_length: int,
        min_length: int = 0,
        multiline: bool = False,
        strip: bool = True,
        empty_as_none: bool = False,
        **kwargs: Any,
    ) -> None:
        validators = list(kwargs.pop("validate", []) or [])
        validators.append(ma.validate.Length(min=min_length, max=max_length))
        metadata = {"maxLength": max_length, **(kwargs.pop("metadata", None) or {})}
        if min_length:
            metadata.setdefault("minLength", min_length)
        super().__init__(validate=validators, metadata=metadata, **kwargs)
        self.multiline = multiline
        self.strip = strip
        self.empty_as_none = empty_as_none

    def _validate(self, value: Any) -> None:
        if value is not None:  # None only arrives here from empty_as_none
            super()._validate(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("Contains characters that are not valid text.") from None
        allowed = {"\n", "\t"} if self.multiline else set()
        if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
            raise ma.ValidationError("Contains control characters.")
        text = text.strip() if self.strip else text
        return None if self.empty_as_none and not text else text


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class TimeZone(ma.fields.String):
    """An IANA time zone name, such as America/Los_Angeles."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"example": "America/Los_Angeles", "maxLength": 64}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        name = super()._deserialize(value, attr, data, **kwargs)
        if name not in _zones():
            raise ma.ValidationError("Not a known IANA time zone, such as America/Los_Angeles.")
        return name


class PhoneNumber(ma.fields.String):
    """A phone number in E.164 (+14155550123); stored normalized."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"example": "+14155550123", "maxLength": 20}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raw = super()._deserialize(value, attr, data, **kwargs)
        message = "Give the number in international form, such as +14155550123."
        if len(raw) > 32 or not raw.startswith("+"):
            raise ma.ValidationError(message)
        try:
            number = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            raise ma.ValidationError(message) from None
        if not phonenumbers.is_valid_number(number):
            raise ma.ValidationError("This is not a valid phone number.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class LocalTime(ma.fields.String):
    """A wall-clock time of day, "HH:MM" (24-hour)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"example": "22:00", "pattern": _HHMM.pattern}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _HHMM.match(text):
            raise ma.ValidationError("Use 24-hour HH:MM, such as 22:00.")
        return text


class StrictBoolean(ma.fields.Boolean):
    """A JSON boolean, true or false, and nothing else. marshmallow's Boolean also takes 0,
    1, "yes" and "true": in a JSON body those are a client's bug, and reading
    ``help_requested: 0`` as "no" would hide it. (Query strings, which can only say
    "true", keep marshmallow's Boolean.)"""

    default_error_messages = {"invalid": "Give true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
