"""Members' saved listings: bookmark a service or an open job, remove it, list them.
Plain functions over a session; they only flush."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import insert_ignoring_conflicts, new_id
from resources.jobs.models import JobPosting
from resources.listings.service import find_listing
from resources.models import Service
from resources.saved.models import SavedListing


def save(
    db: Session, member: Account, resource_id: str, now: datetime, saved_id: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Bookmark a service or job; saving twice keeps one. Returns (saved, created).

    ``saved_id`` is the phone's own id for the bookmark (sync): a bookmark of the same
    listing under another id is replaced by it, so the phone never holds two."""
    kind, listing = find_listing(db, resource_id, now)
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
