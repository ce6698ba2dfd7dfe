"""The member's listing area: which directory listings sync to their phone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.errors import not_found
from api.sync.models import MemberArea


def get(db: Session, member: Account) -> MemberArea:
    found = db.get(MemberArea, member.id)
    if found is None:
        raise not_found("area; set one with PUT")
    return found


def put(db: Session, member: Account, fields: dict[str, Any], now: datetime) -> MemberArea:
    found = db.get(MemberArea, member.id)
    if found is None:
        found = MemberArea(account_id=member.id, updated_at=now, **fields)
        db.add(found)
    else:
        for name, value in fields.items():
            setattr(found, name, value)
        found.updated_at = now
    db.flush()
    return found


def delete(db: Session, member: Account) -> None:
    found = db.get(MemberArea, member.id)
    if found is not None:
        db.delete(found)
        db.flush()
