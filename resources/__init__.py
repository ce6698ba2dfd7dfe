"""The job and housing directory: HSDS 3.0 data, search that matters to people with
records, job postings, staff edits, members' saved listings and reports, the public HSDS
read API, and import/export."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, CLI, exporter, sync tables and receivers."""
    from api.accounts import rights
    from api.core import signals
    from api.sync import registry
    from resources import cli, demo, export_member, hsds_routes, routes, sync

    api.register_blueprint(routes.resources_blp)
    api.register_blueprint(routes.jobs_blp)
    api.register_blueprint(routes.saved_blp)
    api.register_blueprint(routes.reports_blp)
    api.register_blueprint(hsds_routes.hsds_blp)
    app.cli.add_command(cli.resources_cli)
    app.cli.add_command(demo.demo_cli)
    rights.add_exporter(app, export_member.export_directory)
    for table in sync.TABLES:
        registry.register(app, table)
    signals.area_changed.connect(sync.area_moved, weak=False)
