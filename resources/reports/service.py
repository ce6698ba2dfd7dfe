"""Members' reports of wrong listings: a member files one, the listing's organization's
staff page through them and resolve them. Plain functions over a session; they only
flush."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import new_id
from api.core.errors import not_found
from api.core.pagination import paginate
from resources.editors import service as editors
from resources.listings.service import find_listing
from resources.reports.models import ListingReport


def report(
    db: Session, member: Account, resource_id: str, fields: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A member says a listing is wrong; its organization's staff see the report."""
    kind, listing = find_listing(db, resource_id, now)
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
        .where(ListingReport.organization_id == editors.staff_organization(db, staff))
        .order_by(ListingReport.resolved_at.is_not(None), ListingReport.created_at.desc())
    )
    rows, total = paginate(db, query, page, page_size)
    return [report_view(r) for r in rows], total


def resolve_report(
    db: Session, staff: Account, report_id: str, resolved: bool, now: datetime
) -> dict[str, Any]:
    row = db.get(ListingReport, report_id)
    if row is None or row.organization_id != editors.organization_of(db, staff):
        raise not_found("report")
    row.resolved_at = now if resolved else None
    db.flush()
    return report_view(row)
