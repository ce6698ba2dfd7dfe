"""The outbox's statements: claim a batch with a lease, renew it, settle it, purge old rows.

A claim is one statement per kind of due row (expired leases first, then pending rows due
now), each ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serializes writers), so any
number of dispatchers share the outbox without claiming a row twice. Every later statement
about a claimed row is conditional on the claim still being this worker's (``claimed_by``
and state ``sending``): a dispatcher whose lease ran out and whose rows someone else took
changes nothing. Settling writes one statement per distinct outcome of a batch (nearly
always one: "sent"), and stamps the rows changed for sync in the same statement (the
sync clock's next value, taken under its lock), so members' phones pull their reminders'
new state without their appointments changing. Claims and renewals are marked
``sync_untracked``: their transactions skip the commit-time look for pending rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from api.sync import tracking
from reminders.models import Channel, DeliveryState, NoticeKind, ReminderDelivery

rd = ReminderDelivery
SETTLED = (
    DeliveryState.SENT,
    DeliveryState.FAILED,
    DeliveryState.SKIPPED,
    DeliveryState.CANCELLED,
)
PURGE_BATCH = 2000


def ours(worker: str) -> Any:
    return and_(rd.claimed_by == worker, rd.state == DeliveryState.SENDING)


def claim(db: Session, worker: str, now: datetime, lease: timedelta, limit: int) -> list[str]:
    """``claim_rows``, as ids."""
    return [row.id for row in claim_rows(db, worker, now, lease, limit)]


def claim_rows(
    db: Session, worker: str, now: datetime, lease: timedelta, limit: int
) -> list[ReminderDelivery]:
    """Take up to ``limit`` due rows: first those whose lease ran out (their dispatcher
    died or stalled), then pending rows due now, oldest first. Each scan has an index made
    for it (``ix_reminder_deliveries_claimable``, ``ix_reminder_deliveries_leased``) that
    holds only unsettled rows, so millions of settled rows cost it nothing."""
    expired = (
        select(rd.id)
        .where(rd.state == DeliveryState.SENDING, rd.lease_until < now)
        .order_by(rd.lease_until)
        .limit(limit)
    )
    claimed = _take(db, expired, worker, now, lease)
    if len(claimed) < limit:
        due = (
            select(rd.id)
            .where(rd.state == DeliveryState.PENDING, rd.channel != Channel.APP, rd.due_at <= now)
            .order_by(rd.due_at)
            .limit(limit - len(claimed))
        )
        claimed += _take(db, due, worker, now, lease)
    return claimed


def _take(
    db: Session, chosen: Any, worker: str, now: datetime, lease: timedelta
) -> list[ReminderDelivery]:
    # In-app notices (Channel.APP) are delivered by the recipient's pull, never sent here.
    return list(
        db.scalars(
            update(rd)
            .where(rd.id.in_(chosen.with_for_update(skip_locked=True).scalar_subquery()))
            .values(
                state=DeliveryState.SENDING,
                claimed_by=worker,
                lease_until=now + lease,
                attempts=rd.attempts + 1,
            )
            .returning(rd)  # the claimed rows themselves: no second query to load them
            .execution_options(synchronize_session=False, sync_untracked=True)
        )
    )


def claimed(db: Session, worker: str, ids: Iterable[str]) -> list[ReminderDelivery]:
    """The rows of ``ids`` this worker holds."""
    return list(db.scalars(select(rd).where(rd.id.in_(list(ids)), ours(worker))))


def renew(
    db: Session, worker: str, ids: Iterable[str], now: datetime, lease: timedelta
) -> set[str]:
    """Extend the lease of the rows still ours. Returns those (a row not returned is no
    longer this worker's: it must not be sent)."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(
        db.scalars(
            update(rd)
            .where(rd.id.in_(wanted), ours(worker))
            .values(lease_until=now + lease)
            .returning(rd.id)
            .execution_options(synchronize_session=False, sync_untracked=True)
        )
    )


@dataclass(frozen=True)
class Settle:
    """What to write to one claimed row: its new state and the columns that go with it."""

    state: DeliveryState
    last_error: str | None = None
    sent_at: datetime | None = None
    due_at: datetime | None = None  # a retry's time (state pending)
    # Back to pending without the attempt counting (not sent: waits for quiet hours to end,
    # or was never tried).
    requeue: bool = False

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "state": self.state,
            "lease_until": None,
        }
        if self.requeue:  # put back: keeps the error of its last real attempt
            values["attempts"] = rd.attempts - 1
        else:
            values["last_error"] = self.last_error
        if self.sent_at is not None:
            values["sent_at"] = self.sent_at
        if self.due_at is not None:
            values["due_at"] = self.due_at
        return values


# Not attempted (the lease ran short, or the dispatcher is stopping): claimable again at
# once, and the attempt it was claimed for does not count.
RELEASE = Settle(DeliveryState.PENDING, requeue=True)


def settle(db: Session, worker: str, outcomes: Mapping[str, Settle]) -> set[str]:
    """Record each row's outcome, only where the claim is still this worker's: one
    statement per distinct outcome. Returns the ids recorded."""
    groups: dict[Settle, list[str]] = defaultdict(list)
    for delivery_id, outcome in outcomes.items():
        groups[outcome].append(delivery_id)
    recorded: set[str] = set()
    if not groups:
        return recorded
    # The rows' sync stamp is written by the settle itself (one write per row, not a
    # second UPDATE at commit): the clock's next value, whose lock is held until commit
    # as every stamping transaction's is (api/sync/tracking.py).
    version = tracking.tick(db)
    for outcome, ids in groups.items():
        values = {**outcome.values(), "sync_version": version}
        recorded.update(
            db.scalars(
                update(rd)
                .where(rd.id.in_(ids), ours(worker))
                .values(**values)
                .returning(rd.id)
                .execution_options(synchronize_session=False)
            )
        )
    return recorded


def purge(db: Session, now: datetime, retention: timedelta, limit: int = PURGE_BATCH) -> int:
    """Delete up to ``limit`` settled rows last changed before the retention horizon. A
    member's reminder history stays as long as its appointment does (deleting the
    appointment deletes it): what goes is cancelled plans and other notices (help alerts)
    once they are old. Returns how many rows went; the periodic job calls it until 0."""
    old = (
        select(rd.id)
        .where(
            rd.updated_at < now - retention,
            or_(
                rd.state == DeliveryState.CANCELLED,
                and_(rd.kind != NoticeKind.REMINDER, rd.state.in_(SETTLED)),
            ),
        )
        .limit(limit)
    )
    result: CursorResult[Any] = db.execute(  # type: ignore[assignment]  # a DELETE's result
        delete(rd)
        .where(rd.id.in_(old.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
