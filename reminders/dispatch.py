"""The dispatcher: claims due reminder deliveries with a lease, sends them, records the result.

Correctness lives in the database, not in the scheduler: a claim is one atomic UPDATE
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers), so any number of
dispatcher processes share the outbox without sending a row twice. A dispatcher that dies
after claiming leaves its rows to be claimed again when the lease runs out. Network calls
happen outside any transaction, and each result is recorded right after its send, only if
this dispatcher still holds the claim.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.accounts.models import Account, Device
from api.db import utcnow
from reminders import fallback, reach, texts
from reminders.channels import Outcome, PushSender, PushTarget, Result, SmsSender
from reminders.models import (
    Channel,
    DeliveryState,
    ReminderDelivery,
    SmsOptOut,
)
from reminders.notices import DESCRIBERS, Described
from reminders.planning import QuietHours, to_local, to_utc
from reminders.sync import touch_appointment

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
# A claim is not worth starting a send with when less than this is left of its lease.
LEASE_SAFETY = timedelta(seconds=5)


@dataclass(frozen=True)
class Settings:
    lease: timedelta
    batch_size: int
    max_attempts: int
    retry_base: timedelta
    retry_cap: timedelta

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(
            lease=timedelta(seconds=config["REMINDER_LEASE_SECONDS"]),
            batch_size=config["REMINDER_BATCH_SIZE"],
            max_attempts=config["REMINDER_MAX_ATTEMPTS"],
            retry_base=timedelta(seconds=config["REMINDER_RETRY_BASE_SECONDS"]),
            retry_cap=timedelta(seconds=config["REMINDER_RETRY_CAP_SECONDS"]),
        )


@dataclass
class Senders:
    push: PushSender | None
    sms: SmsSender | None

    @classmethod
    def from_config(cls, config: Any) -> Senders:
        push = None
        if config.get("VAPID_PRIVATE_KEY"):
            push = PushSender(config["VAPID_PRIVATE_KEY"], config["VAPID_SUBJECT"])
        sms = None
        if config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"):
            sms = SmsSender(
                config["TWILIO_ACCOUNT_SID"],
                config["TWILIO_AUTH_TOKEN"],
                from_number=config.get("TWILIO_FROM_NUMBER"),
                messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
                base_url=config["TWILIO_API_BASE_URL"],
            )
        return cls(push, sms)


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(db: Session, worker: str, now: datetime, settings: Settings) -> list[str]:
    """Atomically take up to a batch of due deliveries (and ones whose lease expired)."""
    rd = ReminderDelivery
    due = and_(
        # In-app notices are delivered by the recipient's pull, never sent from here.
        rd.channel != Channel.APP,
        or_(
            and_(rd.state == DeliveryState.PENDING, rd.due_at <= now),
            and_(rd.state == DeliveryState.SENDING, rd.lease_until < now),
        ),
    )
    chosen = (
        select(rd.id)
        .where(due)
        .order_by(rd.due_at)
        .limit(settings.batch_size)
        .with_for_update(skip_locked=True)
    )
    claimed = db.scalars(
        update(rd)
        .where(rd.id.in_(chosen.scalar_subquery()))
        .values(
            state=DeliveryState.SENDING,
            claimed_by=worker,
            lease_until=now + settings.lease,
            attempts=rd.attempts + 1,
        )
        .returning(rd.id)
        .execution_options(synchronize_session=False)
    )
    return list(claimed)


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


def _ours(worker: str) -> Any:
    rd = ReminderDelivery
    return and_(rd.claimed_by == worker, rd.state == DeliveryState.SENDING)


def _settle(
    db: Session, delivery_id: str, worker: str, appointment_id: str | None, **values: Any
) -> bool:
    """Record an outcome, only if this worker still holds the claim. A reminder's new
    state marks its appointment changed, so the member's phones pull it. True when the
    outcome was recorded."""
    values.setdefault("lease_until", None)
    recorded = db.scalars(
        update(ReminderDelivery)
        .where(ReminderDelivery.id == delivery_id, _ours(worker))
        .values(**values)
        .returning(ReminderDelivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    if recorded and appointment_id is not None:
        touch_appointment(db, appointment_id)
    return bool(recorded)


def prepare(db: Session, ids: list[str], worker: str, now: datetime) -> list[Job]:
    """Load what the claimed deliveries need in a few queries; settle those with nothing
    to send (cancelled, too late, in quiet hours) right here."""
    claimed = db.scalars(
        select(ReminderDelivery).where(ReminderDelivery.id.in_(ids), _ours(worker))
    )
    # A claim about to expire may already be someone else's: leave it to them.
    rows = [row for row in claimed if row.lease_until and row.lease_until > now + LEASE_SAFETY]
    if not rows:
        return []
    accounts = {
        a.id: a
        for a in db.scalars(select(Account).where(Account.id.in_({r.member_id for r in rows})))
    }
    devices: dict[str, list[PushTarget]] = {}
    for device in db.scalars(select(Device).where(Device.account_id.in_(accounts))):
        devices.setdefault(device.account_id, []).append(
            PushTarget(device.id, device.endpoint, device.p256dh, device.auth)
        )
    phones = {a.phone for a in accounts.values() if a.phone}
    opted_out = set(db.scalars(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones))))

    described: dict[str, Described | str] = {}
    for kind in {row.kind for row in rows}:
        of_kind = [r for r in rows if r.kind == kind and r.member_id in accounts]
        describer = DESCRIBERS.get(kind)
        if describer is None:
            described.update({r.id: f"nothing describes notices of kind {kind}" for r in of_kind})
        elif of_kind:
            described.update(describer(db, of_kind, accounts, now))

    jobs = []
    for row in rows:
        account, outcome = accounts.get(row.member_id), described.get(row.id)
        settle = partial(_settle, db, row.id, worker, row.appointment_id)
        if account is None or outcome is None or isinstance(outcome, str):
            reason = outcome if isinstance(outcome, str) else "the recipient is gone"
            settle(
                state=DeliveryState.CANCELLED,
                last_error=reason,
            )
            continue
        if now >= row.occurrence_at:
            settle(
                state=DeliveryState.SKIPPED,
                last_error=outcome.too_late,
            )
            continue
        zone = ZoneInfo(account.timezone)
        quiet = QuietHours.of(account.quiet_hours_start, account.quiet_hours_end)
        local_now = to_local(now, zone)
        if quiet is not None and quiet.contains(local_now.time()):
            # A retry that fell into quiet hours waits for them to end, if that is in time.
            after = to_utc(quiet.ends(local_now), zone)
            if after < row.occurrence_at:
                settle(
                    state=DeliveryState.PENDING,
                    due_at=after,
                    attempts=row.attempts - 1,
                )
            else:
                settle(
                    state=DeliveryState.SKIPPED,
                    last_error=f"{reach.QUIET} {outcome.deadline}",
                )
            continue
        jobs.append(
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
    return jobs


def send(job: Job, senders: Senders, now: datetime) -> Result:
    if job.channel == Channel.PUSH:
        if senders.push is None:
            return Result(Outcome.UNREACHABLE, reach.PUSH_OFF)
        ttl = int((job.occurrence_at - now).total_seconds())
        return senders.push.send(job.push_targets, job.payload, ttl, topic=job.payload["tag"][:32])
    if senders.sms is None:
        return Result(Outcome.UNREACHABLE, reach.SMS_OFF)
    return senders.sms.send(job.phone, job.opted_out, job.notification.body)


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential, capped, with jitter so retries of many rows do not arrive together."""
    ceiling = min(settings.retry_cap, settings.retry_base * (2 ** max(attempts - 1, 0)))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not security)


def record(
    db: Session,
    job: Job,
    result: Result,
    worker: str,
    now: datetime,
    settings: Settings,
    configured: reach.Configured | None = None,
) -> None:
    """Write a send's outcome to the outbox row, and its consequences (gone devices,
    numbers that unsubscribed, a fallback to the member's other channels)."""
    if result.gone_devices:
        db.execute(delete(Device).where(Device.id.in_(result.gone_devices)))
    if result.opted_out and job.phone and db.get(SmsOptOut, job.phone) is None:
        db.add(SmsOptOut(phone=job.phone, opted_out_at=now))
    settle = partial(_settle, db, job.delivery_id, worker, job.appointment_id)
    if result.outcome is Outcome.SENT:
        settle(state=DeliveryState.SENT, sent_at=now, last_error=None)
        return
    if result.outcome is Outcome.RETRY and job.attempts < settings.max_attempts:
        retry_at = now + backoff(job.attempts, settings)
        if retry_at < job.occurrence_at:
            settle(state=DeliveryState.PENDING, due_at=retry_at, last_error=result.error)
            return
        ended = settle(
            state=DeliveryState.FAILED, last_error=f"{result.error}; {reach.NO_TIME_LEFT}"
        )
    elif result.outcome is Outcome.UNREACHABLE:
        ended = settle(state=DeliveryState.SKIPPED, last_error=result.error)
    else:
        ended = settle(state=DeliveryState.FAILED, last_error=result.error)
    if ended and job.appointment_id is not None and configured is not None:
        fallback.fall_back(db, job, now, settings.max_attempts, configured)


class Dispatcher:
    """One dispatcher: ``run_once`` handles one batch; ``run_until_idle`` drains."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: Senders,
        settings: Settings,
        clock: Clock = utcnow,
        worker: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.settings = settings
        self.clock = clock
        self.worker = worker or worker_name()
        self.configured = reach.Configured(
            push=senders.push is not None, sms=senders.sms is not None
        )

    @classmethod
    def for_app(cls, app: Flask, **kwargs: Any) -> Dispatcher:
        return cls(
            app.extensions["homeward.db"].sessionmaker,
            Senders.from_config(app.config),
            Settings.from_config(app.config),
            **kwargs,
        )

    def claim(self) -> list[str]:
        with self.sessions.begin() as db:
            return claim(db, self.worker, self.clock(), self.settings)

    def run_once(self) -> int:
        """Claim, send and record one batch. Returns how many deliveries were claimed."""
        ids = self.claim()
        if not ids:
            return 0
        with self.sessions.begin() as db:
            jobs = prepare(db, ids, self.worker, self.clock())
        for job in jobs:
            try:
                result = send(job, self.senders, self.clock())
            except Exception as error:  # one bad send must not strand the rest of the batch
                log.exception("send failed unexpectedly", extra={"delivery": job.delivery_id})
                result = Result(Outcome.RETRY, f"unexpected error: {type(error).__name__}")
            with self.sessions.begin() as db:
                record(db, job, result, self.worker, self.clock(), self.settings, self.configured)
        log.info("dispatched a batch", extra={"claimed": len(ids), "attempted": len(jobs)})
        return len(ids)

    def run_until_idle(self, max_batches: int | None = None) -> int:
        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            claimed = self.run_once()
            if not claimed:
                break
            total += claimed
            batches += 1
        return total
