"""What the mentors domain holds about a person, for their export: grants given and
held, invites, and the access log of reads of their data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import utcnow
from api.mentors import access, service
from api.mentors.models import Invite


def export_sharing(db: Session, account: Account) -> dict[str, Any]:
    now = utcnow()
    grants, _ = service.list_grants(db, account.id, now, None, 1, 10_000)
    invites = db.scalars(
        select(Invite).where(Invite.member_id == account.id).order_by(Invite.created_at)
    )
    log, _ = access.access_log(db, account.id, 1, 1_000_000)
    return {
        "grants": grants,
        "invites": [{**service.invite_view(i), "redeemed_by": i.redeemed_by} for i in invites],
        "access_log": log,
    }
