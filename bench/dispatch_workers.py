"""The processes bench/dispatch_throughput.py starts, one role per process.

    .venv/bin/python bench/dispatch_workers.py dispatcher
    .venv/bin/python bench/dispatch_workers.py ceiling push|sms FILE START STEP COUNT BATCH THREADS
    .venv/bin/python bench/dispatch_workers.py naive TABLE THREADS

``dispatcher`` is Homeward's: ``create_app()`` from the environment, then
``Dispatcher.for_app(app).run_until_idle()``. ``ceiling`` is the same sending with no
database: the same ``PushSender`` (or ``SmsSender``), the same payloads, sent through a
``ThreadPoolExecutor(THREADS)`` in chunks of BATCH, one chunk after another, as the
dispatcher sends a claimed batch. ``naive`` is one APScheduler 3 ``BackgroundScheduler`` on a
``SQLAlchemyJobStore`` table whose jobs call ``send_reminder`` or ``send_sms`` below (stored
by reference, ``dispatch_workers:send_reminder``, in the pickled job).

Each prints one JSON line when it is ready, then waits for ``go`` on stdin, works, prints
one JSON line with what it did (its own peak RSS, VmHWM, and ru_maxrss included), and
waits for ``quit`` (end of stdin is ``quit`` too). The naive scheduler instead starts at
once and answers ``stats`` until told to ``stop``. Configuration comes from the
environment, as for Homeward itself (DATABASE_URL, VAPID_PRIVATE_KEY, VAPID_SUBJECT,
TWILIO_*, REMINDER_*).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from benchkit.children import emit, wait_for
from benchkit.machine import own_cpu_seconds, own_peak_rss_mb, peak_rss_mb, rss_mb
from twilio_sink import phone_number

VAPID_SUBJECT_DEFAULT = "mailto:operators@homeward.invalid"
SMS_BODY = "Appointment tomorrow at 14:00. Reply C to confirm."  # the dispatcher's shape
TTL = 26 * 3600


def push_sender(connections: int) -> Any:
    """Homeward's PushSender as the dispatcher builds it (Senders.from_config): a
    keep-alive pool of ``connections`` per push-service origin when it takes that."""
    from reminders.channels import PushSender

    kwargs: dict[str, Any] = {"connections": connections}
    if "connections" not in inspect.signature(PushSender).parameters:
        kwargs = {}  # the sender before the rewrite (one requests.Session)
    return PushSender(
        os.environ["VAPID_PRIVATE_KEY"],
        os.environ.get("VAPID_SUBJECT", VAPID_SUBJECT_DEFAULT),
        **kwargs,
    )


def sms_sender() -> Any:
    from reminders.channels import SmsSender

    return SmsSender(
        os.environ["TWILIO_ACCOUNT_SID"],
        os.environ["TWILIO_AUTH_TOKEN"],
        from_number=os.environ["TWILIO_FROM_NUMBER"],
        messaging_service_sid=None,
        base_url=os.environ["TWILIO_API_BASE_URL"],
    )


def sample_payload(index: int) -> dict[str, Any]:
    """The shape (and about the size) of the dispatcher's payload for one reminder."""
    appointment_id = f"bench-a-{index}"
    return {
        "title": "Reminder",
        "body": "Appointment tomorrow at 14:00",
        "tag": f"appointment-{appointment_id}",
        "appointment_id": appointment_id,
        "starts_at": "2030-01-02T14:00:00+00:00",
    }


def finished(started: float, began: float, cpu_before: float, **fields: Any) -> dict[str, Any]:
    return {
        "started": started,
        "ended": time.time(),
        "wall": time.perf_counter() - began,
        "cpu": own_cpu_seconds() - cpu_before,
        "peak_rss_mb": own_peak_rss_mb(),
        "ru_maxrss_mb": peak_rss_mb(),
        **fields,
    }


# --------------------------------------------------------------------------- Homeward


def run_dispatcher() -> None:
    """create_app() from the environment, then Dispatcher.for_app(app).run_until_idle().
    Its own ``stats`` (phase wall seconds, batches, claimed) are reported when it has
    them (the dispatcher before the rewrite had none)."""
    from sqlalchemy import text

    from api import create_app
    from reminders.dispatch import Dispatcher

    app = create_app()
    dispatcher = Dispatcher.for_app(app)
    senders = getattr(dispatcher, "senders", None)
    if senders is not None and senders.push is None:
        raise SystemExit("VAPID_PRIVATE_KEY is not set: the dispatcher would not push")
    # Connect before the clock starts (the pool keeps the connection).
    with app.extensions["homeward.db"].engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    settings = dispatcher.settings
    emit(
        {
            "ready": True,
            "pid": os.getpid(),
            "worker": dispatcher.worker,
            "batch_size": settings.batch_size,
            "threads": getattr(settings, "threads", None),
            "lease_seconds": settings.lease.total_seconds(),
            "rss_mb": rss_mb(),  # after create_app() and Dispatcher.for_app(), before any work
        }
    )
    wait_for("go")

    started, cpu_before, began = time.time(), own_cpu_seconds(), time.perf_counter()
    claimed = dispatcher.run_until_idle()
    stats = dict(getattr(dispatcher, "stats", None) or {})
    report = finished(started, began, cpu_before, claimed=claimed, stats=stats)
    close = getattr(dispatcher, "close", None)
    if close is not None:
        close()
    emit(report)
    wait_for("quit")


# --------------------------------------------------------------------------- the ceiling


def run_ceiling(
    channel: str, path: str, start: int, step: int, count: int, batch: int, threads: int
) -> None:
    """The dispatcher's sending without its database: the same sender and payloads,
    chunks of ``batch`` sent on a pool of ``threads``, each chunk finished before the next
    (as a claimed batch is sent, then settled, before the next claim)."""
    from reminders.channels import PushTarget

    indexes = list(range(start, count, step))
    if channel == "push":
        with open(path) as fh:
            subscriptions = json.load(fh)
        sender = push_sender(threads)

        def send(index: int) -> Any:
            endpoint, p256dh, auth = subscriptions[index]
            payload = sample_payload(index)
            target = PushTarget(f"bench-d-{index}", endpoint, p256dh, auth)
            return sender.send([target], payload, TTL, topic=payload["tag"][:32])

    else:
        sender = sms_sender()

        def send(index: int) -> Any:
            return sender.send(phone_number(index), False, SMS_BODY)

    emit({"ready": True, "pid": os.getpid(), "targets": len(indexes)})
    wait_for("go")
    outcomes: Counter[str] = Counter()
    started, cpu_before, began = time.time(), own_cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(max(threads, 1), thread_name_prefix="send") as pool:
        for first in range(0, len(indexes), batch):
            for result in pool.map(send, indexes[first : first + batch]):
                outcomes[result.outcome.value] += 1
    emit(finished(started, began, cpu_before, claimed=len(indexes), outcomes=dict(outcomes)))
    wait_for("quit")


# --------------------------------------------------------------------------- the naive design

_senders: dict[str, Any] = {}
_senders_lock = threading.Lock()


def _sender(channel: str) -> Any:
    """One sender per process, shared by the scheduler's pool threads, as an app would
    (APScheduler imports this module a second time, by name: the state lives there)."""
    with _senders_lock:
        if channel not in _senders:
            threads = int(os.environ.get("BENCH_NAIVE_THREADS", "10"))
            _senders[channel] = push_sender(threads) if channel == "push" else sms_sender()
        return _senders[channel]


def send_reminder(
    endpoint: str, p256dh: str, auth: str, payload: dict[str, Any], occurrence_at: str
) -> None:
    """One APScheduler job = one reminder: the same Web Push the dispatcher sends."""
    from reminders.channels import Outcome, PushTarget

    ttl = int((datetime.fromisoformat(occurrence_at) - datetime.now(UTC)).total_seconds())
    result = _sender("push").send(
        [PushTarget("naive", endpoint, p256dh, auth)], payload, ttl, topic=payload["tag"][:32]
    )
    if result.outcome is not Outcome.SENT:
        raise RuntimeError(f"push {result.outcome.value}: {result.error}")


def send_sms(phone: str, body: str) -> None:
    """One APScheduler job = one SMS reminder through the same SmsSender."""
    from reminders.channels import Outcome

    result = _sender("sms").send(phone, False, body)
    if result.outcome is not Outcome.SENT:
        raise RuntimeError(f"sms {result.outcome.value}: {result.error}")


def run_naive(table: str, threads: int) -> None:
    """A BackgroundScheduler on a SQLAlchemyJobStore (the given table) with a thread pool;
    the jobs are already in the table. Counts every scheduler event."""
    import logging

    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_EXECUTED,
        EVENT_JOB_MAX_INSTANCES,
        EVENT_JOB_MISSED,
        EVENT_JOB_SUBMITTED,
    )
    from apscheduler.executors.pool import ThreadPoolExecutor as SchedulerPool
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    os.environ["BENCH_NAIVE_THREADS"] = str(threads)  # the sender's pool, one per pool thread
    events: Counter[str] = Counter()
    names = {
        EVENT_JOB_SUBMITTED: "submitted",
        EVENT_JOB_EXECUTED: "executed",
        EVENT_JOB_ERROR: "error",
        EVENT_JOB_MISSED: "missed",
        EVENT_JOB_MAX_INSTANCES: "max_instances",
    }
    lock = threading.Lock()

    def on_event(event: Any) -> None:
        with lock:
            events[names.get(event.code, str(event.code))] += 1

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url, tablename=table)},
        executors={"default": SchedulerPool(threads)},
        timezone=UTC,
    )
    scheduler.add_listener(on_event, sum(names))
    cpu_before = own_cpu_seconds()
    scheduler.start()
    emit({"ready": True, "pid": os.getpid()})

    def stats() -> dict[str, Any]:
        thread = getattr(scheduler, "_thread", None)
        with lock:
            counted = dict(events)
        return {
            "events": counted,
            "scheduler_thread_alive": bool(thread and thread.is_alive()),
            "cpu": own_cpu_seconds() - cpu_before,
            "peak_rss_mb": own_peak_rss_mb(),
            "ru_maxrss_mb": peak_rss_mb(),
        }

    for raw in sys.stdin:
        line = raw.strip()
        if line == "stats":
            emit(stats())
        elif line in ("stop", "quit"):
            break
    alive = stats()["scheduler_thread_alive"]
    scheduler.shutdown(wait=True)  # waits for the jobs already in the thread pool
    final = stats()
    final["scheduler_thread_alive"] = alive
    emit(final)


def main() -> None:
    role, args = sys.argv[1], sys.argv[2:]
    if role == "dispatcher":
        run_dispatcher()
    elif role == "ceiling":
        channel, path, *numbers = args
        start, step, count, batch, threads = map(int, numbers)
        run_ceiling(channel, path, start, step, count, batch, threads)
    elif role == "naive":
        run_naive(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main()
