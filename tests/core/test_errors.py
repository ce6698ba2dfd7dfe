"""Every error is Problem Details (RFC 9457): ``application/problem+json`` with type, title,
status and detail (and per-field ``errors`` for validation). Bad input is refused with a
4xx, never a 500; a real 500 shows no internals. Every response carries an X-Request-ID.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer

from api import create_app
from tests.fixtures.backends import TEST_CONFIG
from tests.fixtures.http import assert_problem

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
RECOVER = "/api/v1/auth/recover"
ME = "/api/v1/me"

NUL = "\u0000"
LONE_SURROGATE = "\ud800"
BELL = "\u0007"
ESCAPE = "\u001b"


def member(**overrides: Any) -> dict[str, Any]:
    return {"username": "river", "password": "a long walk home", "role": "member", **overrides}


def assert_client_error(response: Any) -> dict[str, Any]:
    """A 4xx Problem Details answer (never a 500, never a bare HTML page)."""
    assert 400 <= response.status_code < 500, (
        response.status_code,
        response.get_data(as_text=True),
    )
    return assert_problem(response, response.status_code)


# --- routing ----------------------------------------------------------------------------


def test_an_unknown_path_is_a_404_problem(client):
    for path in ("/api/v1/nothing-here", "/nothing-here", "/api/v1/me/nothing"):
        body = assert_problem(client.get(path), 404)
        assert body["type"] == "/problems/not-found"


def test_a_wrong_method_is_a_405_problem_with_allow(client):
    response = client.get(REGISTER)

    body = assert_problem(response, 405)
    assert body["type"] == "/problems/method-not-allowed"
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "POST" in allowed
    assert "GET" not in allowed


def test_a_wrong_method_on_a_protected_path_is_405_before_auth(client):
    response = client.put("/api/v1/me/sessions", json={})

    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


# --- request bodies ---------------------------------------------------------------------


def test_an_oversized_body_is_a_413_problem_and_nothing_is_created(client, app):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    body = json.dumps(member(username="bigbody", display_name="x" * (2 * 1024 * 1024)))

    response = client.post(REGISTER, data=body, content_type="application/json")

    problem = assert_problem(response, 413)
    assert problem["type"] == "/problems/payload-too-large"
    assert_problem(
        client.post(TOKEN, json={"username": "bigbody", "password": "a long walk home"}), 401
    )


def test_a_form_encoded_body_is_a_415_problem(client, accounts):
    person = accounts.register()

    token = client.post(TOKEN, data={"username": person.username, "password": person.password})
    patch = client.patch(ME, data={"display_name": "Form"}, headers=person.headers)
    plain = client.post(
        TOKEN,
        data=json.dumps({"username": person.username, "password": person.password}),
        content_type="text/plain",
    )

    for response in (token, patch, plain):
        body = assert_problem(response, 415)
        assert body["type"] == "/problems/unsupported-media-type"
    assert client.get(ME, headers=person.headers).get_json()["display_name"] is None


def test_malformed_json_is_a_400_problem(client):
    response = client.post(
        TOKEN, data='{"username": "river", "password": ', content_type="application/json"
    )

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/bad-request"


def test_a_json_array_instead_of_an_object_is_refused(client):
    for path in (REGISTER, TOKEN, REFRESH, RECOVER):
        response = client.post(path, json=[member()])
        assert_client_error(response)


def test_a_json_string_or_null_body_is_refused(client):
    for payload in ('"river"', "null", "42"):
        response = client.post(REGISTER, data=payload, content_type="application/json")
        assert_client_error(response)


def test_an_unknown_field_is_a_422_with_per_field_errors(client):
    response = client.post(REGISTER, json=member(email="river@example.org", is_admin=True))

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/validation-error"
    assert set(body["errors"]) == {"email", "is_admin"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())
    assert_problem(
        client.post(TOKEN, json={"username": "river", "password": "a long walk home"}), 401
    )


def test_missing_required_fields_are_named(client):
    body = assert_problem(client.post(REGISTER, json={}), 422)

    assert {"username", "password", "role"} <= set(body["errors"])


def test_a_wrong_json_type_is_a_422(client):
    body = assert_problem(
        client.post(REGISTER, json=member(username=12345, display_name=["a"])), 422
    )

    assert {"username", "display_name"} <= set(body["errors"])


def test_too_long_strings_are_a_422(client):
    long_username = assert_problem(client.post(REGISTER, json=member(username="u" * 33)), 422)
    long_name = assert_problem(client.post(REGISTER, json=member(display_name="d" * 81)), 422)
    long_password = assert_problem(client.post(REGISTER, json=member(password="p" * 257)), 422)

    assert "username" in long_username["errors"]
    assert "display_name" in long_name["errors"]
    assert "password" in long_password["errors"]


def test_strings_at_their_length_limit_are_accepted(client):
    response = client.post(REGISTER, json=member(username="u" * 32, display_name="d" * 80))

    assert response.status_code == 201, response.get_json()


# --- text that a database cannot (or should not) store ----------------------------------

BAD_TEXT = {
    "nul": f"ab{NUL}cd",
    "lone-surrogate": f"ab{LONE_SURROGATE}cd",
    "bell": f"ab{BELL}cd",
    "escape": f"ab{ESCAPE}cd",
    "newline": "ab\ncd",
}


@pytest.mark.parametrize("text", BAD_TEXT.values(), ids=BAD_TEXT.keys())
@pytest.mark.parametrize("field", ["username", "display_name", "device_name"])
def test_bad_characters_in_a_text_field_at_registration_are_a_422(client, field, text):
    response = client.post(REGISTER, json=member(**{field: text}))

    body = assert_problem(response, 422)
    assert field in body["errors"]


@pytest.mark.parametrize("text", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_bad_characters_in_a_profile_update_are_a_422(client, accounts, text):
    person = accounts.register(display_name="River")

    body = assert_problem(
        client.patch(ME, json={"display_name": text}, headers=person.headers), 422
    )

    assert "display_name" in body["errors"]
    assert client.get(ME, headers=person.headers).get_json()["display_name"] == "River"


@pytest.mark.parametrize("text", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_bad_characters_in_profile_fields_other_than_text_are_a_422(client, accounts, text):
    person = accounts.register()

    for field in ("timezone", "locale", "phone"):
        body = assert_problem(client.patch(ME, json={field: text}, headers=person.headers), 422)
        assert field in body["errors"]


def test_a_lone_surrogate_in_a_new_password_is_a_422(client):
    response = client.post(REGISTER, json=member(password=f"a long walk{LONE_SURROGATE}home"))

    body = assert_problem(response, 422)
    assert "password" in body["errors"]


CREDENTIAL_REQUESTS = {
    "sign-in username with NUL": (
        TOKEN,
        {"username": f"riv{NUL}er", "password": "a long walk home"},
    ),
    "sign-in username with lone surrogate": (
        TOKEN,
        {"username": f"riv{LONE_SURROGATE}er", "password": "a long walk home"},
    ),
    "sign-in password with lone surrogate": (
        TOKEN,
        {"username": "river", "password": f"a long{LONE_SURROGATE}walk"},
    ),
    "sign-in password with NUL": (TOKEN, {"username": "river", "password": f"a long{NUL}walk"}),
    "refresh token with NUL": (REFRESH, {"refresh_token": f"rt_abc{NUL}def"}),
    "refresh token with lone surrogate": (REFRESH, {"refresh_token": f"rt_{LONE_SURROGATE}"}),
    "recover username with NUL": (
        RECOVER,
        {
            "username": f"riv{NUL}er",
            "recovery_code": "AAAA-BBBB-CCCC-DDDD",
            "new_password": "a new long walk",
        },
    ),
    "recover username with lone surrogate": (
        RECOVER,
        {
            "username": f"riv{LONE_SURROGATE}er",
            "recovery_code": "AAAA-BBBB-CCCC-DDDD",
            "new_password": "a new long walk",
        },
    ),
    "recovery code with lone surrogate": (
        RECOVER,
        {
            "username": "river",
            "recovery_code": f"AAAA{LONE_SURROGATE}",
            "new_password": "a new long walk",
        },
    ),
}


@pytest.mark.parametrize(
    ("path", "payload"), CREDENTIAL_REQUESTS.values(), ids=CREDENTIAL_REQUESTS.keys()
)
def test_bad_characters_in_credentials_are_refused_never_a_500(client, accounts, path, payload):
    accounts.register(username="river")

    response = client.post(path, json=payload)

    assert response.status_code != 500, response.get_data(as_text=True)
    assert_client_error(response)


# --- authentication ---------------------------------------------------------------------


def test_no_token_is_a_401_problem_with_a_bearer_challenge(client):
    response = client.get(ME)

    body = assert_problem(response, 401)
    assert body["type"] == "/problems/unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_garbage_or_malformed_token_is_a_401_problem(client, accounts):
    person = accounts.register()

    for header in (
        "Bearer not-a-real-token",
        "Bearer ",
        "Bearer",
        f"Basic {person.access_token}",
        f"Bearer {person.access_token}x",
        person.access_token,
        f"Bearer {person.refresh_token}",
    ):
        response = client.get(ME, headers={"Authorization": header})
        body = assert_problem(response, 401)
        assert body["type"] == "/problems/unauthorized", header
        assert "WWW-Authenticate" in response.headers


def test_a_token_signed_with_another_key_is_a_401(client, accounts):
    person = accounts.register()
    forged = URLSafeTimedSerializer("not-the-server-key", salt="homeward.access-token.v1").dumps(
        {"a": person.account_id, "s": person.session_id}
    )

    assert_problem(client.get(ME, headers={"Authorization": f"Bearer {forged}"}), 401)


def test_too_many_failed_logins_are_a_429_problem_with_retry_after(client, accounts):
    person = accounts.register()
    for attempt in range(10):
        assert_problem(
            client.post(TOKEN, json={"username": person.username, "password": f"wrong {attempt}"}),
            401,
        )

    response = client.post(TOKEN, json={"username": person.username, "password": "wrong"})

    body = assert_problem(response, 429)
    assert body["type"] == "/problems/rate-limited"
    assert int(response.headers["Retry-After"]) > 0


# --- unexpected failures ----------------------------------------------------------------


@pytest.fixture
def exploding_client() -> Any:
    """A separate app (not the shared one) with a route that fails unexpectedly."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite://"})

    @app.route("/api/v1/explode", methods=["GET", "POST"])
    def explode() -> Any:
        raise RuntimeError("secret internals: password=hunter2 at /srv/homeward/api/x.py")

    yield app.test_client()
    app.extensions["homeward.db"].engine.dispose()


def test_an_unexpected_exception_is_a_500_problem_without_internals(exploding_client):
    for response in (
        exploding_client.get("/api/v1/explode"),
        exploding_client.post("/api/v1/explode", json={"a": 1}),
    ):
        body = assert_problem(response, 500)
        text = response.get_data(as_text=True)
        assert body["type"] == "/problems/internal-error"
        for leak in ("secret internals", "Traceback", "RuntimeError", "hunter2", "/srv/", ".py"):
            assert leak not in text, leak
        assert response.headers["X-Request-ID"]
        assert body["request_id"] == response.headers["X-Request-ID"]


# --- request ids ------------------------------------------------------------------------


def test_every_response_carries_a_request_id(client, accounts):
    person = accounts.register()
    responses = {
        "200": client.get(ME, headers=person.headers),
        "201": client.post(REGISTER, json=member(username="another")),
        "204": client.delete(f"/api/v1/me/sessions/{person.session_id}", headers=person.headers),
        "400": client.post(TOKEN, data="{", content_type="application/json"),
        "401": client.get(ME),
        "404": client.get("/api/v1/nothing-here"),
        "405": client.get(REGISTER),
        "413": client.post(REGISTER, data="x" * (2 * 1024 * 1024), content_type="application/json"),
        "415": client.post(TOKEN, data={"username": "a"}),
        "422": client.post(REGISTER, json={}),
        "health": client.get("/healthz"),
    }
    for _ in range(11):
        responses["429"] = client.post(TOKEN, json={"username": "another", "password": "wrong"})
    assert responses["429"].status_code == 429

    ids = []
    for name, response in responses.items():
        request_id = response.headers.get("X-Request-ID")
        assert request_id, name
        ids.append(request_id)
        if response.mimetype == "application/problem+json":
            assert response.get_json()["request_id"] == request_id, name
    assert len(set(ids)) == len(ids), "each request gets its own id"


def test_a_safe_incoming_request_id_is_echoed(client):
    response = client.get("/api/v1/nothing-here", headers={"X-Request-ID": "phone-req_1234.abc"})

    assert response.headers["X-Request-ID"] == "phone-req_1234.abc"
    assert response.get_json()["request_id"] == "phone-req_1234.abc"


def test_an_unsafe_incoming_request_id_is_replaced(client):
    for unsafe in (
        "short",
        "has spaces in it",
        "x" * 65,
        "<script>alert(1)</script>",
        "id;drop table",
    ):
        response = client.get("/healthz", headers={"X-Request-ID": unsafe})
        echoed = response.headers["X-Request-ID"]
        assert echoed != unsafe
        assert re.fullmatch(r"[0-9a-f]{32}", echoed), echoed
