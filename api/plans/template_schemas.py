"""What GET /api/v1/plan/templates answers: texts already in the caller's locale."""

from __future__ import annotations

import marshmallow as ma

from api.core.pagination import page_schema


class TemplateSummarySchema(ma.Schema):
    id = ma.fields.String(required=True)
    area = ma.fields.String(required=True)
    position = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    why = ma.fields.String(allow_none=True)
    step_count = ma.fields.Integer(required=True)
    step_titles = ma.fields.List(ma.fields.String(), required=True)


class TemplateStepSchema(ma.Schema):
    key = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    notes = ma.fields.String(allow_none=True)
    bring = ma.fields.List(ma.fields.String(), required=True)
    directory_query = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "GET /api/v1/resources parameters for this step."},
    )


class TemplateSchema(TemplateSummarySchema):
    steps = ma.fields.List(ma.fields.Nested(TemplateStepSchema), required=True)


TemplatePageSchema = page_schema(TemplateSummarySchema, "TemplatePage")
