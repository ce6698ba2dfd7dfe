"""Shapes of the check-in paths. Fields listed explicitly; unknown fields refused."""

from __future__ import annotations

import marshmallow as ma

from api.checkins.models import Need
from api.core.fields import StrictBoolean, Text
from api.core.pagination import page_schema
from api.core.schemas import PatchSchema

CLIENT_ID = r"^[A-Za-z0-9_-]{1,64}$"


def _unique(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("Give each need once.")


class CheckinFields(ma.Schema):
    mood = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=1, max=5),
        metadata={"description": "1 (very low) to 5 (very good)."},
    )
    needs = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([n.value for n in Need])),
        validate=[ma.validate.Length(max=len(Need)), _unique],
    )
    wins = Text(max_length=1000, multiline=True, allow_none=True, empty_as_none=True)
    note = Text(max_length=2000, multiline=True, allow_none=True, empty_as_none=True)
    place = Text(
        max_length=80,
        allow_none=True,
        empty_as_none=True,
        metadata={"description": "A label the member typed, such as 'library'. No coordinates."},
    )
    help_requested = StrictBoolean(
        metadata={"description": "'I need help now': alerts mentors with the help_alerts scope."}
    )
    recorded_at = ma.fields.AwareDateTime(
        metadata={"description": "When the phone made it. Shown only; never used for order."}
    )


class CheckinCreateSchema(CheckinFields):
    id = ma.fields.String(
        validate=ma.validate.Regexp(CLIENT_ID),
        metadata={"description": "Optional: the phone's own id for the record."},
    )
    mood = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=5))


class CheckinUpdateSchema(CheckinFields, PatchSchema):
    """A PATCH body: any of the fields, at least one."""


class ResponseCreateSchema(ma.Schema):
    body = Text(min_length=1, max_length=500, multiline=True, required=True)


class ResponseSchema(ma.Schema):
    id = ma.fields.String(required=True)
    checkin_id = ma.fields.String(required=True)
    mentor_id = ma.fields.String(allow_none=True)
    mentor_name = ma.fields.String(allow_none=True)
    body = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class ReachSchema(ma.Schema):
    reachable = ma.fields.Boolean(required=True)
    reason = ma.fields.String(allow_none=True)
    detail = ma.fields.String(allow_none=True)


class HelpMentorSchema(ma.Schema):
    grant_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True, metadata={"description": "As the member knows them."})
    reachable_now = ma.fields.Boolean(
        required=True, metadata={"description": "By push or SMS now; else in the app later."}
    )
    channels = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(ReachSchema),
        required=True,
        metadata={"description": "push, sms, and app (on their next sync: always)."},
    )


class HelpAnswerSchema(ma.Schema):
    mentors = ma.fields.List(ma.fields.Nested(HelpMentorSchema), required=True)
    detail = ma.fields.String(required=True, metadata={"description": "In plain words."})


class CheckinSchema(ma.Schema):
    id = ma.fields.String(required=True)
    mood = ma.fields.Integer(required=True)
    needs = ma.fields.List(ma.fields.String(), required=True)
    wins = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    place = ma.fields.String(allow_none=True)
    help_requested = ma.fields.Boolean(required=True)
    recorded_at = ma.fields.AwareDateTime(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    responses = ma.fields.List(ma.fields.Nested(ResponseSchema), required=True)
    help = ma.fields.Nested(
        HelpAnswerSchema,
        metadata={
            "description": "Only on a check-in that asks for help, read or written alone "
            "(not in lists): which mentors with help alerts it reaches now and how "
            "(docs/checkins.md)."
        },
    )


CheckinPageSchema = page_schema(CheckinSchema, "CheckinPage")
