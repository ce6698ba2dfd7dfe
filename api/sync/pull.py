"""The pull half of the protocol (Backend.md, "Implementing pull endpoint")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.sync import registry, tracking
from api.sync.models import SyncClock


def _read_consistently(db: Session) -> None:
    """Every query of the pull sees one snapshot (PostgreSQL; SQLite reads one anyway)."""
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def pull(
    db: Session, account: Account, since: int, migration: dict[str, Any] | None
) -> dict[str, Any]:
    """All changes the account may see since ``since`` (0: everything), and the timestamp
    to pass next time.

    The clock is moved to now and committed first: that waits for any transaction that is
    stamping, so every change up to ``until`` is committed before anything is read, and
    the lock is not held while the pull reads (writers would queue behind pulls).
    """
    tracking.stamp(db)  # rows a raw connection left unstamped are stamped, not skipped
    until = tracking.advance(db)
    purged_through = db.scalar(select(SyncClock.purged_through).where(SyncClock.id == 1)) or 0
    db.commit()
    _read_consistently(db)

    tables = registry.tables_for(account.role)
    probe = registry.Pull(db, account, min(since, until), until)
    replacement = since > 0 and (
        # A timestamp this server never gave (ahead of its clock) or one older than the
        # tombstones kept: only a replacement sync can set that phone right.
        since > until
        or since <= purged_through
        or any(t.needs_replacement(probe) for t in tables if t.needs_replacement)
    )
    added_tables, added_columns = _migration(migration, {t.name for t in tables})
    sent: list[tuple[registry.SyncTable, registry.Changes]] = []

    # A replacement still names what left the phone's view (the tombstones it kept), so
    # a pullChanges that drops experimentalStrategy (Frontend.md's own snippet) ends in
    # the same state. A timestamp we never gave is told every tombstone still kept.
    told_since = (since if since <= until else max(purged_through, 1)) if since > 0 else None
    changes: dict[str, Any] = {}
    for table in tables:
        if replacement or table.name in added_tables:
            part = registry.Pull(db, account, 0, until, deletions_since=told_since)
        elif table.name in added_columns:
            part = registry.Pull(
                db, account, 0, until, all_updated=True, deletions_since=told_since
            )
        else:
            part = registry.Pull(db, account, since, until)
        found = table.pull(part)
        answer_part = found.as_json()
        if part.for_deletions().full:
            answer_part["deleted"] = []  # a first sync deletes nothing
        changes[table.name] = answer_part
        if table.after_pull is not None:
            sent.append((table, found))
    answer: dict[str, Any] = {"changes": changes, "timestamp": until}
    if replacement:
        answer["experimentalStrategy"] = "replacement"
    if sent:
        _remember_sent(db, account, sent)
    return answer


def _remember_sent(
    db: Session, account: Account, sent: list[tuple[registry.SyncTable, registry.Changes]]
) -> None:
    """Record what went to the phone, in a transaction of its own that holds the clock's
    lock, and reads what writers committed after this pull's snapshot: a writer that
    hid a record concurrently either sees it recorded (and tombstones it) or is seen
    here (and it is tombstoned here). Either way the phone is told at its next pull."""
    db.commit()  # the snapshot (and the access log) ends here
    tracking.advance(db)  # a fresh READ COMMITTED transaction, under the clock's lock
    for table, found in sent:
        assert table.after_pull is not None
        table.after_pull(db, account, found)


def _migration(migration: dict[str, Any] | None, known: set[str]) -> tuple[set[str], set[str]]:
    """Tables, and tables with columns, added on the phone since its last sync; only the
    ones we know (the client's list is a whitelist request, never trusted as names)."""
    if not migration:
        return set(), set()
    tables = {name for name in migration.get("tables") or [] if name in known}
    columns = {
        str(entry.get("table"))
        for entry in migration.get("columns") or []
        if isinstance(entry, dict) and entry.get("table") in known
    }
    return tables, columns - tables
