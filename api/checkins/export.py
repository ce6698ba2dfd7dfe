"""What the check-ins domain holds about a person, for their export (decrypted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.checkins import service
from api.checkins.models import Checkin, CheckinResponse


def export_checkins(db: Session, account: Account) -> dict[str, Any]:
    checkins = db.scalars(
        select(Checkin).where(Checkin.member_id == account.id).order_by(Checkin.created_at)
    ).all()
    # A mentor's own replies (to members who still share with them or not).
    written = db.scalars(
        select(CheckinResponse)
        .where(CheckinResponse.mentor_id == account.id)
        .order_by(CheckinResponse.created_at)
    )
    return {
        "checkins": service.member_view(db, checkins),
        "responses_written": [
            {"id": r.id, "checkin_id": r.checkin_id, "body": r.body, "created_at": r.created_at}
            for r in written
        ],
    }
