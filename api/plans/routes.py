"""The plan's goal and step paths. Thin: parse, authorize, call the operation, respond."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.claims import created_or_retried
from api.core.db import get_session, utcnow
from api.core.pagination import PageArgs, envelope
from api.plans import schemas, service
from api.plans.models import PlanGoal

plan_blp = Blueprint(
    "plans",
    __name__,
    url_prefix="/api/v1/plan",
    description="A member's own reentry plan: goals and their steps (docs/plans.md).",
)


def _goal(goal: PlanGoal) -> dict[str, Any]:
    return service.goal_views(get_session(), [goal])[0]


@plan_blp.route("/goals", methods=["GET"])
@login_required(Role.MEMBER)
@plan_blp.arguments(PageArgs, location="query")
@plan_blp.response(200, schemas.GoalPageSchema)
def list_goals(args: dict[str, Any]) -> dict[str, Any]:
    """The member's goals by position, then creation, each with its steps' progress."""
    db = get_session()
    goals, total = service.list_goals(db, current_account().id, **args)
    return envelope(service.goal_views(db, goals), total, args)


@plan_blp.route("/goals", methods=["POST"])
@login_required(Role.MEMBER)
@plan_blp.arguments(schemas.GoalCreateSchema)
@created_or_retried(plan_blp, schemas.GoalSchema)
def create_goal(body: dict[str, Any]) -> Any:
    """Add a goal. A retry with the same client id updates it instead of making a second."""
    goal, created = service.create_goal(get_session(), current_account(), body, utcnow())
    return _goal(goal), created


@plan_blp.route("/goals/<id:goal_id>", methods=["GET"])
@login_required(Role.MEMBER)
@plan_blp.response(200, schemas.GoalSchema)
def get_goal(goal_id: str) -> Any:
    """One of the member's goals; someone else's id is 404, as one that never existed."""
    return _goal(service.get_goal(get_session(), current_account().id, goal_id))


@plan_blp.route("/goals/<id:goal_id>", methods=["PATCH"])
@login_required(Role.MEMBER)
@plan_blp.arguments(schemas.GoalUpdateSchema)
@plan_blp.response(200, schemas.GoalSchema)
def patch_goal(changes: dict[str, Any], goal_id: str) -> Any:
    db = get_session()
    goal = service.get_goal(db, current_account().id, goal_id)
    return _goal(service.update_goal(db, goal, changes, utcnow()))


@plan_blp.route("/goals/<id:goal_id>", methods=["DELETE"])
@login_required(Role.MEMBER)
@plan_blp.response(204)
def delete_goal(goal_id: str) -> None:
    """Delete a goal and its steps."""
    db = get_session()
    service.delete_goal(db, service.get_goal(db, current_account().id, goal_id))


@plan_blp.route("/goals/<id:goal_id>/steps", methods=["GET"])
@login_required(Role.MEMBER)
@plan_blp.arguments(PageArgs, location="query")
@plan_blp.response(200, schemas.StepPageSchema)
def list_steps(args: dict[str, Any], goal_id: str) -> dict[str, Any]:
    """A goal's steps by position, then creation."""
    db = get_session()
    goal = service.get_goal(db, current_account().id, goal_id)
    steps, total = service.list_steps(db, goal, **args)
    return envelope([service.step_view(s) for s in steps], total, args)


@plan_blp.route("/goals/<id:goal_id>/steps", methods=["POST"])
@login_required(Role.MEMBER)
@plan_blp.arguments(schemas.StepCreateSchema)
@created_or_retried(plan_blp, schemas.StepSchema)
def create_step(body: dict[str, Any], goal_id: str) -> Any:
    """Add a step to a goal. A retry with the same client id updates it."""
    db, member = get_session(), current_account()
    goal = service.get_goal(db, member.id, goal_id)
    step, created = service.create_step(db, member, goal, body, utcnow())
    return service.step_view(step), created


@plan_blp.route("/steps/<id:step_id>", methods=["GET"])
@login_required(Role.MEMBER)
@plan_blp.response(200, schemas.StepSchema)
def get_step(step_id: str) -> Any:
    return service.step_view(service.get_step(get_session(), current_account().id, step_id))


@plan_blp.route("/steps/<id:step_id>", methods=["PATCH"])
@login_required(Role.MEMBER)
@plan_blp.arguments(schemas.StepUpdateSchema)
@plan_blp.response(200, schemas.StepSchema)
def patch_step(changes: dict[str, Any], step_id: str) -> Any:
    """Change a step; ``goal_id`` moves it to another of the member's goals."""
    db, member = get_session(), current_account()
    step = service.get_step(db, member.id, step_id)
    return service.step_view(service.update_step(db, member, step, changes, utcnow()))


@plan_blp.route("/steps/<id:step_id>", methods=["DELETE"])
@login_required(Role.MEMBER)
@plan_blp.response(204)
def delete_step(step_id: str) -> None:
    db = get_session()
    service.delete_step(db, service.get_step(db, current_account().id, step_id))
