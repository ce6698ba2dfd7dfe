"""The API keeps the promises of its own OpenAPI document.

Two kinds of test:

* explicit ones: ``/api/openapi.json`` is a valid OpenAPI 3 document that lists the
  contract paths and documents a problem+json ``default`` response on every operation,
  and ``/api/docs`` serves the HTML explorer;
* a property-based run (schemathesis) over EVERY operation in that document, on both
  backends. Operations come from the document, so a new route is covered without a
  change here. Every request carries the bearer token of a member registered just for
  it (in batches, directly through the service), so an operation that ends sessions
  (logout, logout-all, deleting a session, recovery) never spoils a later request, and
  a failure replays the same on its own.

Every response must: not be a 5xx, have a documented status code, have the documented
content type, and match the documented schema. Generation is positive and negative,
seeded and derandomized (a failure found once is found again). The fuzzing budget per
operation is small for CI; ``OPENAPI_MAX_EXAMPLES=300`` makes a deeper run.

Each valid request is sent a second time, changed generically (by field name and value
type, never by route) to reach what random strings cannot:

* fields named like a member's credentials (``username``, ``password``,
  ``refresh_token``, ``recovery_code``, ``session_id``) get a fresh member's real
  values, so the success answers of sign-in, refresh, recovery and session deletion are
  checked against their schemas too;
* one string gets a NUL or a lone surrogate (PostgreSQL refuses the first, UTF-8 cannot
  encode the second), which must be refused with a 4xx, never a 500: every text field
  of every operation is probed (for a request naming credentials, half the time, with
  the real credentials beside it, where bad text reaches furthest).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis import GenerationMode
from schemathesis.specs.openapi.schemas import OpenApiSchema

from api.accounts import service
from api.accounts.models import Role
from api.core.db import commit_session, get_session, utcnow
from api.core.errors import PROBLEM_JSON
from api.core.extensions import limiter

OPENAPI_PATH = "/api/openapi.json"
CONTRACT_PATHS = (
    "/api/v1/auth/register",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/logout-all",
    "/api/v1/auth/recover",
    "/api/v1/me",
    "/api/v1/me/sessions",
    "/api/v1/me/sessions/{session_id}",
)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# What every response must satisfy (schemathesis check names).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
# Fixed, so a failure found once is found again on the next run and in CI.
SEED = 20240601
# Per operation, for the fuzzing phase; the coverage phase adds its own boundary cases.
# Raise it for a deeper run: OPENAPI_MAX_EXAMPLES=300 pytest tests/core/test_openapi.py
MAX_EXAMPLES = int(os.environ.get("OPENAPI_MAX_EXAMPLES", "25"))
# Request fields a member's own value can fill, wherever they appear.
CREDENTIAL_FIELDS = frozenset(
    {"username", "password", "refresh_token", "recovery_code", "session_id"}
)
# Text no database column or hash should ever receive: NUL, and a lone surrogate.
BAD_TEXT = ("\x00", "\ud800")


# --- the document itself ------------------------------------------------------------------


def _load_schema(app: Flask) -> OpenApiSchema:
    config = schemathesis.Config(seed=SEED)
    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app, config=config)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,  # hypothesis derandomize
        # The bearer token is set on every case by the test, not generated.
        with_security_parameters=False,
        # No example database replayed between runs: the seed alone decides the cases.
        database="none",
    )
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    schema.config.checks.update(included_check_names=CHECKS)
    # Throwaway test credentials: show them, so a reported failure can be replayed as is.
    schema.config.output.sanitization.update(enabled=False)
    return schema


def test_openapi_document_is_valid_openapi_3_with_the_contract_paths(
    client: FlaskClient,
) -> None:
    response = client.get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document: dict[str, Any] = response.get_json()

    assert str(document.get("openapi", "")).startswith("3."), document.get("openapi")
    # Against the OpenAPI 3 meta-schema schemathesis ships; raises on the first error.
    _load_schema(client.application).validate()

    paths = document["paths"]
    missing = [path for path in CONTRACT_PATHS if path not in paths]
    assert not missing, f"contract paths missing from the document: {missing}"

    # Every operation documents its errors as Problem Details.
    responses = document["components"]["responses"]
    for path, item in paths.items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            default = item[method]["responses"].get("default")
            assert default is not None, f"{method.upper()} {path} documents no default response"
            if "$ref" in default:
                default = responses[default["$ref"].rsplit("/", 1)[-1]]
            assert PROBLEM_JSON in default.get("content", {}), (method, path, default)


def test_docs_serve_html(client: FlaskClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<html" in response.get_data(as_text=True).lower()


# --- the property-based run ---------------------------------------------------------------


@pytest.fixture
def api_schema(app: Flask, request: pytest.FixtureRequest) -> OpenApiSchema:
    """The document as served by the app on the current backend (both are run)."""
    # schemathesis 4.32's lazy loader reads and rewrites ``node._nodeid`` to label each
    # operation; pytest 9.2 keeps node ids elsewhere and has no such attribute, so the
    # loader fails before running anything. Give it one to read: the real node id is
    # untouched, and each operation still reports as its own subtest.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    return _load_schema(app)


schema = schemathesis.pytest.from_fixture("api_schema")


@dataclass(frozen=True)
class _Member:
    access_token: str
    credentials: dict[str, str]  # request field name -> this member's real value


class _Members:
    """Freshly registered members, one per request sent, registered in batches directly
    (no HTTP, no rate limit): one transaction per batch instead of one per member."""

    BATCH = 50
    PASSWORD = "a long walk home"

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.ready: list[_Member] = []
        self.numbers = itertools.count(1)

    def fresh(self) -> _Member:
        if not self.ready:
            with self.app.app_context():
                self.ready = [self._register() for _ in range(self.BATCH)]
                commit_session()
            self.ready.reverse()
        return self.ready.pop()

    def _register(self) -> _Member:
        username = f"prop{next(self.numbers)}"
        _, pair, codes = service.register(
            get_session(),
            username=username,
            password=self.PASSWORD,
            role=Role.MEMBER,
            now=utcnow(),
        )
        return _Member(
            pair.access_token,
            {
                "username": username,
                "password": self.PASSWORD,
                "refresh_token": pair.refresh_token,
                "recovery_code": codes[0],
                "session_id": pair.session_id,
            },
        )


@pytest.fixture
def members(app: Flask, monkeypatch: pytest.MonkeyPatch) -> _Members:
    # The run hashes a password for every member and many requests; argon2id at its
    # smallest cost keeps that cheap. Same code path, only the cost parameters differ.
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", 1)
    monkeypatch.setitem(app.config, "ARGON2_MEMORY_COST", 8)  # KiB, the minimum
    monkeypatch.setitem(app.config, "ARGON2_PARALLELISM", 1)
    return _Members(app)


def _send(case: schemathesis.Case, member: _Member) -> None:
    # Fresh rate-limit windows: the run sends far more than any limit allows, and a wall
    # of 429s would hide what the operations themselves do.
    limiter.reset()
    # identity: the in-process WSGI transport does not undo gzip as an HTTP client would.
    case.call_and_validate(
        headers={
            "Authorization": f"Bearer {member.access_token}",
            "Accept-Encoding": "identity",
        }
    )


def _names_credentials(case: schemathesis.Case) -> bool:
    fields = set(case.path_parameters)
    if isinstance(case.body, dict):
        fields |= {name for name, value in case.body.items() if isinstance(value, str)}
    return not fields.isdisjoint(CREDENTIAL_FIELDS)


def _with_credentials(case: schemathesis.Case, member: _Member) -> schemathesis.Case:
    """The same request, with the member's real values in the fields named like them."""
    values = member.credentials
    body = case.body
    if isinstance(body, dict):
        body = {k: values.get(k, v) if isinstance(v, str) else v for k, v in body.items()}
    path_parameters = {k: values.get(k, v) for k, v in case.path_parameters.items()}
    return _variant(case, path_parameters=path_parameters, body=body)


def _variant(
    case: schemathesis.Case, *, path_parameters: dict[str, Any], body: Any
) -> schemathesis.Case:
    # An explicit case, not an edited copy: schemathesis would re-validate an edited body
    # against the schema, and its validator cannot take a lone surrogate.
    return case.operation.Case(
        method=case.method,
        path_parameters=path_parameters,
        query=dict(case.query),
        cookies=dict(case.cookies),
        body=body,
        media_type=case.media_type,
    )


def _string_places(body: Any) -> list[tuple[Any, ...]]:
    """Where strings sit in a JSON object or array body, as key paths."""

    def walk(value: Any, at: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        if isinstance(value, str):
            yield at
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, (*at, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, (*at, index))

    return list(walk(body, ())) if isinstance(body, (dict, list)) else []


def _pick(body: Any, salt: str, choices: int) -> int:
    """A choice among ``choices`` made by the body itself, so a rerun or a shrink of the
    same request makes the same choice."""
    text = salt + json.dumps(body, sort_keys=True, default=str)
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % choices


def _with_bad_text(case: schemathesis.Case, generated: Any) -> schemathesis.Case:
    """The same request with one body string carrying NUL or a lone surrogate; which one
    is picked by the ``generated`` body (same shape, no per-member values), so a rerun
    or a shrink picks the same.

    One field at a time: a second bad field that is validated would hide the first.
    """
    body = case.body
    places = _string_places(body)
    *parents, last = places[_pick(generated, "field", len(places))]
    # Only JSON can carry a lone surrogate (as an escape); a form body gets the NUL.
    is_json = (case.media_type or "").split(";")[0].strip().endswith(("/json", "+json"))
    choices = BAD_TEXT if is_json else BAD_TEXT[:1]
    bad = choices[_pick(generated, "text", len(choices))]
    new_body = copy.deepcopy(body)
    container = new_body
    for key in parents:
        container = container[key]
    value = container[last]
    container[last] = value[: len(value) // 2] + bad + value[len(value) // 2 :]
    return _variant(case, path_parameters=dict(case.path_parameters), body=new_body)


@pytest.mark.api
@pytest.mark.schemathesis
@schema.parametrize()
def test_every_operation_keeps_its_contract(case: schemathesis.Case, members: _Members) -> None:
    _send(case, members.fresh())

    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return
    # A valid request is sent once more: with real credentials where it names them, and
    # with bad text in one string (for half of those naming credentials, by content).
    names_credentials = _names_credentials(case)
    bad_text = bool(_string_places(case.body)) and (
        not names_credentials or _pick(case.body, "probe", 2) == 1
    )
    if not (names_credentials or bad_text):
        return
    member = members.fresh()
    variant = _with_credentials(case, member) if names_credentials else case
    if bad_text:
        variant = _with_bad_text(variant, case.body)
    _send(variant, member)
