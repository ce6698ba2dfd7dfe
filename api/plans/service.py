"""Plan operations: plain functions over a session; they only flush.

Goals and steps belong to their member. Mentors never reach these functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core import claims, signals
from api.core.db import new_id
from api.core.errors import Problem, not_found
from api.core.pagination import paginate
from api.plans import links, templates
from api.plans.models import PlanGoal, PlanStep, StepStatus

GOAL_FIELDS = ("id", "area", "title", "why", "status", "target_date", "position")
GOAL_STAMPS = ("created_at", "updated_at")
STEP_PLAIN = (
    "id", "goal_id", "title", "notes", "status", "due_date", "timezone", "remind",
    "position", "listing_id", "appointment_id", "created_at", "updated_at",
)  # fmt: skip


def invalid(field: str, message: str) -> Problem:
    return Problem(422, message, kind="validation-error", errors={field: [message]})


def get_goal(db: Session, member_id: str, goal_id: str) -> PlanGoal:
    """The member's own goal; anyone else's (or none) is 'not found'."""
    goal = db.get(PlanGoal, goal_id)
    if goal is None or goal.member_id != member_id:
        raise not_found("goal")
    return goal


def get_step(db: Session, member_id: str, step_id: str) -> PlanStep:
    step = db.get(PlanStep, step_id)
    if step is None or step.member_id != member_id:
        raise not_found("step")
    return step


def list_goals(db: Session, member_id: str, page: int, page_size: int) -> tuple[list[Any], int]:
    query = (
        select(PlanGoal)
        .where(PlanGoal.member_id == member_id)
        .order_by(PlanGoal.position, PlanGoal.created_at, PlanGoal.id)
    )
    return paginate(db, query, page, page_size)


def list_steps(db: Session, goal: PlanGoal, page: int, page_size: int) -> tuple[list[Any], int]:
    query = (
        select(PlanStep)
        .where(PlanStep.goal_id == goal.id)
        .order_by(PlanStep.position, PlanStep.created_at, PlanStep.id)
    )
    return paginate(db, query, page, page_size)


def create_goal(
    db: Session, member: Account, fields: dict[str, Any], now: datetime
) -> tuple[PlanGoal, bool]:
    """Create a goal, or update the one a retry's client id already names. With
    ``template_id`` the new goal adopts that template: its title, why and steps are copied
    in (api.plans.templates.adopt), and the member's own fields win."""
    template_id = fields.pop("template_id", None)
    template = templates.get(db, template_id) if template_id else None
    row = {
        "id": fields.pop("id", None) or new_id(),
        "member_id": member.id,
        "area": template.area if template else fields["area"],
        "title_sealed": "",
        "status": "active",
        "position": 0,
        "created_at": now,
        "updated_at": now,
    }
    goal, created = claims.claim(db, PlanGoal, row, owner="member_id", owner_id=member.id)
    if not created:
        return update_goal(db, goal, fields, now), False
    if template is not None:
        return templates.adopt(db, member, goal, template, fields, now), True
    for name, value in fields.items():
        setattr(goal, name, value)
    db.flush()
    return goal, True


def update_goal(db: Session, goal: PlanGoal, fields: dict[str, Any], now: datetime) -> PlanGoal:
    status_changed = "status" in fields and fields["status"] != goal.status
    for name, value in fields.items():
        setattr(goal, name, value)
    goal.updated_at = now
    db.flush()
    if status_changed:  # a goal done or dropped takes its steps' reminders with it
        steps = list(db.scalars(select(PlanStep).where(PlanStep.goal_id == goal.id)))
        _steps_changed(db, goal.member_id, steps, now)
    return goal


def _steps_changed(db: Session, member_id: str, steps: list[PlanStep], now: datetime) -> None:
    """Tell the domains that react to steps (reminders) in this transaction."""
    member = db.get(Account, member_id)
    if steps and member is not None:
        signals.plan_steps_changed.send(member, db=db, steps=steps, now=now)


def delete_goal(db: Session, goal: PlanGoal) -> None:
    """Delete a goal; its steps go with it (ON DELETE CASCADE, tombstones by trigger)."""
    db.delete(goal)
    db.flush()
    db.expire_all()


def progress(db: Session, goal_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """{goal id: {done, total}}, counting the steps not skipped."""
    if not goal_ids:
        return {}
    done = func.sum(case((PlanStep.status == StepStatus.DONE, 1), else_=0))
    rows = db.execute(
        select(PlanStep.goal_id, done, func.count())
        .where(PlanStep.goal_id.in_(goal_ids), PlanStep.status != StepStatus.SKIPPED)
        .group_by(PlanStep.goal_id)
    )
    return {goal_id: {"done": int(d or 0), "total": int(t)} for goal_id, d, t in rows}


def goal_views(db: Session, goals: Sequence[PlanGoal]) -> list[dict[str, Any]]:
    counts = progress(db, [g.id for g in goals])
    return [
        {
            **{name: getattr(g, name) for name in (*GOAL_FIELDS, *GOAL_STAMPS)},
            "progress": counts.get(g.id, {"done": 0, "total": 0}),
        }
        for g in goals
    ]


def bring_of(step: PlanStep) -> list[str]:
    text = step.bring_text
    return list(json.loads(text)) if text else []


def step_view(step: PlanStep) -> dict[str, Any]:
    due_time = step.due_time.strftime("%H:%M") if step.due_time else None
    return {
        **{name: getattr(step, name) for name in STEP_PLAIN},
        "due_time": due_time,
        "bring": bring_of(step),
    }


def _check_links(db: Session, member_id: str, fields: dict[str, Any]) -> None:
    for field in links.FIELDS:
        value = fields.get(field)
        if value is not None and not links.may_link(current_app, db, member_id, field, value):
            what = "listing" if field == "listing_id" else "appointment"
            raise invalid(field, f"This {what} cannot be linked.")


def checked_step(
    db: Session,
    member: Account,
    current: dict[str, Any],
    fields: dict[str, Any],
    *,
    goal_exists: bool = True,
) -> dict[str, Any]:
    """``fields`` checked against the step as it would be after them, ready to write
    (a Problem if not). ``goal_exists=False``: the goal may be created later in a push."""
    fields = dict(fields)
    _check_links(db, member.id, fields)
    if "goal_id" in fields and goal_exists:
        fields["goal_id"] = get_goal(db, member.id, fields["goal_id"]).id
    if fields.get("due_time") is not None:
        hours, minutes = fields["due_time"].split(":")
        fields["due_time"] = time(int(hours), int(minutes))
    if "bring" in fields:
        items = fields.pop("bring")
        fields["bring_text"] = json.dumps(items) if items else None
    after = {**current, **{k: v for k, v in fields.items() if k in current}}
    if after["due_time"] is not None and after["due_date"] is None:
        raise invalid("due_time", "A time needs a due_date.")
    if after["remind"] and after["due_date"] is None:
        raise invalid("remind", "A reminder needs a due_date.")
    if after["due_time"] is not None and after["timezone"] is None:
        if not member.timezone:
            raise invalid("timezone", "A time needs its time zone.")
        fields["timezone"] = member.timezone
    return fields


def current_of(step: PlanStep | None) -> dict[str, Any]:
    names = ("due_date", "due_time", "timezone", "remind")
    if step is None:
        return {"due_date": None, "due_time": None, "timezone": None, "remind": False}
    return {name: getattr(step, name) for name in names}


def create_step(
    db: Session, member: Account, goal: PlanGoal, fields: dict[str, Any], now: datetime
) -> tuple[PlanStep, bool]:
    """Create a step of ``goal``, or update the one a retry's client id already names."""
    step_id = fields.pop("id", None) or new_id()
    existing = db.get(PlanStep, step_id)
    if existing is not None and existing.member_id == member.id:
        return update_step(db, member, existing, fields, now), False
    checked = checked_step(db, member, current_of(None), fields)
    row = {
        "id": step_id,
        "goal_id": goal.id,
        "member_id": member.id,
        "title_sealed": "",
        "status": "todo",
        "remind": False,
        "position": 0,
        "created_at": now,
        "updated_at": now,
    }
    step, created = claims.claim(db, PlanStep, row, owner="member_id", owner_id=member.id)
    if not created:
        return update_step(db, member, step, fields, now), False
    for name, value in checked.items():
        setattr(step, name, value)
    db.flush()
    _steps_changed(db, member.id, [step], now)
    return step, True


def update_step(
    db: Session, member: Account, step: PlanStep, fields: dict[str, Any], now: datetime
) -> PlanStep:
    for name, value in checked_step(db, member, current_of(step), fields).items():
        setattr(step, name, value)
    step.updated_at = now
    db.flush()
    _steps_changed(db, member.id, [step], now)
    return step


def delete_step(db: Session, step: PlanStep) -> None:
    """Delete a step; its reminders go with it (ON DELETE CASCADE)."""
    db.delete(step)
    db.flush()
