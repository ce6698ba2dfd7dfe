"""The directory's synced tables: ``saved_resources`` (the member's bookmarks, pushable)
and ``resources`` (pull only: summaries of the listings near the member's chosen area, so
the phone can show them with no signal)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import hw_distance, in_chunks
from api.core.errors import Problem
from api.sync import registry
from api.sync.area import Area
from api.sync.models import MemberArea, Tombstone
from api.sync.registry import Changes, Pull, Pusher, Rejected, SyncTable, ms
from resources.jobs.models import JobPosting
from resources.listings.service import listing_exists
from resources.models import (
    Address,
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    ServiceStatus,
)
from resources.saved import service as saved
from resources.saved.models import SavedListing

RESOURCE_COLUMNS: dict[str, registry.ColumnType] = {
    "kind": "string",
    "name": "string",
    "organization_name": "string",
    "description": "string",
    "address": "string",
    "latitude": "number",
    "longitude": "number",
    "phone": "string",
    "fair_chance": "boolean",
    "accepts_records": "string",
    "valid_through": "number",
    "last_verified_at": "number",
}
SUMMARY = 280


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SUMMARY else text[: SUMMARY - 1].rstrip() + "…"


def _box(area: MemberArea | Area) -> list[Any]:
    """The area's bounding box on the indexed coordinate columns (the exact great-circle
    distance is checked afterwards)."""
    radius_m = area.radius_km * 1000
    dlat = math.degrees(radius_m / 6371008.8)
    dlng = dlat / max(math.cos(math.radians(area.latitude)), 0.01)
    return [
        Location.latitude.between(area.latitude - dlat, area.latitude + dlat),
        Location.longitude.between(area.longitude - dlng, area.longitude + dlng),
    ]


def _inside(area: MemberArea | Area, lat: float | None, lng: float | None) -> float | None:
    """Distance in metres when inside the area, else None."""
    if lat is None or lng is None:
        return None
    distance = hw_distance(area.latitude, area.longitude, lat, lng)
    return distance if distance is not None and distance <= area.radius_km * 1000 else None


def _lookup(db: Session, statement: Any, column: Any, ids: set[str]) -> list[Any]:
    rows: list[Any] = []
    for chunk in in_chunks(sorted(ids)):
        rows += db.execute(statement.where(column.in_(chunk))).all()
    return rows


def _pull_resources(pull: Pull) -> Changes:
    """The area's listings that changed inside the window (all of them on a full pull);
    each query is bounded by the area and the window, never by a list of every id."""
    db = pull.db
    area = db.get(MemberArea, pull.account.id)
    changes = Changes()
    if area is None:
        gone = pull.for_deletions()
        # Only what the area held when it was removed (public changes are not news here).
        changes.deleted = gone.tombstones("resources")
        return changes
    nearest = _nearest_services(pull, area)
    services = [row[0] for row in _lookup(db, select(Service), Service.id, set(nearest))]
    jobs = _jobs_inside(pull, area)
    organizations = dict(
        _lookup(
            db,
            select(Organization.id, Organization.name),
            Organization.id,
            {s.organization_id for s in services} | {j.organization_id for j, _, _ in jobs},
        )
    )
    addresses = _addresses(
        db,
        {n[1] for n in nearest.values()} | {j.location_id for j, _, _ in jobs if j.location_id},
    )
    phones: dict[str, str] = {}
    for service_id, number in _lookup(
        db, select(Phone.service_id, Phone.number), Phone.service_id, {s.id for s in services}
    ):
        phones.setdefault(service_id, number)
    for item in services:
        _, location_id, lat, lng = nearest[item.id]
        fields = {
            **_summary(item, item.name, organizations, lat, lng),
            "kind": "service",
            "address": addresses.get(location_id),
            "phone": phones.get(item.id),
            "valid_through": None,
        }
        changes.add(_in_column_order(fields), pull.is_new(item.sync_created))
    for job, lat, lng in jobs:
        fields = {
            **_summary(job, job.title, organizations, lat, lng),
            "kind": "job",
            "address": addresses.get(job.location_id or ""),
            "phone": None,
            "valid_through": ms(job.valid_through),
        }
        changes.add(_in_column_order(fields), pull.is_new(job.sync_created))
    gone = pull.for_deletions()
    if not gone.full:
        changes.deleted = _left_view(gone, {s.id for s in services} | {j.id for j, _, _ in jobs})
    return changes


def _nearest_services(pull: Pull, area: MemberArea) -> dict[str, tuple[float, str, Any, Any]]:
    """Active services changed in the window with a location inside the area: the
    nearest such location of each (distance, id, latitude, longitude)."""
    nearest: dict[str, tuple[float, str, Any, Any]] = {}
    for service_id, location_id, lat, lng in pull.db.execute(
        select(ServiceAtLocation.service_id, Location.id, Location.latitude, Location.longitude)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .where(
            *_box(area), Service.status == ServiceStatus.ACTIVE, pull.changed(Service.sync_version)
        )
    ):
        distance = _inside(area, lat, lng)
        if distance is not None and (
            service_id not in nearest or distance < nearest[service_id][0]
        ):
            nearest[service_id] = (distance, location_id, lat, lng)
    return nearest


def _jobs_inside(pull: Pull, area: MemberArea) -> list[tuple[JobPosting, Any, Any]]:
    """Open postings changed in the window at a place inside the area."""
    return [
        (job, lat, lng)
        for job, lat, lng in pull.db.execute(
            select(JobPosting, Location.latitude, Location.longitude)
            .join(Location, Location.id == JobPosting.location_id)
            .where(
                *_box(area),
                or_(JobPosting.valid_through.is_(None), JobPosting.valid_through > pull.until_time),
                pull.changed(JobPosting.sync_version),
            )
        ).all()
        if _inside(area, lat, lng) is not None
    ]


def _addresses(db: Session, location_ids: set[str]) -> dict[str, str]:
    """Each location's first address, on one line."""
    addresses: dict[str, str] = {}
    for location_id, line, city in _lookup(
        db,
        select(Address.location_id, Address.address_1, Address.city),
        Address.location_id,
        location_ids,
    ):
        addresses.setdefault(location_id, f"{line}, {city}")
    return addresses


def _in_column_order(fields: registry.Raw) -> registry.Raw:
    # The record's keys in the table's column order, as the phone has always received them.
    return {name: fields[name] for name in ("id", *RESOURCE_COLUMNS)}


def _summary(
    listing: Service | JobPosting,
    name: str,
    organizations: dict[str, str],
    lat: Any,
    lng: Any,
) -> registry.Raw:
    """The columns a service's and a job's summaries fill the same way."""
    return {
        "id": listing.id,
        "name": name,
        "organization_name": organizations.get(listing.organization_id),
        "description": _short(listing.description),
        "latitude": lat,
        "longitude": lng,
        "fair_chance": listing.fair_chance,
        "accepts_records": str(listing.accepts_records) if listing.accepts_records else None,
        "last_verified_at": ms(listing.last_verified_at),
    }


def _left_view(pull: Pull, shown: set[str]) -> list[str]:
    """Listings that changed and are no longer shown (moved away, closed, expired), those
    whose posting expired inside the window, and deleted ones. Listings are public, so
    naming one the phone never had reveals nothing."""
    db = pull.db
    changed = [
        *db.scalars(select(Service.id).where(pull.changed(Service.sync_version))),
        *db.scalars(
            select(JobPosting.id).where(
                or_(pull.changed(JobPosting.sync_version), pull.passed(JobPosting.valid_through))
            )
        ),
    ]
    return (
        [i for i in changed if i not in shown]
        + pull.tombstones("resources", None)
        + pull.tombstones("resources")
    )


def _listings_inside(db: Session, area: Area, now: datetime) -> set[str]:
    """Ids of the listings a phone holds for this area: active services with a location
    inside it, open job postings inside it."""
    box = _box(area)
    services = {
        service_id
        for service_id, lat, lng in db.execute(
            select(ServiceAtLocation.service_id, Location.latitude, Location.longitude)
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .join(Service, Service.id == ServiceAtLocation.service_id)
            .where(*box, Service.status == ServiceStatus.ACTIVE)
        )
        if _inside(area, lat, lng) is not None
    }
    jobs = {
        job_id
        for job_id, lat, lng in db.execute(
            select(JobPosting.id, Location.latitude, Location.longitude)
            .join(Location, Location.id == JobPosting.location_id)
            .where(*box, or_(JobPosting.valid_through.is_(None), JobPosting.valid_through > now))
        )
        if _inside(area, lat, lng) is not None
    }
    return services | jobs


def area_moved(
    member: Account, *, db: Session, before: Area | None, after: Area | None, now: datetime
) -> None:
    """The listings of the old area that the new one does not hold leave the phone by id
    (a replacement sync is sent too, but a phone may ignore it)."""
    if before is None:
        return
    left = _listings_inside(db, before, now) - (
        _listings_inside(db, after, now) if after is not None else set()
    )
    db.add_all(
        Tombstone(table_name="resources", record_id=i, account_id=member.id) for i in sorted(left)
    )
    db.flush()


def _area_changed(pull: Pull) -> bool:
    return bool(
        pull.db.scalar(
            select(MemberArea.account_id).where(
                and_(
                    MemberArea.account_id == pull.account.id,
                    pull.changed(MemberArea.sync_version),
                )
            )
        )
        or pull.tombstones("sync_area")
    )


def _saved_raws(db: Session, rows: Sequence[SavedListing]) -> list[registry.Raw]:
    names = {
        **dict(
            db.execute(
                select(Service.id, Service.name).where(
                    Service.id.in_({r.service_id for r in rows if r.service_id})
                )
            ).all()
        ),
        **dict(
            db.execute(
                select(JobPosting.id, JobPosting.title).where(
                    JobPosting.id.in_({r.job_id for r in rows if r.job_id})
                )
            ).all()
        ),
    }
    return [
        {
            "id": row.id,
            "resource_id": row.service_id or row.job_id,
            "kind": "service" if row.service_id else "job",
            "name": names.get(row.service_id or row.job_id or ""),
            "created_at": ms(row.created_at),
        }
        for row in rows
    ]


def _pull_saved(pull: Pull) -> Changes:
    return registry.owned(pull, "saved_resources", SavedListing, "account_id", _saved_raws)


def _prepare(
    db: Session, member: Account, record_id: str, raw: registry.Raw, exists: bool
) -> dict[str, Any]:
    resource_id = raw.get("resource_id")
    if not isinstance(resource_id, str) or not resource_id:
        raise Rejected(record_id)
    try:
        listing_exists(db, resource_id)
    except Problem:
        raise Rejected(record_id) from None
    return {"resource_id": resource_id}


def _save(
    db: Session,
    member: Account,
    record_id: str,
    fields: dict[str, Any],
    exists: bool,
    now: datetime,
) -> None:
    if exists:
        row = db.get(SavedListing, record_id)
        if row is not None and fields["resource_id"] in (row.service_id, row.job_id):
            return  # the same bookmark: nothing to change
        if row is not None:
            db.delete(row)
            db.flush()
    saved.save(db, member, fields["resource_id"], now, saved_id=record_id)


def _delete(db: Session, member: Account, record_id: str, now: datetime) -> None:
    row = db.get(SavedListing, record_id)
    if row is not None and row.account_id == member.id:
        db.delete(row)
        db.flush()


# The tables this domain's phones sync, registered by the domain's init_app.
TABLES = (
    SyncTable(
        "saved_resources",
        "member",
        {"resource_id": "string", "kind": "string", "name": "string", "created_at": "number"},
        _pull_saved,
        Pusher(SavedListing, "account_id", _prepare, _save, _delete),
    ),
    SyncTable(
        "resources",
        "member",
        RESOURCE_COLUMNS,
        _pull_resources,
        needs_replacement=_area_changed,
    ),
)
