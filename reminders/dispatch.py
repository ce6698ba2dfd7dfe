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
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.accounts.devices import forget_gone_devices
from api.core.db import insert_ignoring_conflicts, utcnow
from reminders import fallback, outbox, reach
from reminders.channels import Outcome, Result
from reminders.models import DeliveryState, SmsOptOut
from reminders.outbox import Settle
from reminders.prepare import Job, Prepared, prepare
from reminders.sending import (
    RENEW_AT_MOST_EVERY,
    Lease,
    Senders,
    Settings,
    outcome_of,
    send,
    worker_name,
)

__all__ = ["Dispatcher", "Lease", "Senders", "Settings"]

log = logging.getLogger(__name__)
CANNOT_PREPARE = "could not be prepared"
SETTLE_ATTEMPTS = 4  # over about 3.5 s
Clock = Callable[[], datetime]


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
        self.stats: defaultdict[str, float] = defaultdict(float)
        self._pool: ThreadPoolExecutor | None = None
        self._stats_lock = threading.Lock()
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
        return self._batch()[0]

    def _batch(self) -> tuple[int, int]:
        """One batch: (rows claimed, rows put back unsent)."""
        began = time.monotonic()
        try:
            with self.sessions.begin() as db:
                now = self.clock()
                rows = outbox.claim_rows(
                    db, self.worker, now, self.settings.lease, self.settings.batch_size
                )
                if not rows:
                    return 0, 0
                ids = [row.id for row in rows]
                prepared = prepare(db, rows, now)
                outbox.settle(db, self.worker, prepared.settled)
        except SQLAlchemyError:
            raise  # the database is away: nothing was claimed
        except Exception:
            # One row that cannot be prepared must not hold back a whole batch, again and
            # again: find it, one row per transaction, and fail it with the reason.
            log.exception("a batch could not be prepared; preparing its rows one by one")
            ids, prepared = self._prepare_one_by_one()
        lease = Lease({job.delivery_id for job in prepared.jobs}, began, self.settings)
        sent_at = time.monotonic()
        results = self._send_all(prepared.jobs, lease)
        settled_at = time.monotonic()
        released = self._settle(prepared.jobs, results)
        with self._stats_lock:
            self.stats["claim"] += sent_at - began
            self.stats["send"] += settled_at - sent_at
            self.stats["settle"] += time.monotonic() - settled_at
            self.stats["batches"] += 1
            self.stats["claimed"] += len(ids)
        log.info("dispatched a batch", extra={"claimed": len(ids), "attempted": len(results)})
        return len(ids), released

    def _prepare_one_by_one(self) -> tuple[list[str], Prepared]:
        with self.sessions.begin() as db:
            now = self.clock()
            ids = outbox.claim(db, self.worker, now, self.settings.lease, self.settings.batch_size)
        prepared = Prepared([], {})
        for delivery_id in ids:
            try:
                with self.sessions.begin() as db:
                    one = prepare(db, outbox.claimed(db, self.worker, [delivery_id]), now)
                    outbox.settle(db, self.worker, one.settled)
                prepared.jobs += one.jobs
            except SQLAlchemyError:
                raise
            except Exception as error:
                log.exception("a delivery could not be prepared", extra={"delivery": delivery_id})
                failed = Settle(
                    DeliveryState.FAILED, last_error=f"{CANNOT_PREPARE}: {type(error).__name__}"
                )
                with self.sessions.begin() as db:
                    outbox.settle(db, self.worker, {delivery_id: failed})
        return ids, prepared

    def run_until_idle(self, max_batches: int | None = None) -> int:
        """Drain what is due now. With ``REMINDER_LANES`` > 1, that many batches are in
        flight at once (one lane claims and settles while another's sends are out), sharing
        the sending threads; ``max_batches`` runs them one after another."""
        if max_batches is not None or self.settings.lanes <= 1:
            return self._drain(max_batches)
        with ThreadPoolExecutor(self.settings.lanes, thread_name_prefix="lane") as lanes:
            return sum(lanes.map(lambda _: self._drain(None), range(self.settings.lanes)))

    def _drain(self, max_batches: int | None) -> int:
        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            claimed, released = self._batch()
            if not claimed or released == claimed:
                break  # nothing due, or nothing could be sent now: wait for the next wake-up
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

        def budget() -> float:
            # Asked before each request (a member's second device, say). A send that would
            # get less than its full timeout renews the batch's lease first, so a slow push
            # service meets a timeout only when it really is that slow.
            left = lease.budget(job.delivery_id)
            if left < self.settings.send_timeout and lease.worth_renewing(job.delivery_id):
                self._renew(lease)
                left = lease.budget(job.delivery_id)
            return left

        if budget() <= 0:
            return None
        try:
            return send(job, self.senders, self.clock(), budget=budget)
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
        renew_every = self.settings.lease.total_seconds() / 3
        # Woken when the whole batch is done or when the lease wants renewing, not at each
        # send (re-arming a wait on the rest at every completion costs more than a send).
        while True:
            _, not_done = wait(waiting, timeout=renew_every, return_when=ALL_COMPLETED)
            if not not_done:
                break
            if lease.due_for_renewal():
                self._renew(lease)
        results: dict[str, Result | None] = {
            job.delivery_id: future.result() for future, job in waiting.items()
        }
        return results

    def _renew(self, lease: Lease) -> None:
        """Extend the claim on every row of the batch not yet settled: those still to send,
        those in flight, and those sent and waiting for the batch's settle (a sent row
        whose lease ran out would be claimed, and sent, again)."""
        with lease.lock:
            started = time.monotonic()
            if started - lease.renewed_at < RENEW_AT_MOST_EVERY:
                return  # another thread just did
            ids = set(lease.held)
            try:
                with self.sessions.begin() as db:
                    held = outbox.renew(db, self.worker, ids, self.clock(), self.settings.lease)
            except Exception:  # the database is away: sends stop when the old lease runs short
                lease.failed_at = time.monotonic()
                log.warning("could not renew a lease", exc_info=True)
                return
            if held != ids:
                log.warning("lost the claim on rows", extra={"lost": len(ids - held)})
            lease.renewed(held, started)

    # -- settling ------------------------------------------------------------------------

    def _settle(self, jobs: list[Job], results: dict[str, Result | None]) -> int:
        """Record the batch's results in one transaction, only for rows still ours, with
        their consequences (gone devices, numbers that sent STOP, fallbacks)."""
        if not jobs:
            return 0
        released = 0
        now = self.clock()
        outcomes: dict[str, Settle] = {}
        delays: dict[int, timedelta] = {}
        for job in jobs:
            result = results.get(job.delivery_id)
            if result is None:
                outcomes[job.delivery_id] = outbox.RELEASE
                released += 1
                continue
            outcomes[job.delivery_id] = outcome_of(job, result, now, self.settings, delays)
        for attempt in range(SETTLE_ATTEMPTS):
            # The sends happened: losing their results would send them again after the
            # lease. A database blip is waited out (settling twice is harmless: it is
            # conditional on the claim, and a row already settled is no longer 'sending').
            try:
                with self.sessions.begin() as db:
                    recorded = outbox.settle(db, self.worker, outcomes)
                    self._consequences(db, jobs, results, outcomes, recorded, now)
                return released
            except SQLAlchemyError:
                if attempt + 1 == SETTLE_ATTEMPTS:
                    raise
                log.warning("could not settle a batch; trying again", exc_info=True)
                time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

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
