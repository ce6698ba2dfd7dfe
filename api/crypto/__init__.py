"""Encryption at rest for what members write: a data key per member (AES-256-GCM), wrapped
by the operator's master key. Erasing a member destroys the data key (crypto-shredding)."""

from __future__ import annotations

from flask import Flask

from api.crypto.vault import DecryptionError, Keyring, Vault, vault_of

__all__ = ["DecryptionError", "Keyring", "Vault", "init_app", "vault_of"]


def init_app(app: Flask) -> None:
    """Give every session of this app the keyring, and register ``flask keys``."""
    from api.crypto import cli, sealed

    keyring = Keyring.from_config(app.config)
    app.extensions["homeward.keyring"] = keyring
    app.extensions["homeward.db"].sessionmaker.configure(info={"keyring": keyring})
    sealed.listen()
    app.cli.add_command(cli.keys_cli)
