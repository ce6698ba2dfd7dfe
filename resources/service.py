"""Directory operations: staff edit their own organization's listings; members save
listings and report wrong ones. Plain functions over a session; they only flush. Every
write refreshes the search data of what it touched (``indexing.refresh``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import insert_ignoring_conflicts, new_id, utcnow
from api.core.errors import Problem, not_found
from api.core.pagination import paginate
from resources import indexing, search
from resources.hours import format_clock, parse_clock
from resources.models import (
    Address,
    Attribute,
    JobPosting,
    Language,
    ListingReport,
    Location,
    Phone,
    SavedListing,
    Schedule,
    Service,
    ServiceAtLocation,
)

SIMPLE_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "application_process",
    "eligibility_description",
    "fees_description",
    "wait_time",
    "last_verified_at",
)


def get_service(db: Session, service_id: str) -> Service:
    service = db.get(Service, service_id)
    if service is None:
        raise not_found("listing")
    return service


def get_job(db: Session, job_id: str, now: datetime) -> JobPosting:
    """An open posting; an expired one is gone for members as for search."""
    job = db.get(JobPosting, job_id)
    if job is None or (job.valid_through is not None and job.valid_through <= now):
        raise not_found("job posting")
    return job


def own_service(db: Session, staff: Account, service_id: str) -> Service:
    """A listing of the staff member's own organization; any other is 'not found'."""
    service = db.get(Service, service_id)
    if service is None or staff.organization_id is None:
        raise not_found("listing")
    if service.organization_id != staff.organization_id:
        raise not_found("listing")
    return service


def _staff_organization(staff: Account) -> str:
    if staff.organization_id is None:
        raise Problem(
            409,
            "This staff account is not bound to an organization; ask an operator to set it.",
            kind="no-organization",
        )
    return staff.organization_id


def _language_name(code: str) -> str | None:
    try:
        return Locale("en").languages.get(code) or None
    except UnknownLocaleError:
        return None


def _schedule_rows(hours: list[dict[str, Any]], **owner: str) -> list[Schedule]:
    return [
        Schedule(
            id=new_id(),
            freq="WEEKLY",
            byday=",".join(h["days"]),
            opens_at=format_clock(parse_clock(h["opens_at"])),
            closes_at=format_clock(parse_clock(h["closes_at"])),
            **owner,
        )
        for h in hours
    ]


def new_location(
    db: Session, organization_id: str, fields: dict[str, Any], now: datetime
) -> Location:
    """A place of the organization, with its address when given."""
    location = Location(
        id=new_id(),
        organization_id=organization_id,
        name=fields["name"],
        description=fields.get("description"),
        latitude=fields["latitude"],
        longitude=fields["longitude"],
        timezone=fields.get("timezone") or "America/Los_Angeles",
        last_verified_at=now,
        created_at=now,
        updated_at=now,
    )
    db.add(location)
    db.flush()  # no ORM relationships: parents go in before their children
    if fields.get("address"):
        db.add(Address(id=new_id(), location_id=location.id, **fields["address"]))
    return location


def _replace_locations(
    db: Session, service: Service, locations: list[dict[str, Any]], now: datetime
) -> None:
    old = db.scalars(
        select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id == service.id)
    ).all()
    db.execute(delete(ServiceAtLocation).where(ServiceAtLocation.service_id == service.id))
    db.flush()
    for location_id in old:
        still_used = db.scalar(
            select(ServiceAtLocation.id)
            .where(ServiceAtLocation.location_id == location_id)
            .limit(1)
        ) or db.scalar(select(JobPosting.id).where(JobPosting.location_id == location_id).limit(1))
        if not still_used:
            db.execute(delete(Location).where(Location.id == location_id))
    for fields in locations:
        location = new_location(db, service.organization_id, fields, now)
        db.add_all(_schedule_rows(fields.get("hours") or [], location_id=location.id))
        db.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=location.id))


def _apply(db: Session, service: Service, fields: dict[str, Any], now: datetime) -> None:
    for name in SIMPLE_FIELDS:
        if name in fields:
            setattr(service, name, fields[name])
    for name, value in (fields.get("facets") or {}).items():
        setattr(service, name, value)
    db.flush()
    if "categories" in fields:
        terms = search.terms_by_code(db, fields["categories"], "categories")
        db.execute(
            delete(Attribute).where(
                Attribute.link_id == service.id,
                Attribute.link_entity == "service",
                Attribute.taxonomy_term_id.is_not(None),
            )
        )
        db.add_all(
            Attribute(id=new_id(), link_id=service.id, link_entity="service", taxonomy_term_id=t.id)
            for t in terms
        )
    if "languages" in fields:
        db.execute(delete(Language).where(Language.service_id == service.id))
        db.add_all(
            Language(id=new_id(), service_id=service.id, code=code, name=_language_name(code))
            for code in dict.fromkeys(fields["languages"])
        )
    if "phones" in fields:
        db.execute(delete(Phone).where(Phone.service_id == service.id))
        db.add_all(Phone(id=new_id(), service_id=service.id, **p) for p in fields["phones"])
    if "hours" in fields:
        db.execute(delete(Schedule).where(Schedule.service_id == service.id))
        db.add_all(_schedule_rows(fields["hours"], service_id=service.id))
    if "locations" in fields:
        _replace_locations(db, service, fields["locations"], now)
    service.updated_at = now
    indexing.refresh(db, service_ids=[service.id])


def create_service(db: Session, staff: Account, fields: dict[str, Any], now: datetime) -> Service:
    """A new listing of the staff member's organization."""
    service = Service(
        id=new_id(),
        organization_id=_staff_organization(staff),
        name=fields["name"],
        source="homeward",
        last_verified_at=now,
        created_at=now,
        updated_at=now,
    )
    db.add(service)
    _apply(db, service, fields, now)
    return service


def update_service(db: Session, service: Service, fields: dict[str, Any], now: datetime) -> Service:
    """Change a listing; lists given (locations, hours, phones...) replace the old ones."""
    _apply(db, service, fields, now)
    return service


def delete_service(db: Session, service: Service, now: datetime) -> None:
    _replace_locations(db, service, [], now)
    db.delete(service)
    db.flush()
    indexing.refresh(db, service_ids=[service.id])


def _listing(db: Session, resource_id: str, now: datetime) -> tuple[str, Service | JobPosting]:
    """A service, or an open job posting, by id; anything else is 'listing not found'."""
    service = db.get(Service, resource_id)
    if service is not None:
        return "service", service
    try:
        return "job", get_job(db, resource_id, now)
    except Problem:
        raise not_found("listing") from None


def listing_exists(db: Session, resource_id: str) -> None:
    """404 ('listing not found') unless a service or an open job has this id."""
    _listing(db, resource_id, utcnow())


def save(
    db: Session, member: Account, resource_id: str, now: datetime, saved_id: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Bookmark a service or job; saving twice keeps one. Returns (saved, created).

    ``saved_id`` is the phone's own id for the bookmark (sync): a bookmark of the same
    listing under another id is replaced by it, so the phone never holds two."""
    kind, listing = _listing(db, resource_id, now)
    column = "service_id" if kind == "service" else "job_id"
    existing = db.scalar(
        select(SavedListing).where(
            SavedListing.account_id == member.id, getattr(SavedListing, column) == resource_id
        )
    )
    if existing is not None and saved_id is not None and existing.id != saved_id:
        db.delete(existing)
        db.flush()
        existing = None
    if existing is None:
        insert_ignoring_conflicts(
            db,
            SavedListing,
            [
                {
                    "id": saved_id or new_id(),
                    "account_id": member.id,
                    column: resource_id,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
            ["account_id", column],
        )
    name = listing.name if isinstance(listing, Service) else listing.title
    saved_at = existing.created_at if existing else now
    return {"resource_id": resource_id, "kind": kind, "name": name, "saved_at": saved_at}, (
        existing is None
    )


def unsave(db: Session, member: Account, resource_id: str) -> None:
    """Remove a bookmark; removing one that is not there changes nothing."""
    db.execute(
        delete(SavedListing).where(
            SavedListing.account_id == member.id,
            or_(SavedListing.service_id == resource_id, SavedListing.job_id == resource_id),
        )
    )


def saved(db: Session, member_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        select(SavedListing, Service.name, JobPosting.title)
        .outerjoin(Service, Service.id == SavedListing.service_id)
        .outerjoin(JobPosting, JobPosting.id == SavedListing.job_id)
        .where(SavedListing.account_id == member_id)
        .order_by(SavedListing.created_at.desc(), SavedListing.id)
    ).all()
    return [
        {
            "resource_id": row.service_id or row.job_id,
            "kind": "service" if row.service_id else "job",
            "name": name or title,
            "saved_at": row.created_at,
        }
        for row, name, title in rows
    ]


def report(
    db: Session, member: Account, resource_id: str, fields: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A member says a listing is wrong; its organization's staff see the report."""
    kind, listing = _listing(db, resource_id, now)
    row = ListingReport(
        id=new_id(),
        organization_id=listing.organization_id,
        service_id=resource_id if kind == "service" else None,
        job_id=resource_id if kind == "job" else None,
        reporter_id=member.id,
        reason=fields["reason"],
        detail=fields.get("detail"),
        created_at=now,
    )
    db.add(row)
    db.flush()
    return report_view(row)


def report_view(row: ListingReport) -> dict[str, Any]:
    return {
        "id": row.id,
        "resource_id": row.service_id or row.job_id,
        "kind": "service" if row.service_id else "job",
        "reason": row.reason.value if hasattr(row.reason, "value") else row.reason,
        "detail": row.detail,
        "created_at": row.created_at,
        "resolved_at": row.resolved_at,
    }


def organization_reports(
    db: Session, staff: Account, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """Reports about the staff member's organization: open ones first, newest first."""
    query = (
        select(ListingReport)
        .where(ListingReport.organization_id == _staff_organization(staff))
        .order_by(ListingReport.resolved_at.is_not(None), ListingReport.created_at.desc())
    )
    rows, total = paginate(db, query, page, page_size)
    return [report_view(r) for r in rows], total


def resolve_report(
    db: Session, staff: Account, report_id: str, resolved: bool, now: datetime
) -> dict[str, Any]:
    row = db.get(ListingReport, report_id)
    if row is None or row.organization_id != staff.organization_id:
        raise not_found("report")
    row.resolved_at = now if resolved else None
    db.flush()
    return report_view(row)
