"""Job postings: members read open ones; staff write their own organization's only.
Plain functions; they only flush."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import new_id
from api.core.errors import Problem, not_found
from resources.editors import service as editors
from resources.jobs.models import JobPosting
from resources.listings.locations import new_location
from resources.search import indexing

# The columns staff write and members see as they are stored.
COPIED = (
    "title",
    "description",
    "date_posted",
    "valid_through",
    "employment_type",
    "work_hours",
    "direct_apply",
    "application_url",
    "education_requirements",
    "experience_requirements",
    "drivers_license_required",
    "fair_chance",
    "last_verified_at",
)
# Everything staff write straight onto the posting (the enums as their values).
PLAIN = (*COPIED, "background_check", "accepts_records")


def own_job(db: Session, staff: Account, job_id: str) -> JobPosting:
    """A posting of the staff member's organization (expired ones too); else 404."""
    job = db.get(JobPosting, job_id)
    organization_id = editors.organization_of(db, staff)
    if job is None or organization_id is None or job.organization_id != organization_id:
        raise not_found("job posting")
    return job


def get_job(db: Session, job_id: str, now: datetime) -> JobPosting:
    """An open posting; an expired one is gone for members as for search."""
    job = db.get(JobPosting, job_id)
    if job is None or (job.valid_through is not None and job.valid_through <= now):
        raise not_found("job posting")
    return job


def _check_dates(job: JobPosting) -> None:
    if job.valid_through is not None and job.valid_through.date() < job.date_posted:
        raise Problem(
            422,
            "The posting must be valid through a time after it was posted.",
            kind="validation-error",
            errors={"validThrough": ["Must not be before datePosted."]},
        )


def _apply(db: Session, job: JobPosting, fields: dict[str, Any], now: datetime) -> None:
    for name in PLAIN:
        if name in fields:
            setattr(job, name, fields[name])
    if "base_salary" in fields:
        salary = fields["base_salary"] or {}
        job.salary_currency = salary.get("currency")
        job.salary_min = salary.get("min_value")
        job.salary_max = salary.get("max_value")
        job.salary_unit = salary.get("unit")
    if "job_location" in fields:
        place = fields["job_location"]
        if place is None:
            job.location_id = None
        else:
            job.location_id = new_location(db, job.organization_id, place, now).id
    _check_dates(job)
    job.updated_at = now
    db.flush()
    indexing.refresh(db, job_ids=[job.id])


def create_job(db: Session, staff: Account, fields: dict[str, Any], now: datetime) -> JobPosting:
    organization_id = editors.staff_organization(db, staff)
    job = JobPosting(
        id=new_id(),
        organization_id=organization_id,
        title=fields["title"],
        description=fields["description"],
        date_posted=now.date(),
        employment_type=[],
        source="homeward",
        last_verified_at=now,
        created_at=now,
        updated_at=now,
    )
    db.add(job)
    db.flush()
    _apply(db, job, fields, now)
    return job


def update_job(db: Session, job: JobPosting, fields: dict[str, Any], now: datetime) -> JobPosting:
    _apply(db, job, fields, now)
    return job


def delete_job(db: Session, job: JobPosting) -> None:
    job_id = job.id
    db.delete(job)
    db.flush()
    indexing.refresh(db, job_ids=[job_id])
