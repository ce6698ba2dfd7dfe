"""Offline sync: WatermelonDB's pull/push protocol over every table phones keep.

Shared plumbing only: the registry, change tracking, pull, push. Each domain declares its
own synced tables in its ``sync.py`` (docs/sync.md)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from api.sync import cli, erasure, routes, tracking  # noqa: F401 (erasure registers)

    tracking.install()
    api.register_blueprint(routes.sync_blp)
    api.register_blueprint(routes.area_blp)
    app.cli.add_command(cli.sync_cli)
