"""Check-in operations: plain functions over a session; they only flush.

A check-in belongs to its member. Mentors never reach these functions: they read through
``api.mentors.access``, which decides what a grant lets them see.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.checkins.models import Checkin, CheckinResponse
from api.core import claims
from api.core.db import new_id
from api.core.errors import Problem, not_found
from api.core.pagination import paginate

# A phone's clock may be off; a check-in "made" further ahead than this is refused.
CLOCK_SLACK = timedelta(days=1)


def get_own(db: Session, member_id: str, checkin_id: str) -> Checkin:
    """The member's own check-in; anyone else's (or none) is 'not found'."""
    checkin = db.get(Checkin, checkin_id)
    if checkin is None or checkin.member_id != member_id:
        raise not_found("check-in")
    return checkin


def list_own(db: Session, member_id: str, page: int, page_size: int) -> tuple[list[Checkin], int]:
    query = (
        select(Checkin)
        .where(Checkin.member_id == member_id)
        .order_by(Checkin.created_at.desc(), Checkin.id)
    )
    return paginate(db, query, page, page_size)


def _check_time(fields: dict[str, Any], now: datetime) -> None:
    recorded_at = fields.get("recorded_at")
    if recorded_at is not None and recorded_at > now + CLOCK_SLACK:
        raise Problem(
            422,
            "The check-in's time is in the future; check the phone's clock.",
            kind="validation-error",
            errors={"recorded_at": ["Must not be in the future."]},
        )


def _apply(checkin: Checkin, fields: dict[str, Any], now: datetime) -> None:
    _check_time(fields, now)
    for name, value in fields.items():
        if name == "recorded_at" and value is not None:
            value = value.astimezone(UTC)  # answered as stored: in UTC
        setattr(checkin, name, value)


def create(
    db: Session, member: Account, fields: dict[str, Any], now: datetime
) -> tuple[Checkin, bool]:
    """Create a check-in, or, when the phone retries with an id it already created, update
    that one with the fields given. Returns (check-in, created).

    The id is claimed once (``api.core.claims``): a retry racing the first request waits
    for it and then updates.
    """
    checkin_id = fields.pop("id", None) or new_id()
    _check_time(fields, now)
    row = {
        "id": checkin_id,
        "member_id": member.id,
        "mood": fields.get("mood", 3),
        "needs": [],
        "help_requested": False,
        "recorded_at": now,
        "created_at": now,
        "updated_at": now,
    }
    checkin, created = claims.claim(db, Checkin, row, owner="member_id", owner_id=member.id)
    if not created:
        return update(db, checkin, fields, now), False
    _apply(checkin, fields, now)
    db.flush()
    if checkin.help_requested:
        _ask_for_help(db, checkin, now)
    return checkin, True


def update(db: Session, checkin: Checkin, fields: dict[str, Any], now: datetime) -> Checkin:
    asked_before = checkin.help_requested
    _apply(checkin, fields, now)
    checkin.updated_at = now
    db.flush()
    if checkin.help_requested and not asked_before:
        _ask_for_help(db, checkin, now)
    return checkin


def delete(db: Session, checkin: Checkin) -> None:
    """Delete a check-in; mentors' replies to it go with it (ON DELETE CASCADE)."""
    db.delete(checkin)
    db.flush()


def _ask_for_help(db: Session, checkin: Checkin, now: datetime) -> None:
    from api.mentors import alerts

    alerts.help_requested(db, checkin, now)


def responses_by_checkin(
    db: Session, checkin_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Mentors' replies to these check-ins, oldest first, with the mentor's name."""
    if not checkin_ids:
        return {}
    rows = db.execute(
        select(CheckinResponse, Account.display_name, Account.username)
        .outerjoin(Account, Account.id == CheckinResponse.mentor_id)
        .where(CheckinResponse.checkin_id.in_(checkin_ids))
        .order_by(CheckinResponse.created_at, CheckinResponse.id)
    ).all()
    found: dict[str, list[dict[str, Any]]] = {}
    for response, display_name, username in rows:
        found.setdefault(response.checkin_id, []).append(
            {
                "id": response.id,
                "checkin_id": response.checkin_id,
                "mentor_id": response.mentor_id,
                "mentor_name": display_name or username,
                "body": response.body,
                "created_at": response.created_at,
            }
        )
    return found


CHECKIN_FIELDS = (
    "id",
    "mood",
    "needs",
    "wins",
    "note",
    "place",
    "help_requested",
    "recorded_at",
    "created_at",
    "updated_at",
)


def member_view(db: Session, checkins: Sequence[Checkin]) -> list[dict[str, Any]]:
    """The member's own check-ins, whole, each with its replies."""
    replies = responses_by_checkin(db, [c.id for c in checkins])
    return [
        {**{name: getattr(c, name) for name in CHECKIN_FIELDS}, "responses": replies.get(c.id, [])}
        for c in checkins
    ]


def respond(
    db: Session, checkin: Checkin, mentor: Account, body: str, now: datetime
) -> CheckinResponse:
    """A mentor's reply; the caller has already decided the mentor may see the check-in."""
    response = CheckinResponse(
        checkin_id=checkin.id,
        member_id=checkin.member_id,
        mentor_id=mentor.id,
        created_at=now,
        updated_at=now,
    )
    response.body = body
    db.add(response)
    db.flush()
    return response
