"""Matches of a plan step, and the check that a step's ``listing_id`` names a listing.

The step's ``directory_query`` holds /api/v1/resources parameters by their exact names.
Near the member's area means its point and radius (``PUT /api/v1/me/area``), the same
area that decides which listings sync to the phone; without an area, the whole directory
is searched. A step with no search has no matches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.errors import Problem
from api.plans.service import get_step
from api.sync.models import MemberArea
from resources.jobs.models import JobPosting
from resources.listings import schemas, serialize
from resources.models import Service
from resources.search import queries
from resources.search.schemas import MAX_RADIUS_M

_args = schemas.ResourceSearchArgs()


def search_args(db: Session, member: Account, query: dict[str, Any]) -> dict[str, Any]:
    """The step's search, near the member's area, as /api/v1/resources would load it. A
    stored search the directory cannot run (an operator's template) is a 409."""
    area = db.get(MemberArea, member.id)
    near = (
        {
            "lat": area.latitude,
            "lng": area.longitude,
            "radius_m": min(area.radius_km * 1000, MAX_RADIUS_M),
        }
        if area is not None
        else {}
    )
    try:
        loaded: dict[str, Any] = _args.load({**query, **near})
    except ma.ValidationError as error:
        fields = sorted(error.messages) if isinstance(error.messages, dict) else []
        named = ", ".join(fields) or "invalid"
        raise Problem(
            409,
            f"This step's directory search cannot be run ({named}). Search the directory instead.",
            kind="conflict",
        ) from None
    return loaded


def matches(
    db: Session, member: Account, step_id: str, page: int, page_size: int, now: datetime
) -> tuple[list[dict[str, Any]], int]:
    """The listings matching the member's own step (404 for anyone else's)."""
    step = get_step(db, member.id, step_id)
    if not step.directory_query:
        return [], 0
    args = {**search_args(db, member, step.directory_query), "page": page, "page_size": page_size}
    try:
        found, total = queries.search_services(db, args, now)
    except Problem as refused:  # a stored code the directory no longer has: not the member's
        raise Problem(
            409, f"This step's directory search cannot be run. {refused.detail}", kind="conflict"
        ) from None
    point = (args["lat"], args["lng"]) if args.get("lat") is not None else None
    return serialize.hits(db, found, point), total


def may_link_listing(db: Session, member_id: str, listing_id: str) -> bool:
    """A step may link any service or job posting of the directory."""
    return db.get(Service, listing_id) is not None or db.get(JobPosting, listing_id) is not None


def query_refusals(query: dict[str, Any]) -> list[str]:
    """The parameters of a template step's search that /api/v1/resources would refuse."""
    return sorted(_args.validate(query))
