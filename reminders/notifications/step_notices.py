"""What a plan step's reminder says when it is sent: the describer of
``NoticeKind.STEP_REMINDER``. Discreet text says only that a step of the plan is due, and
when; detailed text names the step and what to bring."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account, NotificationDetail
from api.core.crypto import vault_of
from api.plans.models import PlanGoal, PlanStep
from reminders import step_reminders, texts
from reminders.models import ReminderDelivery
from reminders.notifications.kinds import Described
from reminders.planning import to_local

TOO_LATE = "the step was due"
GONE = "the step is done, skipped, no longer reminded, or its goal is not active"


def describe_step_reminders(
    db: Session, rows: list[ReminderDelivery], accounts: dict[str, Account], now: datetime
) -> dict[str, Described | str]:
    steps = {
        s.id: s
        for s in db.scalars(select(PlanStep).where(PlanStep.id.in_({r.step_id for r in rows})))
    }
    goals = {
        g.id: g
        for g in db.scalars(
            select(PlanGoal).where(PlanGoal.id.in_({s.goal_id for s in steps.values()}))
        )
    }
    detailed_members = {
        member_id
        for member_id, account in accounts.items()
        if account.notification_detail == NotificationDetail.DETAILED
    }
    vault_of(db).preload(detailed_members)  # one query for the batch's keys
    described: dict[str, Described | str] = {}
    for row in rows:
        step, account = steps.get(row.step_id or ""), accounts[row.member_id]
        if step is None or not step_reminders.remindable(step, goals.get(step.goal_id)):
            described[row.id] = GONE
            continue
        assert step.due_date is not None
        detailed = account.notification_detail == NotificationDetail.DETAILED
        zone = ZoneInfo(step_reminders.zone_of(step, account))
        # The sealed title and bring list are opened only for a member who chose detailed text.
        bring = json.loads(step.bring_text) if detailed and step.bring_text else []
        notification = texts.step_reminder(
            locale=account.locale,
            detailed=detailed,
            title=step.title if detailed else "",
            bring=bring,
            due=step.due_date,
            due_time=step.due_time,
            today=to_local(now, zone).date(),
        )
        described[row.id] = Described(
            notification,
            {
                "title": notification.title,
                "body": notification.body,
                "tag": f"plan-step-{step.id}",
                "step_id": step.id,
                "due_at": row.occurrence_at.isoformat(),
            },
            too_late=TOO_LATE,
            deadline="the step is due",
        )
    return described
