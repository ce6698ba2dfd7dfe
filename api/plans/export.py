"""Placeholder (issue 15, in progress)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.accounts.models import Account


def export_plan(db: Session, account: Account) -> dict[str, Any]:
    return {}
