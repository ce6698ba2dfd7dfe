"""One error format for everything: Problem Details (RFC 9457), ``application/problem+json``.

Operations raise :class:`Problem` (or a werkzeug HTTP exception); the handlers here turn
every error, including framework ones (404, 405, 413, 415, 422, 429) and unexpected
exceptions, into the same body: ``type``, ``title``, ``status``, ``detail`` and, for
validation, per-field ``errors``. A 500 never shows internals.

Every ``detail`` is said in the member's language where the body is built
(:func:`problem_response`, through :mod:`api.core.i18n`): the signed-in account's locale,
else the request's Accept-Language, else English. Raise sites pass English; a detail with
variable parts is translated only when its fixed template is in the catalogue.

A database that cannot be reached, is restarting, or (SQLite) is locked is not a bug: the
request answers 503 with ``Retry-After`` so a phone knows to send it again
(:func:`database_unavailable` tells those failures from programming and integrity errors).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
import psycopg
from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from api.core.i18n import N_, request_locale, translate

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"


class Problem(Exception):
    """An error a client can act on.

    ``keep_changes`` marks a refusal whose own side effect must survive the request,
    such as revoking a session after a refresh token was replayed.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.title = title or HTTPStatus(status).phrase
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})
        self.keep_changes = keep_changes


def not_found(what: str = "resource") -> Problem:
    return Problem(404, f"No such {what}.", kind="not-found")


class ProblemSchema(ma.Schema):
    """Problem Details (RFC 9457). Documentation only; bodies are built by ``problem_response``."""

    type = ma.fields.String(required=True, metadata={"example": "/problems/validation-error"})
    title = ma.fields.String(required=True, metadata={"example": "Unprocessable Entity"})
    status = ma.fields.Integer(required=True, metadata={"example": 422})
    detail = ma.fields.String(required=True)
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(),
        metadata={"description": "Per-field messages, for validation errors."},
    )


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind if kind else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": translate(request_locale(), detail),
    }
    if errors:
        body["errors"] = errors
    request_id = g.get("request_id") if g else None
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_DETAILS = {
    400: ("bad-request", N_("The request could not be read.")),
    401: ("unauthorized", N_("Sign in to do this: send a valid access token.")),
    403: ("forbidden", N_("You may not do this.")),
    404: ("not-found", N_("There is nothing at this address.")),
    405: ("method-not-allowed", N_("This address does not accept that method.")),
    413: ("payload-too-large", N_("The request body is too large.")),
    415: ("unsupported-media-type", N_("Send the body as application/json.")),
    429: ("rate-limited", N_("Too many attempts. Wait a little and try again.")),
}


def _flatten_validation(messages: Mapping[str, Any]) -> dict[str, Any]:
    """webargs reports ``{location: {field: [..]}}``; clients want ``{field: [..]}``."""
    errors: dict[str, Any] = {}
    for location, fields in messages.items():
        if not isinstance(fields, Mapping):
            errors[location] = fields
            continue
        for field, message in fields.items():
            key = field if location == "json" else f"{location}.{field}"
            errors[key] = message
    return errors


def http_exception_response(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return internal_error_response()
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status in (422, 400) and "messages" in data:
        errors = _flatten_validation(data["messages"])
        if "json" in errors and isinstance(errors["json"], list):
            # The whole body was wrong (not an object, not JSON at all).
            return problem_response(
                400,
                "The request body must be a JSON object.",
                kind="bad-request",
                errors=errors,
                headers=headers,
            )
        whole = errors.get("_schema")
        if whole and len(errors) == 1 and isinstance(whole, list):
            detail = N_("The request body is invalid: %(reasons)s") % {
                "reasons": " ".join(map(str, whole))
            }
        else:
            detail = N_("Some fields are invalid: %(fields)s.") % {
                "fields": ", ".join(sorted(errors))
            }
        return problem_response(
            422,
            detail,
            kind="validation-error",
            errors=errors,
            headers=headers,
        )
    kind, default_detail = _DETAILS.get(status, ("http-error", HTTPStatus(status).description))
    detail = data.get("message") or default_detail
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return problem_response(status, detail, kind=kind, headers=headers)


def internal_error_response() -> Response:
    return problem_response(
        500,
        "Something went wrong on our side. Nothing you sent was saved; try again later.",
        kind="internal-error",
    )


# -- the database is away (503) -------------------------------------------------------------

# PostgreSQL SQLSTATEs that mean "the server is going away, restarting or full of clients"
# (class 08, connection exceptions, is matched by its prefix): admin shutdown (a restart or
# pg_terminate_backend), crash shutdown, "the database system is starting up / shutting
# down", idle session timeout, too many connections.
_PG_UNAVAILABLE = {"57P01", "57P02", "57P03", "57P05", "53300"}
# SQLite primary result codes: busy, locked, I/O error, cannot open, locking protocol.
_SQLITE_UNAVAILABLE = {5, 6, 10, 14, 15}
_SQLITE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "disk i/o error",
    "unable to open database file",
)
UNAVAILABLE_DETAIL = N_(
    "The service is briefly unavailable and nothing you sent was saved. Try again in a few seconds."
)


def _driver_unavailable(error: BaseException) -> bool:
    if isinstance(error, psycopg.OperationalError):
        sqlstate = error.sqlstate
        # No SQLSTATE: the client library's own failure (connection refused, server closed
        # the connection, connection timeout); nothing reached a running statement.
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _PG_UNAVAILABLE
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_UNAVAILABLE
        return str(error).lower().startswith(_SQLITE_MESSAGES)
    return False


def database_unavailable(error: BaseException | None) -> bool:
    """True when ``error`` means the database could not be reached, dropped the connection,
    is restarting, or (SQLite) is locked: worth the same request again in a moment. False
    for everything else, programming and integrity errors included (those stay 500/4xx)."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
            return True  # a pool that could not hand out a live connection in time
        if isinstance(error, sa_exc.DBAPIError):
            # SQLAlchemy decided the connection is dead (and invalidated the pool).
            if error.connection_invalidated:
                return True
            if not isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
                return False
            return error.orig is not None and _driver_unavailable(error.orig)
        if _driver_unavailable(error):
            return True
        error, seen = error.__cause__, seen + 1
    return False


def retry_after_seconds() -> str:
    """A few seconds, spread a little so a crowd of phones does not come back at once."""
    return str(3 + secrets.randbelow(5))


def unavailable_response(error: BaseException) -> Response:
    """503 for a request that failed because the database was away: logged without the
    message (statements, values), counted, and answered so that the phone retries."""
    route = None
    if has_request_context():
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
    orig = getattr(error, "orig", None) or error.__cause__
    log.warning(
        "database unavailable",
        extra={
            "route": route,
            "error": type(error).__name__,
            "cause": type(orig).__name__ if orig is not None else None,
            "sqlstate": getattr(orig, "sqlstate", None),
            "sqlite_error": getattr(orig, "sqlite_errorname", None),
        },
    )
    metrics = current_app.extensions.get("homeward.metrics")
    if metrics is not None:
        metrics.database_unavailable.labels(route or "<none>").inc()
    return problem_response(
        503,
        UNAVAILABLE_DETAIL,
        kind="service-unavailable",
        headers={"Retry-After": retry_after_seconds()},
    )


def register(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(error: Problem) -> Response:
        if error.keep_changes:
            g.commit_despite_error = True
        return problem_response(
            error.status,
            error.detail,
            kind=error.kind,
            title=error.title,
            errors=error.errors,
            headers=error.headers,
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_exception_response(error)
        if database_unavailable(error):
            return unavailable_response(error)
        # Where it failed, not what it said: exception messages (a database's "failing row
        # contains ...") can carry what a member wrote.
        log.error(
            "unhandled exception",
            extra={
                "route": request.url_rule.rule if request.url_rule else None,
                "error": type(error).__name__,
                "cause": type(error.__cause__).__name__ if error.__cause__ else None,
                "sqlstate": getattr(getattr(error, "orig", None), "sqlstate", None),
                "stack": "".join(traceback.format_tb(error.__traceback__)),
            },
        )
        return internal_error_response()

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError) -> Response:
        # An exception that escaped the request's own handlers (an after_request hook).
        original = error.original_exception
        if original is not None and database_unavailable(original):
            return unavailable_response(original)
        return internal_error_response()
