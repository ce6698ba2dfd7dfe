"""A database that goes away under a running app (a PostgreSQL restart, a network cut, a
locked SQLite file) gives phones 503 problem+json with ``Retry-After``, never a 500; the app
recovers by itself when the database is back; nothing a phone was told was saved is lost,
and nothing refused is half-applied.

The app is served over real HTTP (a werkzeug server thread) and the database is really
taken away under it: on PostgreSQL a TCP proxy between the app and the server is cut (every
connection reset, new ones refused) and restored, and the app's backends are terminated
with ``pg_terminate_backend`` (what a restart does to open connections); the real server is
never restarted. On SQLite another connection takes the file with an exclusive lock.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from api import create_app
from api.core.migrate import upgrade
from tests.fakes.push_service import PushService
from tests.fakes.tcp_proxy import TcpProxy
from tests.fixtures.backends import TEST_CONFIG, postgres_database

CHECKINS = "/api/v1/checkins"
SYNC = "/api/v1/sync"
OUTAGE_CONFIG = {
    **TEST_CONFIG,
    # A locked SQLite file is reported after 200 ms instead of 5 s.
    "SQLITE_BUSY_TIMEOUT_MS": 200,
    "WEBPUSH_ALLOWED_HOSTS": ["127.0.0.1"],
    "WEBPUSH_ALLOW_HTTP": True,
}
TIMEOUT = 30  # seconds for any one HTTP call; a hang is a failure, not a wait
_numbers = itertools.count(1)


# -- taking the database away ------------------------------------------------------------


class PostgresOutage:
    """The app reaches PostgreSQL through ``proxy``; cutting it is the server going away."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy

    def cut(self) -> None:
        self.proxy.cut()

    def restore(self) -> None:
        self.proxy.restore()


class SqliteOutage:
    """Another connection takes the file. ``full``: with ``locking_mode=EXCLUSIVE``, so
    readers are locked out as well as writers (the file is as good as gone); SQLite lives in
    this process, so the app's idle pooled connections are closed first (as a pool recycle
    would) and the lock is taken while no request is running. Otherwise: ``BEGIN
    EXCLUSIVE``, which in WAL mode locks out writers only, and works under load."""

    def __init__(self, app: Flask, path: str, full: bool = True) -> None:
        self.app, self.path, self.full = app, path, full
        self.lock: sqlite3.Connection | None = None

    def cut(self) -> None:
        if self.full:
            self.app.extensions["homeward.db"].engine.dispose()
        lock = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        if self.full:
            lock.execute("PRAGMA locking_mode=EXCLUSIVE")
        lock.execute("BEGIN EXCLUSIVE")
        self.lock = lock

    def restore(self) -> None:
        if self.lock is not None:
            self.lock.close()
            self.lock = None


@dataclass
class Served:
    """The app over real HTTP, on a database of its own that the test can take away."""

    backend: str
    base_url: str
    app: Flask
    direct_url: str  # the database itself, not through the proxy
    app_url: str  # what the app was given (the proxy, on PostgreSQL)
    outage: Any
    http: requests.Session = field(default_factory=requests.Session)

    def get(self, path: str, person: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.get(
            self.base_url + path, headers=_headers(person), timeout=TIMEOUT, **kwargs
        )

    def post(self, path: str, person: Any = None, **kwargs: Any) -> requests.Response:
        headers = {**_headers(person), **kwargs.pop("headers", {})}
        return self.http.post(self.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def register(self) -> Member:
        username = f"outage{next(_numbers)}"
        response = self.post(
            "/api/v1/auth/register",
            json={"username": username, "password": "a long walk home", "role": "member"},
        )
        assert response.status_code == 201, response.text
        return Member(username, response.json()["tokens"]["access_token"])


@dataclass
class Member:
    username: str
    access_token: str


def _headers(person: Member | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.access_token}"} if person else {}


def _serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="outage-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _migrated(url: str) -> None:
    migrator = create_app({**OUTAGE_CONFIG, "DATABASE_URL": url})
    with migrator.app_context():
        upgrade(migrator)
    migrator.extensions["homeward.db"].engine.dispose()


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}@{proxy.host}:{proxy.port}" if parts.username else proxy.host
    return urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def _served(backend: str, tmp_path: Any, *, proxied: bool = True, full: bool = True):
    with contextlib.ExitStack() as stack:
        if backend == "postgresql":
            direct = stack.enter_context(contextlib.contextmanager(postgres_database)())
            _migrated(direct)
            target = urlsplit(direct)
            proxy = stack.enter_context(TcpProxy(target.hostname or "", target.port or 5432))
            app_url = _through(proxy, direct) if proxied else direct
            app = create_app({**OUTAGE_CONFIG, "DATABASE_URL": app_url})
            outage: Any = PostgresOutage(proxy)
        else:
            path = str(tmp_path / f"outage-{uuid.uuid4().hex[:8]}.sqlite3")
            direct = app_url = f"sqlite:///{path}"
            _migrated(direct)
            app = create_app({**OUTAGE_CONFIG, "DATABASE_URL": app_url})
            outage = SqliteOutage(app, path, full=full)
        stack.callback(app.extensions["homeward.db"].engine.dispose)
        stack.callback(outage.restore)
        base_url = stack.enter_context(contextlib.contextmanager(_serve)(app))
        yield Served(backend, base_url, app, direct, app_url, outage)


@pytest.fixture
def served(backend: str, tmp_path: Any) -> Iterator[Served]:
    with _served(backend, tmp_path) as it:
        yield it


# -- what the phone sends and sees ---------------------------------------------------------


def raw_checkin(record_id: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "id": record_id,
        "mood": 3,
        "needs": "",
        "wins": None,
        "note": None,
        "help_requested": False,
        "place": None,
        "recorded_at": now,
        "created_at": now,
        "updated_at": now,
        "_status": "created",
        "_changed": "",
    }


def push(served: Served, member: Member, ids: list[str], key: str) -> requests.Response:
    changes = {"checkins": {"created": [raw_checkin(i) for i in ids], "updated": [], "deleted": []}}
    return served.post(
        SYNC,
        member,
        params={"last_pulled_at": 0},
        json=changes,
        headers={"Idempotency-Key": key},
    )


def stored_checkins(served: Served, member: Member) -> list[str]:
    """Every check-in of the member, through the API (every page)."""
    ids: list[str] = []
    for page in itertools.count(1):
        response = served.get(CHECKINS, member, params={"page": page, "page_size": 100})
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(item["id"] for item in body["items"])
        if page * 100 >= body["total"]:
            return ids


def assert_unavailable(response: requests.Response) -> dict[str, Any]:
    """503 problem+json that tells a phone to try again in a few seconds."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 30, retry_after
    body: dict[str, Any] = response.json()
    assert body["status"] == 503 and body["title"]
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    return body


def assert_try_again(response: requests.Response) -> None:
    body = assert_unavailable(response)
    assert body["type"] == "/problems/service-unavailable", body
    detail = body["detail"].lower()
    assert "nothing" in detail and "saved" in detail and "again" in detail, body["detail"]


# -- one outage, step by step --------------------------------------------------------------


def test_during_an_outage_phones_get_503_and_after_it_everything_works_again(served):
    member = served.register()
    before = served.post(CHECKINS, member, json={"id": "before-outage", "mood": 4})
    assert before.status_code == 201, before.text
    assert push(served, member, ["pushedbefore0001"], "key-before").status_code == 200

    served.outage.cut()
    try:
        # Writes: a REST check-in, a sync push; reads: a list, a pull. All "try again".
        assert_try_again(served.post(CHECKINS, member, json={"id": "during-outage", "mood": 2}))
        assert_try_again(push(served, member, ["pusheddur0001", "pusheddur0002"], "key-during"))
        assert_try_again(served.get(CHECKINS, member))
        assert_try_again(served.get(SYNC, member))
        # A second round: still 503 (not a 500 once the pool has given up).
        assert_try_again(served.post(CHECKINS, member, json={"id": "during-outage", "mood": 2}))
        ready = served.get("/readyz")
        assert_unavailable(ready)
        assert served.get("/healthz").status_code == 200  # the process itself is fine
    finally:
        served.outage.restore()

    # Back by itself: no restart of the app.
    assert served.get("/readyz").status_code == 200
    after = served.post(CHECKINS, member, json={"id": "after-outage", "mood": 5})
    assert after.status_code == 201, after.text
    assert push(served, member, ["pushedafter0001"], "key-after").status_code == 200
    assert served.get(SYNC, member).status_code == 200

    # Acknowledged writes are there; the refused ones are not, not even in part.
    stored = set(stored_checkins(served, member))
    assert stored == {"before-outage", "pushedbefore0001", "after-outage", "pushedafter0001"}

    # The phone retries what was refused, and it applies (once).
    retried = push(served, member, ["pusheddur0001", "pusheddur0002"], "key-during")
    assert retried.status_code == 200, retried.text
    again = served.post(CHECKINS, member, json={"id": "during-outage", "mood": 2})
    assert again.status_code == 201, again.text
    assert sorted(stored_checkins(served, member)) == sorted(
        [*stored, "pusheddur0001", "pusheddur0002", "during-outage"]
    )

    metrics = served.get("/metrics").text
    assert 'homeward_http_requests_total{method="POST",route="/api/v1/checkins",status="503"}' in (
        metrics
    )
    assert "homeward_database_unavailable_total" in metrics
    assert 'status="500"' not in metrics


def test_an_outage_is_logged_without_personal_data(served, caplog):
    member = served.register()
    served.outage.cut()
    try:
        with caplog.at_level("WARNING"):
            assert_try_again(
                served.post(CHECKINS, member, json={"mood": 2, "note": "Dana's private note"})
            )
    finally:
        served.outage.restore()
    records = [r for r in caplog.records if r.getMessage() == "database unavailable"]
    assert records, [r.getMessage() for r in caplog.records]
    entry = vars(records[0])
    assert entry["route"] == "/api/v1/checkins"
    everything = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    for secret in ("Dana's private note", member.username, member.access_token):
        assert secret not in everything


# -- outages under load ----------------------------------------------------------------------


@dataclass
class Phone:
    """One member's phone writing as fast as it can: REST check-ins retried on 503 with the
    same client id until they are acknowledged; sync pushes of three records sent once."""

    served: Served
    member: Member
    name: str
    acknowledged: set[str] = field(default_factory=set)
    refused_pushes: list[list[str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    unexpected: list[tuple[int, str]] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            try:
                if n % 2 == 0:
                    self._checkin(f"{self.name}-c{n}", stop)
                else:
                    self._push([f"{self.name}p{n}x{i}" for i in range(3)], f"{self.name}-{n}")
            except requests.RequestException as error:  # the server must always answer
                self.unexpected.append((0, repr(error)))

    def _note(self, response: requests.Response) -> None:
        self.statuses.append(response.status_code)
        if response.status_code == 503:
            assert_unavailable(response)
        elif response.status_code >= 300:
            self.unexpected.append((response.status_code, response.text[:300]))

    def _checkin(self, record_id: str, stop: threading.Event) -> None:
        for _ in range(400):
            response = self.served.post(CHECKINS, self.member, json={"id": record_id, "mood": 3})
            self._note(response)
            if response.status_code in (200, 201):
                self.acknowledged.add(record_id)
                return
            if response.status_code != 503:
                return
            time.sleep(0.05)  # a phone would wait Retry-After; the test hurries
        self.unexpected.append((0, f"{record_id} never accepted"))

    def _push(self, ids: list[str], key: str) -> None:
        response = push(self.served, self.member, ids, key)
        self._note(response)
        if response.status_code == 200:
            assert response.json() == {"experimentalRejectedIds": {}}, response.text
            self.acknowledged.update(ids)
        elif response.status_code == 503:
            self.refused_pushes.append(ids)


def _under_load(served: Served, disrupt: Callable[[], None], phones: int = 6) -> list[Phone]:
    """Phones write while ``disrupt`` runs; then every phone's outcome is checked."""
    members = [served.register() for _ in range(phones)]
    crowd = [Phone(served, m, f"ph{i}") for i, m in enumerate(members)]
    stop = threading.Event()
    threads = [threading.Thread(target=p.run, args=(stop,), daemon=True) for p in crowd]
    for thread in threads:
        thread.start()
    try:
        disrupt()
        time.sleep(0.5)  # writes keep going after the database is back
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a phone is stuck"

    statuses = [s for p in crowd for s in p.statuses]
    assert [u for p in crowd for u in p.unexpected] == []  # 2xx or 503, never a 500
    assert 503 in statuses, "the outage was never felt"
    assert sum(200 <= s < 300 for s in statuses) > 10
    for phone in crowd:
        stored = stored_checkins(served, phone.member)
        assert len(stored) == len(set(stored)), "a write was applied twice"
        stored_set = set(stored)
        # Nothing acknowledged is lost.
        assert phone.acknowledged <= stored_set, sorted(phone.acknowledged - stored_set)
        # A refused push is not half-applied (all of it or none: a commit whose answer was
        # lost with the connection may have gone through; the phone's retry is then a no-op).
        for ids in phone.refused_pushes:
            assert set(ids) <= stored_set or not set(ids) & stored_set, (ids, stored)
        refused = {i for ids in phone.refused_pushes for i in ids}
        assert stored_set <= phone.acknowledged | refused, sorted(stored_set - phone.acknowledged)
    return crowd


def test_writes_through_repeated_outages_are_kept_or_refused_whole(backend, tmp_path):
    # Under load SQLite's outage is a writer holding the file (readers still read).
    with _served(backend, tmp_path, full=False) as served:

        def outages() -> None:
            for _ in range(3):
                time.sleep(0.4)
                served.outage.cut()
                time.sleep(0.8)
                served.outage.restore()

        _under_load(served, outages)
        assert served.get("/readyz").status_code == 200


def test_backends_terminated_by_a_restart_do_not_fail_the_next_requests(tmp_path):
    """What a PostgreSQL restart does to open connections: the server ends every backend.
    Idle pooled connections that died meanwhile must not answer the next request with an
    error; requests running at that moment get 503."""
    with _served("postgresql", tmp_path, proxied=False) as served:
        database = urlsplit(served.direct_url).path.lstrip("/")

        def terminate(wait_ms: int = 0) -> int:
            """End every backend of the app's database; with ``wait_ms``, wait until they
            are gone (as after a restart), else return as soon as they are signalled."""
            with psycopg.connect(served.direct_url, autocommit=True) as admin:
                return len(
                    admin.execute(
                        "SELECT pg_terminate_backend(pid, %s) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (wait_ms, database),
                    ).fetchall()
                )

        member = served.register()
        # Fill the pool with several connections, then kill them all while they are idle.
        with contextlib.ExitStack() as stack:
            sessions = [stack.enter_context(requests.Session()) for _ in range(4)]
            barrier = threading.Barrier(4)

            def read(http: requests.Session) -> int:
                barrier.wait()
                return http.get(
                    served.base_url + SYNC, headers=_headers(member), timeout=TIMEOUT
                ).status_code

            threads_out: list[int] = []
            workers = [
                threading.Thread(target=lambda h=h: threads_out.append(read(h))) for h in sessions
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            assert threads_out == [200] * 4
        assert terminate(wait_ms=5000) >= 1

        # The very next requests succeed (no stale connection answers an error).
        assert served.get(CHECKINS, member).status_code == 200
        assert served.post(CHECKINS, member, json={"id": "after-kill", "mood": 3}).status_code == (
            201
        )
        assert push(served, member, ["afterkill0001"], "k-after-kill").status_code == 200
        assert served.get("/readyz").status_code == 200
        assert {"after-kill", "afterkill0001"} <= set(stored_checkins(served, member))

        # And while phones write: terminated backends give 503s, never 500s, nothing lost.
        killed: list[int] = []

        def restarts() -> None:
            for _ in range(6):
                time.sleep(0.25)
                killed.append(terminate())

        _under_load(served, restarts)
        assert sum(killed) > 0
        for _ in range(5):
            assert served.get(CHECKINS, member).status_code == 200


def test_a_locked_sqlite_file_refuses_writes_quickly_and_still_serves_reads(tmp_path):
    with _served("sqlite", tmp_path, full=False) as served:
        member = served.register()
        assert served.post(CHECKINS, member, json={"id": "first", "mood": 3}).status_code == 201
        served.outage.cut()
        try:
            started = time.monotonic()
            assert_try_again(served.post(CHECKINS, member, json={"id": "locked", "mood": 3}))
            assert time.monotonic() - started < 3, "SQLITE_BUSY_TIMEOUT_MS was not applied"
            assert_try_again(push(served, member, ["lockedpush0001"], "k-locked"))
            # WAL: a writer holding the file does not stop readers.
            assert served.get(CHECKINS, member).status_code == 200
        finally:
            served.outage.restore()
        assert served.post(CHECKINS, member, json={"id": "locked", "mood": 3}).status_code == 201
        assert sorted(stored_checkins(served, member)) == ["first", "locked"]


# -- errors that are not outages stay what they are ------------------------------------------


def test_programming_and_integrity_errors_are_not_reported_as_outages(backend, tmp_path):
    from sqlalchemy import insert, text

    from api.accounts.models import Account
    from api.core.db import get_session

    with _served(backend, tmp_path) as served:
        app = served.app

        @app.get("/test/missing-table")
        def _missing_table() -> Any:
            # sqlite3 reports this as an OperationalError too: still a bug, not an outage.
            get_session().execute(text("SELECT * FROM no_such_table"))
            return {}

        @app.get("/test/integrity")
        def _integrity() -> Any:
            get_session().execute(insert(Account).values(id="x", username="y", username_key="y"))
            return {}

        for path in ("/test/missing-table", "/test/integrity"):
            response = app.test_client().get(path)
            assert response.status_code == 500, (path, response.get_data(as_text=True))
            assert response.get_json()["type"] == "/problems/internal-error"
            assert "Retry-After" not in response.headers


def test_the_classifier_tells_connection_failures_from_bugs():
    from sqlalchemy import exc

    from api.core.errors import database_unavailable

    def wrapped(orig: Exception, cls: type[exc.DBAPIError] = exc.OperationalError) -> Exception:
        return cls("SELECT 1", {}, orig)

    for orig in (
        psycopg.OperationalError("connection failed: Connection refused"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.CannotConnectNow("the database system is shutting down"),
        psycopg.errors.CrashShutdown("terminating connection because of crash of another"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("disk I/O error"),
    ):
        assert database_unavailable(wrapped(orig)), orig
    assert database_unavailable(exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"))
    assert database_unavailable(exc.DisconnectionError("gone"))
    invalidated = wrapped(psycopg.InterfaceError("the connection is lost"), exc.InterfaceError)
    invalidated.connection_invalidated = True  # type: ignore[attr-defined]
    assert database_unavailable(invalidated)

    for orig in (
        psycopg.errors.UndefinedTable('relation "x" does not exist'),
        psycopg.errors.UniqueViolation("duplicate key"),
        psycopg.errors.SyntaxError("syntax error"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        sqlite3.OperationalError("no such table: x"),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
    ):
        cls = exc.IntegrityError if "nique" in str(orig) else exc.ProgrammingError
        assert not database_unavailable(wrapped(orig, cls)), orig
        assert not database_unavailable(wrapped(orig)), orig
    assert not database_unavailable(ValueError("database is locked"))
    assert not database_unavailable(exc.InterfaceError("x", {}, psycopg.InterfaceError("misuse")))


# -- the reminder dispatcher ---------------------------------------------------------------


def test_the_dispatcher_process_survives_an_outage_and_delivers_after_it(backend, tmp_path):
    from reminders.models import ReminderDelivery

    with (
        _served(backend, tmp_path, full=False) as served,
        PushService(served.app.extensions["homeward.vapid_public_key"]) as push_service,
    ):
        app = served.app
        member = served.register()
        device = served.post("/api/v1/devices", member, json=push_service.new_subscription())
        assert device.status_code == 201, device.text
        starts = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
        appointment = served.post(
            "/api/v1/appointments",
            member,
            json={
                "title": "x",
                "starts_at": starts,
                "timezone": "UTC",
                "reminder_offsets": ["2h"],
                "channels": ["push"],
            },
        )
        assert appointment.status_code == 201, appointment.text

        env = {
            **os.environ,
            "DATABASE_URL": served.app_url,
            "SECRET_KEY": "x",
            "VAPID_PRIVATE_KEY": app.config["VAPID_PRIVATE_KEY"],
            "WEBPUSH_ALLOWED_HOSTS": "127.0.0.1",
            "WEBPUSH_ALLOW_HTTP": "1",
            "SQLITE_BUSY_TIMEOUT_MS": "200",
            "LOG_LEVEL": "WARNING",
            "REMINDER_DISPATCH_INTERVAL": "1",
            "HOMEWARD_INSTANCE_PATH": app.config["INSTANCE_PATH"],
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "reminders", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        stderr = ""
        try:
            time.sleep(2)  # started, and woke up at least once
            served.outage.cut()
            try:
                time.sleep(3.5)  # a few wake-ups against no database
                assert process.poll() is None, "the dispatcher died during the outage"
            finally:
                served.outage.restore()
            with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
                db.scalar(select(ReminderDelivery)).due_at = datetime.now(UTC) - timedelta(
                    seconds=1
                )
            [message] = push_service.wait_for(1, timeout=30)
            assert message.json["body"].startswith("Appointment ")
            assert process.poll() is None
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=15)
            stderr = err.decode(errors="replace")
        # It did meet the outage (and said so), and carried on.
        assert "OperationalError" in stderr or "database" in stderr.lower(), stderr[-3000:]
