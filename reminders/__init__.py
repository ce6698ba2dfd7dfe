"""Appointments, reminder planning and delivery: Web Push, SMS and calendar files."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from api.core import signals

# Profile changes that move reminders: their local times, quiet hours or destination.
REPLAN_ON = {"timezone", "quiet_hours", "phone", "notification_detail"}


def _profile_changed(account: Any, *, db: Any, changed: set[str], now: Any) -> None:
    if changed & REPLAN_ON:
        from reminders import service

        service.replan_member(db, account, now)


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, CLI and signal receivers."""
    from reminders import (
        cli,
        export,  # noqa: F401 (registers its exporter)
        mentor_view,
        notifications,
        routes,
        sync,
    )

    sync.register()
    notifications.init_app(app)  # the outbox, its kinds of notice, the mentors' inbox
    mentor_view.register(app)  # what a mentor sees of a mentee's appointments

    api.register_blueprint(routes.appointments_blp)
    api.register_blueprint(routes.calendar_blp)
    api.register_blueprint(routes.webhooks_blp)
    app.cli.add_command(cli.reminders_cli)
    signals.profile_changed.connect(_profile_changed, weak=False)
