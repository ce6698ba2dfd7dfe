"""Homeward's API package: the app factory and the plumbing every domain shares."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, g, request
from flask_compress import Compress
from werkzeug.middleware.proxy_fix import ProxyFix

from api.core import config, crypto, db, errors, extensions, observability

JSON_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Homeward app. ``test_config`` overrides settings from the environment."""
    observability.configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    # Where development secrets and the SQLite file live (tests point it at a temp dir).
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "HOMEWARD_INSTANCE_PATH"
    )
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(config.load(app.instance_path))
    if test_config:
        app.config.update(test_config)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    observability.init_app(app)
    # gzip or Brotli for clients that accept it (directory pages shrink several-fold).
    Compress(app)
    db.init_app(app)
    crypto.init_app(app)
    errors.register(app)
    api = extensions.init_app(app)
    _register_request_boundary(app)

    from api.accounts import cli as accounts_cli
    from api.accounts import export as _accounts_export  # noqa: F401 (registers its exporter)
    from api.accounts import routes as accounts_routes
    from api.core import health
    from api.core.migrate import db_cli

    api.register_blueprint(accounts_routes.auth_blp)
    api.register_blueprint(accounts_routes.me_blp)
    api.register_blueprint(accounts_routes.devices_blp)
    app.register_blueprint(health.blp)
    app.cli.add_command(db_cli)
    app.cli.add_command(accounts_cli.users_cli)
    _vapid_public_key(app)
    with app.app_context():
        from api.accounts import passwords

        passwords.warm_up()

    import reminders

    reminders.init_app(app, api)
    _register_checkins_and_mentors(app, api)

    import resources

    resources.init_app(app, api)
    from api import sync

    sync.init_app(app, api)
    return app


def _register_checkins_and_mentors(app: Flask, api: extensions.HomewardApi) -> None:
    from api.checkins import export as _checkins_export  # noqa: F401
    from api.checkins import routes as checkins_routes
    from api.mentors import alerts as _alerts  # noqa: F401 (registers the help-alert notice)
    from api.mentors import export as _mentors_export  # noqa: F401
    from api.mentors import routes as mentors_routes

    api.register_blueprint(checkins_routes.checkins_blp)
    api.register_blueprint(mentors_routes.invites_blp)
    api.register_blueprint(mentors_routes.grants_blp)
    api.register_blueprint(mentors_routes.mentees_blp)
    api.register_blueprint(mentors_routes.access_log_blp)
    from api.checkins import sync as checkins_sync
    from api.mentors import sync as mentors_sync

    checkins_sync.register()
    mentors_sync.register()


def _vapid_public_key(app: Flask) -> None:
    """The applicationServerKey phones subscribe with, derived once from the private key."""
    pem = app.config.get("VAPID_PRIVATE_KEY")
    if not pem:
        return
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from py_vapid import Vapid02, b64urlencode

    public = Vapid02.from_pem(pem.encode()).public_key
    point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    app.extensions["homeward.vapid_public_key"] = b64urlencode(point)


def _register_request_boundary(app: Flask) -> None:
    @app.before_request
    def _require_json_body() -> None:
        # A body in any other type would be silently ignored by the JSON parser; say so.
        if request.method not in JSON_METHODS or not request.path.startswith("/api/"):
            return
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "accepts_form_body", False):
            return
        has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
        if has_body and not (
            request.mimetype == "application/json" or request.mimetype.endswith("+json")
        ):
            raise errors.Problem(
                415, "Send the body as application/json.", kind="unsupported-media-type"
            )

    @app.after_request
    def _commit(response: Any) -> Any:
        # The one commit of the request: successes, and refusals that must stick.
        if response.status_code < 400 or g.pop("commit_despite_error", False):
            try:
                db.commit_session()
            except Exception as error:
                # The database went away at the commit: nothing is saved, the phone retries.
                if not errors.database_unavailable(error):
                    raise
                db.rollback_session()
                return errors.unavailable_response(error)
        else:
            db.rollback_session()
        return response
