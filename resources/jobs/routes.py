"""The job postings' paths: search and read open ones (public), staff post and change
their own organization's. Thin."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.pagination import envelope
from resources.jobs import schemas, serialize, service
from resources.search import queries

jobs_blp = Blueprint(
    "jobs", __name__, url_prefix="/api/v1/jobs", description="Job postings (schema.org)."
)


@jobs_blp.route("", methods=["GET"])
@jobs_blp.etag
@jobs_blp.arguments(schemas.JobSearchArgs, location="query", unknown=ma.RAISE)
@jobs_blp.response(200, schemas.JobPageSchema)
def search_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """Open job postings: words, a point and radius, fair-chance facts. Expired postings
    are never listed."""
    db = get_session()
    found, total = queries.search_jobs(db, args, utcnow())
    return envelope(serialize.jobs(db, found), total, args)


@jobs_blp.route("/<id:job_id>", methods=["GET"])
@jobs_blp.etag
@jobs_blp.response(200, schemas.JobSchema)
def get_job(job_id: str) -> dict[str, Any]:
    db = get_session()
    job = service.get_job(db, job_id, utcnow())
    return serialize.job(db, job)


@jobs_blp.route("", methods=["POST"])
@login_required(Role.STAFF)
@jobs_blp.arguments(schemas.JobCreateSchema)
@jobs_blp.response(201, schemas.JobSchema)
def create_job(body: dict[str, Any]) -> dict[str, Any]:
    """Staff: post a job for their own organization."""
    db = get_session()
    job = service.create_job(db, current_account(), body, utcnow())
    return serialize.job(db, job)


@jobs_blp.route("/<id:job_id>", methods=["PATCH"])
@login_required(Role.STAFF)
@jobs_blp.arguments(schemas.JobUpdateSchema)
@jobs_blp.response(200, schemas.JobSchema)
def patch_job(changes: dict[str, Any], job_id: str) -> dict[str, Any]:
    """Staff: change their organization's posting (expired ones too, to extend them)."""
    db = get_session()
    job = service.update_job(db, service.own_job(db, current_account(), job_id), changes, utcnow())
    return serialize.job(db, job)


@jobs_blp.route("/<id:job_id>", methods=["DELETE"])
@login_required(Role.STAFF)
@jobs_blp.response(204)
def delete_job(job_id: str) -> None:
    db = get_session()
    service.delete_job(db, service.own_job(db, current_account(), job_id))
