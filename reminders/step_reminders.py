"""Reminders of the member's plan steps: a step with a due date and ``remind`` gets
reminders through the same outbox, offsets and channels as an appointment, of its own
kind (``NoticeKind.STEP_REMINDER``).

A step is due at its local time, in its zone (the member's when it has none); a step with
a date only is due by the end of that day of the member's own calendar, so "1 day before
at 10:00" is 10:00 the day before. Steps use the appointments' default channels and day
offsets (7, 3 and 1 days before at 10:00), and a step with a time also gets "2 hours
before". A step that is done, skipped or no longer reminded, or whose goal is done or
dropped, has its pending reminders cancelled; deleting a step deletes them (ON DELETE
CASCADE).

``api.plans`` never imports this domain: it sends ``signals.plan_steps_changed`` and this
module, connected in ``reminders.init_app``, re-plans in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.plans.models import REMINDABLE_STEPS, GoalStatus, PlanGoal, PlanStep
from api.plans.service import get_step
from api.sync import tracking
from reminders import deliveries, planning
from reminders.models import NoticeKind, ReminderDelivery
from reminders.reach import Configured
from reminders.service import ALL_AHEAD, Plan, add_planned, move_planned

DAY_OFFSETS = ("7d@10:00", "3d@10:00", "1d@10:00")
TIMED_OFFSETS = (*DAY_OFFSETS, "2h")
# A step with a date only is due by the end of its day.
END_OF_DAY = time(23, 59)


def due_local(step: PlanStep) -> datetime | None:
    """When the step is due, on its own wall clock (None: no due date)."""
    if step.due_date is None:
        return None
    return datetime.combine(step.due_date, step.due_time or END_OF_DAY)


def zone_of(step: PlanStep, member: Account) -> str:
    """The zone the step's due time is in. A date alone is a day of the member's own
    calendar, wherever the step says it is."""
    return (step.timezone if step.due_time is not None else None) or member.timezone


def remindable(step: PlanStep, goal: PlanGoal | None) -> bool:
    return (
        step.remind
        and step.due_date is not None
        and step.status in REMINDABLE_STEPS
        and goal is not None
        and goal.status == GoalStatus.ACTIVE
    )


def offsets_of(step: PlanStep) -> tuple[str, ...] | list[str]:
    if step.reminder_offsets:
        return step.reminder_offsets
    return TIMED_OFFSETS if step.due_time is not None else DAY_OFFSETS


def _wanted(step: PlanStep, goal: PlanGoal | None, member: Account, now: datetime) -> Plan:
    wanted: Plan = {}
    starts = due_local(step)
    if starts is None or not remindable(step, goal):
        return wanted
    for planned in planning.plan(
        starts_local=starts,
        timezone=zone_of(step, member),
        recurrence=None,
        offsets=offsets_of(step),
        member_timezone=member.timezone,
        quiet=planning.QuietHours.of(member.quiet_hours_start, member.quiet_hours_end),
        now=now,
        horizon=now + ALL_AHEAD,
    ):
        for channel in step.channels or planning.DEFAULT_CHANNELS:
            wanted[(planned.occurrence_local, planned.offset_key, channel)] = planned
    return wanted


def replan_step(db: Session, step: PlanStep, member: Account, now: datetime) -> None:
    """Make the outbox match the step: add what is missing, move what changed, cancel
    what is no longer wanted. Idempotent (the step key is unique)."""
    # Concurrent re-plans of one step queue here (SQLite's writers are serial anyway).
    db.execute(select(PlanStep.id).where(PlanStep.id == step.id).with_for_update())
    wanted = _wanted(step, db.get(PlanGoal, step.goal_id), member, now)
    rd = ReminderDelivery
    move_planned(
        db.scalars(select(rd).where(rd.step_id == step.id, rd.kind == NoticeKind.STEP_REMINDER)),
        wanted,
    )
    add_planned(
        db,
        wanted,
        now,
        kind=NoticeKind.STEP_REMINDER,
        step_id=step.id,
        member_id=step.member_id,
    )
    tracking.mark_pending(db, "reminder_deliveries")
    db.flush()


def replan_steps(db: Session, member: Account, steps: Iterable[PlanStep], now: datetime) -> None:
    for step in steps:
        if step.member_id == member.id:
            replan_step(db, step, member, now)


def replan_member_steps(db: Session, member: Account, now: datetime) -> int:
    """Re-plan every reminded step of a member (new time zone, quiet hours)."""
    steps = list(
        db.scalars(
            select(PlanStep).where(
                PlanStep.member_id == member.id,
                PlanStep.remind.is_(True),
                PlanStep.due_date.is_not(None),
            )
        )
    )
    replan_steps(db, member, steps, now)
    return len(steps)


def reminders_page(
    db: Session,
    member: Account,
    step_id: str,
    configured: Configured,
    page: int,
    page_size: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the member's own step's reminders (404 for anyone else's step), by due
    time, with their delivery states."""
    step = get_step(db, member.id, step_id)
    found, _ = deliveries.views(db, member, [step.id], configured, NoticeKind.STEP_REMINDER)
    chosen = found[(page - 1) * page_size : page * page_size]
    return [deliveries.as_json(view, member.locale) for view in chosen], len(found)


def on_steps_changed(member: Any, *, db: Session, steps: list[PlanStep], now: datetime) -> None:
    """The receiver of ``signals.plan_steps_changed``."""
    replan_steps(db, member, steps, now)
