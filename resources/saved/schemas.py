"""Shapes of a member's saved listings."""

from __future__ import annotations

import marshmallow as ma

from api.core.pagination import page_schema


class SavedSchema(ma.Schema):
    resource_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "service or job"})
    name = ma.fields.String(required=True)
    saved_at = ma.fields.AwareDateTime(required=True)


SavedPageSchema = page_schema(SavedSchema, "SavedPage")
