"""Mentors by invitation: invites, scoped and revocable grants, the one function that
decides every mentor read, and the access log the member reads."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, exporter, erasers, sync tables and receivers."""
    from api.accounts import rights
    from api.core import signals
    from api.mentors import export, held, routes, sync
    from api.sync import registry

    api.register_blueprint(routes.invites_blp)
    api.register_blueprint(routes.grants_blp)
    api.register_blueprint(routes.mentees_blp)
    api.register_blueprint(routes.access_log_blp)
    rights.add_exporter(app, export.export_sharing)
    rights.add_eraser(app, held.forget_erased)
    for table in sync.TABLES:
        registry.register(app, table)
    registry.before_stamping(app, held.views_may_shrink)
    signals.profile_changed.connect(sync.renamed, weak=False)
