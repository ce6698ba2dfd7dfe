"""Shapes of the invite, grant, mentee and access-log paths."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.core.fields import StrictBoolean
from api.core.pagination import page_schema
from api.core.schemas import PatchSchema
from api.mentors.models import Scope

SCOPES = [s.value for s in Scope]


def _unique(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("Give each scope once.")


def _scopes(**kwargs: Any) -> ma.fields.List[Any]:
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(SCOPES)),
        validate=[ma.validate.Length(min=1, max=len(SCOPES)), _unique],
        metadata={
            "description": "checkins.mood: mood only; checkins.needs: needs; checkins.full: "
            "the whole check-in; appointments.times: appointment times and status; "
            "help_alerts: be told when the member asks for help; plan.progress: the plan's "
            "goals and steps (titles, statuses, dates, the count of steps done), never why, "
            "notes or bring; plan.full: the whole plan. Either plan scope lets the mentor "
            "suggest a step."
        },
        **kwargs,
    )


class InviteCreateSchema(ma.Schema):
    scopes = _scopes(required=True)
    share_history = StrictBoolean(
        load_default=False,
        metadata={"description": "Whether check-ins made before the grant are visible."},
    )
    expires_at = ma.fields.AwareDateTime(
        allow_none=True,
        load_default=None,
        metadata={"description": "When the grant ends by itself; none: until revoked."},
    )
    # The contract calls it "expires"; both names are accepted.
    expires = ma.fields.AwareDateTime(allow_none=True, load_only=True)

    @ma.post_load
    def _one_name(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        alias = data.pop("expires", None)
        if alias is not None:
            if data.get("expires_at") not in (None, alias):
                raise ma.ValidationError("Give expires or expires_at, not both.", "expires")
            data["expires_at"] = alias
        return data


class InviteSchema(ma.Schema):
    id = ma.fields.String(required=True)
    code = ma.fields.String(
        metadata={"description": "Shown only when the invite is made. Read it aloud."}
    )
    scopes = ma.fields.List(ma.fields.String(), required=True)
    share_history = ma.fields.Boolean(required=True)
    grant_expires_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)
    redeemed_at = ma.fields.AwareDateTime(allow_none=True)


class RedeemSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"example": "HK7M-4QPD"},
    )


class GrantSchema(ma.Schema):
    id = ma.fields.String(required=True)
    member_id = ma.fields.String(required=True)
    member_name = ma.fields.String(allow_none=True)
    mentor_id = ma.fields.String(required=True)
    mentor_name = ma.fields.String(allow_none=True)
    scopes = ma.fields.List(ma.fields.String(), required=True)
    share_history = ma.fields.Boolean(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_by = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean(required=True)


class GrantUpdateSchema(PatchSchema):
    scopes = _scopes()
    share_history = StrictBoolean()
    expires_at = ma.fields.AwareDateTime(allow_none=True)


class GrantListArgs(ma.Schema):
    active = ma.fields.Boolean(
        load_default=None, metadata={"description": "Only grants in force (true) or ended."}
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    page_size = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


class MenteeSchema(ma.Schema):
    member_id = ma.fields.String(required=True)
    display_name = ma.fields.String(allow_none=True)
    grant_id = ma.fields.String(required=True)
    scopes = ma.fields.List(ma.fields.String(), required=True)
    share_history = ma.fields.Boolean(required=True)
    granted_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)


class SharedCheckinSchema(ma.Schema):
    """A check-in as a grant shows it: fields outside the grant's scopes are absent."""

    id = ma.fields.String(required=True)
    recorded_at = ma.fields.AwareDateTime(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    mood = ma.fields.Integer()
    needs = ma.fields.List(ma.fields.String())
    wins = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    place = ma.fields.String(allow_none=True)
    help_requested = ma.fields.Boolean()


class SharedAppointmentSchema(ma.Schema):
    """Times and status only: no title, kind, notes or location."""

    id = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True, metadata={"example": "2026-12-04T09:30"})
    ends_at = ma.fields.String(allow_none=True)
    timezone = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class SharedProgressSchema(ma.Schema):
    done = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True, metadata={"description": "Steps not skipped."})


class SharedStepSchema(ma.Schema):
    """A step as a plan scope shows it: notes, bring and links only under plan.full."""

    id = ma.fields.String(required=True)
    goal_id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    due_date = ma.fields.Date(allow_none=True)
    due_time = ma.fields.String(allow_none=True, metadata={"example": "09:30"})
    timezone = ma.fields.String(allow_none=True)
    position = ma.fields.Integer(required=True)
    notes = ma.fields.String(allow_none=True)
    bring = ma.fields.List(ma.fields.String())
    listing_id = ma.fields.String(allow_none=True)
    appointment_id = ma.fields.String(allow_none=True)


class SharedGoalSchema(ma.Schema):
    """A goal as a plan scope shows it: why only under plan.full."""

    id = ma.fields.String(required=True)
    area = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    target_date = ma.fields.Date(allow_none=True)
    position = ma.fields.Integer(required=True)
    why = ma.fields.String(allow_none=True)
    progress = ma.fields.Nested(SharedProgressSchema, required=True)
    steps = ma.fields.List(ma.fields.Nested(SharedStepSchema), required=True)


class SharedPlanSchema(ma.Schema):
    """The mentee's plan; ``progress`` is the member's own count of steps done."""

    member_id = ma.fields.String(required=True)
    scope = ma.fields.String(required=True, metadata={"example": "plan.progress"})
    progress = ma.fields.Nested(SharedProgressSchema, required=True)
    goals = ma.fields.List(ma.fields.Nested(SharedGoalSchema), required=True)


class AccessLogEntrySchema(ma.Schema):
    id = ma.fields.String(required=True)
    mentor_id = ma.fields.String(allow_none=True)
    mentor_name = ma.fields.String(allow_none=True)
    grant_id = ma.fields.String(allow_none=True)
    action = ma.fields.String(required=True)
    record_ids = ma.fields.List(ma.fields.String(), required=True)
    at = ma.fields.AwareDateTime(required=True)


MenteePageSchema = page_schema(MenteeSchema, "MenteePage")
GrantPageSchema = page_schema(GrantSchema, "GrantPage")
InvitePageSchema = page_schema(InviteSchema, "InvitePage")
SharedCheckinPageSchema = page_schema(SharedCheckinSchema, "SharedCheckinPage")
SharedAppointmentPageSchema = page_schema(SharedAppointmentSchema, "SharedAppointmentPage")
AccessLogPageSchema = page_schema(AccessLogEntrySchema, "AccessLogPage")
