"""Shapes of the HSDS read API: the HSDA page parameters of each list (unknown ones
refused), its page envelope, and HSDS objects passed through whole."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class HsdsPageArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    search = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json"]))


class ServiceListArgs(HsdsPageArgs):
    taxonomy_term_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    taxonomy_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    organization_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    modified_after = ma.fields.DateTime(load_default=None)
    full = ma.fields.Boolean(load_default=False)
    minimal = ma.fields.Boolean(load_default=False)


class OrganizationListArgs(HsdsPageArgs):
    full = ma.fields.Boolean(load_default=False)
    full_service = ma.fields.Boolean(load_default=False)


class TermListArgs(HsdsPageArgs):
    taxonomy_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    parent_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    top_only = ma.fields.Boolean(load_default=False)


class HsdsObject(ma.Schema):
    """An HSDS object as the specification's JSON schemas define it."""

    class Meta:
        unknown = ma.INCLUDE

    id = ma.fields.String(required=True)

    @ma.post_dump(pass_original=True)
    def _whole(self, data: dict[str, Any], original: dict[str, Any], **_: Any) -> dict[str, Any]:
        return dict(original)  # already in HSDS's JSON form; dump it all, not just "id"


class HsdsPage(ma.Schema):
    total_items = ma.fields.Integer(required=True)
    total_pages = ma.fields.Integer(required=True)
    page_number = ma.fields.Integer(required=True)
    size = ma.fields.Integer(required=True)
    first_page = ma.fields.Boolean(required=True)
    last_page = ma.fields.Boolean(required=True)
    empty = ma.fields.Boolean(required=True)
    contents = ma.fields.List(ma.fields.Dict(), required=True)


class HsdsMeta(ma.Schema):
    version = ma.fields.String(required=True)
    profile = ma.fields.String(required=True)
    openapi_url = ma.fields.String(required=True)
