"""The directory's listing paths: search and read (public), staff edits of their own
organization's listings, and members' reports of a wrong listing. Thin."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.extensions import limiter
from api.core.pagination import envelope
from resources.listings import schemas, serialize, service
from resources.reports import schemas as report_schemas
from resources.reports import service as reports
from resources.search import queries

resources_blp = Blueprint(
    "resources",
    __name__,
    url_prefix="/api/v1/resources",
    description="The directory: services with reentry facts. Public to read.",
)


def _point(args: dict[str, Any]) -> tuple[float, float] | None:
    return (args["lat"], args["lng"]) if args.get("lat") is not None else None


@resources_blp.route("", methods=["GET"])
@resources_blp.etag
@resources_blp.arguments(schemas.ResourceSearchArgs, location="query", unknown=ma.RAISE)
@resources_blp.response(200, schemas.ResourcePageSchema)
def search_resources(args: dict[str, Any]) -> dict[str, Any]:
    """Search services: words, categories, a point and radius, open now or at a time,
    language and reentry facts. Each hit carries its distance when a point was given."""
    db = get_session()
    found, total = queries.search_services(db, args, utcnow())
    return envelope(serialize.hits(db, found, _point(args)), total, args)


@resources_blp.route("/<id:resource_id>", methods=["GET"])
@resources_blp.etag
@resources_blp.response(200, schemas.ResourceSchema)
def get_resource(resource_id: str) -> dict[str, Any]:
    db = get_session()
    return serialize.detail(db, service.get_service(db, resource_id))


@resources_blp.route("", methods=["POST"])
@login_required(Role.STAFF)
@resources_blp.arguments(schemas.ResourceCreateSchema)
@resources_blp.response(201, schemas.ResourceSchema)
def create_resource(body: dict[str, Any]) -> dict[str, Any]:
    """Staff: a new listing of their own organization."""
    db = get_session()
    return serialize.detail(db, service.create_service(db, current_account(), body, utcnow()))


@resources_blp.route("/<id:resource_id>", methods=["PATCH"])
@login_required(Role.STAFF)
@resources_blp.arguments(schemas.ResourceUpdateSchema)
@resources_blp.response(200, schemas.ResourceSchema)
def patch_resource(changes: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """Staff: change their organization's listing (lists given replace the old ones)."""
    db = get_session()
    listing = service.own_service(db, current_account(), resource_id)
    return serialize.detail(db, service.update_service(db, listing, changes, utcnow()))


@resources_blp.route("/<id:resource_id>", methods=["DELETE"])
@login_required(Role.STAFF)
@resources_blp.response(204)
def delete_resource(resource_id: str) -> None:
    db = get_session()
    service.delete_service(db, service.own_service(db, current_account(), resource_id), utcnow())


@resources_blp.route("/<id:resource_id>/reports", methods=["POST"])
@login_required(Role.MEMBER)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_REPORTS"],
    key_func=lambda: f"account:{current_account().id}",
    scope="listing-reports",
)
@resources_blp.arguments(report_schemas.ReportCreateSchema)
@resources_blp.response(201, report_schemas.ReportSchema)
def report_resource(body: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """Say a listing (a service or a job) is wrong or closed; its staff will see it."""
    return reports.report(get_session(), current_account(), resource_id, body, utcnow())
