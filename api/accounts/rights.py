"""A person's rights over their data: export all of it, erase all of it.

Each domain registers an exporter (what it holds about an account, decrypted) with
``add_exporter`` in its ``init_app``; the export is their union. Erasure destroys the
member's data key first (so ciphertext copied out of the live database can no longer be
opened with it) and then deletes the account, whose rows go with it (ON DELETE CASCADE).
After the commit, SQLite's write-ahead log is checkpointed and truncated
(api/core/erasure_files.py), so no file keeps the rows. A database backup taken before the
erasure holds the wrapped key too, until that backup expires: keep backup retention short
(docs/privacy.md)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete
from sqlalchemy.orm import Session

from api.accounts import passwords
from api.accounts.models import Account
from api.core import erasure_files
from api.core.crypto import vault_of
from api.core.crypto.models import MemberKey
from api.core.errors import Problem

Exporter = Callable[[Session, Account], dict[str, Any]]
Eraser = Callable[[Session, Account], None]
EXPORT_FORMAT = "homeward-export/1"
STATE = "homeward.rights"


@dataclass
class Rights:
    """What each domain registered in its ``init_app``: its part of a person's export, and
    what it must clear once an erased account's rows are gone."""

    exporters: list[Exporter] = field(default_factory=list)
    erasers: list[Eraser] = field(default_factory=list)


def init_app(app: Flask) -> None:
    app.extensions[STATE] = Rights()
    # Once an erasure commits, SQLite's log (which still holds every row) is emptied.
    erasure_files.listen()


def _rights(app: Flask | None = None) -> Rights:
    rights: Rights = (app or current_app).extensions[STATE]
    return rights


def add_exporter(app: Flask, function: Exporter) -> None:
    """A domain's part of a person's export."""
    _rights(app).exporters.append(function)


def add_eraser(app: Flask, function: Eraser) -> None:
    """What a domain must clear once an account's rows are gone (called with the erased
    account, whose row is already deleted, in the same transaction)."""
    _rights(app).erasers.append(function)


def plain(value: Any) -> Any:
    """JSON-ready: ISO 8601 datetimes, enum values, nested lists and dicts."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def export(db: Session, account: Account, now: datetime) -> dict[str, Any]:
    """Everything Homeward holds about ``account``, decrypted, as one JSON document."""
    document: dict[str, Any] = {"format": EXPORT_FORMAT, "exported_at": now}
    for function in _rights().exporters:
        document.update(function(db, account))
    return plain(document)  # type: ignore[no-any-return]  # JSON-ready dict


def erase(db: Session, account: Account, password: str) -> None:
    """Erase an account: the password again, then the data key, then every row."""
    if not passwords.verify_password(account.password_hash, password):
        raise Problem(
            403,
            "The password is not right, so nothing was erased.",
            kind="wrong-password",
            errors={"password": ["Not right."]},
        )
    db.execute(delete(MemberKey).where(MemberKey.account_id == account.id))
    vault_of(db).forget(account.id)
    db.execute(delete(Account).where(Account.id == account.id))
    for function in _rights().erasers:
        function(db, account)
    db.expunge_all()
    # Once this commits, SQLite's log (which still holds every row) is emptied.
    erasure_files.erased_in(db)
