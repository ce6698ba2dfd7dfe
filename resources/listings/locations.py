"""The places staff give their listings and job postings: a location of their
organization (with its address), and weekly hours written as HSDS schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.core.db import new_id
from resources.models import Address, Location, Schedule
from resources.search.hours import format_clock, parse_clock


def schedule_rows(hours: list[dict[str, Any]], **owner: str) -> list[Schedule]:
    """HSDS weekly schedules of the hours given, owned by ``owner`` (a service or a
    location), times in HSDS's "HH:MM"."""
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
