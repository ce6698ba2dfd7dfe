"""``flask reminders``: the dispatcher process and its one-shot relatives."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from flask.cli import AppGroup

from api.core.db import utcnow
from api.core.extensions import this_app
from api.core.jobs import periodic_jobs
from reminders import outbox, service
from reminders.dispatch import Dispatcher

log = logging.getLogger(__name__)
reminders_cli = AppGroup("reminders", help="Reminder planning and delivery.")


def extend_plans(app: Flask) -> int:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        return service.extend_recurring(db, utcnow())


def purge_outbox(app: Flask) -> int:
    """Delete settled rows past the retention horizon, a batch per transaction, so the
    purge never holds many locks or a long transaction. Never less than sync's tombstone
    horizon: a phone that has not pulled for that long gets a replacement sync anyway."""
    days = max(app.config["REMINDER_RETENTION_DAYS"], app.config["SYNC_TOMBSTONE_DAYS"])
    sessions = app.extensions["homeward.db"].sessionmaker
    total = 0
    with app.app_context():
        while True:
            with sessions.begin() as db:
                deleted = outbox.purge(db, utcnow(), timedelta(days=days), outbox.PURGE_BATCH)
            total += deleted
            if deleted < outbox.PURGE_BATCH:
                return total


@reminders_cli.command("run")
def run() -> None:
    """Run the dispatcher until stopped (its own process; never inside gunicorn).

    APScheduler only wakes the dispatcher and the planner; which reminder is due, and
    who sends it, is decided in the database, so several of these may run at once.
    """
    app: Flask = this_app()
    dispatcher = Dispatcher.for_app(app)
    scheduler = BlockingScheduler(timezone="UTC")

    def every(job: Any, job_id: str, *, start_now: bool = False, **interval: float) -> None:
        # (APScheduler reads next_run_time=None as "paused": leave it out to wait one interval.)
        first: dict[str, Any] = {"next_run_time": utcnow()} if start_now else {}
        scheduler.add_job(
            job, "interval", id=job_id, max_instances=1, coalesce=True, **first, **interval
        )

    every(
        dispatcher.run_until_idle,
        "dispatch",
        start_now=True,
        seconds=app.config["REMINDER_DISPATCH_INTERVAL"],
    )
    # What every domain registered to run on a schedule (reminders: extend plans, purge the
    # outbox; sync: purge tombstones), in the service's one scheduler process.
    for job in periodic_jobs(app):
        every(
            partial(job.run, app),
            job.name,
            start_now=job.start_now,
            seconds=job.every.total_seconds(),
        )
    log.info("reminder dispatcher started", extra={"worker": dispatcher.worker})
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("reminder dispatcher stopped")
    finally:
        dispatcher.close()


@reminders_cli.command("dispatch")
@click.option("--max-batches", type=int, default=None, help="Stop after this many batches.")
def dispatch(max_batches: int | None) -> None:
    """Send every reminder that is due now, then exit."""
    app: Flask = this_app()
    dispatcher = Dispatcher.for_app(app)
    try:
        count = dispatcher.run_until_idle(max_batches)
    finally:
        dispatcher.close()
    click.echo(f"claimed {count} deliveries")


@reminders_cli.command("purge")
def purge() -> None:
    """Delete settled deliveries past REMINDER_RETENTION_DAYS, then exit."""
    count = purge_outbox(this_app())
    click.echo(f"deleted {count} settled deliveries")


@reminders_cli.command("plan")
def plan() -> None:
    """Extend the planning window of recurring appointments, then exit."""
    count = extend_plans(this_app())
    click.echo(f"re-planned {count} recurring appointments")
