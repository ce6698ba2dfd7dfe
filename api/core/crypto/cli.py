"""``flask keys``: generate a master key; re-wrap every data key under the current one."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from api.core import config
from api.core.crypto import vault
from api.core.db import get_db, utcnow
from api.core.extensions import this_app

keys_cli = AppGroup("keys", help="Master and data keys.")


@keys_cli.command("generate")
def generate() -> None:
    """Print a new random master key (set it as HOMEWARD_MASTER_KEY)."""
    click.echo(vault.encode_key(os.urandom(32)))


def _instance_key(app: Flask) -> str | None:
    """The master key development reads when HOMEWARD_MASTER_KEY is unset."""
    path = Path(app.instance_path) / config.INSTANCE_MASTER_KEY
    return path.read_text().strip() if path.exists() else None


@keys_cli.command("rotate")
def rotate() -> None:
    """Re-wrap every member's data key under the current master key.

    Set the new key as HOMEWARD_MASTER_KEY and the old one in
    HOMEWARD_PREVIOUS_MASTER_KEYS, run this, then drop the old key. The member data
    itself is not re-encrypted: only the data keys are.

    In development (HOMEWARD_ENV is not production) the new key is also written to
    instance/master_key, which the app reads when HOMEWARD_MASTER_KEY is unset, and the
    old one is kept in instance/previous_master_keys until every data key is re-wrapped.
    """
    app: Flask = this_app()
    keyring: vault.Keyring = app.extensions["homeward.keyring"]
    development = app.config.get("HOMEWARD_ENV") != "production"
    instance_key = _instance_key(app) if development else None
    # Development reads instance/master_key when HOMEWARD_MASTER_KEY is unset: a rotation
    # to a key given in the environment that left the file alone would leave the next
    # `flask run` with a key that unwraps nothing (every encrypted read failing).
    adopt = development and (
        instance_key is None or vault.decode_key(instance_key) != keyring.current
    )
    rotating = keyring
    if adopt and instance_key is not None:
        rotating = vault.Keyring(
            keyring.current, [*keyring.previous, vault.decode_key(instance_key)]
        )
    previous_file = Path(app.instance_path) / config.INSTANCE_PREVIOUS_MASTER_KEYS

    with get_db().sessionmaker.begin() as db:
        unknown = vault.unknown_master_keys(db, rotating)
        if unknown:
            raise click.ClickException(
                f"data keys are wrapped by master key {', '.join(unknown)}, which this "
                "process does not have. Set the new key as HOMEWARD_MASTER_KEY and the key "
                "that wrapped them in HOMEWARD_PREVIOUS_MASTER_KEYS (comma-separated), then "
                "run this again. Nothing was changed."
            )
        if adopt:
            _adopt(app, instance_key)
        rewrapped, current = vault.rotate(db, rotating, utcnow())
    click.echo(
        f"re-wrapped {rewrapped} data keys under master key {keyring.current_id}; "
        f"{current} were already under it"
    )
    if not development:
        return
    if adopt:
        click.echo(
            f"development: {Path(app.instance_path) / config.INSTANCE_MASTER_KEY} now holds "
            "this master key, which the app reads when HOMEWARD_MASTER_KEY is unset; restart "
            "running servers"
        )
    if previous_file.exists():
        _forget_previous(previous_file, keyring)


def _adopt(app: Flask, instance_key: str | None) -> None:
    """Development: the new key becomes what instance/master_key holds. The old key stays
    readable (previous_master_keys) until every data key is under the new one."""
    if instance_key is not None:
        kept = config.instance_previous_master_keys(app.instance_path)
        if instance_key not in kept:
            config.write_instance_secret(
                app.instance_path,
                config.INSTANCE_PREVIOUS_MASTER_KEYS,
                "\n".join([*kept, instance_key]) + "\n",
            )
    config.write_instance_secret(
        app.instance_path, config.INSTANCE_MASTER_KEY, app.config["MASTER_KEY"]
    )


def _forget_previous(previous_file: Path, keyring: vault.Keyring) -> None:
    """Development: drop the kept old keys once no data key needs them."""
    with get_db().sessionmaker() as db:
        leftover = vault.unknown_master_keys(db, vault.Keyring(keyring.current))
    if leftover:
        click.echo(
            f"development: {previous_file} is kept: data keys under {', '.join(leftover)} "
            "were written meanwhile; run this again"
        )
    else:
        previous_file.unlink()
        click.echo(f"development: every data key is re-wrapped; {previous_file} removed")
