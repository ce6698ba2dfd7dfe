"""What a claimed batch needs before it is sent: recipients, devices, opt-outs and what
each notice says, loaded in a few queries, and the rows with nothing to send (cancelled,
too late, in quiet hours) decided right here. No network call happens here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.devices import push_targets
from api.accounts.models import Account
from reminders import reach, texts
from reminders.channels import PushTarget
from reminders.models import Channel, DeliveryState, ReminderDelivery, SmsOptOut
from reminders.notifications.kinds import Described
from reminders.notifications.queue import outbox_of
from reminders.outbox import Settle
from reminders.planning import QuietHours, to_local, to_utc


@dataclass
class Job:
    """One claimed delivery, with everything its send needs (no database access)."""

    delivery_id: str
    channel: Channel
    attempts: int
    occurrence_at: datetime
    # A reminder's plan key (None for other notices): its outcome is the member's to see.
    appointment_id: str | None
    occurrence_local: datetime
    offset_key: str
    notification: texts.Notification
    payload: dict[str, Any]
    push_targets: list[PushTarget]
    phone: str | None
    opted_out: bool


@dataclass
class Prepared:
    jobs: list[Job]
    # Rows decided without a send, and what to write to them.
    settled: dict[str, Settle]


def prepare(db: Session, rows: list[ReminderDelivery], now: datetime) -> Prepared:
    """What the claimed ``rows`` need to be sent, and what to write to those that will not be."""
    prepared = Prepared([], {})
    if not rows:
        return prepared
    accounts = {
        a.id: a
        for a in db.scalars(select(Account).where(Account.id.in_({r.member_id for r in rows})))
    }
    devices = {
        account_id: [PushTarget(d.id, d.endpoint, d.p256dh, d.auth) for d in found]
        for account_id, found in push_targets(db, accounts).items()
    }
    phones = {a.phone for a in accounts.values() if a.phone}
    opted_out = (
        set(db.scalars(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones))))
        if phones
        else set()
    )
    described = _describe(db, rows, accounts, now)

    for row in rows:
        account, outcome = accounts.get(row.member_id), described.get(row.id)
        if account is None or outcome is None or isinstance(outcome, str):
            reason = outcome if isinstance(outcome, str) else "the recipient is gone"
            prepared.settled[row.id] = Settle(DeliveryState.CANCELLED, last_error=reason)
            continue
        if now >= row.occurrence_at:
            prepared.settled[row.id] = Settle(DeliveryState.SKIPPED, last_error=outcome.too_late)
            continue
        waiting = _quiet(row, account, outcome, now)
        if waiting is not None:
            prepared.settled[row.id] = waiting
            continue
        prepared.jobs.append(
            Job(
                delivery_id=row.id,
                channel=row.channel,
                attempts=row.attempts,
                occurrence_at=row.occurrence_at,
                appointment_id=row.appointment_id,
                occurrence_local=row.occurrence_local,
                offset_key=row.offset_key,
                notification=outcome.notification,
                payload=outcome.payload,
                push_targets=devices.get(account.id, []),
                phone=account.phone,
                opted_out=account.phone in opted_out,
            )
        )
    return prepared


def _describe(
    db: Session, rows: list[ReminderDelivery], accounts: dict[str, Account], now: datetime
) -> dict[str, Described | str]:
    outbox = outbox_of(db)
    described: dict[str, Described | str] = {}
    for kind in {row.kind for row in rows}:
        of_kind = [r for r in rows if r.kind == kind and r.member_id in accounts]
        describer = outbox.describer(kind)
        if describer is None:
            described.update({r.id: f"nothing describes notices of kind {kind}" for r in of_kind})
        elif of_kind:
            described.update(describer(db, of_kind, accounts, now))
    return described


def _quiet(
    row: ReminderDelivery, account: Account, outcome: Described, now: datetime
) -> Settle | None:
    """A send that falls in the recipient's quiet hours waits for them to end, if that is
    in time; else it is skipped. None: not quiet now."""
    quiet = QuietHours.of(account.quiet_hours_start, account.quiet_hours_end)
    if quiet is None:
        return None
    zone = ZoneInfo(account.timezone)
    local_now = to_local(now, zone)
    if not quiet.contains(local_now.time()):
        return None
    after = to_utc(quiet.ends(local_now), zone)
    if after < row.occurrence_at:
        return Settle(DeliveryState.PENDING, due_at=after, requeue=True)
    return Settle(DeliveryState.SKIPPED, last_error=f"{reach.QUIET} {outcome.deadline}")
