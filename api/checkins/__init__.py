"""A member's own check-ins (mood, needs, wins, a note, a call for help) and the replies
of the mentors they shared them with."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, exporter, sync tables and signal receivers."""
    from api.accounts import rights
    from api.checkins import export, routes, sync
    from api.core import signals
    from api.sync import registry

    api.register_blueprint(routes.checkins_blp)
    rights.add_exporter(app, export.export_checkins)
    for table in sync.TABLES:
        registry.register(app, table)
    signals.profile_changed.connect(sync.renamed, weak=False)
