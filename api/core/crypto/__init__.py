"""Encryption at rest for what members write: a data key per member (AES-256-GCM), wrapped
by the operator's master key. Erasing a member destroys the data key (crypto-shredding)."""

from __future__ import annotations

import logging

from flask import Flask, Response

from api.core.crypto.vault import (
    MASTER_KEY_SETTINGS,
    DecryptionError,
    Keyring,
    MasterKeyError,
    Vault,
    probe,
    vault_of,
)

__all__ = [
    "MASTER_KEY_SETTINGS",
    "DecryptionError",
    "Keyring",
    "MasterKeyError",
    "Vault",
    "init_app",
    "key_problem",
    "vault_of",
]

log = logging.getLogger(__name__)

MISCONFIGURED_DETAIL = (
    "The service is misconfigured and cannot open members' encrypted data right now. "
    "Nothing was lost and nothing you sent was saved; try again later."
)
# A misconfiguration is fixed by an operator, not in seconds.
MISCONFIGURED_RETRY_AFTER = "300"


def init_app(app: Flask) -> None:
    """Give every session of this app the keyring, register ``flask keys``, answer a data
    key that cannot be unwrapped with 503, and check one data key now."""
    from api.core.crypto import cli, sealed

    keyring = Keyring.from_config(app.config)
    app.extensions["homeward.keyring"] = keyring
    app.extensions["homeward.db"].share("keyring", keyring)
    sealed.listen()
    app.cli.add_command(cli.keys_cli)
    app.register_error_handler(MasterKeyError, _misconfigured)
    _probe_at_start(app)


def key_problem(app: Flask) -> str | None:
    """Why the master keys cannot open the data keys (naming the settings to check), or
    None when they can. Raises what the database raises."""
    with app.extensions["homeward.db"].sessionmaker() as db:
        return probe(db, app.extensions["homeward.keyring"])


def _probe_at_start(app: Flask) -> None:
    try:
        problem = key_problem(app)
    except Exception as error:  # no database yet, or not migrated: /readyz says so
        log.debug("master key check skipped at start", extra={"error": type(error).__name__})
        return
    if problem is not None:
        log.error(
            "the master key cannot unwrap members' data keys; their encrypted text cannot "
            f"be read until {MASTER_KEY_SETTINGS} is corrected: {problem}",
            extra={"settings": MASTER_KEY_SETTINGS},
        )


def _misconfigured(error: MasterKeyError) -> Response:
    from flask import request

    from api.core.errors import problem_response

    log.error(
        f"a member's data key cannot be unwrapped: check {MASTER_KEY_SETTINGS}",
        extra={
            "settings": MASTER_KEY_SETTINGS,
            "master_key_id": error.master_key_id,
            "route": request.url_rule.rule if request.url_rule else None,
        },
    )
    return problem_response(
        503,
        MISCONFIGURED_DETAIL,
        kind="service-misconfigured",
        headers={"Retry-After": MISCONFIGURED_RETRY_AFTER},
    )
