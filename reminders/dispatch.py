"""The dispatcher: claims due deliveries in batches with a lease, sends them in parallel,
settles the batch's results together.

Correctness lives in the database (reminders/outbox.py): a batch is claimed by one
statement, and every later write about a row is conditional on the claim still being
ours, so any number of dispatcher processes share the outbox. Each send happens only
while its claim is held: the lease is renewed while the batch is in flight, a send starts
only with enough lease left for its whole timeout (``Lease.budget``), and a row whose
lease could not be renewed is put back unsent. The one window in which a crash can double
a message is the one no outbox can close: killed after the push service or Twilio accepted
it and before the batch's result was committed. Then the row is claimed again after its
lease and sent once more.

Network calls happen outside any transaction, on a bounded pool of threads (sends are
I/O: the GIL is released while a thread waits on a push service), with keep-alive
connections per push service (reminders/channels.py).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api.accounts.devices import forget_gone_devices
from api.db import insert_ignoring_conflicts, utcnow
from reminders import fallback, outbox, reach
from reminders.channels import Outcome, PushSender, Result, SmsSender
from reminders.models import Channel, DeliveryState, SmsOptOut
from reminders.outbox import Settle
from reminders.prepare import Job, prepare

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
# Time kept between a send's deadline and its lease's end (clock skew between machines,
# a timeout's own overshoot): at most this, and at most a fifth of the lease.
LEASE_SAFETY = timedelta(seconds=5)


@dataclass(frozen=True)
class Settings:
    lease: timedelta
    batch_size: int
    max_attempts: int
    retry_base: timedelta
    retry_cap: timedelta
    threads: int = 16
    send_timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(
            lease=timedelta(seconds=config["REMINDER_LEASE_SECONDS"]),
            batch_size=config["REMINDER_BATCH_SIZE"],
            max_attempts=config["REMINDER_MAX_ATTEMPTS"],
            retry_base=timedelta(seconds=config["REMINDER_RETRY_BASE_SECONDS"]),
            retry_cap=timedelta(seconds=config["REMINDER_RETRY_CAP_SECONDS"]),
            threads=config["REMINDER_SEND_THREADS"],
            send_timeout=config["REMINDER_SEND_TIMEOUT_SECONDS"],
        )

    @property
    def margin(self) -> float:
        return min(LEASE_SAFETY, self.lease / 5).total_seconds()


@dataclass
class Senders:
    push: PushSender | None
    sms: SmsSender | None

    @classmethod
    def from_config(cls, config: Any, user_agent: str = "Homeward-Dispatcher") -> Senders:
        timeout = float(config["REMINDER_SEND_TIMEOUT_SECONDS"])
        push = None
        if config.get("VAPID_PRIVATE_KEY"):
            push = PushSender(
                config["VAPID_PRIVATE_KEY"],
                config["VAPID_SUBJECT"],
                timeout,
                connections=config["REMINDER_SEND_THREADS"],
                user_agent=user_agent,
            )
        sms = None
        if config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"):
            sms = SmsSender(
                config["TWILIO_ACCOUNT_SID"],
                config["TWILIO_AUTH_TOKEN"],
                from_number=config.get("TWILIO_FROM_NUMBER"),
                messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
                base_url=config["TWILIO_API_BASE_URL"],
                timeout=timeout,
            )
        return cls(push, sms)


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """The claim a batch holds, as this process sees it: which rows are still ours and
    until when, on this process's monotonic clock (measured from before the statement
    that took or renewed it, so it never overestimates)."""

    def __init__(self, ids: set[str], started: float, settings: Settings) -> None:
        self.held = frozenset(ids)
        self.until = started + settings.lease.total_seconds()
        self.settings = settings
        self.renewed_at = started

    def budget(self, delivery_id: str) -> float:
        """Seconds a send of this row may take from now (0: it must not start)."""
        if delivery_id not in self.held:
            return 0.0
        left = self.until - time.monotonic() - self.settings.margin
        return min(self.settings.send_timeout, left) if left >= 0.5 else 0.0

    def due_for_renewal(self) -> bool:
        return time.monotonic() - self.renewed_at >= self.settings.lease.total_seconds() / 3

    def renewed(self, ids: set[str], started: float) -> None:
        self.held = frozenset(ids)
        self.until = started + self.settings.lease.total_seconds()
        self.renewed_at = started


def send(job: Job, senders: Senders, now: datetime, timeout: float | None = None) -> Result:
    if job.channel == Channel.PUSH:
        if senders.push is None:
            return Result(Outcome.UNREACHABLE, reach.PUSH_OFF)
        ttl = int((job.occurrence_at - now).total_seconds())
        return senders.push.send(
            job.push_targets, job.payload, ttl, topic=job.payload["tag"][:32], timeout=timeout
        )
    if senders.sms is None:
        return Result(Outcome.UNREACHABLE, reach.SMS_OFF)
    return senders.sms.send(job.phone, job.opted_out, job.notification.body, timeout=timeout)


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential, capped, with jitter so retries of many rows do not arrive together."""
    ceiling = min(settings.retry_cap, settings.retry_base * (2 ** max(attempts - 1, 0)))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not security)


def outcome_of(job: Job, result: Result, now: datetime, settings: Settings) -> Settle:
    """What a send's result means for its outbox row."""
    if result.outcome is Outcome.SENT:
        return Settle(DeliveryState.SENT, sent_at=now)
    if result.outcome is Outcome.RETRY and job.attempts < settings.max_attempts:
        # One jittered delay per attempt count in a batch: a batch settles in a statement
        # or two, and different batches still retry at different times.
        retry_at = now + backoff(job.attempts, settings)
        if retry_at < job.occurrence_at:
            return Settle(DeliveryState.PENDING, last_error=result.error, due_at=retry_at)
        return Settle(DeliveryState.FAILED, last_error=f"{result.error}; {reach.NO_TIME_LEFT}")
    if result.outcome is Outcome.UNREACHABLE:
        return Settle(DeliveryState.SKIPPED, last_error=result.error)
    return Settle(DeliveryState.FAILED, last_error=result.error)


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
        # Seconds spent per phase, and counts: what bench/ reads.
        self.stats: Counter[str] = Counter()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def for_app(cls, app: Flask, worker: str | None = None, **kwargs: Any) -> Dispatcher:
        worker = worker or worker_name()
        return cls(
            app.extensions["homeward.db"].sessionmaker,
            Senders.from_config(app.config, user_agent=f"Homeward-Dispatcher ({worker})"),
            Settings.from_config(app.config),
            worker=worker,
            **kwargs,
        )

    def claim(self) -> list[str]:
        """Claim a batch and commit (the claim alone; ``run_once`` does all of it)."""
        with self.sessions.begin() as db:
            return outbox.claim(
                db, self.worker, self.clock(), self.settings.lease, self.settings.batch_size
            )

    def run_once(self) -> int:
        """Claim, send and settle one batch. Returns how many deliveries were claimed."""
        began = time.monotonic()
        with self.sessions.begin() as db:
            now = self.clock()
            ids = outbox.claim(db, self.worker, now, self.settings.lease, self.settings.batch_size)
            if not ids:
                return 0
            prepared = prepare(db, ids, self.worker, now)
            outbox.settle(db, self.worker, prepared.settled)
        lease = Lease({job.delivery_id for job in prepared.jobs}, began, self.settings)
        sent_at = time.monotonic()
        self.stats["claim"] += sent_at - began
        results = self._send_all(prepared.jobs, lease)
        settled_at = time.monotonic()
        self.stats["send"] += settled_at - sent_at
        self._settle(prepared.jobs, results)
        self.stats["settle"] += time.monotonic() - settled_at
        self.stats["batches"] += 1
        self.stats["claimed"] += len(ids)
        log.info("dispatched a batch", extra={"claimed": len(ids), "attempted": len(results)})
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

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- sending -------------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.settings.threads, thread_name_prefix="send"
                )
            return self._pool

    def _attempt(self, job: Job, lease: Lease) -> Result | None:
        """One send, only while the claim is held and for no longer than it will be.
        None: not attempted (the row goes back unsent)."""
        budget = lease.budget(job.delivery_id)
        if budget <= 0:
            return None
        try:
            return send(job, self.senders, self.clock(), timeout=budget)
        except Exception as error:  # one bad send must not strand the rest of the batch
            log.exception("send failed unexpectedly", extra={"delivery": job.delivery_id})
            return Result(Outcome.RETRY, f"unexpected error: {type(error).__name__}")

    def _send_all(self, jobs: list[Job], lease: Lease) -> dict[str, Result | None]:
        """Send the batch on the thread pool; renew the lease while sends are in flight."""
        if not jobs:
            return {}
        pool = self._executor()
        waiting: dict[Future[Result | None], Job] = {
            pool.submit(self._attempt, job, lease): job for job in jobs
        }
        results: dict[str, Result | None] = {}
        renew_every = self.settings.lease.total_seconds() / 3
        while waiting:
            done, _ = wait(waiting, timeout=renew_every, return_when=FIRST_COMPLETED)
            for future in done:
                results[waiting.pop(future).delivery_id] = future.result()
            if waiting and lease.due_for_renewal():
                self._renew(lease, [job.delivery_id for job in waiting.values()])
        return results

    def _renew(self, lease: Lease, ids: list[str]) -> None:
        started = time.monotonic()
        try:
            with self.sessions.begin() as db:
                held = outbox.renew(db, self.worker, ids, self.clock(), self.settings.lease)
        except Exception:  # the database is away: sends stop when the old lease runs short
            log.warning("could not renew a lease", exc_info=True)
            return
        if held != set(ids):
            log.warning("lost the claim on rows", extra={"lost": len(set(ids) - held)})
        lease.renewed(held, started)

    # -- settling ------------------------------------------------------------------------

    def _settle(self, jobs: list[Job], results: dict[str, Result | None]) -> None:
        """Record the batch's results in one transaction, only for rows still ours, with
        their consequences (gone devices, numbers that sent STOP, fallbacks)."""
        if not jobs:
            return
        now = self.clock()
        outcomes: dict[str, Settle] = {}
        retry_delay: dict[int, timedelta] = {}
        for job in jobs:
            result = results.get(job.delivery_id)
            if result is None:
                outcomes[job.delivery_id] = outbox.RELEASE
                continue
            outcome = outcome_of(job, result, now, self.settings)
            if outcome.state is DeliveryState.PENDING:  # one jitter per attempt count
                delay = retry_delay.setdefault(job.attempts, outcome.due_at - now)  # type: ignore[operator] (a retry has due_at)
                outcome = Settle(
                    DeliveryState.PENDING, last_error=outcome.last_error, due_at=now + delay
                )
            outcomes[job.delivery_id] = outcome
        with self.sessions.begin() as db:
            recorded = outbox.settle(db, self.worker, outcomes)
            self._consequences(db, jobs, results, outcomes, recorded, now)

    def _consequences(
        self,
        db: Session,
        jobs: list[Job],
        results: dict[str, Result | None],
        outcomes: dict[str, Settle],
        recorded: set[str],
        now: datetime,
    ) -> None:
        gone = [d for r in results.values() if r is not None for d in r.gone_devices]
        if gone:
            forget_gone_devices(db, gone)
        stopped = [
            {"phone": job.phone, "opted_out_at": now}
            for job in jobs
            if job.phone and (r := results.get(job.delivery_id)) is not None and r.opted_out
        ]
        if stopped:
            insert_ignoring_conflicts(db, SmsOptOut, stopped, ["phone"])
        for job in jobs:
            ended = outcomes[job.delivery_id].state in (DeliveryState.FAILED, DeliveryState.SKIPPED)
            if ended and job.delivery_id in recorded and job.appointment_id is not None:
                fallback.fall_back(db, job, now, self.settings.max_attempts, self.configured)
