"""The processes bench/dispatch_throughput.py starts, one role per process.

    .venv/bin/python bench/dispatch_workers.py dispatcher              # Homeward's Dispatcher
    .venv/bin/python bench/dispatch_workers.py pushonly FILE START STEP COUNT
    .venv/bin/python bench/dispatch_workers.py rawpost FILE START STEP COUNT
    .venv/bin/python bench/dispatch_workers.py naive TABLE THREADS     # APScheduler 3

Each prints one JSON line when it is ready, then waits for ``go`` on stdin, works, prints
one JSON line with what it did, and waits for ``quit`` (end of stdin is ``quit`` too).
The naive scheduler instead starts at once and answers ``stats`` until told to ``stop``.
Configuration comes from the environment, as for Homeward itself (DATABASE_URL,
VAPID_PRIVATE_KEY, VAPID_SUBJECT, REMINDER_*).

``send_reminder`` below is the job function of the naive design: APScheduler stores it
by reference (``dispatch_workers:send_reminder``) in the pickled job.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VAPID_SUBJECT_DEFAULT = "mailto:operators@homeward.invalid"


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def wait_for(command: str) -> None:
    """Block until ``command`` arrives on stdin; end of stdin exits the process."""
    for raw in sys.stdin:
        line = raw.strip()
        if line == command:
            return
        if line == "quit":
            sys.exit(0)
    sys.exit(0)


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# --------------------------------------------------------------------------- the dispatcher


def run_dispatcher(profile_path: str | None) -> None:
    """create_app() from the environment, then Dispatcher.for_app(app).run_until_idle(),
    timed per phase. The phase timers wrap the module's functions in this process only."""
    from sqlalchemy import text

    import reminders.dispatch as dispatch
    from api import create_app

    app = create_app()
    dispatcher = dispatch.Dispatcher.for_app(app)
    if dispatcher.senders.push is None:
        raise SystemExit("VAPID_PRIVATE_KEY is not set: the dispatcher would not push")
    # Connect before the clock starts (the pool keeps the connection).
    with app.extensions["homeward.db"].engine.connect() as connection:
        connection.execute(text("SELECT 1"))

    phases: Counter[str] = Counter()  # wall seconds per phase
    phases_cpu: Counter[str] = Counter()  # CPU seconds of this process per phase
    claims: list[tuple[float, int]] = []  # (seconds, rows) per claim
    outcomes: Counter[str] = Counter()
    perf, cpu_clock = time.perf_counter, time.process_time

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began, cpu_began = perf(), cpu_clock()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] += perf() - began
                phases_cpu[name] += cpu_clock() - cpu_began

        return wrapper

    original_claim = dispatch.Dispatcher.claim

    def timed_claim(self: Any) -> list[str]:
        began, cpu_began = perf(), cpu_clock()
        ids = original_claim(self)
        claims.append((perf() - began, len(ids)))
        phases_cpu["claim"] += cpu_clock() - cpu_began
        return ids

    original_send = dispatch.send

    def counted_send(job: Any, senders: Any, now: datetime) -> Any:
        result = original_send(job, senders, now)
        outcomes[result.outcome.value] += 1
        return result

    dispatch.Dispatcher.claim = timed_claim  # type: ignore[method-assign]
    dispatch.prepare = timed("prepare", dispatch.prepare)
    dispatch.send = timed("send", counted_send)
    dispatch.record = timed("record", dispatch.record)

    emit(
        {
            "ready": True,
            "pid": os.getpid(),
            "worker": dispatcher.worker,
            "batch_size": dispatcher.settings.batch_size,
            "lease_seconds": dispatcher.settings.lease.total_seconds(),
        }
    )
    wait_for("go")

    profiler = cProfile.Profile() if profile_path else None
    started, cpu_before = time.time(), cpu_clock()
    began = perf()
    if profiler:
        profiler.enable()
    claimed = dispatcher.run_until_idle()
    if profiler:
        profiler.disable()
    wall = perf() - began
    ended, cpu = time.time(), cpu_clock() - cpu_before

    claim_total = sum(seconds for seconds, _ in claims)
    phases["claim"] = claim_total
    accounted = sum(phases.values())
    # What is left: opening/committing the prepare and record transactions (pool checkout,
    # pre-ping, BEGIN, COMMIT) and the loop itself.
    phases["transactions+loop"] = max(wall - accounted, 0.0)
    phases_cpu["transactions+loop"] = max(cpu - sum(phases_cpu.values()), 0.0)
    nonempty = [seconds for seconds, rows in claims if rows]
    tenth = max(len(nonempty) // 10, 1)
    report: dict[str, Any] = {
        "claimed": claimed,
        "outcomes": dict(outcomes),
        "started": started,
        "ended": ended,
        "wall": wall,
        "cpu": cpu,
        "phases": dict(phases),
        "phases_cpu": dict(phases_cpu),
        "claims": len(claims),
        "claim_ms_first_tenth": 1000 * sum(nonempty[:tenth]) / tenth if nonempty else None,
        "claim_ms_last_tenth": 1000 * sum(nonempty[-tenth:]) / tenth if nonempty else None,
        "claim_ms_empty": 1000
        * sum(s for s, rows in claims if not rows)
        / max(sum(1 for _, rows in claims if not rows), 1),
    }
    if profiler and profile_path:
        profiler.dump_stats(profile_path)
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("tottime").print_stats(25)
        report["profile_top"] = buffer.getvalue()
    emit(report)
    wait_for("quit")


# --------------------------------------------------------------------------- baselines


def _targets(path: str, start: int, step: int, count: int) -> list[list[str]]:
    with open(path) as fh:
        rows = json.load(fh)
    return rows[start:count:step]


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


def run_pushonly(path: str, start: int, step: int, count: int) -> None:
    """The send path alone: the same PushSender (pywebpush: aes128gcm + a VAPID JWT per
    message, one keep-alive requests.Session) to the same sink, no database at all."""
    from reminders.channels import PushSender, PushTarget

    targets = _targets(path, start, step, count)
    sender = PushSender(
        os.environ["VAPID_PRIVATE_KEY"], os.environ.get("VAPID_SUBJECT", VAPID_SUBJECT_DEFAULT)
    )
    emit({"ready": True, "pid": os.getpid(), "targets": len(targets)})
    wait_for("go")
    outcomes: Counter[str] = Counter()
    started, cpu_before, began = time.time(), cpu_seconds(), time.perf_counter()
    for offset, (endpoint, p256dh, auth) in enumerate(targets):
        index = start + offset * step
        payload = sample_payload(index)
        result = sender.send(
            [PushTarget(str(index), endpoint, p256dh, auth)],
            payload,
            86400,
            topic=payload["tag"][:32],
        )
        outcomes[result.outcome.value] += 1
    emit(
        {
            "sent": outcomes.get("sent", 0),
            "outcomes": dict(outcomes),
            "started": started,
            "ended": time.time(),
            "wall": time.perf_counter() - began,
            "cpu": cpu_seconds() - cpu_before,
        }
    )
    wait_for("quit")


def run_rawpost(path: str, start: int, step: int, count: int) -> None:
    """HTTP alone: a POST of an opaque body of the same size through one keep-alive
    requests.Session, no encryption, no VAPID, no database."""
    import requests

    targets = _targets(path, start, step, count)
    session = requests.Session()
    body = os.urandom(300)  # about what pywebpush sends for the payload above
    headers = {"TTL": "86400", "Content-Encoding": "aes128gcm", "Urgency": "high"}
    emit({"ready": True, "pid": os.getpid(), "targets": len(targets)})
    wait_for("go")
    ok = 0
    started, cpu_before, began = time.time(), cpu_seconds(), time.perf_counter()
    for endpoint, _, _ in targets:
        response = session.post(endpoint, data=body, headers=headers, timeout=10)
        ok += response.status_code == 201
    emit(
        {
            "sent": ok,
            "outcomes": {"sent": ok},
            "started": started,
            "ended": time.time(),
            "wall": time.perf_counter() - began,
            "cpu": cpu_seconds() - cpu_before,
        }
    )
    wait_for("quit")


# --------------------------------------------------------------------------- the naive design

_local = threading.local()


def send_reminder(
    endpoint: str, p256dh: str, auth: str, payload: dict[str, Any], occurrence_at: str
) -> None:
    """One APScheduler job = one reminder: the same Web Push the dispatcher sends."""
    from reminders.channels import Outcome, PushSender, PushTarget

    sender = getattr(_local, "sender", None)
    if sender is None:  # one sender (and keep-alive session) per pool thread
        sender = _local.sender = PushSender(
            os.environ["VAPID_PRIVATE_KEY"], os.environ.get("VAPID_SUBJECT", VAPID_SUBJECT_DEFAULT)
        )
    ttl = int((datetime.fromisoformat(occurrence_at) - datetime.now(UTC)).total_seconds())
    result = sender.send(
        [PushTarget("naive", endpoint, p256dh, auth)], payload, ttl, topic=payload["tag"][:32]
    )
    if result.outcome is not Outcome.SENT:
        raise RuntimeError(f"push {result.outcome.value}: {result.error}")


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
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
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
        executors={"default": ThreadPoolExecutor(threads)},
        timezone=UTC,
    )
    scheduler.add_listener(on_event, sum(names))
    cpu_before = cpu_seconds()
    scheduler.start()
    emit({"ready": True, "pid": os.getpid()})

    def stats() -> dict[str, Any]:
        thread = getattr(scheduler, "_thread", None)
        with lock:
            counted = dict(events)
        return {
            "events": counted,
            "scheduler_thread_alive": bool(thread and thread.is_alive()),
            "cpu": cpu_seconds() - cpu_before,
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
    role = sys.argv[1]
    if role == "dispatcher":
        run_dispatcher(sys.argv[2] if len(sys.argv) > 2 else None)
    elif role in ("pushonly", "rawpost"):
        path, start, step, count = sys.argv[2], *map(int, sys.argv[3:6])
        (run_pushonly if role == "pushonly" else run_rawpost)(path, start, step, count)
    elif role == "naive":
        run_naive(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main()
