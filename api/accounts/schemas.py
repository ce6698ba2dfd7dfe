"""Request and response shapes of the auth and me paths. Fields are listed explicitly;
unknown fields are refused (no mass assignment)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import marshmallow as ma
from cryptography.hazmat.primitives.asymmetric import ec

from api.core.fields import LocalTime, PhoneNumber, Text, TimeZone
from api.core.schemas import PatchSchema

LOCALES = ("en", "es", "ru", "kk")  # English, Spanish, Russian, Kazakh
USERNAME = ma.validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    error="Use letters, digits, '.', '_' or '-', starting with a letter or digit.",
)


def _username() -> Text:
    return Text(
        required=True,
        min_length=3,
        max_length=32,
        validate=[USERNAME],
        metadata={"example": "river.stone", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
    )


def _password() -> Text:
    # Never trimmed or otherwise changed: the password is exactly what was typed.
    return Text(
        required=True,
        load_only=True,
        strip=False,
        min_length=1,
        max_length=256,
        metadata={"format": "password"},
    )


def _credential(max_length: int) -> Text:
    # Not checked for shape beyond being text: a wrong one gets the same 401 as any other.
    return Text(required=True, strip=False, min_length=1, max_length=max_length)


def _device_name() -> Text:
    return Text(
        max_length=80,
        load_default=None,
        allow_none=True,
        metadata={"description": "A name the person gives this phone."},
    )


class QuietHoursSchema(ma.Schema):
    start = LocalTime(required=True)
    end = LocalTime(required=True)

    @ma.validates_schema
    def _distinct(self, data: dict[str, Any], **_: object) -> None:
        if data["start"] == data["end"]:
            raise ma.ValidationError("Start and end must differ.", "end")


class ProfileFields(ma.Schema):
    display_name = Text(max_length=80, allow_none=True, empty_as_none=True)
    timezone = TimeZone()
    locale = ma.fields.String(validate=ma.validate.OneOf(LOCALES))
    phone = PhoneNumber(allow_none=True)
    notification_detail = ma.fields.String(
        validate=ma.validate.OneOf(["discreet", "detailed"]),
        metadata={
            "description": "discreet (default): reminders never say what the "
            "appointment is; detailed: they show its title and kind."
        },
    )


class RegisterSchema(ProfileFields):
    username = _username()
    password = _password()
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["member", "mentor"]))
    device_name = _device_name()


class TokenRequestSchema(ma.Schema):
    # Not validated for shape: any wrong username gets the same 401 as a wrong password.
    username = _credential(64)
    password = _password()
    device_name = _device_name()


class RefreshRequestSchema(ma.Schema):
    refresh_token = _credential(128)


class RecoverRequestSchema(ma.Schema):
    username = _credential(64)
    recovery_code = _credential(64)
    new_password = _password()
    device_name = _device_name()


class ProfileUpdateSchema(ProfileFields, PatchSchema):
    quiet_hours = ma.fields.Nested(QuietHoursSchema, allow_none=True)


class AccountSchema(ma.Schema):
    id = ma.fields.String(required=True)
    username = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    display_name = ma.fields.String(allow_none=True)
    timezone = ma.fields.String(required=True)
    locale = ma.fields.String(required=True)
    phone = ma.fields.String(allow_none=True)
    notification_detail = ma.fields.String(required=True)
    quiet_hours = ma.fields.Method(
        "_quiet_hours", allow_none=True, metadata={"type": "object", "nullable": True}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)

    def _quiet_hours(self, account: object) -> dict[str, Any] | None:
        start = getattr(account, "quiet_hours_start", None)
        end = getattr(account, "quiet_hours_end", None)
        return {"start": start, "end": end} if start and end else None


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Seconds."})
    refresh_expires_in = ma.fields.Integer(required=True, metadata={"description": "Seconds."})
    session_id = ma.fields.String(required=True)


class RegisteredSchema(ma.Schema):
    account = ma.fields.Nested(AccountSchema, required=True)
    tokens = ma.fields.Nested(TokenPairSchema, required=True)
    recovery_codes = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Shown once. Each code works once to set a new password."},
    )


class SignedInSchema(ma.Schema):
    account = ma.fields.Nested(AccountSchema, required=True)
    tokens = ma.fields.Nested(TokenPairSchema, required=True)


class RecoveredSchema(SignedInSchema):
    recovery_codes_left = ma.fields.Integer(required=True)


class SessionSchema(ma.Schema):
    id = ma.fields.String(required=True)
    device_name = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    last_used_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(required=True, attribute="refresh_expires_at")
    current = ma.fields.Boolean(required=True)


class LoggedOutSchema(ma.Schema):
    sessions_ended = ma.fields.Integer(required=True)


class PushKeysSchema(ma.Schema):
    """The subscription's keys (RFC 8291): a P-256 point and a 16-byte auth secret."""

    p256dh = ma.fields.String(required=True, validate=ma.validate.Length(min=80, max=100))
    auth = ma.fields.String(required=True, validate=ma.validate.Length(min=16, max=32))

    @ma.validates_schema
    def _usable(self, data: dict[str, Any], **_: Any) -> None:
        # Checked now, so the dispatcher never holds a key it cannot encrypt to.
        try:
            point = _b64url_decode(data["p256dh"])
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        except (ValueError, binascii.Error):
            raise ma.ValidationError("Not a P-256 public key (base64url).", "p256dh") from None
        try:
            secret = _b64url_decode(data["auth"])
        except (ValueError, binascii.Error):
            secret = b""
        if len(secret) != 16:
            raise ma.ValidationError("Must be 16 bytes, base64url.", "auth")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DeviceCreateSchema(ma.Schema):
    """A Web Push subscription as the browser's PushSubscription.toJSON() gives it."""

    kind = ma.fields.String(
        load_default="webpush",
        validate=ma.validate.OneOf(["webpush"]),
        metadata={"description": "Only Web Push subscriptions for now."},
    )
    endpoint = Text(
        required=True,
        max_length=1000,
        validate=[ma.validate.URL(schemes={"https", "http"}, require_tld=False)],
    )
    keys = ma.fields.Nested(PushKeysSchema, required=True)
    expirationTime = ma.fields.Raw(
        allow_none=True, load_only=True, metadata={"description": "Ignored; sent by browsers."}
    )
    name = Text(max_length=80, allow_none=True, load_default=None)


class DeviceSchema(ma.Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    name = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    last_success_at = ma.fields.AwareDateTime(allow_none=True)


class VapidKeySchema(ma.Schema):
    public_key = ma.fields.String(
        required=True,
        metadata={"description": "applicationServerKey for PushManager.subscribe (base64url)."},
    )


class EraseSchema(ma.Schema):
    password = _credential(256)


class ExportSchema(ma.Schema):
    """One JSON document; each domain adds its own keys (more may come)."""

    class Meta:
        unknown = ma.INCLUDE

    format = ma.fields.String(required=True, metadata={"example": "homeward-export/1"})
    exported_at = ma.fields.String(required=True)
    account = ma.fields.Dict(required=True)
    sessions = ma.fields.List(ma.fields.Dict(), required=True)
    devices = ma.fields.List(ma.fields.Dict(), required=True)
    appointments = ma.fields.List(ma.fields.Dict(), required=True)
    checkins = ma.fields.List(ma.fields.Dict(), required=True)
    grants = ma.fields.List(ma.fields.Dict(), required=True)
    access_log = ma.fields.List(ma.fields.Dict(), required=True)
    recovery_codes_left = ma.fields.Integer(required=True)
    notifications = ma.fields.List(ma.fields.Dict(), required=True)
    calendar_feed = ma.fields.Dict(required=True)
    responses_written = ma.fields.List(ma.fields.Dict(), required=True)
    invites = ma.fields.List(ma.fields.Dict(), required=True)
