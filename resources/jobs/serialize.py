"""How job postings are shown: schema.org JobPosting shape, a page loaded in a few
queries, never one per row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resources.jobs.models import JobPosting
from resources.jobs.service import COPIED
from resources.listings.serialize import (
    addresses,
    location_out,
    metres,
    organization_out,
    organizations,
)
from resources.models import Location
from resources.search.facets import plain_value


def _salary(job: JobPosting) -> dict[str, Any] | None:
    if job.salary_min is None and job.salary_max is None:
        return None
    return {
        "currency": job.salary_currency or "USD",
        "min_value": job.salary_min,
        "max_value": job.salary_max,
        "unit": job.salary_unit or "HOUR",
    }


def jobs(db: Session, found: list[tuple[str, float | None]]) -> list[dict[str, Any]]:
    """Job postings in schema.org JobPosting shape, in the order found."""
    ids = [job_id for job_id, _ in found]
    if not ids:
        return []
    postings = {j.id: j for j in db.scalars(select(JobPosting).where(JobPosting.id.in_(ids)))}
    owners = organizations(db, {j.organization_id for j in postings.values()})
    location_ids = [j.location_id for j in postings.values() if j.location_id]
    places = {
        loc.id: loc for loc in db.scalars(select(Location).where(Location.id.in_(location_ids)))
    }
    where = addresses(db, location_ids)
    result = []
    for job_id, distance in found:
        job = postings[job_id]
        place = places.get(job.location_id or "")
        result.append(
            {
                **{name: getattr(job, name) for name in ("id", *COPIED, "updated_at")},
                "background_check": plain_value(job.background_check),
                "accepts_records": plain_value(job.accepts_records),
                "hiring_organization": organization_out(owners[job.organization_id]),
                "job_location": location_out(
                    place, where.get(place.id) if place else None, distance
                ),
                "base_salary": _salary(job),
                "distance_m": metres(distance),
            }
        )
    return result


def job(db: Session, posting: JobPosting) -> dict[str, Any]:
    """One posting, as ``jobs`` shows it (no distance)."""
    return jobs(db, [(posting.id, None)])[0]
