"""What a dispatcher sends with and by: its settings, its senders, the lease a batch holds
while it sends, and what a send's result means for its outbox row."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reminders import reach
from reminders.channels import Budget, Outcome, PushSender, Result, SmsSender
from reminders.models import Channel, DeliveryState
from reminders.outbox import Settle
from reminders.prepare import Job

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
    lanes: int = 2

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
            lanes=config["REMINDER_LANES"],
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


# A send thread short of time renews the batch's lease, but not more often than this.
RENEW_AT_MOST_EVERY = 0.25


class Lease:
    """The claim a batch holds, as this process sees it: which rows are still ours and
    until when, on this process's monotonic clock (measured from before the statement
    that took or renewed it, so it never overestimates)."""

    def __init__(self, ids: set[str], started: float, settings: Settings) -> None:
        self.held = frozenset(ids)
        self.until = started + settings.lease.total_seconds()
        self.settings = settings
        self.renewed_at = started
        self.failed_at = float("-inf")  # the last renewal the database refused
        self.lock = threading.Lock()  # one renewal at a time, for the whole batch

    def budget(self, delivery_id: str) -> float:
        """Seconds a send of this row may take from now (0: it must not start)."""
        if delivery_id not in self.held:
            return 0.0
        left = self.until - time.monotonic() - self.settings.margin
        return min(self.settings.send_timeout, left) if left >= 0.5 else 0.0

    def due_for_renewal(self) -> bool:
        return time.monotonic() - self.renewed_at >= self.settings.lease.total_seconds() / 3

    def worth_renewing(self, delivery_id: str) -> bool:
        """A send about to start with less than its full timeout: would renewing now give it
        more? (Not for a row already lost, nor right after a renewal or a failed one.)"""
        now = time.monotonic()
        return (
            delivery_id in self.held
            and now - self.renewed_at >= RENEW_AT_MOST_EVERY
            and now - self.failed_at >= RENEW_AT_MOST_EVERY * 4
        )

    def renewed(self, ids: set[str], started: float) -> None:
        self.held = frozenset(ids)
        self.until = started + self.settings.lease.total_seconds()
        self.renewed_at = started


def send(job: Job, senders: Senders, now: datetime, budget: Budget | None = None) -> Result:
    if job.channel == Channel.PUSH:
        if senders.push is None:
            return Result(Outcome.UNREACHABLE, reach.PUSH_OFF)
        ttl = int((job.occurrence_at - now).total_seconds())
        return senders.push.send(
            job.push_targets, job.payload, ttl, topic=job.payload["tag"][:32], budget=budget
        )
    if senders.sms is None:
        return Result(Outcome.UNREACHABLE, reach.SMS_OFF)
    return senders.sms.send(job.phone, job.opted_out, job.notification.body, budget=budget)


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential, capped, with jitter so retries of many rows do not arrive together."""
    ceiling = min(settings.retry_cap, settings.retry_base * (2 ** max(attempts - 1, 0)))
    jittered: timedelta = ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not security)
    return jittered


def outcome_of(
    job: Job,
    result: Result,
    now: datetime,
    settings: Settings,
    delays: dict[int, timedelta] | None = None,
) -> Settle:
    """What a send's result means for its outbox row. ``delays``, shared by a batch's
    rows, gives one jittered retry delay per attempt count: a batch settles in a statement
    or two, and different batches still retry at different times."""
    if result.outcome is Outcome.SENT:
        return Settle(DeliveryState.SENT, sent_at=now)
    if result.outcome is Outcome.RETRY and job.attempts < settings.max_attempts:
        delays = {} if delays is None else delays
        retry_at = now + delays.setdefault(job.attempts, backoff(job.attempts, settings))
        if retry_at < job.occurrence_at:
            return Settle(DeliveryState.PENDING, last_error=result.error, due_at=retry_at)
        return Settle(DeliveryState.FAILED, last_error=f"{result.error}; {reach.NO_TIME_LEFT}")
    if result.outcome is Outcome.UNREACHABLE:
        return Settle(DeliveryState.SKIPPED, last_error=result.error)
    return Settle(DeliveryState.FAILED, last_error=result.error)
