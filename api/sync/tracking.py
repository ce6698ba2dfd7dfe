"""Change tracking: which rows changed, stamped with one clock value per transaction.

Triggers (migration 0005) set ``sync_version`` to NULL on every insert or update of a
tracked table and write a tombstone (version NULL) for every delete. Just before a
session commits, ``stamp`` takes the next clock value, under the clock row's lock, and
writes it into every pending row. The lock is held until the commit, so stamping
transactions commit in clock order: once a pull has advanced the clock to T (which waits
for that lock), every row stamped with a value up to T is committed and visible. A
sequence could not promise that: a value handed out to a slow transaction would commit
after a pull had already answered past it.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session

from api.sync.models import stamped_on_request, tracked_tables
from api.sync.registry import STATE, SyncState

# Which tables are tracked is declared once, on their models (api/sync/models.py:
# ``SyncTracked`` tables have triggers; ``SyncStampedOnRequest`` ones, the reminder outbox,
# are stamped only in a transaction that says it left rows pending with ``mark_pending``,
# so every other transaction's commit does not look at them).
_EXTRA = "homeward.sync.extra"
_FLAG = "homeward.sync.wrote"


def now_ms() -> int:
    """The server's clock, in milliseconds (the phone's clock is never used)."""
    return int(time.time() * 1000)


_TICK = (
    "UPDATE sync_clock SET value = CASE WHEN value + 1 > :now THEN value + 1 ELSE :now END "
    "WHERE id = 1 RETURNING value"
)
_ADVANCE = (
    "UPDATE sync_clock SET value = CASE WHEN value > :now THEN value ELSE :now END "
    "WHERE id = 1 RETURNING value"
)


def current(session: Session) -> int:
    """The clock's last value (no lock taken)."""
    value = session.execute(text("SELECT value FROM sync_clock WHERE id = 1")).scalar()
    return int(value or 0)


def _move_clock(session: Session, statement: str) -> int:
    now = now_ms()
    value = session.execute(text(statement), {"now": now}).scalar()
    if value is None:
        # The migration made the row; an emptied table (tests) gets it back.
        from api.core.db import insert_ignoring_conflicts
        from api.sync.models import SyncClock

        insert_ignoring_conflicts(
            session, SyncClock, [{"id": 1, "value": 0, "purged_through": 0}], ["id"]
        )
        value = session.execute(text(statement), {"now": now}).scalar_one()
    return int(value)


def tick(session: Session) -> int:
    """Take the next clock value: now in ms, or one more than the last if that is later.
    Holds the clock row's lock until the transaction ends."""
    return _move_clock(session, _TICK)


def advance(session: Session) -> int:
    """Move the clock to now without handing a value to rows (a pull's 'timestamp').
    Waits for any transaction that is stamping, so everything up to the answer is committed."""
    return _move_clock(session, _ADVANCE)


def mark_pending(session: Session, table: str) -> None:
    """This transaction left rows of a ``SyncStampedOnRequest`` table with sync_version NULL: stamp
    them at commit."""
    if table not in stamped_on_request():
        raise ValueError(f"{table} is not stamped on request")
    session.info.setdefault(_EXTRA, set()).add(table)
    session.info[_FLAG] = True


def _pending_tables(session: Session) -> list[str]:
    names = [*tracked_tables(), *sorted(session.info.get(_EXTRA, ())), "sync_tombstones"]
    checks = ", ".join(
        f"EXISTS (SELECT 1 FROM {name} WHERE sync_version IS NULL) AS p{i}"  # noqa: S608 (names from constants)
        for i, name in enumerate(names)
    )
    row = session.execute(text(f"SELECT {checks}")).one()
    return [name for name, pending in zip(names, row, strict=True) if pending]


def stamp(session: Session) -> int | None:
    """Stamp every pending row with one new clock value. Returns it (None: nothing to do)."""
    session.flush()
    pending = _pending_tables(session)
    if not pending:
        return None
    version = tick(session)
    state: SyncState | None = session.info.get(STATE)
    hooks = state.stamp_hooks if state is not None else ()
    wrote = [hook(session, set(pending)) for hook in hooks]
    if any(wrote) and "sync_tombstones" not in pending:
        session.flush()
        pending.append("sync_tombstones")
    postgresql = session.get_bind().dialect.name == "postgresql"
    tracked, on_request = tracked_tables(), stamped_on_request()
    for name in pending:
        key = tracked.get(name) or on_request.get(name, "id")
        created = "" if name not in tracked else ", sync_created = COALESCE(sync_created, :v)"
        # On PostgreSQL, rows another transaction holds are its own to stamp (SKIP LOCKED
        # keeps this from ever waiting on them while holding the clock).
        where = (
            f"{key} IN (SELECT {key} FROM {name} WHERE sync_version IS NULL FOR UPDATE SKIP LOCKED)"  # noqa: S608 (names from constants)
            if postgresql
            else "sync_version IS NULL"
        )
        session.execute(
            text(f"UPDATE {name} SET sync_version = :v{created} WHERE {where}"),  # noqa: S608 (names from constants)
            {"v": version},
        )
    session.info.pop(_FLAG, None)
    session.info.pop(_EXTRA, None)
    return version


def _mark_flush(session: Session, *_args: Any) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[_FLAG] = True


def _mark_statement(state: ORMExecuteState) -> None:
    # Anything but a SELECT may write (text() statements included): check at commit. A
    # statement that says it writes no tracked table (``sync_untracked``: the outbox's
    # claims and lease renewals) spares its transaction the check.
    if not state.is_select and not state.execution_options.get("sync_untracked"):
        state.session.info[_FLAG] = True


def _before_commit(session: Session) -> None:
    session.flush()
    if session.info.pop(_FLAG, False):
        stamp(session)


def _after_end(session: Session, *_args: Any) -> None:
    session.info.pop(_FLAG, None)
    session.info.pop(_EXTRA, None)


def install() -> None:
    """Listen on every session (idempotent)."""
    if event.contains(Session, "before_commit", _before_commit):
        return
    event.listen(Session, "before_flush", _mark_flush)
    event.listen(Session, "do_orm_execute", _mark_statement)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_end)
    event.listen(Session, "after_rollback", _after_end)
