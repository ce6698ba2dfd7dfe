"""Homeward's API package: the app factory. The plumbing is in ``api.core``; each domain
registers itself with one ``init_app(app, api)`` call below (docs/architecture.md)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

import reminders
import resources
from api import accounts, checkins, core, mentors, plans, sync, web
from api.core import config, observability


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

    api = core.init_app(app)
    # The order is the order of a person's export and of what erasure clears.
    accounts.init_app(app, api)
    reminders.init_app(app, api)
    checkins.init_app(app, api)
    plans.init_app(app, api)
    mentors.init_app(app, api)
    resources.init_app(app, api)
    sync.init_app(app, api)
    web.init_app(app, api)  # the mentor and member pages
    return app
