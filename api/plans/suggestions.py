"""Mentors' suggestions: a step a mentor proposes for a member's plan. A suggestion
changes nothing by itself: the member accepts it (it becomes a step of the goal the member
picks) or declines it (and it stays declined). Plain functions over a session; they only
flush. Whether a mentor may suggest is ``api.mentors.access``'s decision, made before
``suggest`` is called."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.accounts.service import display_names
from api.core import claims
from api.core.db import new_id
from api.core.errors import Problem, not_found
from api.core.pagination import paginate
from api.plans import service
from api.plans.models import PlanGoal, PlanStep, PlanSuggestion, SuggestionStatus

FIELDS = ("id", "mentor_id", "goal_id", "title", "notes", "status", "step_id")
STAMPS = ("created_at", "decided_at")


def _members_goal(db: Session, member_id: str, goal_id: str) -> PlanGoal:
    """A goal of this member's, or 422 naming ``goal_id`` (a body field, not the path)."""
    goal = db.get(PlanGoal, goal_id)
    if goal is None or goal.member_id != member_id:
        raise service.invalid("goal_id", "No goal of this member has this id.")
    return goal


def suggest(
    db: Session,
    member_id: str,
    mentor_id: str,
    grant_id: str,
    fields: dict[str, Any],
    now: datetime,
) -> tuple[PlanSuggestion, bool]:
    """A mentor's suggestion, sealed under the member's key; and whether this call made it.
    A retry with the same client id answers the suggestion as it is (never a second one,
    and never an edit: the member may have decided on it already)."""
    goal_id = fields.get("goal_id")
    if goal_id is not None:
        _members_goal(db, member_id, goal_id)
    row = {
        "id": fields.get("id") or new_id(),
        "member_id": member_id,
        "mentor_id": mentor_id,
        "grant_id": grant_id,
        "goal_id": goal_id,
        "title_sealed": "",
        "status": SuggestionStatus.PENDING,
        "created_at": now,
        "updated_at": now,
    }
    suggestion, created = claims.claim(
        db, PlanSuggestion, row, owner="member_id", owner_id=member_id
    )
    if not created:
        if suggestion.mentor_id != mentor_id:
            # The member's other mentor (or an erased one) made it: not this one's to see.
            raise Problem(
                409,
                "This id is already in use; let the phone pick another.",
                kind="id-conflict",
                errors={"id": ["Already in use."]},
            )
        return suggestion, False
    suggestion.title = fields["title"]
    suggestion.notes = fields.get("notes")
    db.flush()
    return suggestion, True


def get(db: Session, member_id: str, suggestion_id: str) -> PlanSuggestion:
    """The member's own suggestion; anyone else's (or none) is 'not found'."""
    suggestion = db.get(PlanSuggestion, suggestion_id)
    if suggestion is None or suggestion.member_id != member_id:
        raise not_found("suggestion")
    return suggestion


def views(db: Session, suggestions: list[PlanSuggestion]) -> list[dict[str, Any]]:
    names = display_names(db, {s.mentor_id for s in suggestions if s.mentor_id})
    return [
        {
            **{name: getattr(s, name) for name in (*FIELDS, *STAMPS)},
            "mentor_name": names.get(s.mentor_id) if s.mentor_id else None,
        }
        for s in suggestions
    ]


def list_for_member(
    db: Session,
    member_id: str,
    status: SuggestionStatus | None,
    page: int,
    page_size: int,
) -> tuple[list[dict[str, Any]], int]:
    """The member's suggestions, newest first."""
    query = select(PlanSuggestion).where(PlanSuggestion.member_id == member_id)
    if status is not None:
        query = query.where(PlanSuggestion.status == status)
    query = query.order_by(PlanSuggestion.created_at.desc(), PlanSuggestion.id)
    suggestions, total = paginate(db, query, page, page_size)
    return views(db, list(suggestions)), total


def _decide(
    db: Session, suggestion: PlanSuggestion, status: SuggestionStatus, now: datetime
) -> bool:
    """Move a pending suggestion to ``status``; True when this call did (one conditional
    UPDATE decides between two racing requests). Already so: False. Decided otherwise: 409."""
    taken = db.execute(
        update(PlanSuggestion)
        .where(
            PlanSuggestion.id == suggestion.id,
            PlanSuggestion.status == SuggestionStatus.PENDING,
        )
        .values(status=status, decided_at=now, updated_at=now)
        .returning(PlanSuggestion.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.refresh(suggestion)
    if taken is not None:
        return True
    _not_decided_otherwise(suggestion, status)
    return False


def _not_decided_otherwise(suggestion: PlanSuggestion, status: SuggestionStatus) -> None:
    if suggestion.status not in (SuggestionStatus.PENDING, status):
        raise Problem(
            409,
            f"This suggestion was already {suggestion.status.value}; that cannot be undone.",
            kind=f"suggestion-{suggestion.status.value}",
        )


def accept(
    db: Session, member: Account, suggestion: PlanSuggestion, goal_id: str, now: datetime
) -> PlanSuggestion:
    """The suggestion becomes a step (its title and notes) of the member's goal ``goal_id``.
    Accepting it again answers the same; a declined one cannot be accepted (409)."""
    if suggestion.status == SuggestionStatus.ACCEPTED:
        return suggestion
    _not_decided_otherwise(suggestion, SuggestionStatus.ACCEPTED)
    goal = _members_goal(db, member.id, goal_id)
    if not _decide(db, suggestion, SuggestionStatus.ACCEPTED, now):
        return suggestion
    # Last in the goal: after the member's own steps.
    last = db.scalar(select(func.max(PlanStep.position)).where(PlanStep.goal_id == goal.id))
    fields: dict[str, Any] = {
        "title": suggestion.title,
        "position": 0 if last is None else last + 1,
    }
    if suggestion.notes:
        fields["notes"] = suggestion.notes
    step, _ = service.create_step(db, member, goal, fields, now)
    suggestion.step_id = step.id
    suggestion.goal_id = goal.id
    db.flush()
    return suggestion


def decline(db: Session, suggestion: PlanSuggestion, now: datetime) -> PlanSuggestion:
    """Declined stays declined; declining again answers the same; an accepted one: 409."""
    _decide(db, suggestion, SuggestionStatus.DECLINED, now)
    return suggestion
