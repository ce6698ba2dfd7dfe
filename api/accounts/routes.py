"""The contract's auth and me paths. Thin: parse, authorize, call the operation, respond."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint

from api.accounts import devices, schemas, service
from api.accounts import rights as data_rights
from api.accounts.auth import current_account, current_auth_session, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.errors import Problem
from api.core.extensions import limiter, username_key

auth_blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/api/v1/auth",
    description="Accounts without email: register, sign in, refresh, recover.",
)
me_blp = Blueprint(
    "me",
    __name__,
    url_prefix="/api/v1/me",
    description="The signed-in account: profile and sessions.",
)


def _per_ip(name: str) -> Any:
    return limiter.limit(lambda: current_app.config[name], scope=f"ip-{name.lower()}")


def _failed(response: Any) -> bool:
    return bool(response.status_code == 401)


def _signed_in(account: Any, pair: service.TokenPair) -> dict[str, Any]:
    return {"account": account, "tokens": pair}


@auth_blp.route("/register", methods=["POST"])
@_per_ip("RATELIMIT_REGISTER_PER_IP")
@auth_blp.arguments(schemas.RegisterSchema)
@auth_blp.response(201, schemas.RegisteredSchema)
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Create a member or mentor account. The recovery codes are shown only now."""
    role = Role(body.pop("role"))
    account, pair, codes = service.register(get_session(), role=role, now=utcnow(), **body)
    return {"account": account, "tokens": pair, "recovery_codes": codes}


@auth_blp.route("/token", methods=["POST"])
@_per_ip("RATELIMIT_CREDENTIALS_PER_IP")
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_PER_USERNAME"],
    key_func=username_key,
    deduct_when=_failed,
    scope="login-username",
)
@auth_blp.arguments(schemas.TokenRequestSchema)
@auth_blp.response(200, schemas.SignedInSchema)
def token(body: dict[str, Any]) -> dict[str, Any]:
    """Sign in with username and password; opens a new session for this device."""
    account, pair = service.sign_in(
        get_session(), body["username"], body["password"], body.get("device_name"), utcnow()
    )
    return _signed_in(account, pair)


@auth_blp.route("/refresh", methods=["POST"])
@_per_ip("RATELIMIT_CREDENTIALS_PER_IP")
@auth_blp.arguments(schemas.RefreshRequestSchema)
@auth_blp.response(200, schemas.TokenPairSchema)
def refresh(body: dict[str, Any]) -> service.TokenPair:
    """Exchange a refresh token for a new pair. The old refresh token dies; presenting it
    again ends the session."""
    return service.refresh(get_session(), body["refresh_token"], utcnow())


@auth_blp.route("/logout", methods=["POST"])
@login_required()
@auth_blp.response(200, schemas.LoggedOutSchema)
def logout() -> dict[str, int]:
    """End this session."""
    service.sign_out(current_auth_session(), utcnow())
    return {"sessions_ended": 1}


@auth_blp.route("/logout-all", methods=["POST"])
@login_required()
@auth_blp.response(200, schemas.LoggedOutSchema)
def logout_all() -> dict[str, int]:
    """End every session of this account, this one included (a lost or stolen phone)."""
    ended = service.sign_out_everywhere(get_session(), current_account().id, utcnow(), "logout_all")
    return {"sessions_ended": ended}


@auth_blp.route("/recover", methods=["POST"])
@_per_ip("RATELIMIT_CREDENTIALS_PER_IP")
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_PER_USERNAME"],
    key_func=username_key,
    deduct_when=_failed,
    scope="recover-username",
)
@auth_blp.arguments(schemas.RecoverRequestSchema)
@auth_blp.response(200, schemas.RecoveredSchema)
def recover(body: dict[str, Any]) -> dict[str, Any]:
    """Set a new password with a one-time recovery code. Every other session ends."""
    account, pair, left = service.recover(
        get_session(),
        body["username"],
        body["recovery_code"],
        body["new_password"],
        body.get("device_name"),
        utcnow(),
    )
    return {"account": account, "tokens": pair, "recovery_codes_left": left}


@me_blp.route("", methods=["GET"])
@login_required()
@me_blp.response(200, schemas.AccountSchema)
def get_me() -> Any:
    """The signed-in account."""
    return current_account()


@me_blp.route("", methods=["PATCH"])
@login_required()
@me_blp.arguments(schemas.ProfileUpdateSchema)
@me_blp.response(200, schemas.AccountSchema)
def patch_me(changes: dict[str, Any]) -> Any:
    """Change display name, time zone, locale, phone or quiet hours."""
    return service.update_profile(get_session(), current_account(), changes, utcnow())


@me_blp.route("", methods=["DELETE"])
@login_required()
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_PER_USERNAME"],
    key_func=lambda: f"account:{current_account().id}",
    deduct_when=lambda response: response.status_code == 403,
    scope="erase-password",
)
@me_blp.arguments(schemas.EraseSchema)
@me_blp.response(204)
def erase_me(body: dict[str, Any]) -> None:
    """Erase this account and everything in it, at once and for good: the data key is
    destroyed, every row deleted, every session and grant ended. Needs the password."""
    data_rights.erase(get_session(), current_account(), body["password"])


@me_blp.route("/export", methods=["GET"])
@login_required()
@me_blp.response(200, schemas.ExportSchema)
def export_me() -> Response:
    """Everything Homeward holds about this account, decrypted, as one JSON document."""
    document = data_rights.export(get_session(), current_account(), utcnow())
    response = Response(json.dumps(document, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="homeward-export.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@me_blp.route("/sessions", methods=["GET"])
@login_required()
@me_blp.response(200, schemas.SessionSchema(many=True))
def list_sessions() -> list[dict[str, Any]]:
    """Open sessions of this account, most recently used first."""
    current_id = current_auth_session().id
    return [
        {
            **{
                c: getattr(s, c)
                for c in ("id", "device_name", "created_at", "last_used_at", "refresh_expires_at")
            },
            "current": s.id == current_id,
        }
        for s in service.list_sessions(get_session(), current_account().id, utcnow())
    ]


@me_blp.route("/sessions/<id:session_id>", methods=["DELETE"])
@login_required()
@me_blp.response(204)
def delete_session(session_id: str) -> None:
    """End one session of this account (sign a lost phone out)."""
    service.revoke_session(get_session(), current_account().id, session_id, utcnow())


devices_blp = Blueprint(
    "devices",
    __name__,
    url_prefix="/api/v1/devices",
    description="Where reminders are pushed: Web Push subscriptions.",
)


@devices_blp.route("/vapid-key", methods=["GET"])
@devices_blp.response(200, schemas.VapidKeySchema)
def vapid_key() -> dict[str, str]:
    """The server's VAPID public key, to subscribe with."""
    public = current_app.extensions.get("homeward.vapid_public_key")
    if public is None:
        raise Problem(404, "Web Push is not configured on this server.", kind="not-found")
    return {"public_key": public}


@devices_blp.route("", methods=["GET"])
@login_required()
@devices_blp.response(200, schemas.DeviceSchema(many=True))
def list_devices() -> Any:
    """This account's registered devices."""
    return devices.list_devices(get_session(), current_account().id)


@devices_blp.route("", methods=["POST"])
@login_required()
@devices_blp.arguments(schemas.DeviceCreateSchema)
@devices_blp.response(201, schemas.DeviceSchema)
def register_device(body: dict[str, Any]) -> Any:
    """Register a Web Push subscription (registering the same one again updates it)."""
    device, _created = devices.register_device(
        get_session(),
        current_account(),
        endpoint=body["endpoint"],
        p256dh=body["keys"]["p256dh"],
        auth=body["keys"]["auth"],
        name=body.get("name"),
        now=utcnow(),
    )
    return device


@devices_blp.route("/<id:device_id>", methods=["DELETE"])
@login_required()
@devices_blp.response(204)
def delete_device(device_id: str) -> None:
    """Stop pushing to a device."""
    devices.forget_device(get_session(), current_account().id, device_id)
