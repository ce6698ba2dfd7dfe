"""The member's listing area: which directory listings sync to their phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core import signals
from api.core.db import utcnow
from api.core.errors import not_found
from api.sync.models import MemberArea


@dataclass(frozen=True)
class Area:
    """A point and a radius (what a MemberArea was, before it changed)."""

    latitude: float
    longitude: float
    radius_km: float

    @classmethod
    def of(cls, found: MemberArea | None) -> Area | None:
        if found is None:
            return None
        return cls(found.latitude, found.longitude, found.radius_km)


def get(db: Session, member: Account) -> MemberArea:
    found = db.get(MemberArea, member.id)
    if found is None:
        raise not_found("area; set one with PUT")
    return found


def put(db: Session, member: Account, fields: dict[str, Any], now: datetime) -> MemberArea:
    found = db.get(MemberArea, member.id)
    before = Area.of(found)
    if found is None:
        found = MemberArea(account_id=member.id, updated_at=now, **fields)
        db.add(found)
    else:
        for name, value in fields.items():
            setattr(found, name, value)
        found.updated_at = now
    db.flush()
    signals.area_changed.send(member, db=db, before=before, after=Area.of(found), now=now)
    return found


def delete(db: Session, member: Account) -> None:
    found = db.get(MemberArea, member.id)
    if found is not None:
        before = Area.of(found)
        db.delete(found)
        db.flush()
        signals.area_changed.send(member, db=db, before=before, after=None, now=utcnow())
