"""The plumbing every domain stands on: database, errors, configuration, fields, the
shared Flask extensions, observability, migrations, health, signals and encryption at
rest. Nothing here imports a domain (an import-linter contract holds it so)."""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress
from werkzeug.middleware.proxy_fix import ProxyFix

from api.core import boundary, crypto, db, errors, extensions, health, migrate, observability


def init_app(app: Flask) -> extensions.HomewardApi:
    """Install the plumbing on ``app`` (already configured) and return the OpenAPI-aware
    Api the domains register their blueprints with."""
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]  # WSGI middleware
    observability.init_app(app)
    # gzip or Brotli for clients that accept it (directory pages shrink several-fold).
    Compress(app)
    db.init_app(app)
    crypto.init_app(app)
    errors.register(app)
    api = extensions.init_app(app)
    boundary.init_app(app)
    app.register_blueprint(health.blp)
    app.cli.add_command(migrate.db_cli)
    return api
