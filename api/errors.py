"""One error format for everything: Problem Details (RFC 9457), ``application/problem+json``.

Operations raise :class:`Problem` (or a werkzeug HTTP exception); the handlers here turn
every error, including framework ones (404, 405, 413, 415, 422, 429) and unexpected
exceptions, into the same body: ``type``, ``title``, ``status``, ``detail`` and, for
validation, per-field ``errors``. A 500 never shows internals.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, InternalServerError

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
        "detail": detail,
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
    400: ("bad-request", "The request could not be read."),
    401: ("unauthorized", "Sign in to do this: send a valid access token."),
    403: ("forbidden", "You may not do this."),
    404: ("not-found", "There is nothing at this address."),
    405: ("method-not-allowed", "This address does not accept that method."),
    413: ("payload-too-large", "The request body is too large."),
    415: ("unsupported-media-type", "Send the body as application/json."),
    429: ("rate-limited", "Too many attempts. Wait a little and try again."),
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
            detail = "The request body is invalid: " + " ".join(map(str, whole))
        else:
            detail = "Some fields are invalid: " + ", ".join(sorted(errors)) + "."
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
    def _internal(_error: InternalServerError) -> Response:
        return internal_error_response()
