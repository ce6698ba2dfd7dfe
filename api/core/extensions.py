"""The Flask extensions every domain shares: the OpenAPI-aware Api and the rate limiter."""

from __future__ import annotations

import hashlib
import http
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.routing import BaseConverter

from api.core.errors import PROBLEM_JSON, ProblemSchema, http_exception_response

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


class IdConverter(BaseConverter):
    """Ids in paths: UUIDs and the phone's own record ids. Anything else is a 404 from
    routing, before it can reach a query."""

    regex = r"[A-Za-z0-9_-]{1,64}"


ID_PARAMETER_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}


class HomewardApi(Api):
    """flask-smorest's Api, answering and documenting errors as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: Any) -> Any:
        return http_exception_response(error)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {
            "description": "An error, as Problem Details (RFC 9457).",
            "schema": self.ERROR_SCHEMA,
        }
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def accepts_form_body(view: Any) -> Any:
    """Mark a view that takes a form-encoded body (webhooks); every other one takes JSON."""
    view.accepts_form_body = True
    return view


def accepts_any_body(view: Any) -> Any:
    """Mark a view that parses its JSON body whatever the Content-Type says: WatermelonDB's
    documented push sends JSON.stringify(changes) with fetch's default, text/plain."""
    view.accepts_form_body = True
    return view


def _username_key() -> str:
    """Rate-limit key for credential endpoints: the (hashed) username in the body."""
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    if not isinstance(username, str) or not username.strip():
        return "ip:" + get_remote_address()
    normalized = username.strip().casefold().encode("utf-8", "replace")
    return "user:" + hashlib.sha256(normalized).hexdigest()[:32]


limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")
username_key = _username_key


def init_app(app: Flask) -> HomewardApi:
    """Attach the Api (one per app) and the shared rate limiter to ``app``."""
    app.url_map.converters["id"] = IdConverter
    api = HomewardApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Homeward API, contract v1. Errors are application/problem+json."
            },
        },
    )
    api.register_converter(IdConverter, lambda _converter: dict(ID_PARAMETER_SCHEMA))
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
    )
    from api.core import docs_assets

    app.register_blueprint(docs_assets.blp)
    limiter.init_app(app)
    return api


def this_app() -> Flask:
    """The app behind ``current_app`` (a proxy), for code that keeps it or hands it on."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # proxy untyped
    return app
