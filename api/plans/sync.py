"""The plan's synced tables: ``plan_goals`` and ``plan_steps``, the member's own, pushable
(pushed records go through the same schemas and operations as REST), and
``plan_suggestions``, pull only: the member accepts or declines over REST (docs/plans.md)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import marshmallow as ma
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.errors import Problem
from api.plans import schemas, service, suggestions
from api.plans.models import PlanGoal, PlanStep, PlanSuggestion
from api.sync import registry
from api.sync.registry import Changes, Pull, Pusher, Rejected, SyncTable, ms

GOAL_COLUMNS: dict[str, registry.ColumnType] = {
    "area": "string",
    "title": "string",
    "why": "string",
    "status": "string",
    "target_date": "string",
    "position": "number",
    "created_at": "number",
    "updated_at": "number",
}
STEP_COLUMNS: dict[str, registry.ColumnType] = {
    "goal_id": "string",
    "title": "string",
    "notes": "string",
    "status": "string",
    "due_date": "string",
    "due_time": "string",
    "timezone": "string",
    "remind": "boolean",
    "bring": "string",
    "position": "number",
    "listing_id": "string",
    "appointment_id": "string",
    "created_at": "number",
    "updated_at": "number",
}
SUGGESTION_COLUMNS: dict[str, registry.ColumnType] = {
    "mentor_name": "string",
    "goal_id": "string",
    "title": "string",
    "notes": "string",
    "status": "string",
    "step_id": "string",
    "created_at": "number",
    "decided_at": "number",
}
GOAL_PUSHED = ("area", "title", "why", "status", "target_date", "position")
STEP_PUSHED = (
    "goal_id", "title", "notes", "status", "due_date", "due_time", "timezone", "remind",
    "bring", "position", "listing_id", "appointment_id",
)  # fmt: skip
# Null on the phone means "not set": these are left out rather than sent as null.
NOT_NULL = {"area", "title", "status", "position", "remind", "bring", "goal_id"}


def goal_raw(view: dict[str, Any], goal: PlanGoal) -> registry.Raw:
    target = goal.target_date.isoformat() if goal.target_date else None
    return {
        **{name: view[name] for name in ("id", "title", "why", "position")},
        "area": str(goal.area),
        "status": str(goal.status),
        "target_date": target,
        "created_at": ms(goal.created_at),
        "updated_at": ms(goal.updated_at),
    }


def step_raw(step: PlanStep) -> registry.Raw:
    view = service.step_view(step)
    return {
        **{name: view[name] for name in STEP_COLUMNS if name in view},
        "status": str(step.status),
        "due_date": step.due_date.isoformat() if step.due_date else None,
        "remind": bool(step.remind),
        "bring": json.dumps(view["bring"]),
        "created_at": ms(step.created_at),
        "updated_at": ms(step.updated_at),
        "id": step.id,
    }


def _goal_raws(db: Session, goals: list[PlanGoal]) -> list[registry.Raw]:
    views = service.goal_views(db, goals)
    return [goal_raw(view, goal) for view, goal in zip(views, goals, strict=True)]


def _pull_goals(pull: Pull) -> Changes:
    return registry.owned(pull, "plan_goals", PlanGoal, "member_id", _goal_raws)


def _pull_steps(pull: Pull) -> Changes:
    return registry.owned(
        pull, "plan_steps", PlanStep, "member_id", lambda _db, rows: [step_raw(r) for r in rows]
    )


def _suggestion_raws(db: Session, rows: list[PlanSuggestion]) -> list[registry.Raw]:
    return [
        {
            **{name: view[name] for name in ("id", "mentor_name", "goal_id", "title", "notes")},
            "status": str(view["status"]),
            "step_id": view["step_id"],
            "created_at": ms(view["created_at"]),
            "decided_at": ms(view["decided_at"]),
        }
        for view in suggestions.views(db, rows)
    ]


def _pull_suggestions(pull: Pull) -> Changes:
    return registry.owned(pull, "plan_suggestions", PlanSuggestion, "member_id", _suggestion_raws)


def _fields(raw: registry.Raw, pushed: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in pushed:
        if name not in raw or (raw[name] is None and name in NOT_NULL):
            continue
        value = raw[name]
        if name == "bring":
            try:
                value = json.loads(value) if isinstance(value, str) and value else []
            except ValueError:
                raise Rejected(name) from None
        fields[name] = "" if value is None and name in ("why", "notes") else value
    return fields


def _load(schema: ma.Schema, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(fields)
    except ma.ValidationError:
        raise Rejected(record_id) from None
    return loaded


def _prepare_goal(
    db: Session, member: Account, record_id: str, raw: registry.Raw, exists: bool
) -> dict[str, Any]:
    schema = schemas.GoalFields() if exists else schemas.GoalCreateSchema()
    return _load(schema, record_id, _fields(raw, GOAL_PUSHED))


def _save_goal(
    db: Session, member: Account, record_id: str, fields: dict[str, Any], exists: bool,
    now: datetime,
) -> None:  # fmt: skip
    if exists:
        service.update_goal(db, service.get_goal(db, member.id, record_id), fields, now)
    else:
        service.create_goal(db, member, {**fields, "id": record_id}, now)


def _delete_goal(db: Session, member: Account, record_id: str, now: datetime) -> None:
    service.delete_goal(db, service.get_goal(db, member.id, record_id))


def _prepare_step(
    db: Session, member: Account, record_id: str, raw: registry.Raw, exists: bool
) -> dict[str, Any]:
    """Every check REST makes, before anything is written (a goal made in the same push
    is not stored yet: only another member's goal is refused here)."""
    fields = _fields(raw, STEP_PUSHED)
    goal_id = fields.pop("goal_id", None)
    loaded = _load(schemas.StepFields(), record_id, fields)
    if not exists and ("title" not in loaded or goal_id is None):
        raise Rejected(record_id)
    goal = db.get(PlanGoal, goal_id) if goal_id is not None else None
    if goal is not None and goal.member_id != member.id:
        raise Rejected(record_id)
    current = service.current_of(service.get_step(db, member.id, record_id) if exists else None)
    try:
        service.checked_step(db, member, current, loaded, goal_exists=False)
    except Problem:
        raise Rejected(record_id) from None
    return loaded if goal_id is None else {**loaded, "goal_id": goal_id}


def _save_step(
    db: Session, member: Account, record_id: str, fields: dict[str, Any], exists: bool,
    now: datetime,
) -> None:  # fmt: skip
    if exists:
        step = service.get_step(db, member.id, record_id)
        service.update_step(db, member, step, fields, now)
    else:
        goal = service.get_goal(db, member.id, fields.pop("goal_id"))
        service.create_step(db, member, goal, {**fields, "id": record_id}, now)


def _delete_step(db: Session, member: Account, record_id: str, now: datetime) -> None:
    service.delete_step(db, service.get_step(db, member.id, record_id))


# The tables this domain's phones sync, registered by the domain's init_app.
TABLES = (
    SyncTable(
        "plan_goals",
        "member",
        GOAL_COLUMNS,
        _pull_goals,
        Pusher(PlanGoal, "member_id", _prepare_goal, _save_goal, _delete_goal),
    ),
    SyncTable(
        "plan_steps",
        "member",
        STEP_COLUMNS,
        _pull_steps,
        Pusher(PlanStep, "member_id", _prepare_step, _save_step, _delete_step),
    ),
    SyncTable("plan_suggestions", "member", SUGGESTION_COLUMNS, _pull_suggestions),
)
