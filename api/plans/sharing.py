"""What a mentor sees of a member's plan, by how much the grant shares: ``progress`` (goal
areas and titles, step titles, statuses and dates, the member's own count of steps done)
or ``full`` (also the goal's why, the step's notes, bring list and links). Never anything
else: no score, no ranking, nothing derived about the person.

``api.mentors.access`` decides the read and logs it; this only shapes the member's plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.core.db import in_chunks
from api.plans import service
from api.plans.models import PlanGoal, PlanStep

GOAL_PROGRESS = ("id", "area", "title", "status", "target_date", "position")
GOAL_FULL = ("why",)
STEP_PROGRESS = ("id", "goal_id", "title", "status", "due_date", "due_time", "timezone", "position")
STEP_FULL = ("notes", "bring", "listing_id", "appointment_id")


def goals_of(db: Session, member_id: str) -> list[PlanGoal]:
    return list(
        db.scalars(
            select(PlanGoal)
            .where(PlanGoal.member_id == member_id)
            .order_by(PlanGoal.position, PlanGoal.created_at, PlanGoal.id)
        )
    )


def steps_of(db: Session, member_id: str) -> list[PlanStep]:
    return list(
        db.scalars(
            select(PlanStep)
            .where(PlanStep.member_id == member_id)
            .order_by(PlanStep.position, PlanStep.created_at, PlanStep.id)
        )
    )


def shape_step(step: PlanStep, full: bool) -> dict[str, Any]:
    """A step with only the fields the grant shares (the rest are absent, not null)."""
    view = service.step_view(step)
    names = STEP_PROGRESS + STEP_FULL if full else STEP_PROGRESS
    return {name: view[name] for name in names}


def shape_goals(
    db: Session, goals: Sequence[PlanGoal], steps: Sequence[PlanStep], full: bool
) -> list[dict[str, Any]]:
    by_goal: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        by_goal.setdefault(step.goal_id, []).append(shape_step(step, full))
    names = GOAL_PROGRESS + GOAL_FULL if full else GOAL_PROGRESS
    return [
        {
            **{name: view[name] for name in names},
            "progress": view["progress"],
            "steps": by_goal.get(view["id"], []),
        }
        for view in service.goal_views(db, goals)
    ]


def shared_plan(db: Session, member_id: str, full: bool) -> tuple[dict[str, Any], list[str]]:
    """The member's plan as a grant shows it, and the ids of the goals and steps shown
    (for the access log). ``progress`` is the member's own count, over the whole plan."""
    goals, steps = goals_of(db, member_id), steps_of(db, member_id)
    shaped = shape_goals(db, goals, steps, full)
    done = sum(goal["progress"]["done"] for goal in shaped)
    total = sum(goal["progress"]["total"] for goal in shaped)
    plan = {"goals": shaped, "progress": {"done": done, "total": total}}
    return plan, [g.id for g in goals] + [s.id for s in steps]


def steps_changed(
    db: Session, member_id: str, changed: Callable[[Any], Any] | None
) -> list[PlanStep]:
    """The member's steps (for a mentor's sync): all of them (``changed`` None), or those
    that changed, or whose goal changed, by ``changed`` (a condition on a version column)."""
    query = select(PlanStep).where(PlanStep.member_id == member_id)
    if changed is not None:
        goals = select(PlanGoal.id).where(
            PlanGoal.member_id == member_id, changed(PlanGoal.sync_version)
        )
        query = query.where(or_(changed(PlanStep.sync_version), PlanStep.goal_id.in_(goals)))
    return list(db.scalars(query.order_by(PlanStep.id)))


def goal_fields(db: Session, steps: Sequence[PlanStep]) -> dict[str, dict[str, Any]]:
    """{goal id: its area, title and status}: what a shared step carries of its goal."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in in_chunks(sorted({s.goal_id for s in steps})):
        for goal in db.scalars(select(PlanGoal).where(PlanGoal.id.in_(chunk))):
            found[goal.id] = {
                "area": str(goal.area),
                "title": goal.title,
                "status": str(goal.status),
            }
    return found
