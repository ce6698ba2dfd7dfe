"""Strict input (issue 10, item 7): whatever a client sends gets a clear 4xx problem+json
and changes nothing.

1. An empty PATCH (no body, ``{}``, or a body with no known field) is 422 "Nothing to
   change" on every PATCH route of the URL map; a new PATCH route is in the list at once
   and fails until it is given a record to patch in RECORDS.
2. Booleans in JSON bodies are JSON booleans: 0, 1, "true" and "yes" are refused (422 with
   the field named), not read as false or true. Query-string booleans keep reading
   "true"/"false", which is all a query string can say.
3. A request line or a header too long for gunicorn is answered as problem+json too
   (by the real gunicorn, over a raw socket).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.core.fields import StrictBoolean
from api.core.schemas import PatchSchema
from resources.models import Organization
from tests.fixtures.backends import TEST_CONFIG
from tests.fixtures.http import assert_problem
from tests.fixtures.people import Accounts, Person
from tests.fixtures.production import production_env, running_gunicorn

API = "/api/v1"
NOT_BOOLEANS = [0, 1, "true", "yes"]


def _rules(method: str) -> list[str]:
    """The URL map's rules with ``method``, from an app that needs no database."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite://"})
    return sorted(r.rule for r in app.url_map.iter_rules() if method in (r.methods or ()))


PATCH_RULES = _rules("PATCH")


# --- a world with one record of every kind that can be patched -------------------------


@dataclass
class World:
    member: Person
    mentor: Person
    staff: Person
    ids: dict[str, str]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def make_staff(app: Flask, accounts: Accounts) -> Person:
    """A staff account of a new organization, made as operators make one (the CLI)."""
    with app.extensions["homeward.db"].sessionmaker() as db:
        organization = Organization(name="Eastside Pantry")
        db.add(organization)
        db.commit()
        organization_id = organization.id
    return accounts.staff("pantrystaff", organization_id)


LISTING = {
    "name": "Second Chance Pantry",
    "description": "Groceries on Tuesdays.",
    "facets": {"fair_chance": True, "requires_id": False},
}
JOB = {
    "title": "Line cook",
    "description": "Fair-chance kitchen job.",
    "directApply": True,
    "driversLicenseRequired": False,
    "fair_chance": True,
}


@pytest.fixture
def world(app: Flask, client: FlaskClient, accounts: Accounts) -> World:
    member = accounts.register(role="member", display_name="River")
    mentor = accounts.register(role="mentor", display_name="Dana")
    staff = make_staff(app, accounts)
    invite = ok(
        client.post(
            f"{API}/invites",
            json={"scopes": ["checkins.mood"], "share_history": False},
            headers=member.headers,
        ),
        201,
    )
    grant = ok(
        client.post(f"{API}/invites/redeem", json={"code": invite["code"]}, headers=mentor.headers),
        201,
    )
    appointment = ok(
        client.post(
            f"{API}/appointments",
            json={"title": "See Dana", "starts_at": "2030-10-20T09:00"},
            headers=member.headers,
        ),
        201,
    )
    checkin = ok(
        client.post(
            f"{API}/checkins", json={"mood": 4, "help_requested": False}, headers=member.headers
        ),
        201,
    )
    listing = ok(client.post(f"{API}/resources", json=LISTING, headers=staff.headers), 201)
    job = ok(client.post(f"{API}/jobs", json=JOB, headers=staff.headers), 201)
    report = ok(
        client.post(
            f"{API}/resources/{listing['id']}/reports",
            json={"reason": "closed"},
            headers=member.headers,
        ),
        201,
    )
    goal = ok(
        client.post(
            f"{API}/plan/goals",
            json={"area": "housing", "title": "Find a room"},
            headers=member.headers,
        ),
        201,
    )
    step = ok(
        client.post(
            f"{API}/plan/goals/{goal['id']}/steps",
            json={"title": "Call the shelter", "remind": False},
            headers=member.headers,
        ),
        201,
    )
    return World(
        member,
        mentor,
        staff,
        {
            "goal": goal["id"],
            "step": step["id"],
            "appointment": appointment["id"],
            "checkin": checkin["id"],
            "grant": grant["id"],
            "resource": listing["id"],
            "job": job["id"],
            "report": report["id"],
        },
    )


def _item(page: dict[str, Any], item_id: str) -> dict[str, Any]:
    [item] = [i for i in page["items"] if i["id"] == item_id]
    return item


@dataclass(frozen=True)
class Record:
    """What a PATCH route changes: its path, who may patch it, how to read it back, and
    one valid change (to show the route takes a proper body)."""

    path: Callable[[World], str]
    actor: Callable[[World], Person]
    read: Callable[[FlaskClient, World], Any]
    change: dict[str, Any]


RECORDS: dict[str, Record] = {
    f"{API}/me": Record(
        lambda w: f"{API}/me",
        lambda w: w.member,
        lambda c, w: ok(c.get(f"{API}/me", headers=w.member.headers)),
        {"display_name": "Riv"},
    ),
    f"{API}/appointments/<id:appointment_id>": Record(
        lambda w: f"{API}/appointments/{w.ids['appointment']}",
        lambda w: w.member,
        lambda c, w: ok(
            c.get(f"{API}/appointments/{w.ids['appointment']}", headers=w.member.headers)
        ),
        {"title": "See Dana again"},
    ),
    f"{API}/checkins/<id:checkin_id>": Record(
        lambda w: f"{API}/checkins/{w.ids['checkin']}",
        lambda w: w.member,
        lambda c, w: ok(c.get(f"{API}/checkins/{w.ids['checkin']}", headers=w.member.headers)),
        {"mood": 5},
    ),
    f"{API}/grants/<id:grant_id>": Record(
        lambda w: f"{API}/grants/{w.ids['grant']}",
        lambda w: w.member,
        lambda c, w: _item(ok(c.get(f"{API}/grants", headers=w.member.headers)), w.ids["grant"]),
        {"share_history": True},
    ),
    f"{API}/plan/goals/<id:goal_id>": Record(
        lambda w: f"{API}/plan/goals/{w.ids['goal']}",
        lambda w: w.member,
        lambda c, w: ok(c.get(f"{API}/plan/goals/{w.ids['goal']}", headers=w.member.headers)),
        {"title": "Find a flat"},
    ),
    f"{API}/plan/steps/<id:step_id>": Record(
        lambda w: f"{API}/plan/steps/{w.ids['step']}",
        lambda w: w.member,
        lambda c, w: ok(c.get(f"{API}/plan/steps/{w.ids['step']}", headers=w.member.headers)),
        {"status": "doing"},
    ),
    f"{API}/resources/<id:resource_id>": Record(
        lambda w: f"{API}/resources/{w.ids['resource']}",
        lambda w: w.staff,
        lambda c, w: ok(c.get(f"{API}/resources/{w.ids['resource']}")),
        {"name": "Second Chance Market"},
    ),
    f"{API}/jobs/<id:job_id>": Record(
        lambda w: f"{API}/jobs/{w.ids['job']}",
        lambda w: w.staff,
        lambda c, w: ok(c.get(f"{API}/jobs/{w.ids['job']}")),
        {"title": "Prep cook"},
    ),
    f"{API}/reports/<id:report_id>": Record(
        lambda w: f"{API}/reports/{w.ids['report']}",
        lambda w: w.staff,
        lambda c, w: _item(ok(c.get(f"{API}/reports", headers=w.staff.headers)), w.ids["report"]),
        {"resolved": True},
    ),
}


def record_of(rule: str) -> Record:
    if rule not in RECORDS:
        pytest.fail(f"PATCH {rule} is new: give it a record to patch in RECORDS")
    return RECORDS[rule]


# --- 1. an empty PATCH ------------------------------------------------------------------

EMPTY_BODIES: dict[str, dict[str, Any]] = {
    "no body": {},
    "empty object": {"json": {}},
    "no known field": {"json": {"no_such_field": 1}},
}


def test_the_url_map_has_the_patch_routes_this_file_knows():
    # A sanity check on the derivation, not a gate: new rules are parametrized anyway.
    assert set(RECORDS) <= set(PATCH_RULES)
    assert len(PATCH_RULES) >= 7


def test_every_patch_route_takes_a_patch_schema(app):
    for rule in app.url_map.iter_rules():
        if "PATCH" in (rule.methods or ()):
            view = app.view_functions[rule.endpoint]
            [body] = [p for p in view._apidoc["arguments"]["parameters"] if p["in"] == "json"]
            schema = body["schema"]
            assert issubclass(schema if isinstance(schema, type) else type(schema), PatchSchema)


@pytest.mark.parametrize("rule", PATCH_RULES)
def test_a_proper_patch_is_accepted(client, world, rule):
    record = record_of(rule)
    response = client.patch(
        record.path(world), json=record.change, headers=record.actor(world).headers
    )

    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("variant", sorted(EMPTY_BODIES))
@pytest.mark.parametrize("rule", PATCH_RULES)
def test_an_empty_patch_is_refused_and_changes_nothing(client, world, rule, variant):
    record = record_of(rule)
    before = record.read(client, world)

    response = client.patch(
        record.path(world), headers=record.actor(world).headers, **EMPTY_BODIES[variant]
    )

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/validation-error"
    assert body["errors"]
    if variant == "no known field":
        assert body["errors"]["no_such_field"] == ["Unknown field."]
    else:
        assert "Nothing to change" in body["detail"], body
    assert record.read(client, world) == before


# --- 2. booleans are JSON booleans ------------------------------------------------------


def _body_schemas(app: Flask) -> list[tuple[str, ma.Schema]]:
    """Every JSON request body schema of the app, by endpoint."""
    found = []
    for endpoint, view in app.view_functions.items():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            if parameter.get("in") == "json":
                schema = parameter["schema"]
                found.append((endpoint, schema() if isinstance(schema, type) else schema))
    return found


def _booleans(schema: ma.Schema, prefix: str = "") -> list[tuple[str, ma.fields.Field]]:
    found = []
    for name, field in schema.fields.items():
        path = prefix + (field.data_key or name)
        inner = field.inner if isinstance(field, ma.fields.List) else field
        if isinstance(inner, ma.fields.Nested):
            found += _booleans(inner.schema, path + ".")
        elif isinstance(inner, ma.fields.Boolean):
            found.append((path, inner))
    return found


def test_every_boolean_in_a_json_body_is_strict(app):
    booleans = [
        (endpoint, path, type(field).__name__)
        for endpoint, schema in _body_schemas(app)
        for path, field in _booleans(schema)
    ]

    assert booleans, "no JSON body has a boolean: the walk over schemas is broken"
    assert [b for b in booleans if b[2] != StrictBoolean.__name__] == []


def test_a_strict_boolean_takes_true_and_false_and_refuses_the_rest():
    schema = ma.Schema.from_dict({"flag": StrictBoolean(allow_none=True)})()

    assert schema.load({"flag": True}) == {"flag": True}
    assert schema.load({"flag": False}) == {"flag": False}
    assert schema.load({"flag": None}) == {"flag": None}
    for value in [*NOT_BOOLEANS, "false", 0.0, [], {}]:
        with pytest.raises(ma.ValidationError) as refused:
            schema.load({"flag": value})
        assert refused.value.messages == {"flag": ["Give true or false."]}


def nested(path: str, value: Any) -> dict[str, Any]:
    """``facets.fair_chance`` -> ``{"facets": {"fair_chance": value}}``."""
    head, _, rest = path.partition(".")
    return {head: nested(rest, value) if rest else value}


# Every boolean a PATCH body takes, and the record it changes.
PATCH_BOOLEANS = [
    (f"{API}/checkins/<id:checkin_id>", "help_requested"),
    (f"{API}/grants/<id:grant_id>", "share_history"),
    (f"{API}/reports/<id:report_id>", "resolved"),
    (f"{API}/jobs/<id:job_id>", "directApply"),
    (f"{API}/jobs/<id:job_id>", "driversLicenseRequired"),
    (f"{API}/jobs/<id:job_id>", "fair_chance"),
    *(
        (f"{API}/resources/<id:resource_id>", f"facets.{name}")
        for name in (
            "fair_chance",
            "recovery_housing",
            "transitional",
            "sobriety_required",
            "federally_assisted",
            "requires_id",
        )
    ),
]


@pytest.mark.parametrize(("rule", "field"), PATCH_BOOLEANS)
def test_a_patch_with_a_boolean_that_is_not_one_is_refused_and_changes_nothing(
    client, world, rule, field
):
    record = record_of(rule)
    before = record.read(client, world)

    for value in NOT_BOOLEANS:
        response = client.patch(
            record.path(world), json=nested(field, value), headers=record.actor(world).headers
        )

        body = assert_problem(response, 422)
        head, _, rest = field.partition(".")
        message = body["errors"][head]
        assert message == (
            nested(rest, ["Give true or false."]) if rest else ["Give true or false."]
        )
        assert head in body["detail"]
        assert record.read(client, world) == before, (field, value)


def _count(client: FlaskClient, path: str, person: Person) -> int:
    return int(ok(client.get(path, headers=person.headers))["total"])


# Booleans of bodies that create something: (path, a valid body, field, who, how many exist).
CREATE_BOOLEANS: list[tuple[str, dict[str, Any], str, str, str]] = [
    (f"{API}/checkins", {"mood": 3}, "help_requested", "member", f"{API}/checkins"),
    (
        f"{API}/invites",
        {"scopes": ["checkins.mood"]},
        "share_history",
        "member",
        f"{API}/invites",
    ),
    (f"{API}/jobs", JOB, "directApply", "staff", f"{API}/jobs"),
    (f"{API}/resources", LISTING, "facets.requires_id", "staff", f"{API}/resources"),
]


@pytest.mark.parametrize(
    ("path", "valid", "field", "who", "listing"),
    CREATE_BOOLEANS,
    ids=[f"{c[0]} {c[2]}" for c in CREATE_BOOLEANS],
)
def test_a_create_with_a_boolean_that_is_not_one_is_refused_and_creates_nothing(
    client, world, path, valid, field, who, listing
):
    person = getattr(world, who)
    before = _count(client, listing, person)

    for value in NOT_BOOLEANS:
        body = json.loads(json.dumps(valid))
        head, _, rest = field.partition(".")
        body[head] = {**body.get(head, {}), **nested(rest, value)} if rest else value
        problem = assert_problem(client.post(path, json=body, headers=person.headers), 422)
        assert head in problem["errors"], problem

    assert _count(client, listing, person) == before


def test_query_string_booleans_still_read_true_and_false(client, world):
    for value in ("true", "false"):
        assert client.get(f"{API}/jobs?fair_chance={value}").status_code == 200
        assert client.get(f"{API}/resources?open_now={value}").status_code == 200


# --- 3. what gunicorn refuses is problem+json too ---------------------------------------


def raw_request(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are, read the whole answer (gunicorn closes after an error)."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def assert_raw_problem(answer: tuple[int, dict[str, str], bytes], statuses: set[int]) -> dict:
    status, headers, body = answer
    assert status in statuses, (status, body[:300])
    assert headers["content-type"].startswith("application/problem+json"), headers
    assert int(headers["content-length"]) == len(body)
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    assert problem["type"].startswith("/problems/") and problem["title"]
    assert isinstance(problem["detail"], str) and len(problem["detail"]) > 10
    return problem


@pytest.fixture
def server(app, database_url, tmp_path):
    with running_gunicorn(production_env(database_url, tmp_path), tmp_path) as running:
        yield running


def test_a_request_line_too_long_for_gunicorn_is_a_problem(server):
    search = "shelter " * 1200  # about 9.6 KB: beyond any request line gunicorn reads
    request = f"GET /hsds/services?search={search.replace(' ', '+')} HTTP/1.1\r\n"
    request += f"Host: {server.address[0]}\r\nConnection: close\r\n\r\n"

    problem = assert_raw_problem(raw_request(server.address, request.encode()), {414})
    assert problem["type"] == "/problems/uri-too-long"
    assert "shorter" in problem["detail"]


def test_a_search_within_the_limit_reaches_the_app(server):
    # 200 characters, the longest search, each percent-encoded to six bytes.
    search = "%C3%A9" * 200
    request = (
        f"GET /hsds/services?search={search} HTTP/1.1\r\n"
        f"Host: {server.address[0]}\r\nConnection: close\r\n\r\n"
    )

    status, headers, body = raw_request(server.address, request.encode())
    assert status == 200, body[:300]
    assert headers["content-type"].startswith("application/json")


def test_a_search_too_long_for_the_app_but_not_for_gunicorn_is_the_apps_problem(server):
    search = "+".join(["shelter"] * 400)  # about 3.2 KB: within the request line limit
    request = (
        f"GET /hsds/services?search={search} HTTP/1.1\r\n"
        f"Host: {server.address[0]}\r\nConnection: close\r\n\r\n"
    )

    problem = assert_raw_problem(raw_request(server.address, request.encode()), {422})
    assert "query.search" in problem["errors"]


def test_an_oversized_header_is_a_problem(server):
    request = (
        f"GET /healthz HTTP/1.1\r\nHost: {server.address[0]}\r\n"
        f"X-Padding: {'a' * 20_000}\r\nConnection: close\r\n\r\n"
    )

    problem = assert_raw_problem(raw_request(server.address, request.encode()), {431})
    assert problem["type"] == "/problems/headers-too-large"


def test_too_many_headers_is_a_problem(server):
    padding = "".join(f"X-Padding-{i}: {i}\r\n" for i in range(150))
    request = (
        f"GET /healthz HTTP/1.1\r\nHost: {server.address[0]}\r\n{padding}Connection: close\r\n\r\n"
    )

    assert_raw_problem(raw_request(server.address, request.encode()), {431})


def test_a_request_that_is_not_http_is_a_problem(server):
    assert_raw_problem(raw_request(server.address, b"HELLO THERE\r\n\r\n"), {400})
