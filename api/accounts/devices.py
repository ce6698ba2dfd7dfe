"""Devices: the Web Push subscriptions reminders are pushed to. Operations only flush."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import tokens
from api.accounts.models import Account, Device
from api.core.errors import Problem, not_found


def _check_push_endpoint(endpoint: str) -> None:
    """Only https endpoints on known push services: the dispatcher POSTs to this URL, so
    it must not be able to point at anything else (SSRF)."""
    config = current_app.config
    parsed = urlsplit(endpoint)
    host = (parsed.hostname or "").lower()
    allowed_scheme = parsed.scheme == "https" or (
        parsed.scheme == "http" and config["WEBPUSH_ALLOW_HTTP"]
    )
    allowed_host = any(host == h or host.endswith("." + h) for h in config["WEBPUSH_ALLOWED_HOSTS"])
    if not (allowed_scheme and allowed_host):
        raise Problem(
            422,
            "This push endpoint is not on a known push service.",
            kind="validation-error",
            errors={"endpoint": ["Not a known push service."]},
        )


def register_device(
    db: Session,
    account: Account,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    name: str | None,
    now: datetime,
) -> tuple[Device, bool]:
    """Save a push subscription. The same subscription registered again updates the
    existing device (and moves it to this account: the phone changed hands)."""
    _check_push_endpoint(endpoint)
    endpoint_hash = tokens.digest(endpoint)
    device = db.scalar(select(Device).where(Device.endpoint_hash == endpoint_hash))
    created = device is None
    if device is None:
        device = Device(endpoint=endpoint, endpoint_hash=endpoint_hash, created_at=now)
        db.add(device)
    device.account_id, device.kind, device.name = account.id, "webpush", name
    device.p256dh, device.auth = p256dh, auth
    db.flush()
    return device, created


def list_devices(db: Session, account_id: str) -> list[Device]:
    return list(
        db.scalars(
            select(Device).where(Device.account_id == account_id).order_by(Device.created_at)
        )
    )


def forget_device(db: Session, account_id: str, device_id: str) -> None:
    device = db.get(Device, device_id)
    if device is None or device.account_id != account_id:
        raise not_found("device")
    db.delete(device)
    db.flush()


def accounts_with_devices(db: Session, account_ids: Collection[str]) -> set[str]:
    """Which of these accounts have at least one push subscription (one query)."""
    if not account_ids:
        return set()
    return set(
        db.scalars(select(Device.account_id).where(Device.account_id.in_(account_ids)).distinct())
    )


def accounts_with_devices_changing(db: Session) -> set[str]:
    """Accounts whose devices this session is about to add or delete (read before a
    flush): what reaches them changes."""
    return {obj.account_id for obj in [*db.new, *db.deleted] if isinstance(obj, Device)}


def push_targets(db: Session, account_ids: Iterable[str]) -> dict[str, list[Device]]:
    """Each account's devices, for the dispatcher's batch (one query)."""
    found: dict[str, list[Device]] = {}
    for device in db.scalars(select(Device).where(Device.account_id.in_(set(account_ids)))):
        found.setdefault(device.account_id, []).append(device)
    return found


def forget_gone_devices(db: Session, device_ids: Iterable[str]) -> int:
    """Subscriptions the push service says are gone (404/410) or that cannot be encrypted
    to. Deleted through the session, so the change of reach is seen like any other."""
    gone = list(db.scalars(select(Device).where(Device.id.in_(set(device_ids)))))
    for device in gone:
        db.delete(device)
    db.flush()
    return len(gone)
