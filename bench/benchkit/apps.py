"""Throwaway databases and the app on them: its environment, migrated, in this process."""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from benchkit import log

# The caller's variables that would point the app elsewhere than the bench wants.
REPLACED = ("REMINDER_", "VAPID_", "WEBPUSH_", "TWILIO_", "DATABASE_URL")


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new empty database on the server of ``admin_url``; dropped however the block ends."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    log(f"created PostgreSQL database {name}")
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped PostgreSQL database {name}")


@contextlib.contextmanager
def bench_database(backend: str, workdir: Path, admin_url: str, name: str) -> Iterator[str]:
    """A database for one run: a SQLite file ``<name>.sqlite3`` in ``workdir``, or a
    PostgreSQL database created for the run and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.sqlite3'}"
    else:
        with fresh_postgres_database(admin_url, "homeward_bench") as url:
            yield url


def postgres_settings(database_url: str) -> dict[str, str]:
    """The server settings a report shows (shared_buffers in MB)."""
    import psycopg

    names = (
        "server_version",
        "synchronous_commit",
        "fsync",
        "shared_buffers",
        "autovacuum",
        "wal_sync_method",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", (list(names),)
        ).fetchall()
    settings = {}
    for name, setting, unit in rows:
        if unit == "8kB":
            setting = f"{int(setting) * 8 // 1024}MB"
        settings[name] = setting
    return settings


def new_vapid_private_key() -> str:
    """A fresh VAPID private key (P-256), PEM, as VAPID_PRIVATE_KEY takes it."""
    from py_vapid import Vapid02

    vapid = Vapid02()
    vapid.generate_keys()
    return str(vapid.private_pem().decode())


def app_environment(
    database_url: str,
    vapid_pem: str | None,
    extra: Mapping[str, str] | None = None,
    *,
    replaced: tuple[str, ...] = (),
    passed: tuple[str, ...] = ("REMINDER_",),
) -> dict[str, str]:
    """The environment of every app process in a run: production mode (so nothing is written
    into instance/), this database, a random SECRET_KEY and master key, the given VAPID key.
    The caller's variables starting with ``REPLACED`` or ``replaced`` are dropped, except
    those starting with ``passed``: the knobs of the code under test (batch size, lease,
    argon2 cost), passed on on purpose. ``extra`` comes last."""
    dropped = REPLACED + replaced
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        {
            "HOMEWARD_ENV": "production",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "HOMEWARD_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if vapid_pem is not None:
        env["VAPID_PRIVATE_KEY"] = vapid_pem
    env.update({k: v for k, v in os.environ.items() if k.startswith(passed)})
    env.update(extra or {})
    return env


def in_process_environment(
    database_url: str, vapid_pem: str, instance: Path | str, **extra: str
) -> dict[str, str]:
    """``app_environment`` for an app driven in this process through its test client:
    quiet logs, no rate limits, cheap password hashing (the benches measure the rest)."""
    quiet = {
        "LOG_LEVEL": "WARNING",
        "RATELIMIT_ENABLED": "0",
        "HOMEWARD_INSTANCE_PATH": str(instance),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8192",
        "ARGON2_PARALLELISM": "1",
    }
    return app_environment(database_url, vapid_pem, {**quiet, **extra})


def migrated_app(env: dict[str, str]) -> Any:
    """create_app() in this process with ``env`` applied, migrated to head."""
    os.environ.update(env)
    from api import create_app
    from api.core.migrate import upgrade

    app = create_app()
    with app.app_context():
        upgrade(app)
    return app


def dispose(app: Any) -> None:
    """Close the app's database connections (before its database is dropped)."""
    app.extensions["homeward.db"].engine.dispose()


@contextlib.contextmanager
def app_on(
    backend: str, workdir: Path, admin_url: str, name: str, env: Callable[[str], dict[str, str]]
) -> Iterator[tuple[Any, str]]:
    """``migrated_app(env(url))`` on a fresh ``bench_database``, and that database's URL;
    the app's connections are closed afterwards."""
    with bench_database(backend, workdir, admin_url, name) as url:
        app = migrated_app(env(url))
        try:
            yield app, url
        finally:
            dispose(app)


@contextlib.contextmanager
def in_process_app(
    backend: str, workdir: Path, admin_url: str, vapid_pem: str, name: str
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A migrated app on a fresh database, driven in this process (``in_process_environment``),
    with the facts of its database for the report. Disposed of afterwards."""
    instance = workdir / f"instance-{backend}"

    def env(url: str) -> dict[str, str]:
        return in_process_environment(url, vapid_pem, instance)

    with app_on(backend, workdir, admin_url, name, env) as (app, url):
        facts: dict[str, Any] = {"database": backend}
        if backend == "postgresql":
            facts.update(postgres_settings(url))
        yield app, facts
