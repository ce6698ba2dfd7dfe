"""What search reads, derived from the HSDS rows: each listing's search text and its
weekly opening hours. Every write to a listing (API, import) calls ``refresh`` for the
services and jobs it touched, in the same transaction."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from flask import current_app, has_app_context
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from resources import hours
from resources.models import (
    Attribute,
    JobPosting,
    Location,
    OpeningHours,
    Organization,
    Schedule,
    SearchDocument,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)

DEFAULT_TIMEZONE = "America/Los_Angeles"


def normalize(text: str) -> str:
    """Lower case, accents removed, whitespace collapsed: the form both the index and
    queries use, so 'Café  Job' and 'cafe job' find the same things on both backends."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", normalize(text))


def directory_timezone() -> str:
    if has_app_context():
        return str(current_app.config.get("DIRECTORY_TIMEZONE", DEFAULT_TIMEZONE))
    return DEFAULT_TIMEZONE


def _put_document(db: Session, kind: str, record_id: str, parts: Iterable[str | None]) -> None:
    body = normalize(" ".join(p for p in parts if p))
    document = db.get(SearchDocument, (kind, record_id))
    if document is None:
        db.add(SearchDocument(kind=kind, record_id=record_id, body=body))
    elif document.body != body:
        document.body = body


def _service_text(db: Session, service: Service) -> list[str | None]:
    organization = db.get(Organization, service.organization_id)
    terms = db.scalars(
        select(TaxonomyTerm.name)
        .join(Attribute, Attribute.taxonomy_term_id == TaxonomyTerm.id)
        .where(Attribute.link_id == service.id, Attribute.link_entity == "service")
    ).all()
    places = db.execute(
        select(Location.name)
        .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
        .where(ServiceAtLocation.service_id == service.id)
    ).scalars()
    return [
        service.name,
        service.alternate_name,
        service.description,
        organization.name if organization else None,
        *terms,
        *places,
    ]


def _schedule_ranges(schedule: Schedule) -> list[hours.WeeklyRange]:
    """Weekly ranges of one schedule row; rows without times or days (closures, notes)
    give none."""
    if not (schedule.opens_at and schedule.closes_at and schedule.byday):
        return []
    if schedule.freq and schedule.freq.upper() != "WEEKLY":
        return []
    try:
        days = hours.parse_byday(schedule.byday)
        opens, closes = hours.parse_clock(schedule.opens_at), hours.parse_clock(schedule.closes_at)
    except ValueError:
        return []  # refused at import or API time; an old bad row opens nothing
    return hours.weekly_ranges(days, opens, closes)


def _opening_hours(db: Session, service: Service) -> list[OpeningHours]:
    """Service hours at a location replace the location's own hours there."""
    pairs = db.execute(
        select(ServiceAtLocation.id, Location.id, Location.timezone)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(ServiceAtLocation.service_id == service.id)
    ).all()
    service_rows = db.scalars(select(Schedule).where(Schedule.service_id == service.id)).all()
    sal_ids = [sal_id for sal_id, _, _ in pairs]
    sal_rows = (
        db.scalars(select(Schedule).where(Schedule.service_at_location_id.in_(sal_ids))).all()
        if sal_ids
        else []
    )
    location_ids = [location_id for _, location_id, _ in pairs]
    location_rows = (
        db.scalars(
            select(Schedule).where(
                Schedule.location_id.in_(location_ids),
                Schedule.service_id.is_(None),
                Schedule.service_at_location_id.is_(None),
            )
        ).all()
        if location_ids
        else []
    )
    found: list[OpeningHours] = []

    def add(rows: Iterable[Schedule], location_id: str | None, zone: str) -> None:
        for row in rows:
            for r in _schedule_ranges(row):
                found.append(
                    OpeningHours(
                        service_id=service.id,
                        location_id=location_id,
                        timezone=zone,
                        weekday=r.weekday,
                        opens_minute=r.opens,
                        closes_minute=r.closes,
                    )
                )

    if not pairs:
        add(service_rows, None, directory_timezone())
        return found
    for sal_id, location_id, zone in pairs:
        own = [
            s
            for s in [*service_rows, *sal_rows]
            if s.service_at_location_id == sal_id
            or (s.service_at_location_id is None and s.location_id in (None, location_id))
        ]
        if own:
            add(own, location_id, zone)
        else:
            add([s for s in location_rows if s.location_id == location_id], location_id, zone)
    return found


def refresh(db: Session, service_ids: Iterable[str] = (), job_ids: Iterable[str] = ()) -> None:
    """Rebuild the search text and opening hours of these services, and the search text
    of these jobs. Deleted records lose theirs."""
    service_ids, job_ids = sorted(set(service_ids)), sorted(set(job_ids))
    db.flush()
    for chunk in _chunks(service_ids):
        db.execute(delete(OpeningHours).where(OpeningHours.service_id.in_(chunk)))
        services = {s.id: s for s in db.scalars(select(Service).where(Service.id.in_(chunk)))}
        for service_id in chunk:
            service = services.get(service_id)
            if service is None:
                db.execute(
                    delete(SearchDocument).where(
                        SearchDocument.kind == "service", SearchDocument.record_id == service_id
                    )
                )
                continue
            _put_document(db, "service", service.id, _service_text(db, service))
            db.add_all(_opening_hours(db, service))
    for chunk in _chunks(job_ids):
        jobs = {j.id: j for j in db.scalars(select(JobPosting).where(JobPosting.id.in_(chunk)))}
        for job_id in chunk:
            job = jobs.get(job_id)
            if job is None:
                db.execute(
                    delete(SearchDocument).where(
                        SearchDocument.kind == "job", SearchDocument.record_id == job_id
                    )
                )
                continue
            organization = db.get(Organization, job.organization_id)
            location = db.get(Location, job.location_id) if job.location_id else None
            _put_document(
                db,
                "job",
                job.id,
                [
                    job.title,
                    job.description,
                    organization.name if organization else None,
                    location.name if location else None,
                    " ".join(job.employment_type or []).replace("_", " "),
                ],
            )
    db.flush()


def services_touching(
    db: Session,
    *,
    organization_ids: Iterable[str] = (),
    location_ids: Iterable[str] = (),
) -> list[str]:
    """Services whose derived data depends on these organizations or locations."""
    organization_ids, location_ids = list(organization_ids), list(location_ids)
    conditions = []
    if organization_ids:
        conditions.append(Service.organization_id.in_(organization_ids))
    if location_ids:
        conditions.append(
            Service.id.in_(
                select(ServiceAtLocation.service_id).where(
                    ServiceAtLocation.location_id.in_(location_ids)
                )
            )
        )
    if not conditions:
        return []
    return list(db.scalars(select(Service.id).where(or_(*conditions))))


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
