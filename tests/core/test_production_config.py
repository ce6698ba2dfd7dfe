"""Production refuses settings that would quietly weaken it (issue 10, item 5).

With the default ``memory://`` rate-limit storage every gunicorn worker counts on its own,
so two workers let 20 failed sign-ins a minute through a limit of 10. In production,
per-process storage with more than one worker refuses to start. These tests start the real
``gunicorn -c gunicorn.conf.py wsgi:app`` as a deployment would.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
import requests

from api.core.config import shared_limits_problem
from tests.fixtures.production import (
    production_env,
    running_gunicorn,
    start_gunicorn,
    stop_gunicorn,
)

REDIS_URI = "redis://127.0.0.1:6379/15"


def test_production_with_two_workers_and_per_process_limits_refuses_to_start(
    app, database_url, tmp_path
):
    server = start_gunicorn(production_env(database_url, tmp_path, GUNICORN_WORKERS="2"), tmp_path)
    try:
        code = server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stop_gunicorn(server)
        pytest.fail(f"gunicorn started anyway:\n{server.output()}")

    assert code != 0
    assert "RATELIMIT_STORAGE_URI" in server.output()
    assert "2 workers" in server.output()


def test_production_with_two_workers_and_redis_limits_starts_and_shares_the_count(
    app, database_url, tmp_path
):
    env = production_env(
        database_url,
        tmp_path,
        GUNICORN_WORKERS="2",
        RATELIMIT_STORAGE_URI=REDIS_URI,
        # Only the per-username limit is under test; earlier runs share this address.
        RATELIMIT_CREDENTIALS_PER_IP="100000/minute",
    )
    attempt = {"username": f"nobody{uuid.uuid4().hex[:12]}", "password": "not it at all"}

    with running_gunicorn(env, tmp_path) as server:
        # A fresh connection each time, so the attempts spread over both workers.
        codes = [
            requests.post(server.url + "/api/v1/auth/token", json=attempt, timeout=10).status_code
            for _ in range(11)
        ]

    assert codes == [401] * 10 + [429]


def test_production_with_one_worker_and_per_process_limits_starts(app, database_url, tmp_path):
    env = production_env(database_url, tmp_path, GUNICORN_WORKERS="1")

    with running_gunicorn(env, tmp_path) as server:
        assert requests.get(server.url + "/healthz", timeout=10).json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("settings", "workers", "refused"),
    [
        ({"HOMEWARD_ENV": "production", "RATELIMIT_STORAGE_URI": "memory://"}, 2, True),
        ({"HOMEWARD_ENV": "production"}, 5, True),  # the default storage is per process
        ({"HOMEWARD_ENV": "production", "RATELIMIT_STORAGE_URI": "memory://"}, 1, False),
        ({"HOMEWARD_ENV": "production", "RATELIMIT_STORAGE_URI": REDIS_URI}, 4, False),
        ({"HOMEWARD_ENV": "development", "RATELIMIT_STORAGE_URI": "memory://"}, 4, False),
        ({"HOMEWARD_ENV": "production", "RATELIMIT_ENABLED": False}, 4, False),
    ],
)
def test_which_settings_need_shared_rate_limits(settings, workers, refused):
    problem = shared_limits_problem(settings, workers)

    assert (problem is not None) == refused
    assert problem is None or "RATELIMIT_STORAGE_URI" in problem
