"""Appointments, reminder planning and delivery: Web Push, SMS and calendar files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask_smorest import Api

from api.core import signals

# Profile changes that move reminders: their local times, quiet hours or destination.
REPLAN_ON = {"timezone", "quiet_hours", "phone", "notification_detail"}


def _profile_changed(account: Any, *, db: Any, changed: set[str], now: Any) -> None:
    if changed & REPLAN_ON:
        from reminders import service, step_reminders

        service.replan_member(db, account, now)
        step_reminders.replan_member_steps(db, account, now)


def _may_link_appointment(db: Any, member_id: str, appointment_id: str) -> bool:
    """A plan step may link one of the member's own appointments."""
    from reminders.models import Appointment

    found = db.get(Appointment, appointment_id)
    return found is not None and found.member_id == member_id


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, CLI, exporter, sync tables, the notifications outbox
    and receivers."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from api.accounts import rights
    from api.core.jobs import PeriodicJob, add_periodic_job
    from api.plans import links
    from api.sync import registry
    from reminders import cli, export, mentor_view, notifications, routes, step_reminders, sync

    notifications.init_app(app)  # the outbox, its kinds of notice, the mentors' inbox
    mentor_view.register(app)  # what a mentor sees of a mentee's appointments

    api.register_blueprint(routes.appointments_blp)
    api.register_blueprint(routes.calendar_blp)
    api.register_blueprint(routes.step_reminders_blp)
    api.register_blueprint(routes.webhooks_blp)
    app.cli.add_command(cli.reminders_cli)
    rights.add_exporter(app, export.export_reminders)
    for table in sync.TABLES:
        registry.register(app, table)
    # Reminders that went with a deleted appointment leave the phone (tombstones at flush).
    if not event.contains(Session, "before_flush", sync.tombstone_reminders):
        event.listen(Session, "before_flush", sync.tombstone_reminders)
    signals.profile_changed.connect(_profile_changed, weak=False)
    # Plan steps with a due date and `remind` get reminders (reminders/step_reminders.py).
    signals.plan_steps_changed.connect(step_reminders.on_steps_changed, weak=False)
    links.add_link_check(app, "appointment_id", _may_link_appointment)
    # Run by `flask reminders run` beside the dispatcher: recurring plans kept 60 days
    # ahead, and the outbox within its retention.
    add_periodic_job(app, PeriodicJob("plan", cli.extend_plans, timedelta(hours=1), start_now=True))
    add_periodic_job(app, PeriodicJob("outbox-purge", cli.purge_outbox, timedelta(hours=1)))
