"""Configuration from environment variables, with safe defaults for development.

Every setting can be given as an environment variable of the same name. Development
needs none: the database is a SQLite file in the instance folder and the secret key is
generated into the instance folder on first start (with a warning). Production
(``HOMEWARD_ENV=production``) refuses to start without an explicit ``SECRET_KEY`` and
``DATABASE_URL``.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _list(name: str, default: str) -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip().lower() for item in raw.split(",") if item.strip()]


def _list_raw(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _instance_secret(instance_path: str, filename: str, nbytes: int = 32) -> str:
    """Read a development secret from the instance folder, creating it when absent."""
    path = Path(instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    log.warning("generated a development secret into the instance folder", extra={"file": filename})
    return value


# Development keeps its master key in the instance folder; `flask keys rotate` writes the
# new one there and keeps the old ones in this file until every data key is re-wrapped.
INSTANCE_MASTER_KEY = "master_key"
INSTANCE_PREVIOUS_MASTER_KEYS = "previous_master_keys"


def instance_previous_master_keys(instance_path: str) -> list[str]:
    """The earlier development master keys kept by `flask keys rotate` (one per line)."""
    path = Path(instance_path) / INSTANCE_PREVIOUS_MASTER_KEYS
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def write_instance_secret(instance_path: str, filename: str, value: str) -> None:
    """Replace a development secret in the instance folder at once (owner-only)."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{filename}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    os.replace(temporary, folder / filename)


def _instance_vapid_key(instance_path: str) -> str:
    """A development VAPID key (P-256, PEM) in the instance folder, created when absent."""
    path = Path(instance_path) / "vapid_private.pem"
    if not path.exists():
        from py_vapid import Vapid02

        vapid = Vapid02()
        vapid.generate_keys()
        path.parent.mkdir(parents=True, exist_ok=True)
        vapid.save_key(str(path))
        path.chmod(0o600)
        log.warning("generated a development VAPID key into the instance folder")
    return path.read_text()


# Rate-limit storages that live inside one process: each worker would count on its own.
PER_PROCESS_STORAGES = ("memory://",)


def shared_limits_problem(config: Mapping[str, Any], workers: int) -> str | None:
    """Why production must not start with ``workers`` processes and this rate-limit
    storage; None when it may. Every worker would count alone, so N workers would let N
    times each limit through (20 sign-in guesses a minute instead of 10 with two)."""
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if (
        config.get("HOMEWARD_ENV") != "production"
        or workers <= 1
        or not storage.startswith(PER_PROCESS_STORAGES)
        or config.get("RATELIMIT_ENABLED", True) in (False, "0")
    ):
        return None
    return (
        f"HOMEWARD_ENV=production with {workers} workers needs rate limits shared between "
        f"them, but RATELIMIT_STORAGE_URI is {storage} (per process). Set "
        "RATELIMIT_STORAGE_URI=redis://HOST:6379/0, or run one worker (GUNICORN_WORKERS=1)."
    )


def load(instance_path: str) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    return {
        **_secrets(instance_path),
        **_service_settings(),
        **_reminder_settings(),
        **_channel_settings(),
        **_openapi_settings(),
    }


def _secrets(instance_path: str) -> dict[str, Any]:
    """The database and the keys: required in production, generated into the instance
    folder in development."""
    env = os.environ.get("HOMEWARD_ENV", "development")
    production = env == "production"
    database_url = os.environ.get("DATABASE_URL")
    secret_key = os.environ.get("SECRET_KEY")
    if production and (not database_url or not secret_key):
        raise RuntimeError("HOMEWARD_ENV=production needs DATABASE_URL and SECRET_KEY")
    if not database_url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{Path(instance_path) / 'homeward.sqlite3'}"
    if not secret_key:
        secret_key = _instance_secret(instance_path, "secret_key")

    # The master key wraps every member's data key; losing it loses their encrypted text.
    master_key = os.environ.get("HOMEWARD_MASTER_KEY")
    if production and not master_key:
        raise RuntimeError("HOMEWARD_ENV=production needs HOMEWARD_MASTER_KEY")
    if not master_key:
        master_key = _instance_secret(instance_path, INSTANCE_MASTER_KEY)
    previous_master_keys = _list_raw("HOMEWARD_PREVIOUS_MASTER_KEYS")
    if not production:
        previous_master_keys += [
            key
            for key in instance_previous_master_keys(instance_path)
            if key not in previous_master_keys and key != master_key
        ]

    vapid_key = os.environ.get("VAPID_PRIVATE_KEY")
    if not vapid_key and not production:
        vapid_key = _instance_vapid_key(instance_path)

    return {
        "HOMEWARD_ENV": env,
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "MASTER_KEY": master_key,
        # Earlier master keys, still able to unwrap until `flask keys rotate` has run (in
        # development also those it keeps in instance/previous_master_keys meanwhile).
        "PREVIOUS_MASTER_KEYS": previous_master_keys,
        "VAPID_PRIVATE_KEY": vapid_key,
    }


def _service_settings() -> dict[str, Any]:
    """The database connection, requests, sign-in, rate limits, sync and the directory."""
    return {
        "SQL_ECHO": os.environ.get("SQL_ECHO") == "1",
        # How long a SQLite write waits for another writer's lock before the request is
        # answered 503 (try again): the longer, the fewer 503s, the slower the answer.
        "SQLITE_BUSY_TIMEOUT_MS": _int("SQLITE_BUSY_TIMEOUT_MS", 5000),
        # Request bodies above this size get 413 before anything parses them.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "ACCESS_TOKEN_TTL": _int("ACCESS_TOKEN_TTL", 15 * 60),
        "REFRESH_TOKEN_IDLE_TTL": _int("REFRESH_TOKEN_IDLE_TTL", 30 * 24 * 3600),
        "REFRESH_TOKEN_ABSOLUTE_TTL": _int("REFRESH_TOKEN_ABSOLUTE_TTL", 90 * 24 * 3600),
        # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _int("ARGON2_MEMORY_COST", 64 * 1024),
        "ARGON2_PARALLELISM": _int("ARGON2_PARALLELISM", 4),
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_LOGIN_PER_USERNAME": os.environ.get("RATELIMIT_LOGIN_PER_USERNAME", "10/minute"),
        "RATELIMIT_CREDENTIALS_PER_IP": os.environ.get("RATELIMIT_CREDENTIALS_PER_IP", "60/minute"),
        "RATELIMIT_REGISTER_PER_IP": os.environ.get("RATELIMIT_REGISTER_PER_IP", "20/hour"),
        # Wrong invite codes: per mentor account, and per address.
        "RATELIMIT_INVITE_REDEEM": os.environ.get("RATELIMIT_INVITE_REDEEM", "5 per 15 minutes"),
        "RATELIMIT_INVITE_REDEEM_PER_IP": os.environ.get(
            "RATELIMIT_INVITE_REDEEM_PER_IP", "30/hour"
        ),
        # Reports of wrong listings per member account.
        "RATELIMIT_REPORTS": os.environ.get("RATELIMIT_REPORTS", "20/hour"),
        # Steps a mentor suggests, per mentor account.
        "RATELIMIT_PLAN_SUGGESTIONS": os.environ.get("RATELIMIT_PLAN_SUGGESTIONS", "30/hour"),
        # Sync: how long deletions are remembered for phones (older phones get a
        # replacement sync), and how long a push's Idempotency-Key answer is kept.
        "SYNC_TOMBSTONE_DAYS": int(os.environ.get("SYNC_TOMBSTONE_DAYS", "30")),
        "SYNC_RECEIPT_DAYS": int(os.environ.get("SYNC_RECEIPT_DAYS", "7")),
        # The zone of directory hours that name no place (service-wide schedules).
        "DIRECTORY_TIMEZONE": os.environ.get("DIRECTORY_TIMEZONE", "America/Los_Angeles"),
        # Compress JSON and text responses above this size for clients that accept it.
        "COMPRESS_MIN_SIZE": _int("COMPRESS_MIN_SIZE", 500),
        "COMPRESS_MIMETYPES": [
            "application/json",
            "application/problem+json",
            "text/calendar",
            "text/plain",
            # Swagger UI's script and styles (/api/docs): about 1.5 MB, a fifth compressed.
            "text/javascript",
            "text/css",
        ],
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
    }


def _reminder_settings() -> dict[str, Any]:
    return {
        # Reminders: planning, the dispatcher, and the channels it sends through.
        "REMINDER_PLAN_DAYS": _int("REMINDER_PLAN_DAYS", 60),
        "REMINDER_LEASE_SECONDS": _int("REMINDER_LEASE_SECONDS", 120),
        # One claim statement takes up to this many due rows; their sends run on this many
        # threads, each for at most the timeout (and never past the batch's lease).
        "REMINDER_BATCH_SIZE": _int("REMINDER_BATCH_SIZE", 100),
        "REMINDER_SEND_THREADS": _int("REMINDER_SEND_THREADS", 16),
        # Batches in flight at once per dispatcher (one claims or settles while another sends).
        "REMINDER_LANES": _int("REMINDER_LANES", 2),
        "REMINDER_SEND_TIMEOUT_SECONDS": _float("REMINDER_SEND_TIMEOUT_SECONDS", 10.0),
        # Settled rows nobody sees any more (cancelled plans, old help alerts) are deleted
        # after this; a member's reminder history stays as long as its appointment.
        "REMINDER_RETENTION_DAYS": _int("REMINDER_RETENTION_DAYS", 90),
        "REMINDER_MAX_ATTEMPTS": _int("REMINDER_MAX_ATTEMPTS", 6),
        "REMINDER_RETRY_BASE_SECONDS": _int("REMINDER_RETRY_BASE_SECONDS", 30),
        "REMINDER_RETRY_CAP_SECONDS": _int("REMINDER_RETRY_CAP_SECONDS", 3600),
        "REMINDER_DISPATCH_INTERVAL": _float("REMINDER_DISPATCH_INTERVAL", 5.0),
    }


def _channel_settings() -> dict[str, Any]:
    """Web Push and Twilio."""
    return {
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT", "mailto:operators@homeward.invalid"),
        # Push endpoints we will POST to: https on these hosts (and their subdomains) only,
        # so a registered "subscription" cannot point the dispatcher at internal services.
        "WEBPUSH_ALLOWED_HOSTS": _list(
            "WEBPUSH_ALLOWED_HOSTS",
            "fcm.googleapis.com,updates.push.services.mozilla.com,push.services.mozilla.com,"
            "notify.windows.com,push.apple.com",
        ),
        "WEBPUSH_ALLOW_HTTP": os.environ.get("WEBPUSH_ALLOW_HTTP") == "1",
        "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM_NUMBER": os.environ.get("TWILIO_FROM_NUMBER"),
        "TWILIO_MESSAGING_SERVICE_SID": os.environ.get("TWILIO_MESSAGING_SERVICE_SID"),
        "TWILIO_API_BASE_URL": os.environ.get("TWILIO_API_BASE_URL", "https://api.twilio.com"),
        # The public URL Twilio posts to (for the signature); default: the request's URL.
        "TWILIO_WEBHOOK_URL": os.environ.get("TWILIO_WEBHOOK_URL"),
    }


def _openapi_settings() -> dict[str, Any]:
    return {
        "API_TITLE": "Homeward API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Swagger UI's files come from the app itself (api/core/docs_assets.py), not a CDN, so
        # the docs work offline; no validator badge (it would call validator.swagger.io).
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
        "JSON_SORT_KEYS": False,
    }
