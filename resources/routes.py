"""The contract's directory paths: search and read (public), staff edits of their own
organization's listings, members' saved listings and reports. Thin."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.extensions import limiter
from api.core.pagination import PageArgs, envelope
from resources import jobs, schemas, search, service, views, write_schemas

resources_blp = Blueprint(
    "resources",
    __name__,
    url_prefix="/api/v1/resources",
    description="The directory: services with reentry facts. Public to read.",
)
jobs_blp = Blueprint(
    "jobs", __name__, url_prefix="/api/v1/jobs", description="Job postings (schema.org)."
)
saved_blp = Blueprint(
    "saved", __name__, url_prefix="/api/v1/me/saved", description="A member's saved listings."
)
reports_blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Members' reports of wrong listings, for the organization's staff.",
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
    found, total = search.search_services(db, args, utcnow())
    return envelope(views.hits(db, found, _point(args)), total, args)


@resources_blp.route("/<id:resource_id>", methods=["GET"])
@resources_blp.etag
@resources_blp.response(200, schemas.ResourceSchema)
def get_resource(resource_id: str) -> dict[str, Any]:
    db = get_session()
    return views.detail(db, service.get_service(db, resource_id))


@resources_blp.route("", methods=["POST"])
@login_required(Role.STAFF)
@resources_blp.arguments(write_schemas.ResourceCreateSchema)
@resources_blp.response(201, schemas.ResourceSchema)
def create_resource(body: dict[str, Any]) -> dict[str, Any]:
    """Staff: a new listing of their own organization."""
    db = get_session()
    return views.detail(db, service.create_service(db, current_account(), body, utcnow()))


@resources_blp.route("/<id:resource_id>", methods=["PATCH"])
@login_required(Role.STAFF)
@resources_blp.arguments(write_schemas.ResourceUpdateSchema)
@resources_blp.response(200, schemas.ResourceSchema)
def patch_resource(changes: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """Staff: change their organization's listing (lists given replace the old ones)."""
    db = get_session()
    listing = service.own_service(db, current_account(), resource_id)
    return views.detail(db, service.update_service(db, listing, changes, utcnow()))


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
@resources_blp.arguments(write_schemas.ReportCreateSchema)
@resources_blp.response(201, schemas.ReportSchema)
def report_resource(body: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """Say a listing (a service or a job) is wrong or closed; its staff will see it."""
    return service.report(get_session(), current_account(), resource_id, body, utcnow())


@jobs_blp.route("", methods=["GET"])
@jobs_blp.etag
@jobs_blp.arguments(schemas.JobSearchArgs, location="query", unknown=ma.RAISE)
@jobs_blp.response(200, schemas.JobPageSchema)
def search_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """Open job postings: words, a point and radius, fair-chance facts. Expired postings
    are never listed."""
    db = get_session()
    found, total = search.search_jobs(db, args, utcnow())
    return envelope(views.jobs(db, found), total, args)


@jobs_blp.route("/<id:job_id>", methods=["GET"])
@jobs_blp.etag
@jobs_blp.response(200, schemas.JobSchema)
def get_job(job_id: str) -> dict[str, Any]:
    db = get_session()
    job = service.get_job(db, job_id, utcnow())
    return views.jobs(db, [(job.id, None)])[0]


@jobs_blp.route("", methods=["POST"])
@login_required(Role.STAFF)
@jobs_blp.arguments(write_schemas.JobCreateSchema)
@jobs_blp.response(201, schemas.JobSchema)
def create_job(body: dict[str, Any]) -> dict[str, Any]:
    """Staff: post a job for their own organization."""
    db = get_session()
    job = jobs.create_job(db, current_account(), body, utcnow())
    return views.jobs(db, [(job.id, None)])[0]


@jobs_blp.route("/<id:job_id>", methods=["PATCH"])
@login_required(Role.STAFF)
@jobs_blp.arguments(write_schemas.JobUpdateSchema)
@jobs_blp.response(200, schemas.JobSchema)
def patch_job(changes: dict[str, Any], job_id: str) -> dict[str, Any]:
    """Staff: change their organization's posting (expired ones too, to extend them)."""
    db = get_session()
    job = jobs.update_job(db, jobs.own_job(db, current_account(), job_id), changes, utcnow())
    return views.jobs(db, [(job.id, None)])[0]


@jobs_blp.route("/<id:job_id>", methods=["DELETE"])
@login_required(Role.STAFF)
@jobs_blp.response(204)
def delete_job(job_id: str) -> None:
    db = get_session()
    jobs.delete_job(db, jobs.own_job(db, current_account(), job_id))


@saved_blp.route("", methods=["GET"])
@login_required(Role.MEMBER)
@saved_blp.response(200, schemas.SavedSchema(many=True))
def list_saved() -> list[dict[str, Any]]:
    return service.saved(get_session(), current_account().id)


@saved_blp.route("/<id:resource_id>", methods=["PUT"])
@login_required(Role.MEMBER)
@saved_blp.response(201, schemas.SavedSchema)
@saved_blp.alt_response(200, schema=schemas.SavedSchema, description="It was saved already.")
def save_listing(resource_id: str) -> Any:
    """Save a service or a job; saving it again changes nothing."""
    saved, created = service.save(get_session(), current_account(), resource_id, utcnow())
    return saved, 201 if created else 200


@saved_blp.route("/<id:resource_id>", methods=["DELETE"])
@login_required(Role.MEMBER)
@saved_blp.response(204)
def unsave_listing(resource_id: str) -> None:
    service.unsave(get_session(), current_account(), resource_id)


@reports_blp.route("", methods=["GET"])
@login_required(Role.STAFF)
@reports_blp.arguments(PageArgs, location="query")
@reports_blp.response(200, schemas.ReportPageSchema)
def list_reports(args: dict[str, Any]) -> dict[str, Any]:
    """Reports about the staff member's organization, open ones first."""
    items, total = service.organization_reports(get_session(), current_account(), **args)
    return envelope(items, total, args)


@reports_blp.route("/<id:report_id>", methods=["PATCH"])
@login_required(Role.STAFF)
@reports_blp.arguments(write_schemas.ReportUpdateSchema)
@reports_blp.response(200, schemas.ReportSchema)
def resolve_report(body: dict[str, Any], report_id: str) -> dict[str, Any]:
    return service.resolve_report(
        get_session(), current_account(), report_id, body["resolved"], utcnow()
    )
