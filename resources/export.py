"""What the directory holds about a person, for their export: saved listings, the
reports they made and, for staff, the organization whose listings they edit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from resources.editors import service as editors
from resources.reports.models import ListingReport
from resources.reports.service import report_view
from resources.saved.service import saved


def export_directory(db: Session, account: Account) -> dict[str, Any]:
    reports = db.scalars(
        select(ListingReport)
        .where(ListingReport.reporter_id == account.id)
        .order_by(ListingReport.created_at)
    )
    return {
        "saved_listings": saved(db, account.id),
        "listing_reports": [report_view(r) for r in reports],
        "directory_editor": editors.export(db, account),
    }
