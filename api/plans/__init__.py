"""A member's reentry plan: goals and steps they write or adopt from templates, linked to
listings and appointments, shared with mentors only by grant (``sharing``, read through
api.mentors.access), and steps mentors suggest (docs/plans.md)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, CLI, exporter and sync tables."""
    from api.accounts import rights
    from api.plans import cli, export, routes, suggestion_routes, sync, template_routes
    from api.sync import registry

    api.register_blueprint(routes.plan_blp)  # goals and steps
    api.register_blueprint(template_routes.templates_blp)
    api.register_blueprint(suggestion_routes.suggestions_blp)  # mentors' suggestions
    app.cli.add_command(cli.plans_cli)
    rights.add_exporter(app, export.export_plan)
    for table in sync.TABLES:
        registry.register(app, table)
