"""Operational endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from api.core import crypto
from api.core.db import get_db
from api.core.errors import problem_response, retry_after_seconds
from api.core.extensions import this_app
from api.core.migrate import current_revision, head_revision

log = logging.getLogger(__name__)
blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz() -> Response:
    """The process is up and answering."""
    return jsonify(status="ok")


def _unreachable(error: Exception) -> Response:
    log.warning("readiness: database unreachable", extra={"error": type(error).__name__})
    return problem_response(
        503,
        "The database is not reachable.",
        kind="not-ready",
        headers={"Retry-After": retry_after_seconds()},
    )


@blp.get("/readyz")
def readyz() -> Response:
    """Ready for traffic: the database answers, its schema is at the code's head, and the
    master keys open the data keys."""
    app = this_app()
    try:
        with get_db().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = current_revision(connection)
    except Exception as error:  # any driver error means "not ready", never a 500
        return _unreachable(error)
    head = head_revision(app)
    if current != head:
        return problem_response(
            503,
            f"The database schema is at {current or 'nothing'}, the code needs {head}. "
            "Run 'flask db upgrade'.",
            kind="not-ready",
            headers={"Retry-After": retry_after_seconds()},
        )
    # The master keys must open the data keys (one probed), or members' text cannot be read.
    try:
        key_problem = crypto.key_problem(app)
    except Exception as error:  # the database went away between the two checks
        return _unreachable(error)
    if key_problem is not None:
        log.error(
            f"readiness: members' data keys cannot be unwrapped: {key_problem}",
            extra={"settings": crypto.MASTER_KEY_SETTINGS},
        )
        return problem_response(
            503,
            f"Members' encrypted data cannot be opened: {key_problem}.",
            kind="not-ready",
            headers={"Retry-After": retry_after_seconds()},
        )
    return jsonify(status="ready", database="ok", migration=current)


@blp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format."""
    return current_app.extensions["homeward.metrics"].render()  # type: ignore[no-any-return]  # extension slot
