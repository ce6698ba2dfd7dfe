"""The public HSDS (Open Referral) read API, so any HSDS consumer can read the
directory: ``/hsds/``, services, organizations, taxonomies and terms, with the HSDA page
envelope and its ``search``, ``taxonomy_term_id``, ``taxonomy_id``, ``organization_id``,
``modified_after``, ``page`` and ``per_page`` parameters."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from api.core.db import get_session
from api.core.errors import not_found
from resources import hsds, search
from resources.hsds_fields import row_fields
from resources.models import (
    Attribute,
    Organization,
    Service,
    Taxonomy,
    TaxonomyTerm,
)

hsds_blp = Blueprint(
    "hsds",
    __name__,
    url_prefix="/hsds",
    description="Open Referral HSDS 3.0 read API (public).",
)
PROFILE = "https://docs.openreferral.org/en/latest/hsds/"


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


def _page(
    db: Session, query: Select[Any], args: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page, per_page = args["page"], args["per_page"]
    rows = list(db.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    pages = max(1, math.ceil(total / per_page))
    envelope = {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": len(rows),
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": total == 0,
    }
    return rows, envelope


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@hsds_blp.route("/", methods=["GET"])
@hsds_blp.response(200, HsdsMeta)
def meta() -> dict[str, str]:
    """What this API is: HSDS 3.0, and where its OpenAPI document is."""
    return {
        "version": "3.0",
        "profile": PROFILE,
        "openapi_url": request.host_url.rstrip("/") + "/api/openapi.json",
    }


@hsds_blp.route("/services", methods=["GET"])
@hsds_blp.etag
@hsds_blp.arguments(ServiceListArgs, location="query", unknown=ma.RAISE)
@hsds_blp.response(200, HsdsPage)
def list_services(args: dict[str, Any]) -> dict[str, Any]:
    """Services, one-to-one fields (``full=true``: fully nested; ``minimal=true``: id and
    last_modified only)."""
    db = get_session()
    query = select(Service)
    if args["search"]:
        words = search.text_match(db, "service", args["search"])
        if words is None:
            query = query.where(Service.id.is_(None))
        else:
            query = query.where(Service.id.in_(select(words.c.record_id)))
    if args["organization_id"]:
        query = query.where(Service.organization_id == args["organization_id"])
    if args["modified_after"]:
        query = query.where(Service.updated_at >= _aware(args["modified_after"]))
    if args["taxonomy_term_id"] or args["taxonomy_id"]:
        term = select(TaxonomyTerm.id)
        if args["taxonomy_term_id"]:
            term = term.where(TaxonomyTerm.id == args["taxonomy_term_id"])
        if args["taxonomy_id"]:
            term = term.where(TaxonomyTerm.taxonomy_id == args["taxonomy_id"])
        query = query.where(
            exists(
                select(Attribute.id).where(
                    Attribute.link_id == Service.id,
                    Attribute.link_entity == "service",
                    Attribute.taxonomy_term_id.in_(term),
                )
            )
        )
    services, envelope = _page(db, query.order_by(Service.name, Service.id), args)
    if args["minimal"]:
        contents = [{"id": s.id, "last_modified": s.updated_at.isoformat()} for s in services]
    elif args["full"]:
        contents = hsds.services_to_hsds(db, services)
    else:
        contents = [
            {**row_fields("services", s), "last_modified": s.updated_at.isoformat()}
            for s in services
        ]
    return {**envelope, "contents": contents}


@hsds_blp.route("/services/<id:service_id>", methods=["GET"])
@hsds_blp.etag
@hsds_blp.response(200, HsdsObject)
def get_service(service_id: str) -> dict[str, Any]:
    db = get_session()
    service = db.get(Service, service_id)
    if service is None:
        raise not_found("service")
    return hsds.service_to_hsds(db, service)


@hsds_blp.route("/organizations", methods=["GET"])
@hsds_blp.etag
@hsds_blp.arguments(OrganizationListArgs, location="query", unknown=ma.RAISE)
@hsds_blp.response(200, HsdsPage)
def list_organizations(args: dict[str, Any]) -> dict[str, Any]:
    db = get_session()
    query = select(Organization)
    if args["search"]:
        pattern = f"%{args['search'].strip().lower()}%"
        query = query.where(func.lower(Organization.name).like(pattern))
    organizations, envelope = _page(db, query.order_by(Organization.name, Organization.id), args)
    if args["full"] or args["full_service"]:
        contents = hsds.organizations_to_hsds(db, organizations)
    else:
        contents = [row_fields("organizations", o) for o in organizations]
    return {**envelope, "contents": contents}


@hsds_blp.route("/organizations/<id:organization_id>", methods=["GET"])
@hsds_blp.etag
@hsds_blp.response(200, HsdsObject)
def get_organization(organization_id: str) -> dict[str, Any]:
    db = get_session()
    organization = db.get(Organization, organization_id)
    if organization is None:
        raise not_found("organization")
    return hsds.organization_to_hsds(db, organization)


@hsds_blp.route("/taxonomies", methods=["GET"])
@hsds_blp.etag
@hsds_blp.arguments(HsdsPageArgs, location="query", unknown=ma.RAISE)
@hsds_blp.response(200, HsdsPage)
def list_taxonomies(args: dict[str, Any]) -> dict[str, Any]:
    db = get_session()
    query = select(Taxonomy)
    if args["search"]:
        query = query.where(func.lower(Taxonomy.name).like(f"%{args['search'].lower()}%"))
    taxonomies, envelope = _page(db, query.order_by(Taxonomy.name, Taxonomy.id), args)
    return {**envelope, "contents": [hsds.taxonomy_to_hsds(t) for t in taxonomies]}


@hsds_blp.route("/taxonomies/<id:taxonomy_id>", methods=["GET"])
@hsds_blp.etag
@hsds_blp.response(200, HsdsObject)
def get_taxonomy(taxonomy_id: str) -> dict[str, Any]:
    taxonomy = get_session().get(Taxonomy, taxonomy_id)
    if taxonomy is None:
        raise not_found("taxonomy")
    return hsds.taxonomy_to_hsds(taxonomy)


@hsds_blp.route("/taxonomy_terms", methods=["GET"])
@hsds_blp.etag
@hsds_blp.arguments(TermListArgs, location="query", unknown=ma.RAISE)
@hsds_blp.response(200, HsdsPage)
def list_taxonomy_terms(args: dict[str, Any]) -> dict[str, Any]:
    """Terms; ``top_only`` for the roots, ``parent_id`` for one term's children."""
    db = get_session()
    query = select(TaxonomyTerm)
    if args["search"]:
        query = query.where(func.lower(TaxonomyTerm.name).like(f"%{args['search'].lower()}%"))
    if args["taxonomy_id"]:
        query = query.where(TaxonomyTerm.taxonomy_id == args["taxonomy_id"])
    if args["parent_id"]:
        query = query.where(TaxonomyTerm.parent_id == args["parent_id"])
    if args["top_only"]:
        query = query.where(TaxonomyTerm.parent_id.is_(None))
    terms, envelope = _page(db, query.order_by(TaxonomyTerm.code, TaxonomyTerm.id), args)
    return {**envelope, "contents": [hsds.taxonomy_term_to_hsds(t) for t in terms]}


@hsds_blp.route("/taxonomy_terms/<id:term_id>", methods=["GET"])
@hsds_blp.etag
@hsds_blp.response(200, HsdsObject)
def get_taxonomy_term(term_id: str) -> dict[str, Any]:
    term = get_session().get(TaxonomyTerm, term_id)
    if term is None:
        raise not_found("taxonomy term")
    return hsds.taxonomy_term_to_hsds(term)
