"""Offline sync: WatermelonDB's pull/push protocol over every table phones keep.

Shared plumbing only: the registry, change tracking, pull, push. Each domain registers
its own synced tables from its ``init_app`` (docs/sync.md)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Install change tracking on this app's sessions; register the sync routes and CLI."""
    from api.accounts import rights
    from api.core.jobs import PeriodicJob, add_periodic_job
    from api.sync import cli, erasure, registry, routes, tracking

    app.extensions["homeward.db"].share(registry.STATE, registry.state_of(app))
    tracking.install()
    rights.add_eraser(app, erasure.forget_erased)
    # Tombstones and push receipts past their horizon, in the scheduler process.
    add_periodic_job(app, PeriodicJob("sync-purge", cli.purge_on_schedule, timedelta(hours=6)))
    api.register_blueprint(routes.sync_blp)
    api.register_blueprint(routes.area_blp)
    app.cli.add_command(cli.sync_cli)
