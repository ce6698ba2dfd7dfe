"""Shapes of the plan's goal and step paths. Fields listed explicitly; unknown refused."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.core.fields import LocalTime, StrictBoolean, Text, TimeZone
from api.core.pagination import page_schema
from api.core.schemas import PatchSchema
from api.plans.models import Area, GoalStatus, StepStatus

CLIENT_ID = r"^[A-Za-z0-9_-]{1,64}$"
BRING_MAX = 10


def _client_id() -> ma.fields.String:
    return ma.fields.String(
        validate=ma.validate.Regexp(CLIENT_ID),
        metadata={"description": "Optional: the phone's own id for the record."},
    )


class GoalFields(ma.Schema):
    area = ma.fields.Enum(Area, by_value=True)
    title = Text(min_length=1, max_length=200)
    why = Text(max_length=2000, multiline=True, allow_none=True, empty_as_none=True)
    status = ma.fields.Enum(GoalStatus, by_value=True)
    target_date = ma.fields.Date(allow_none=True)
    position = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=100_000))


class GoalCreateSchema(GoalFields):
    id = _client_id()
    template_id = ma.fields.String(
        validate=ma.validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"),
        metadata={
            "description": "Adopt this template (GET /api/v1/plan/templates): its title, why "
            "and steps are copied into the member's plan; area and title then come from it."
        },
    )

    @ma.validates_schema
    def _named(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("template_id"):
            return
        missing = {
            n: ["Missing data for required field."] for n in ("area", "title") if n not in data
        }
        if missing:
            raise ma.ValidationError(missing)


class GoalUpdateSchema(GoalFields, PatchSchema):
    """A PATCH body: any of the fields, at least one."""


class StepFields(ma.Schema):
    title = Text(min_length=1, max_length=200)
    notes = Text(max_length=2000, multiline=True, allow_none=True, empty_as_none=True)
    status = ma.fields.Enum(StepStatus, by_value=True)
    due_date = ma.fields.Date(allow_none=True)
    due_time = LocalTime(allow_none=True)
    timezone = TimeZone(allow_none=True)
    remind = StrictBoolean()
    bring = ma.fields.List(
        Text(min_length=1, max_length=80),
        validate=ma.validate.Length(max=BRING_MAX),
        metadata={"description": "What to take along: up to 10 short items."},
    )
    position = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=100_000))
    listing_id = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=100))
    appointment_id = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=64))


class StepCreateSchema(StepFields):
    id = _client_id()
    title = Text(min_length=1, max_length=200, required=True)


class StepUpdateSchema(StepFields, PatchSchema):
    """A PATCH body: any of the fields, at least one; goal_id moves the step."""

    goal_id = ma.fields.String(validate=ma.validate.Length(min=1, max=64))


class ProgressSchema(ma.Schema):
    done = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True, metadata={"description": "Steps not skipped."})


class GoalSchema(ma.Schema):
    id = ma.fields.String(required=True)
    area = ma.fields.Enum(Area, by_value=True, required=True)
    title = ma.fields.String(required=True)
    why = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(GoalStatus, by_value=True, required=True)
    target_date = ma.fields.Date(allow_none=True)
    position = ma.fields.Integer(required=True)
    progress = ma.fields.Nested(ProgressSchema, required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class StepSchema(ma.Schema):
    id = ma.fields.String(required=True)
    goal_id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    notes = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(StepStatus, by_value=True, required=True)
    due_date = ma.fields.Date(allow_none=True)
    due_time = ma.fields.String(allow_none=True, metadata={"example": "09:30"})
    timezone = ma.fields.String(allow_none=True)
    remind = ma.fields.Boolean(required=True)
    bring = ma.fields.List(ma.fields.String(), required=True)
    position = ma.fields.Integer(required=True)
    listing_id = ma.fields.String(allow_none=True)
    appointment_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


GoalPageSchema = page_schema(GoalSchema, "PlanGoalPage")
StepPageSchema = page_schema(StepSchema, "PlanStepPage")
