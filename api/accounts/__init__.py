"""Accounts: registration, sign-in and sessions, recovery codes, profiles, devices for
Web Push, staff and operator accounts, and a person's rights over their data (export,
erasure), which every other domain registers its part of."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, CLI and exporter; hold the registry of rights."""
    from api.accounts import cli, export, passwords, rights, routes

    rights.init_app(app)
    rights.add_exporter(app, export.export_account)
    api.register_blueprint(routes.auth_blp)
    api.register_blueprint(routes.me_blp)
    api.register_blueprint(routes.devices_blp)
    app.cli.add_command(cli.users_cli)
    _vapid_public_key(app)
    with app.app_context():
        passwords.warm_up()


def _vapid_public_key(app: Flask) -> None:
    """The applicationServerKey phones subscribe with, derived once from the private key."""
    pem = app.config.get("VAPID_PRIVATE_KEY")
    if not pem:
        return
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from py_vapid import Vapid02, b64urlencode

    public = Vapid02.from_pem(pem.encode()).public_key
    point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    app.extensions["homeward.vapid_public_key"] = b64urlencode(point)
