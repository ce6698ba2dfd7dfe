"""After an erasure commits: leave nothing of the member in the database's files.

SQLite's write-ahead log keeps every page image written (the member's rows as they were)
until a checkpoint copies the pages into the main file, and keeps the file's bytes even
then. ``secure_delete`` zeroes deleted rows in the pages, so the main file is clean once
the log is checkpointed; ``wal_checkpoint(TRUNCATE)`` does that and empties the log. It
runs after the commit, never inside the erasure's transaction: the pages it copies must
be the committed ones.

PostgreSQL keeps dead tuples, WAL segments and backups by design; there, the data key's
destruction (crypto-shredding) is what makes leftover ciphertext unreadable. See
docs/privacy.md.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_ERASED = "homeward.erased"
# How long the checkpoint waits for other connections, in all and per try (milliseconds).
PATIENCE_SECONDS = 2.0
TRY_BUSY_TIMEOUT_MS = 100


def erased_in(db: Session) -> None:
    """Note that this session's transaction erases an account: once it commits, scrub."""
    db.info[_ERASED] = True


def checkpoint_sqlite(engine: Engine) -> bool:
    """Copy the whole log into the main file and truncate it to zero bytes. Returns whether
    that finished. Another connection reading an older snapshot, or writing, makes the
    checkpoint report 'busy'; it is tried again until ``PATIENCE_SECONDS`` have passed."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return True
    deadline = time.monotonic() + PATIENCE_SECONDS
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        # Outside any transaction (a checkpoint cannot run inside one), on this connection.
        (waited,) = raw.execute("PRAGMA busy_timeout").fetchone()
        raw.execute(f"PRAGMA busy_timeout={TRY_BUSY_TIMEOUT_MS}")
        try:
            while True:
                busy, frames, copied = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return True
                if time.monotonic() >= deadline:
                    log.warning(
                        "erasure checkpoint incomplete",
                        extra={"wal_frames": frames, "checkpointed": copied},
                    )
                    return False
                time.sleep(0.02)
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(waited)}")


def _after_commit(db: Session) -> None:
    if not db.info.pop(_ERASED, False):
        return
    bind: Any = db.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        checkpoint_sqlite(engine)
    except Exception:  # the erasure has committed; scrubbing must not turn it into a 500
        log.exception("erasure checkpoint failed")


def _after_rollback(db: Session) -> None:
    db.info.pop(_ERASED, None)


def listen() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
