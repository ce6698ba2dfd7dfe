"""``flask sync purge``: drop tombstones and push receipts past their horizon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.orm import Session

from api.core.db import commit_session, get_session, utcnow
from api.sync import tracking
from api.sync.models import PushReceipt, SyncClock, Tombstone

sync_cli = AppGroup("sync", help="Offline sync housekeeping.")


def _count(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def purge_on_schedule(app: Flask) -> tuple[int, int]:
    """The periodic job: ``purge`` with the app's horizons, in its own transaction."""
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        return purge(db, app.config["SYNC_TOMBSTONE_DAYS"], app.config["SYNC_RECEIPT_DAYS"])


def purge(db: Session, tombstone_days: int, receipt_days: int) -> tuple[int, int]:
    """Forget tombstones older than the horizon (a phone that last pulled before it gets a
    replacement sync instead) and push receipts older than theirs. Returns the counts."""
    horizon = tracking.now_ms() - tombstone_days * 86_400_000
    tombstones = _count(db.execute(delete(Tombstone).where(Tombstone.sync_version <= horizon)))
    db.execute(
        update(SyncClock)
        .where(SyncClock.id == 1, SyncClock.purged_through < horizon)
        .values(purged_through=horizon)
    )
    receipts = _count(
        db.execute(
            delete(PushReceipt).where(
                PushReceipt.created_at < utcnow() - timedelta(days=receipt_days)
            )
        )
    )
    return tombstones or 0, receipts or 0


@sync_cli.command("purge")
def purge_command() -> None:
    """Purge tombstones older than SYNC_TOMBSTONE_DAYS and receipts older than
    SYNC_RECEIPT_DAYS."""
    config = current_app.config
    tombstones, receipts = purge(
        get_session(), config["SYNC_TOMBSTONE_DAYS"], config["SYNC_RECEIPT_DAYS"]
    )
    commit_session()
    click.echo(f"Purged {tombstones} tombstones and {receipts} push receipts.")
