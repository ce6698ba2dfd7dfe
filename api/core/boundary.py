"""The request boundary every route shares: a body must be JSON, and the request's one
commit happens here, after the view, only when the answer is a success (or a refusal that
must stick)."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request

from api.core import db, errors

JSON_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def init_app(app: Flask) -> None:
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
