"""What the directory holds about a person, for their export: saved listings and the
reports they made."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from resources import service
from resources.models import ListingReport


def export_directory(db: Session, account: Account) -> dict[str, Any]:
    reports = db.scalars(
        select(ListingReport)
        .where(ListingReport.reporter_id == account.id)
        .order_by(ListingReport.created_at)
    )
    return {
        "saved_listings": service.saved(db, account.id),
        "listing_reports": [service.report_view(r) for r in reports],
    }
