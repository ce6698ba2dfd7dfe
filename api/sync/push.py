"""The push half of the protocol (Backend.md, "Implementing push endpoint").

One transaction: every record is checked for conflicts before anything is written, each
record is validated before it is written, and a conflict anywhere aborts the whole push.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import in_chunks, insert_ignoring_conflicts
from api.core.errors import Problem
from api.sync import registry, tracking
from api.sync.models import PushReceipt, Tombstone

# WatermelonDB's own ids are [a-zA-Z0-9]{16}; '_', '-' and '.' are safe too (Backend.md).
SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
IGNORED = {"_status", "_changed"}


def _shape_error(detail: str) -> Problem:
    return Problem(422, detail, kind="invalid-changes")


def parse(body: Any) -> dict[str, dict[str, list[Any]]]:
    """The changes object, shape checked (422 when it is not one at all)."""
    if not isinstance(body, dict):
        raise _shape_error(
            "The body must be a changes object: {table: {created, updated, deleted}}."
        )
    changes: dict[str, dict[str, list[Any]]] = {}
    for name, part in body.items():
        if not isinstance(part, dict):
            raise _shape_error(f"'{name}' must be an object with created, updated and deleted.")
        lists = {}
        for kind in ("created", "updated", "deleted"):
            value = part.get(kind, [])
            if not isinstance(value, list):
                raise _shape_error(f"'{name}.{kind}' must be a list.")
            for item in value:
                if kind == "deleted":
                    if not isinstance(item, str):
                        raise _shape_error(f"'{name}.deleted' must list ids (strings).")
                elif not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise _shape_error(f"Every record in '{name}.{kind}' needs a string 'id'.")
            lists[kind] = value
        changes[str(name)] = lists
    return changes


def _conflict() -> Problem:
    return Problem(
        409,
        "Some of these records changed on the server after your last pull; pull, then push "
        "again. Nothing was applied.",
        kind="sync-conflict",
    )


def _deleted_versions(db: Session, account: Account, table: str, ids: list[str]) -> dict[str, int]:
    """{id: clock value of its deletion} for the ids the server deleted for this account."""
    found: dict[str, int] = {}
    for chunk in in_chunks(ids):
        rows = db.execute(
            select(Tombstone.record_id, func.max(Tombstone.sync_version))
            .where(
                Tombstone.table_name == table,
                Tombstone.account_id == account.id,
                Tombstone.record_id.in_(chunk),
            )
            .group_by(Tombstone.record_id)
        )
        found.update({record_id: version or 0 for record_id, version in rows})
    return found


Plan = tuple[registry.SyncTable, str, str, dict[str, Any] | None]


def apply(
    db: Session,
    account: Account,
    since: int,
    changes: Mapping[str, Mapping[str, list[Any]]],
    now: datetime,
) -> dict[str, Any]:
    """Apply a push; returns the answer body. Raises 409 (nothing applied) on a conflict."""
    if since > tracking.current(db):
        # A timestamp this server never gave could hide every conflict: pull first.
        raise _conflict()
    rejected: dict[str, list[str]] = {}
    plans: list[Plan] = []
    for name, part in changes.items():
        spec = registry.table(account.role, name)
        if spec is None:
            continue  # not a table of ours: never stored, never echoed back
        records = [("save", r["id"], r) for kind in ("created", "updated") for r in part[kind]]
        records += [("delete", record_id, None) for record_id in part["deleted"]]
        if spec.push is None:
            refused = [rid for _, rid, _ in records]
            if refused:
                rejected.setdefault(name, []).extend(refused)
            continue
        plans += _plan_table(db, account, since, spec, records, rejected.setdefault(name, []))
    # Every table is planned (and every conflict found) before anything is written.
    _carry_out(db, account, since, plans, now)
    return {"experimentalRejectedIds": {name: ids for name, ids in rejected.items() if ids}}


def _plan_table(
    db: Session,
    account: Account,
    since: int,
    spec: registry.SyncTable,
    records: list[tuple[str, str, dict[str, Any] | None]],
    rejected: list[str],
) -> list[Plan]:
    """What to do with one table's pushed records; refused ids go into ``rejected``."""
    assert spec.push is not None
    plans: list[Plan] = []
    ids = [rid for _, rid, _ in records if SAFE_ID.match(rid)]
    owners = registry.owners(db, spec.push, ids)
    gone = _deleted_versions(db, account, spec.name, ids)
    for action, record_id, raw in records:
        if not SAFE_ID.match(record_id):
            # Never stored; told back (JSON-escaped) so the phone knows it was refused.
            if action == "save":
                rejected.append(record_id)
            continue
        owner = owners.get(record_id)
        if owner is not None and owner[0] != account.id:
            # Someone else's id: never touched, never revealed.
            if action == "save":
                rejected.append(record_id)
            continue
        changed_here = owner[1] if owner is not None else gone.get(record_id)
        if changed_here is not None and changed_here > since:
            raise _conflict()
        if action == "delete":
            if owner is not None:
                plans.append((spec, "delete", record_id, None))
            continue
        if owner is None and record_id in gone:
            # Deleted on the server before the phone's last pull: never resurrected.
            rejected.append(record_id)
            continue
        assert raw is not None
        clean = {k: v for k, v in raw.items() if k not in IGNORED and k in spec.columns}
        try:
            fields = spec.push.prepare(db, account, record_id, clean, owner is not None)
        except registry.Rejected:
            rejected.append(record_id)
            continue
        plans.append((spec, "save", record_id, {**fields, "_exists": owner is not None}))
    return plans


def _carry_out(db: Session, account: Account, since: int, plans: list[Plan], now: datetime) -> None:
    for spec, action, record_id, planned in plans:
        assert spec.push is not None
        if action == "delete":
            spec.push.delete(db, account, record_id, now)
        else:
            assert planned is not None
            exists = bool(planned.pop("_exists"))
            spec.push.save(db, account, record_id, planned, exists, now)
            if not exists:
                _created_by_phone(db, spec.push.model, record_id, since)
    db.flush()


def _created_by_phone(db: Session, model: Any, record_id: str, since: int) -> None:
    """A record the phone created counts as created before its last pull, so its next
    pull sends it in 'updated'. In 'created', WatermelonDB would recreate it over a local
    delete made since the push, and the delete would be lost."""
    db.flush()
    db.execute(
        update(model)
        .where(model.id == record_id, model.sync_created.is_(None))
        .values(sync_created=since)
    )


def digest(since: int, body: bytes) -> str:
    return hashlib.sha256(str(since).encode() + b"\n" + body).hexdigest()


def replayed(
    db: Session, account: Account, key: str, body_digest: str, now: datetime
) -> dict[str, Any] | None:
    """Claim an Idempotency-Key for this push, or return the first answer given for it.

    The claim is a row in the push's own transaction: a replay racing the first push waits
    on it, and sees the stored answer once the first commits (or gets the claim if the
    first rolled back, having applied nothing)."""
    claimed = insert_ignoring_conflicts(
        db,
        PushReceipt,
        [{"account_id": account.id, "key": key, "body_digest": body_digest, "created_at": now}],
        ["account_id", "key"],
    )
    if claimed:
        return None
    receipt = db.get(PushReceipt, (account.id, key), populate_existing=True)
    assert receipt is not None
    if receipt.body_digest != body_digest:
        raise Problem(
            422,
            "This Idempotency-Key was used for a different push; use a new key for new changes.",
            kind="idempotency-key-reused",
        )
    return json.loads(receipt.answer or "{}")  # type: ignore[no-any-return]  # stored JSON


def remember(db: Session, account: Account, key: str, answer: dict[str, Any]) -> None:
    receipt = db.get(PushReceipt, (account.id, key))
    assert receipt is not None
    receipt.answer = json.dumps(answer)
