"""``flask keys``: generate a master key; re-wrap every data key under the current one."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup

from api.crypto import vault
from api.db import get_db, utcnow

keys_cli = AppGroup("keys", help="Master and data keys.")


@keys_cli.command("generate")
def generate() -> None:
    """Print a new random master key (set it as HOMEWARD_MASTER_KEY)."""
    click.echo(vault.encode_key(os.urandom(32)))


@keys_cli.command("rotate")
def rotate() -> None:
    """Re-wrap every member's data key under the current master key.

    Set the new key as HOMEWARD_MASTER_KEY and the old one in
    HOMEWARD_PREVIOUS_MASTER_KEYS, run this, then drop the old key. The member data
    itself is not re-encrypted: only the data keys are.
    """
    keyring = current_app.extensions["homeward.keyring"]
    with get_db().sessionmaker.begin() as db:
        rewrapped, current = vault.rotate(db, keyring, utcnow())
    click.echo(
        f"re-wrapped {rewrapped} data keys under master key {keyring.current_id}; "
        f"{current} were already under it"
    )
