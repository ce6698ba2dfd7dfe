"""Shapes of reports of wrong listings: what a member writes, what staff read and change."""

from __future__ import annotations

import marshmallow as ma

from api.core.fields import StrictBoolean, Text
from api.core.pagination import page_schema
from api.core.schemas import PatchSchema
from resources.reports.models import ReportReason


class ReportSchema(ma.Schema):
    id = ma.fields.String(required=True)
    resource_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    detail = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    resolved_at = ma.fields.AwareDateTime(allow_none=True)


ReportPageSchema = page_schema(ReportSchema, "ReportPage")


class ReportCreateSchema(ma.Schema):
    reason = ma.fields.String(
        required=True, validate=ma.validate.OneOf([r.value for r in ReportReason])
    )
    detail = Text(max_length=1000, multiline=True, allow_none=True, empty_as_none=True)


class ReportUpdateSchema(PatchSchema):
    # Not "required": an empty body gets the same "Nothing to change" as every PATCH.
    resolved = StrictBoolean()
