"""The check-ins domain's synced tables: ``checkins`` (the member's, pushable) and
``checkin_responses`` (pull only: mentors' replies)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.accounts.service import display_names
from api.checkins import schemas, service
from api.checkins.models import Checkin, CheckinResponse
from api.core.db import utcnow
from api.sync import registry
from api.sync.models import Tombstone
from api.sync.registry import Changes, Pull, Pusher, Rejected, SyncTable, joined, ms

CHECKIN_COLUMNS: dict[str, registry.ColumnType] = {
    "mood": "number",
    "needs": "string",
    "wins": "string",
    "note": "string",
    "help_requested": "boolean",
    "place": "string",
    "recorded_at": "number",
    "created_at": "number",
    "updated_at": "number",
}
PUSHED = ("mood", "needs", "wins", "note", "help_requested", "place", "recorded_at")

_create_schema = schemas.CheckinCreateSchema()
_change_schema = schemas.CheckinFields()


def checkin_raw(checkin: Checkin) -> registry.Raw:
    return {
        "id": checkin.id,
        "mood": checkin.mood,
        "needs": joined(checkin.needs),
        "wins": checkin.wins,
        "note": checkin.note,
        "help_requested": bool(checkin.help_requested),
        "place": checkin.place,
        "recorded_at": ms(checkin.recorded_at),
        "created_at": ms(checkin.created_at),
        "updated_at": ms(checkin.updated_at),
    }


def _pull_checkins(pull: Pull) -> Changes:
    return registry.owned(
        pull, "checkins", Checkin, "member_id", lambda _db, rows: [checkin_raw(r) for r in rows]
    )


def _response_raws(db: Session, responses: list[CheckinResponse]) -> list[registry.Raw]:
    names = display_names(db, {r.mentor_id for r in responses if r.mentor_id})
    return [
        {
            "id": response.id,
            "checkin_id": response.checkin_id,
            "body": response.body,
            "mentor_name": names.get(response.mentor_id or ""),
            "created_at": ms(response.created_at),
        }
        for response in responses
    ]


def _pull_responses(pull: Pull) -> Changes:
    return registry.owned(pull, "checkin_responses", CheckinResponse, "member_id", _response_raws)


def _fields(raw: registry.Raw) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in PUSHED:
        if name not in raw:
            continue
        value = raw[name]
        if name == "needs":
            value = registry.split(value)
            if value is None:
                continue
        elif name == "recorded_at":
            if value in (None, 0, ""):
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise Rejected(name)
            try:
                value = datetime.fromtimestamp(value / 1000, UTC).isoformat()
            except (OverflowError, OSError, ValueError):
                raise Rejected(name) from None
        elif name in ("mood", "help_requested") and value is None:
            continue
        fields[name] = value
    return fields


def _prepare(
    db: Session, member: Account, record_id: str, raw: registry.Raw, exists: bool
) -> dict[str, Any]:
    try:
        fields: dict[str, Any] = (_change_schema if exists else _create_schema).load(_fields(raw))
    except ma.ValidationError:
        raise Rejected(record_id) from None
    # A phone whose clock runs ahead still syncs: its time is shown only, so it is
    # clamped to the server's rather than refused (Backend.md, push point 10).
    now = utcnow()
    if fields.get("recorded_at") is not None and fields["recorded_at"] > now:
        fields["recorded_at"] = now
    return fields


def _save(
    db: Session,
    member: Account,
    record_id: str,
    fields: dict[str, Any],
    exists: bool,
    now: datetime,
) -> None:
    if exists:
        service.update(db, service.get_own(db, member.id, record_id), fields, now)
    else:
        service.create(db, member, {**fields, "id": record_id}, now)


def _delete(db: Session, member: Account, record_id: str, now: datetime) -> None:
    service.delete(db, service.get_own(db, member.id, record_id))


def renamed(account: Account, *, db: Session, changed: set[str], now: Any) -> None:
    """Replies carry the mentor's name: a new name reaches the member's phone."""
    if "display_name" in changed:
        db.execute(
            update(CheckinResponse)
            .where(CheckinResponse.mentor_id == account.id)
            .values(sync_version=None)
        )


def changed_or_deleted(db: Session, pending: set[str]) -> list[str]:
    """Ids of the check-ins changed or deleted in a transaction about to commit (for a
    stamping hook: ``pending`` names the tables with rows still to stamp)."""
    found: list[str] = []
    if "checkins" in pending:
        found += db.scalars(select(Checkin.id).where(Checkin.sync_version.is_(None)))
    if "sync_tombstones" in pending:
        found += db.scalars(
            select(Tombstone.record_id).where(
                Tombstone.sync_version.is_(None), Tombstone.table_name == "checkins"
            )
        )
    return found


# The tables this domain's phones sync, registered by the domain's init_app.
TABLES = (
    SyncTable(
        "checkins",
        "member",
        CHECKIN_COLUMNS,
        _pull_checkins,
        Pusher(Checkin, "member_id", _prepare, _save, _delete),
    ),
    SyncTable(
        "checkin_responses",
        "member",
        {
            "checkin_id": "string",
            "body": "string",
            "mentor_name": "string",
            "created_at": "number",
        },
        _pull_responses,
    ),
)
