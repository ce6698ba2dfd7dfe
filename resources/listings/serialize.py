"""How listings are shown: a search hit (small, for a phone on little data) and a full
listing. Loaded in a few queries per page, never one per row. The pieces a job posting
shows too (its place, its organization) are here for ``resources.jobs.serialize``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.db import hw_distance
from resources.models import (
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from resources.search.facets import facets, plain_value
from resources.search.hours import DAY, WEEKDAYS, format_clock
from resources.search.models import OpeningHours

SUMMARY_LENGTH = 200
# The columns a full listing shows as they are stored.
DETAIL_FIELDS = (
    "id",
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "application_process",
    "eligibility_description",
    "fees_description",
    "wait_time",
    "last_verified_at",
    "created_at",
    "updated_at",
)


def _summary(text: str | None) -> str | None:
    if not text or len(text) <= SUMMARY_LENGTH:
        return text
    return text[: SUMMARY_LENGTH - 1].rsplit(" ", 1)[0] + "…"


def _one_line(address: Address | None) -> str | None:
    if address is None:
        return None
    parts = [address.address_1, address.address_2, address.city, address.state_province]
    return ", ".join(p for p in parts if p)


def metres(distance: float | None) -> float | None:
    return round(distance, 1) if distance is not None else None


def addresses(db: Session, location_ids: Sequence[str]) -> dict[str, Address]:
    """Each location's address: its physical one, else its first."""
    found: dict[str, Address] = {}
    for address in db.scalars(
        select(Address)
        .where(Address.location_id.in_(location_ids))
        .order_by(Address.address_type, Address.id)
    ):
        if address.address_type == "physical" or address.location_id not in found:
            found.setdefault(address.location_id, address)
    return found


def organizations(db: Session, ids: set[str]) -> dict[str, Organization]:
    return {o.id: o for o in db.scalars(select(Organization).where(Organization.id.in_(ids)))}


def organization_out(organization: Organization) -> dict[str, Any]:
    return {"id": organization.id, "name": organization.name}


def location_out(
    location: Location | None, address: Address | None, distance: float | None
) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "id": location.id,
        "name": location.name,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "address": _one_line(address),
        "timezone": location.timezone,
        "distance_m": metres(distance),
    }


def _categories(db: Session, service_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for link_id, code, term_id in db.execute(
        select(Attribute.link_id, TaxonomyTerm.code, TaxonomyTerm.id)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(Attribute.link_id.in_(service_ids), Attribute.link_entity == "service")
        .order_by(TaxonomyTerm.code, TaxonomyTerm.id)
    ):
        found[link_id].append(code or term_id)
    return found


def _places(db: Session, ids: Sequence[str]) -> dict[str, list[Location]]:
    places: dict[str, list[Location]] = defaultdict(list)
    for service_id, place in db.execute(
        select(ServiceAtLocation.service_id, Location)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(ServiceAtLocation.service_id.in_(ids))
        .order_by(Location.name, Location.id)
    ):
        places[service_id].append(place)
    return places


def _shown_location(
    candidates: list[Location], point: tuple[float, float] | None, distance: float | None
) -> Location | None:
    """The nearest location when a point was given (otherwise the first)."""
    if point is None:
        return candidates[0] if candidates else None
    located = [c for c in candidates if c.latitude is not None and c.longitude is not None]
    if not located:
        return None
    # The location the search matched is the one at the distance it found
    # (the nearest one that was in range and open, when those were asked).
    target = distance if distance is not None else 0.0
    return min(
        located,
        key=lambda c: abs(
            (hw_distance(c.latitude, c.longitude, *point) or 0.0)  # type: ignore[arg-type]  # filtered non-null
            - target
        ),
    )


def hits(
    db: Session,
    found: list[tuple[str, float | None]],
    point: tuple[float, float] | None,
) -> list[dict[str, Any]]:
    """Search hits in the order found; each with its nearest location when a point was
    given (otherwise its first), and the distance to it."""
    ids = [service_id for service_id, _ in found]
    if not ids:
        return []
    services = {s.id: s for s in db.scalars(select(Service).where(Service.id.in_(ids)))}
    owners = organizations(db, {s.organization_id for s in services.values()})
    places = _places(db, ids)
    where = addresses(db, [loc.id for locs in places.values() for loc in locs])
    categories = _categories(db, ids)
    result = []
    for service_id, distance in found:
        service = services[service_id]
        location = _shown_location(places.get(service_id, []), point, distance)
        result.append(
            {
                "id": service.id,
                "name": service.name,
                "summary": _summary(service.description),
                "organization": organization_out(owners[service.organization_id]),
                "location": location_out(
                    location, where.get(location.id) if location else None, distance
                ),
                "distance_m": metres(distance),
                "categories": categories.get(service_id, []),
                "facets": facets(service),
                "last_verified_at": service.last_verified_at,
                "updated_at": service.updated_at,
            }
        )
    return result


def _hours(rows: Sequence[OpeningHours]) -> list[dict[str, Any]]:
    """Weekly ranges grouped back into (days, opens, closes); a range split at midnight
    is shown whole again (Fri 22:00-02:00)."""
    ranges = {(r.weekday, r.opens_minute, r.closes_minute) for r in rows}
    for day, opens, closes in sorted(ranges):
        after = ((day + 1) % 7, 0)
        tail = next((r for r in ranges if r[:2] == after and r[2] < DAY), None)
        if closes == DAY and opens > 0 and tail is not None:
            ranges -= {(day, opens, closes), tail}
            ranges.add((day, opens, tail[2]))
    grouped: dict[tuple[int, int], list[int]] = defaultdict(list)
    for day, opens, closes in ranges:
        grouped[(opens, closes)].append(day)
    return [
        {
            "days": [WEEKDAYS[d] for d in sorted(days)],
            "opens_at": format_clock(opens),
            "closes_at": format_clock(closes),
        }
        for (opens, closes), days in sorted(grouped.items(), key=lambda kv: (min(kv[1]), kv[0]))
    ]


def _phones(db: Session, service: Service, locations: Sequence[Location]) -> Sequence[Phone]:
    """The service's own phones; without any, its locations'."""
    phones = db.scalars(
        select(Phone).where(Phone.service_id == service.id).order_by(Phone.number, Phone.id)
    ).all()
    if not phones and locations:
        phones = db.scalars(
            select(Phone)
            .where(Phone.location_id.in_([loc.id for loc in locations]))
            .order_by(Phone.number, Phone.id)
        ).all()
    return phones


def _languages(db: Session, service: Service) -> list[str]:
    return sorted(
        {
            (lang.code or lang.name or "").lower()
            for lang in db.scalars(select(Language).where(Language.service_id == service.id))
        }
        - {""}
    )


def detail(db: Session, service: Service) -> dict[str, Any]:
    """A whole listing: where, when, how to reach it, and the reentry facts."""
    organization = db.get(Organization, service.organization_id)
    assert organization is not None
    locations = db.scalars(
        select(Location)
        .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
        .where(ServiceAtLocation.service_id == service.id)
        .order_by(Location.name, Location.id)
    ).all()
    where = addresses(db, [loc.id for loc in locations])
    opening = db.scalars(
        select(OpeningHours)
        .where(OpeningHours.service_id == service.id)
        .order_by(OpeningHours.weekday, OpeningHours.opens_minute)
    ).all()
    service_hours = db.scalar(select(Schedule.id).where(Schedule.service_id == service.id).limit(1))
    return {
        **{name: getattr(service, name) for name in DETAIL_FIELDS},
        "status": plain_value(service.status),
        "organization": organization_out(organization),
        "locations": [
            {
                **(location_out(loc, where.get(loc.id), None) or {}),
                "description": loc.description,
                "hours": _hours([o for o in opening if o.location_id == loc.id]),
            }
            for loc in locations
        ],
        "hours": _hours([o for o in opening if o.location_id is None])
        if service_hours and not locations
        else [],
        "phones": [
            {"number": p.number, "type": p.type, "description": p.description}
            for p in _phones(db, service, locations)
        ],
        "categories": _categories(db, [service.id]).get(service.id, []),
        "languages": _languages(db, service),
        "facets": facets(service),
    }
