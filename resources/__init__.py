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
    from api.plans import links
    from api.sync import registry
    from resources import cli, demo, export, sync
    from resources.editors import cli as editors_cli
    from resources.hsds.routes import hsds_blp
    from resources.jobs.routes import jobs_blp
    from resources.listings.routes import resources_blp
    from resources.matches import service as matches
    from resources.matches.routes import matches_blp
    from resources.reports.routes import reports_blp
    from resources.saved.routes import saved_blp

    api.register_blueprint(resources_blp)
    api.register_blueprint(jobs_blp)
    api.register_blueprint(saved_blp)
    api.register_blueprint(reports_blp)
    api.register_blueprint(hsds_blp)
    api.register_blueprint(matches_blp)  # a plan step's listings
    links.add_link_check(app, "listing_id", matches.may_link_listing)
    links.add_query_check(app, matches.query_refusals)
    app.cli.add_command(cli.resources_cli)
    app.cli.add_command(demo.demo_cli)
    editors_cli.register()  # create-staff, list and bind join accounts' `flask users`
    rights.add_exporter(app, export.export_directory)
    for table in sync.TABLES:
        registry.register(app, table)
    signals.area_changed.connect(sync.area_moved, weak=False)
