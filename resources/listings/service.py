"""Listings (the directory's services): read one, staff edit their own organization's,
and find a listing (a service or an open job) by id for saving and reporting. Plain
functions over a session; they only flush. Every write refreshes the search data of what
it touched (``indexing.refresh``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import new_id, utcnow
from api.core.errors import Problem, not_found
from resources.editors import service as editors
from resources.jobs import service as jobs
from resources.jobs.models import JobPosting
from resources.listings.locations import new_location, schedule_rows
from resources.models import (
    Attribute,
    Language,
    Location,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
)
from resources.search import indexing, queries

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


def own_service(db: Session, staff: Account, service_id: str) -> Service:
    """A listing of the staff member's own organization; any other is 'not found'."""
    service = db.get(Service, service_id)
    organization_id = editors.organization_of(db, staff)
    if service is None or organization_id is None:
        raise not_found("listing")
    if service.organization_id != organization_id:
        raise not_found("listing")
    return service


def _language_name(code: str) -> str | None:
    try:
        return Locale("en").languages.get(code) or None
    except UnknownLocaleError:
        return None


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
        db.add_all(schedule_rows(fields.get("hours") or [], location_id=location.id))
        db.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=location.id))


def _apply(db: Session, service: Service, fields: dict[str, Any], now: datetime) -> None:
    for name in SIMPLE_FIELDS:
        if name in fields:
            setattr(service, name, fields[name])
    for name, value in (fields.get("facets") or {}).items():
        setattr(service, name, value)
    db.flush()
    if "categories" in fields:
        terms = queries.terms_by_code(db, fields["categories"], "categories")
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
        db.add_all(schedule_rows(fields["hours"], service_id=service.id))
    if "locations" in fields:
        _replace_locations(db, service, fields["locations"], now)
    service.updated_at = now
    indexing.refresh(db, service_ids=[service.id])


def create_service(db: Session, staff: Account, fields: dict[str, Any], now: datetime) -> Service:
    """A new listing of the staff member's organization."""
    service = Service(
        id=new_id(),
        organization_id=editors.staff_organization(db, staff),
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


def find_listing(db: Session, resource_id: str, now: datetime) -> tuple[str, Service | JobPosting]:
    """A service, or an open job posting, by id; anything else is 'listing not found'."""
    service = db.get(Service, resource_id)
    if service is not None:
        return "service", service
    try:
        return "job", jobs.get_job(db, resource_id, now)
    except Problem:
        raise not_found("listing") from None


def listing_exists(db: Session, resource_id: str) -> None:
    """404 ('listing not found') unless a service or an open job has this id."""
    find_listing(db, resource_id, utcnow())
