"""Fixtures shared by every test: the app on each backend, a clean database per test,
and an ``accounts`` helper that registers people through the real API.

Every test that uses ``app`` (or ``client``) runs twice: on SQLite and on PostgreSQL.
``--backend sqlite|postgresql`` narrows that. An unreachable PostgreSQL fails the run
(nothing is skipped silently); ``--backend sqlite`` is the explicit way to leave it out.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from api import create_app
from api.core.extensions import limiter
from api.core.migrate import upgrade
from api.models import metadata

BACKENDS = ("sqlite", "postgresql")
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

TEST_CONFIG = {
    "TESTING": True,
    # Cheap hashing keeps the suite fast; production cost comes from config defaults.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8 * 1024,
    "ARGON2_PARALLELISM": 1,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOG_LEVEL": "WARNING",
    # Development secrets (the VAPID key) are generated here, not in the checkout.
    "INSTANCE_PATH": tempfile.mkdtemp(prefix="homeward-test-instance-"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=[*BACKENDS, "all"],
        default="all",
        help="Database backend(s) to run the suite on.",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend")
        backends = BACKENDS if chosen == "all" else (chosen,)
        metafunc.parametrize("backend", backends, scope="session")


def _postgres_database() -> Iterator[str]:
    name = f"homeward_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({error}). Start it, point "
            "TEST_POSTGRES_URL at one, or run only SQLite with --backend sqlite."
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this run, dropped at the end."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'homeward.sqlite3'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Any) -> Iterator[str]:
    """Another database of the current backend, empty (no migrations run), for one test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def _migrated_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url})
    with app.app_context():
        upgrade(app)
    yield app
    app.extensions["homeward.db"].engine.dispose()


def _empty_tables(app: Flask) -> None:
    engine = app.extensions["homeward.db"].engine
    tables = list(reversed(metadata.sorted_tables))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def app(_migrated_app: Flask) -> Iterator[Flask]:
    """The app on the current backend, with empty tables and fresh rate limits."""
    _empty_tables(_migrated_app)
    limiter.reset()
    yield _migrated_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def push(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local Web Push service the app may push to, checking the app's own VAPID key."""
    from tests.fakes.push_service import PushService

    monkeypatch.setitem(app.config, "WEBPUSH_ALLOWED_HOSTS", ["127.0.0.1"])
    monkeypatch.setitem(app.config, "WEBPUSH_ALLOW_HTTP", True)
    with PushService(vapid_public_key=app.extensions["homeward.vapid_public_key"]) as service:
        yield service


@pytest.fixture
def twilio(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local Twilio API the app sends SMS to (its account, token and sender number)."""
    from tests.fakes.twilio_api import TwilioApi

    with TwilioApi() as fake:
        for key, value in {
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_FROM_NUMBER": "+14155550100",
            "TWILIO_API_BASE_URL": fake.base_url,
        }.items():
            monkeypatch.setitem(app.config, key, value)
        yield fake


@dataclass
class Person:
    """Someone registered through the API, with what registration handed back."""

    username: str
    password: str
    role: str
    account_id: str
    access_token: str
    refresh_token: str
    session_id: str
    recovery_codes: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Accounts:
    _numbers = itertools.count(1)

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(
        self, role: str = "member", password: str = "a long walk home", **profile: Any
    ) -> Person:
        username = profile.pop("username", f"person{next(self._numbers)}")
        response = self.client.post(
            "/api/v1/auth/register",
            json={
                "username": username,
                "password": password,
                "role": role,
                **profile,
            },
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        return Person(
            username=username,
            password=password,
            role=role,
            account_id=body["account"]["id"],
            access_token=body["tokens"]["access_token"],
            refresh_token=body["tokens"]["refresh_token"],
            session_id=body["tokens"]["session_id"],
            recovery_codes=body["recovery_codes"],
            extra=body["account"],
        )

    def sign_in(self, person: Person, device_name: str | None = None) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/auth/token",
            json={
                "username": person.username,
                "password": person.password,
                "device_name": device_name,
            },
        )
        assert response.status_code == 200, response.get_json()
        tokens: dict[str, Any] = response.get_json()["tokens"]
        return tokens


@pytest.fixture
def accounts(client: FlaskClient) -> Accounts:
    return Accounts(client)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is Problem Details with ``status`` and a readable detail."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json", response.mimetype
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    return body


# --- a real gunicorn, started as production starts it ---------------------------------

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def production_env(database_url: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of ``gunicorn -c gunicorn.conf.py wsgi:app`` in production: only
    what a deployment sets (nothing inherited from this shell), on a free local port."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOMEWARD_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "gunicorn-test-secret-key",
        "HOMEWARD_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
        "HOMEWARD_INSTANCE_PATH": str(tmp_path / "instance"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "GUNICORN_WORKERS": "1",
        "LOG_LEVEL": "WARNING",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8192",
        "ARGON2_PARALLELISM": "1",
    }
    env.update(overrides)
    (tmp_path / "metrics").mkdir(exist_ok=True)
    return env


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    log: Path
    address: tuple[str, int]

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_gunicorn(env: dict[str, str], tmp_path: Path) -> Gunicorn:
    log = tmp_path / f"gunicorn-{uuid.uuid4().hex[:8]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    host, port = env["GUNICORN_BIND"].rsplit(":", 1)
    return Gunicorn(process, log, (host, int(port)))


def wait_healthy(server: Gunicorn, timeout: float = 60) -> None:
    """Wait until the server answers /healthz with 200; fail with its output if it exits."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}:\n{server.output()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /healthz within {timeout} s:\n{server.output()}")


def stop_gunicorn(server: Gunicorn) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextlib.contextmanager
def running_gunicorn(env: dict[str, str], tmp_path: Path) -> Iterator[Gunicorn]:
    """gunicorn serving with ``env``, answering /healthz; stopped at the end."""
    server = start_gunicorn(env, tmp_path)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop_gunicorn(server)
