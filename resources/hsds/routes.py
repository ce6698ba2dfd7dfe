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
from api.core.pagination import paginate
from resources.hsds import serialize
from resources.hsds.fields import row_fields
from resources.hsds.schemas import (
    HsdsMeta,
    HsdsObject,
    HsdsPage,
    HsdsPageArgs,
    OrganizationListArgs,
    ServiceListArgs,
    TermListArgs,
)
from resources.models import Attribute, Organization, Service, Taxonomy, TaxonomyTerm
from resources.search import queries

hsds_blp = Blueprint(
    "hsds",
    __name__,
    url_prefix="/hsds",
    description="Open Referral HSDS 3.0 read API (public).",
)
PROFILE = "https://docs.openreferral.org/en/latest/hsds/"


def _page(
    db: Session, query: Select[Any], args: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``query`` and HSDA's envelope around it."""
    page, per_page = args["page"], args["per_page"]
    rows, total = paginate(db, query, page, per_page)
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


def _one(model: Any, record_id: str, what: str) -> Any:
    """The row of ``model`` with this id; else a 404 naming ``what``."""
    row = get_session().get(model, record_id)
    if row is None:
        raise not_found(what)
    return row


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
        words = queries.text_match(db, "service", args["search"])
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
        contents = serialize.services_to_hsds(db, services)
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
    return serialize.service_to_hsds(get_session(), _one(Service, service_id, "service"))


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
        contents = serialize.organizations_to_hsds(db, organizations)
    else:
        contents = [row_fields("organizations", o) for o in organizations]
    return {**envelope, "contents": contents}


@hsds_blp.route("/organizations/<id:organization_id>", methods=["GET"])
@hsds_blp.etag
@hsds_blp.response(200, HsdsObject)
def get_organization(organization_id: str) -> dict[str, Any]:
    organization = _one(Organization, organization_id, "organization")
    return serialize.organization_to_hsds(get_session(), organization)


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
    return {**envelope, "contents": [serialize.taxonomy_to_hsds(t) for t in taxonomies]}


@hsds_blp.route("/taxonomies/<id:taxonomy_id>", methods=["GET"])
@hsds_blp.etag
@hsds_blp.response(200, HsdsObject)
def get_taxonomy(taxonomy_id: str) -> dict[str, Any]:
    return serialize.taxonomy_to_hsds(_one(Taxonomy, taxonomy_id, "taxonomy"))


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
    return {**envelope, "contents": [serialize.taxonomy_term_to_hsds(t) for t in terms]}


@hsds_blp.route("/taxonomy_terms/<id:term_id>", methods=["GET"])
@hsds_blp.etag
@hsds_blp.response(200, HsdsObject)
def get_taxonomy_term(term_id: str) -> dict[str, Any]:
    return serialize.taxonomy_term_to_hsds(_one(TaxonomyTerm, term_id, "taxonomy term"))
