"""What the accounts domain holds about a person, for their export."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import Account, AuthSession, Device, RecoveryCode


def export_account(db: Session, account: Account) -> dict[str, Any]:
    sessions = db.scalars(
        select(AuthSession)
        .where(AuthSession.account_id == account.id)
        .order_by(AuthSession.created_at)
    )
    devices = db.scalars(
        select(Device).where(Device.account_id == account.id).order_by(Device.created_at)
    )
    codes_left = db.scalar(
        select(func.count()).where(
            RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None)
        )
    )
    fields = (
        "id",
        "username",
        "role",
        "display_name",
        "timezone",
        "locale",
        "phone",
        "quiet_hours_start",
        "quiet_hours_end",
        "notification_detail",
        "created_at",
        "updated_at",
        "password_changed_at",
    )
    return {
        "account": {name: getattr(account, name) for name in fields},
        "recovery_codes_left": codes_left,
        "sessions": [
            {
                name: getattr(s, name)
                for name in (
                    "id",
                    "device_name",
                    "created_at",
                    "last_used_at",
                    "revoked_at",
                    "revoked_reason",
                )
            }
            for s in sessions
        ],
        "devices": [
            {
                name: getattr(d, name)
                for name in ("id", "kind", "name", "endpoint", "created_at", "last_success_at")
            }
            for d in devices
        ],
    }
