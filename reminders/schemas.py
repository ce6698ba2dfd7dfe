"""Shapes of the appointment, calendar-feed and device paths. Fields listed explicitly;
unknown fields refused."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import marshmallow as ma

from api.core.fields import Text, TimeZone
from api.core.pagination import page_schema
from api.core.schemas import PatchSchema
from reminders.models import APPOINTMENT_CHANNELS, Kind, Status
from reminders.planning import parse_offset

CLIENT_ID = r"^[A-Za-z0-9_-]{1,64}$"
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


class LocalDateTime(ma.fields.Field[datetime]):
    """A wall-clock date and time without offset ("2026-12-04T09:30"); the zone is a
    separate field. Seconds are dropped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            metadata={"type": "string", "example": "2026-12-04T09:30", "pattern": _LOCAL.pattern},
            **kwargs,
        )

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.strftime("%Y-%m-%dT%H:%M") if value is not None else None

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not _LOCAL.match(value):
            raise ma.ValidationError(
                "Give local time as YYYY-MM-DDTHH:MM, without an offset; "
                "the time zone goes in 'timezone'."
            )
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ma.ValidationError("Not a real date and time.") from None
        if not 2000 <= parsed.year <= 2100:
            raise ma.ValidationError("Give a year between 2000 and 2100.")
        return parsed.replace(second=0, microsecond=0)


def _offset(value: str) -> None:
    try:
        parse_offset(value)
    except ValueError as error:
        raise ma.ValidationError(str(error)) from None


BRING_MAX = 10


def _unique(values: list[Any]) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("Give each value once.")


class AppointmentFields(ma.Schema):
    title = Text(min_length=1, max_length=200)
    kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in Kind]))
    starts_at = LocalDateTime()
    ends_at = LocalDateTime(allow_none=True)
    timezone = TimeZone()
    location = Text(max_length=500, allow_none=True, empty_as_none=True)
    notes = Text(max_length=2000, multiline=True, allow_none=True, empty_as_none=True)
    bring = ma.fields.List(
        Text(min_length=1, max_length=80),
        validate=ma.validate.Length(max=BRING_MAX),
        metadata={
            "description": "What to take along: up to 10 short items. In the .ics "
            "DESCRIPTION, and in reminders with detailed text only."
        },
    )
    recurrence = Text(
        max_length=500,
        allow_none=True,
        empty_as_none=True,
        metadata={"example": "FREQ=WEEKLY;BYDAY=MO"},
    )
    reminder_offsets = ma.fields.List(
        ma.fields.String(validate=_offset, metadata={"maxLength": 16}),
        validate=[ma.validate.Length(max=8), _unique],
        metadata={"description": "'7d@10:00' (7 days before at 10:00 local), '2h', '30m'."},
    )
    channels = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([c.value for c in APPOINTMENT_CHANNELS])),
        validate=[ma.validate.Length(max=2), _unique],
    )
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in Status]))


class AppointmentCreateSchema(AppointmentFields):
    id = ma.fields.String(
        validate=ma.validate.Regexp(CLIENT_ID),
        metadata={"description": "Optional: the phone's own id for the record."},
    )

    title = Text(min_length=1, max_length=200, required=True)
    starts_at = LocalDateTime(required=True)


class AppointmentUpdateSchema(AppointmentFields, PatchSchema):
    """A PATCH body: any of the fields, at least one."""


class ChannelReachSchema(ma.Schema):
    reachable = ma.fields.Boolean(required=True)
    reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Why not: no_device, push_not_configured, no_phone, "
            "sms_not_configured, opted_out.",
        },
    )
    detail = ma.fields.String(allow_none=True, metadata={"description": "In plain words."})


class AppointmentSchema(ma.Schema):
    id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    starts_at = LocalDateTime(required=True, attribute="starts_local")
    ends_at = LocalDateTime(allow_none=True, attribute="ends_local")
    timezone = ma.fields.String(required=True)
    location = ma.fields.String(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    bring = ma.fields.List(ma.fields.String(), required=True)
    recurrence = ma.fields.String(allow_none=True)
    reminder_offsets = ma.fields.List(ma.fields.String(), required=True)
    channels = ma.fields.List(ma.fields.String(), required=True)
    status = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    delivery = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(ChannelReachSchema),
        required=True,
        metadata={
            "description": "A warning, never a refusal: for each chosen channel, whether a "
            "reminder can reach the member now, and why not. The appointment is saved "
            "either way (docs/reminders.md).",
            "example": {
                "push": {
                    "reachable": False,
                    "reason": "no_device",
                    "detail": "No phone is set up to get notifications from Homeward.",
                },
                "sms": {"reachable": True, "reason": None, "detail": None},
            },
        },
    )


class AppointmentListArgs(ma.Schema):
    status = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf([s.value for s in Status])
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    page_size = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


class AppointmentPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AppointmentSchema), required=True)
    page = ma.fields.Integer(required=True)
    page_size = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)


class CalendarFeedSchema(ma.Schema):
    url = ma.fields.String(required=True)
    token = ma.fields.String(required=True)


class ReminderChannelSchema(ma.Schema):
    channel = ma.fields.String(required=True)
    state = ma.fields.String(
        required=True,
        metadata={"description": "planned, sending, sent, failed (retried), gave_up, skipped."},
    )
    reason = ma.fields.String(allow_none=True)
    detail = ma.fields.String(allow_none=True, metadata={"description": "In plain words."})
    error = ma.fields.String(allow_none=True, metadata={"description": "The last error kept."})
    attempts = ma.fields.Integer(required=True)
    sent_at = ma.fields.AwareDateTime(allow_none=True)
    retry_at = ma.fields.AwareDateTime(allow_none=True)


class ReminderSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "As in the synced table."})
    appointment_id = ma.fields.String(required=True)
    occurrence_at = ma.fields.AwareDateTime(required=True)
    remind_at = ma.fields.AwareDateTime(required=True)
    offset = ma.fields.String(required=True)
    state = ma.fields.String(required=True, metadata={"description": "Its best channel's."})
    detail = ma.fields.String(allow_none=True)
    channels = ma.fields.List(ma.fields.Nested(ReminderChannelSchema), required=True)


ReminderPageSchema = page_schema(ReminderSchema, "ReminderPage")


class StepReminderSchema(ma.Schema):
    id = ma.fields.String(required=True)
    step_id = ma.fields.String(required=True)
    occurrence_at = ma.fields.AwareDateTime(required=True, metadata={"description": "Due."})
    remind_at = ma.fields.AwareDateTime(required=True)
    offset = ma.fields.String(required=True)
    state = ma.fields.String(required=True, metadata={"description": "Its best channel's."})
    detail = ma.fields.String(allow_none=True)
    channels = ma.fields.List(ma.fields.Nested(ReminderChannelSchema), required=True)


StepReminderPageSchema = page_schema(StepReminderSchema, "StepReminderPage")
