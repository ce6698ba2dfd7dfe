"""What the plan holds about a person, for their export (decrypted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.plans import service, suggestions
from api.plans.models import PlanGoal, PlanStep, PlanSuggestion


def export_plan(db: Session, account: Account) -> dict[str, Any]:
    goals = db.scalars(
        select(PlanGoal)
        .where(PlanGoal.member_id == account.id)
        .order_by(PlanGoal.position, PlanGoal.created_at, PlanGoal.id)
    ).all()
    steps = db.scalars(
        select(PlanStep)
        .where(PlanStep.member_id == account.id)
        .order_by(PlanStep.position, PlanStep.created_at, PlanStep.id)
    ).all()
    by_goal: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        by_goal.setdefault(step.goal_id, []).append(service.step_view(step))
    suggested = db.scalars(
        select(PlanSuggestion)
        .where(PlanSuggestion.member_id == account.id)
        .order_by(PlanSuggestion.created_at, PlanSuggestion.id)
    ).all()
    return {
        "plan": {
            "goals": [
                {**view, "steps": by_goal.get(view["id"], [])}
                for view in service.goal_views(db, goals)
            ],
            # Mentors' suggestions to this member, decrypted, whatever became of them.
            "suggestions": suggestions.views(db, list(suggested)),
        }
    }
