"""Shapes of the suggestion paths: a mentor's suggestion, and the member's answer to it."""

from __future__ import annotations

import marshmallow as ma

from api.core.fields import Text
from api.core.pagination import PageArgs, page_schema
from api.plans.models import SuggestionStatus

# A suggestion's id column is 36 characters (a server UUID, or the phone's own id).
SUGGESTION_ID = r"^[A-Za-z0-9_-]{1,36}$"


class SuggestionCreateSchema(ma.Schema):
    id = ma.fields.String(
        validate=ma.validate.Regexp(SUGGESTION_ID),
        metadata={"description": "Optional: the phone's own id; a retry with it makes no second."},
    )
    title = Text(min_length=1, max_length=200, required=True)
    notes = Text(max_length=2000, multiline=True, allow_none=True, empty_as_none=True)
    goal_id = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "The member's goal the mentor has in mind; the member picks."},
    )


class AcceptSchema(ma.Schema):
    goal_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "The member's own goal the new step goes in."},
    )


class SuggestionListArgs(PageArgs):
    status = ma.fields.Enum(SuggestionStatus, by_value=True, load_default=None)


class SuggestionSchema(ma.Schema):
    id = ma.fields.String(required=True)
    mentor_id = ma.fields.String(allow_none=True)
    mentor_name = ma.fields.String(allow_none=True)
    goal_id = ma.fields.String(allow_none=True)
    title = ma.fields.String(required=True)
    notes = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(SuggestionStatus, by_value=True, required=True)
    step_id = ma.fields.String(
        allow_none=True, metadata={"description": "The step it became, once accepted."}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)


SuggestionPageSchema = page_schema(SuggestionSchema, "PlanSuggestionPage")
