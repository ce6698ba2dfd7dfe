"""Logs are JSON lines with a request id and nothing personal; metrics count by route."""

import io
import json
import logging

import pytest

from api.core.observability import JsonFormatter, RequestIdFilter


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_log_lines_are_json_with_the_request_id_and_no_personal_data(client, accounts, log_lines):
    person = accounts.register(
        username="secretive.sam",
        password="my very private phrase",
        phone="+14155550123",
        display_name="Samuel Private",
    )
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    # Replay: the warning path logs too.
    client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    client.post("/api/v1/auth/token", json={"username": "secretive.sam", "password": "wrong one!"})

    lines = log_lines()
    assert lines, "requests were logged"
    access = [line for line in lines if line["logger"] == "homeward.access"]
    assert {line["route"] for line in access} >= {"/api/v1/auth/register", "/api/v1/auth/refresh"}
    assert all(len(line["request_id"]) >= 8 for line in access)
    everything = json.dumps(lines)
    for secret in (
        "secretive.sam",
        "my very private phrase",
        "+14155550123",
        "Samuel Private",
        person.refresh_token,
        person.access_token,
        refreshed.get_json()["refresh_token"],
        "wrong one!",
    ):
        assert secret not in everything


def test_routes_are_logged_as_templates_not_raw_paths(client, accounts, log_lines):
    person = accounts.register()
    client.delete(f"/api/v1/me/sessions/{person.session_id}", headers=person.headers)
    access = [line for line in log_lines() if line["logger"] == "homeward.access"]
    assert access[-1]["route"] == "/api/v1/me/sessions/<id:session_id>"
    assert person.session_id not in json.dumps(log_lines())


def test_request_id_is_returned_and_a_safe_incoming_one_is_kept(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "phone-abc-12345"})
    assert kept.headers["X-Request-ID"] == "phone-abc-12345"
    unsafe = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert unsafe.headers["X-Request-ID"] != "<script>alert(1)</script>"


def test_metrics_count_requests_by_route_and_status(client, accounts):
    person = accounts.register()
    for _ in range(3):
        client.get("/api/v1/me", headers=person.headers)
    client.get("/api/v1/me")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'homeward_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in text
    assert 'homeward_http_requests_total{method="GET",route="/api/v1/me",status="401"}' in text
    assert "homeward_http_request_duration_seconds_bucket" in text
    assert person.account_id not in text


def test_health_answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok"}


def test_an_unexpected_database_error_logs_where_not_what(app, log_lines):
    from sqlalchemy import insert

    from api import create_app
    from api.accounts.models import Account
    from api.core.db import get_session
    from tests.fixtures.backends import TEST_CONFIG

    broken = create_app({**TEST_CONFIG, "DATABASE_URL": app.config["DATABASE_URL"]})

    @broken.post("/api/v1/broken")
    def _broken():
        # A bug: no password hash, so a NOT NULL violation whose text names the values.
        get_session().execute(
            insert(Account).values(
                id="x", username="Dana Private Name", username_key="dana private name"
            )
        )
        return {}

    response = broken.test_client().post("/api/v1/broken")
    broken.extensions["homeward.db"].engine.dispose()

    assert response.status_code == 500
    assert "Dana" not in response.get_data(as_text=True)
    [entry] = [line for line in log_lines() if line["msg"] == "unhandled exception"]
    assert entry["error"] == "IntegrityError" and "_broken" in entry["stack"]
    assert "Dana Private Name" not in json.dumps(log_lines())
