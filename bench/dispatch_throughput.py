"""Reminder deliveries per second: Homeward's leased-outbox dispatcher on PostgreSQL, against
the send path alone and against the naive design (one APScheduler job per reminder).

    .venv/bin/python bench/dispatch_throughput.py [--deliveries N] [--naive-deliveries N]

What it does, in order:

1. makes a throwaway PostgreSQL database (dropped at the end) and migrates it with
   ``api.migrate.upgrade(app)``; generates a VAPID key;
2. starts the push sink in its own process (``bench/push_sink.py``; by default the cheap
   counting server, ``--sink fake`` for the project's decrypting fake) and inserts, with
   SQL, one member, one Web Push device (a sink subscription) and one appointment
   (tomorrow) per delivery;
3. baselines, same sink, no database: ``rawpost`` (an HTTP POST of an opaque body through
   requests) and ``pushonly`` (Homeward's PushSender: pywebpush, aes128gcm, a VAPID JWT per
   message), in 1 and 2 processes, over ``--baseline-deliveries``;
4. the dispatcher: inserts N reminder deliveries that are due now, starts 1 (then 2)
   processes that each run ``create_app()`` + ``Dispatcher.for_app(app).run_until_idle()``,
   says go to all at once, and checks at the end that the sink got exactly N pushes, one
   per delivery, and that every row is ``sent``;
5. the naive design, ``--naive-deliveries`` jobs in a fresh ``SQLAlchemyJobStore`` table on
   the same database, each job doing the same push: one BackgroundScheduler with
   ``misfire_grace_time=None``, one with APScheduler's default grace (1 s), and two
   schedulers sharing the table (unsupported, per APScheduler's FAQ), counting duplicates;
6. prints the tables.

Every process it starts runs in its own session and is stopped however the run ends
(Ctrl-C and SIGTERM included); the database is dropped and the temporary folder removed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pickle
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit import (
    BENCH,
    DEFAULT_POSTGRES_URL,
    ROOT,
    Child,
    PostgresCpu,
    app_environment,
    children,
    fresh_postgres_database,
    load_average,
    log,
    machine_cpu,
    migrated_app,
    new_vapid_private_key,
    postgres_settings,
    sigterm_as_interrupt,
)

WORKERS = str(BENCH / "dispatch_workers.py")
SINK = str(BENCH / "push_sink.py")
ZONES = ("America/Chicago", "America/New_York", "America/Los_Angeles", "America/Denver")
KINDS = (
    "supervision",
    "court",
    "treatment",
    "medical",
    "benefits",
    "id_documents",
    "job_interview",
    "housing",
    "other",
)


@dataclass
class Run:
    """One measured row of a table."""

    part: str  # "send path", "dispatcher" or "naive"
    name: str
    processes: int
    deliveries: int  # what should arrive
    seconds: float = 0.0
    accepted: int = 0  # pushes the sink accepted (201)
    distinct: int = 0  # deliveries that arrived at least once
    duplicates: int = 0  # pushes beyond the first for one delivery
    refused: int = 0  # pushes the sink refused
    worker_cpu: float = 0.0  # CPU seconds of the measured processes
    postgres_cpu: float | None = None  # CPU seconds of this database's PostgreSQL processes
    sink_cpu: float = 0.0
    machine_busy: float = 0.0  # share of all CPUs busy during the run, anyone's
    rows_not_sent: int | None = None  # outbox rows in any state but 'sent' at the end
    states: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    ratio: float | None = None

    @property
    def per_second(self) -> float:
        return self.distinct / self.seconds if self.seconds > 0 else 0.0

    @property
    def missing(self) -> int:
        return self.deliveries - self.distinct


# --------------------------------------------------------------------------- fixture (SQL)

ACCOUNTS_SQL = """
INSERT INTO accounts (id, username, username_key, password_hash, role, timezone, locale,
                      notification_detail, password_changed_at, created_at, updated_at)
SELECT 'bench-m-' || i, 'bench' || i, 'bench' || i, '!bench-no-password', 'member',
       (%(zones)s::text[])[1 + i %% 4], CASE WHEN i %% 5 = 0 THEN 'es' ELSE 'en' END,
       CASE WHEN i %% 3 = 0 THEN 'detailed' ELSE 'discreet' END, %(now)s, %(now)s, %(now)s
FROM generate_series(0, %(n)s - 1) AS i
"""

APPOINTMENTS_SQL = """
INSERT INTO appointments (id, member_id, title, kind, starts_local, ends_local, timezone,
                          reminder_offsets, channels, status, created_at, updated_at)
SELECT 'bench-a-' || i, 'bench-m-' || i, 'Appointment ' || i, (%(kinds)s::text[])[1 + i %% 9],
       ((%(occurrence)s + i %% 3600 * interval '1 second') AT TIME ZONE 'UTC')
           AT TIME ZONE (%(zones)s::text[])[1 + i %% 4],
       NULL, (%(zones)s::text[])[1 + i %% 4], '["1d@10:00"]', '["push"]', 'scheduled',
       %(now)s, %(now)s
FROM generate_series(0, %(n)s - 1) AS i
"""

# One push delivery per appointment, due now (spread over the last 10 minutes), starting
# tomorrow, pending, never attempted.
DELIVERIES_SQL = """
INSERT INTO reminder_deliveries (id, appointment_id, member_id, occurrence_local, occurrence_at,
                                 offset_key, channel, due_at, state, attempts, created_at,
                                 updated_at)
SELECT gen_random_uuid()::text, a.id, a.member_id, a.starts_local,
       %(occurrence)s + i %% 3600 * interval '1 second', '1d@10:00', 'push',
       %(now)s - i %% 600 * interval '1 second', 'pending', 0, %(now)s, %(now)s
FROM generate_series(0, %(n)s - 1) AS i
JOIN appointments AS a ON a.id = 'bench-a-' || i
"""


def naive_utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def seal_titles(conn: Any, keyring: Any, n: int, now: datetime) -> None:
    """Appointment titles are stored sealed (migration 0006), and the dispatcher opens the
    detailed members' titles: give each member a data key and seal their title with it,
    as the app would have (the vault's own seal, its keys given instead of read)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from api.crypto.vault import Vault

    vault = Vault(None, keyring)  # type: ignore[arg-type]  # never reads: keys are given
    with conn.cursor().copy(
        "COPY member_keys (account_id, master_key_id, wrapped_key, created_at) FROM STDIN"
    ) as copy:
        for i in range(n):
            member, key = f"bench-m-{i}", AESGCM.generate_key(256)
            vault._ciphers[member] = AESGCM(key)
            copy.write_row((member, keyring.current_id, keyring.wrap(member, key), now))
    conn.execute("CREATE TEMPORARY TABLE bench_titles (id text PRIMARY KEY, title text)")
    with conn.cursor().copy("COPY bench_titles (id, title) FROM STDIN") as copy:
        for i in range(n):
            row_id = f"bench-a-{i}"
            title = vault.seal(f"bench-m-{i}", "appointments", "title", row_id, f"Appointment {i}")
            copy.write_row((row_id, title))
    conn.execute(
        "UPDATE appointments AS a SET title = t.title FROM bench_titles AS t WHERE a.id = t.id"
    )


def insert_fixture(database_url: str, subscriptions: list[list[str]], keyring: Any) -> float:
    """Members, devices and appointments for len(subscriptions) deliveries. Returns seconds."""
    import psycopg

    began = time.perf_counter()
    now = naive_utc_now()
    params = {
        "n": len(subscriptions),
        "now": now,
        "zones": list(ZONES),
        "kinds": list(KINDS),
        "occurrence": now + timedelta(hours=26),
    }
    with psycopg.connect(database_url) as conn:
        conn.execute(ACCOUNTS_SQL, params)
        with conn.cursor().copy(
            "COPY devices (id, account_id, kind, name, endpoint, endpoint_hash, p256dh, auth, "
            "created_at) FROM STDIN"
        ) as copy:
            for i, (endpoint, p256dh, auth) in enumerate(subscriptions):
                copy.write_row(
                    (
                        f"bench-d-{i}",
                        f"bench-m-{i}",
                        "webpush",
                        "bench",
                        endpoint,
                        hashlib.sha256(endpoint.encode()).hexdigest(),
                        p256dh,
                        auth,
                        now,
                    )
                )
        conn.execute(APPOINTMENTS_SQL, params)
        seal_titles(conn, keyring, len(subscriptions), now)
    vacuum_analyze(database_url, "accounts", "devices", "appointments", "member_keys")
    return time.perf_counter() - began


def vacuum_analyze(database_url: str, *tables: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"VACUUM ANALYZE {table}")


def fresh_deliveries(database_url: str, n: int) -> None:
    """Exactly n pending deliveries, due now, in a freshly vacuumed table."""
    import psycopg

    now = naive_utc_now()
    with psycopg.connect(database_url) as conn:
        conn.execute("TRUNCATE reminder_deliveries")
        conn.execute(DELIVERIES_SQL, {"n": n, "now": now, "occurrence": now + timedelta(hours=26)})
    vacuum_analyze(database_url, "reminder_deliveries")


def delivery_states(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT state, count(*) FROM reminder_deliveries GROUP BY state"
        ).fetchall()
    return {state: int(count) for state, count in rows}


def explain_claim(app: Any) -> list[str]:
    """EXPLAIN ANALYZE of the dispatcher's real claim statement (captured from
    reminders.dispatch.claim), in a transaction that is rolled back."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from api.db import utcnow
    from reminders.dispatch import Settings, claim

    engine = app.extensions["homeward.db"].engine
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with Session(engine) as db, db.begin():
            claim(db, "bench-explain", utcnow(), Settings.from_config(app.config))
            db.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    statement, parameters = next((s, p) for s, p in captured if "UPDATE" in s.upper())
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = [row[0] for row in cursor.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    return plan


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def measured(database_url: str) -> Any:
    """CPU of this database's PostgreSQL processes and of the whole machine over a block."""
    pg = PostgresCpu(database_url)
    box: dict[str, float] = {}
    pg_before, (busy_before, total_before) = pg.snapshot(), machine_cpu()
    try:
        yield box
    finally:
        pg_after, (busy_after, total_after) = pg.snapshot(), machine_cpu()
        box["postgres_cpu"] = PostgresCpu.used(pg_before, pg_after)
        box["machine_busy"] = (busy_after - busy_before) / max(total_after - total_before, 1e-9)


def apply_sink(run: Run, stats: dict[str, Any], sink_cpu_before: float) -> None:
    run.accepted = stats["accepted"]
    run.distinct = stats["distinct"]
    run.duplicates = stats["duplicates"]
    run.refused = stats["refused"]
    run.sink_cpu = stats["cpu"] - sink_cpu_before


def start_workers(
    kids: list[Child],
    role: str,
    count: int,
    env: dict[str, str],
    workdir: Path,
    args: list[list[str]],
) -> list[Child]:
    workers = []
    for k in range(count):
        child = Child(
            f"{role}-{k}",
            [sys.executable, WORKERS, role, *args[k]],
            env,
            workdir / f"{role}-{k}.log",
        )
        kids.append(child)
        workers.append(child)
    for child in workers:
        child.receive(timeout=180)  # ready
    return workers


def stop_workers(kids: list[Child], workers: list[Child]) -> None:
    for child in workers:
        child.stop()
        kids.remove(child)


# --------------------------------------------------------------------------- part 1


def run_send_path(
    role: str,
    processes: int,
    n: int,
    options: argparse.Namespace,
    env: dict[str, str],
    sink: Child,
    kids: list[Child],
    workdir: Path,
    database_url: str,
) -> Run:
    name = {
        "rawpost": "raw HTTP POST (requests, no crypto)",
        "pushonly": "Web Push only (PushSender, no DB)",
    }[role]
    run = Run("send path", name, processes, n)
    sink.ask("reset")
    sink_cpu = sink.ask("stats")["cpu"]
    args = [
        [str(options.subscriptions_file), str(k), str(processes), str(n)] for k in range(processes)
    ]
    log(f"{name}: {n} pushes in {processes} process(es)")
    workers = start_workers(kids, role, processes, env, workdir, args)
    with measured(database_url) as box:
        for child in workers:
            child.send("go")
        reports = [child.receive(timeout=max(n, 600)) for child in workers]
    stop_workers(kids, workers)
    run.seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    run.worker_cpu = sum(r["cpu"] for r in reports)
    run.machine_busy = box["machine_busy"]
    apply_sink(run, sink.ask("stats"), sink_cpu)
    return run


def run_dispatcher(
    processes: int,
    n: int,
    options: argparse.Namespace,
    env: dict[str, str],
    sink: Child,
    kids: list[Child],
    workdir: Path,
    app: Any,
    profile: bool = False,
) -> Run:
    label = "dispatcher (cProfile on)" if profile else "Homeward dispatcher"
    run = Run("dispatcher", label, processes, n)
    database_url = env["DATABASE_URL"]
    log(f"{label}: inserting {n} due deliveries")
    fresh_deliveries(database_url, n)
    if not profile:
        run.extra["explain_before"] = explain_claim(app)
    sink.ask("reset")
    sink_cpu = sink.ask("stats")["cpu"]
    profile_path = str(workdir / "dispatcher.prof") if profile else ""
    args = [[profile_path] if k == 0 and profile else [] for k in range(processes)]
    workers = start_workers(kids, "dispatcher", processes, env, workdir, args)
    spy = None
    if options.py_spy and processes == 1 and not profile:
        spy = start_py_spy(options.py_spy, workers[0].pid, workdir)
    log(f"{label}: {processes} process(es) draining {n} deliveries")
    try:
        with measured(database_url) as box:
            for child in workers:
                child.send("go")
            # Generous: a dispatcher slower than 10 deliveries/s is broken, not slow.
            reports = [child.receive(timeout=n / 10 + 120) for child in workers]
    finally:
        if spy is not None:
            run.extra["py_spy"] = stop_py_spy(spy, workdir)
    stop_workers(kids, workers)
    run.seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    run.worker_cpu = sum(r["cpu"] for r in reports)
    run.postgres_cpu = box["postgres_cpu"]
    run.machine_busy = box["machine_busy"]
    apply_sink(run, sink.ask("stats"), sink_cpu)
    run.states = delivery_states(database_url)
    run.rows_not_sent = sum(c for s, c in run.states.items() if s != "sent")
    phases: Counter[str] = Counter()
    phases_cpu: Counter[str] = Counter()
    for report in reports:
        phases.update(report["phases"])
        phases_cpu.update(report["phases_cpu"])
    run.extra.update(
        {
            "claimed": sum(r["claimed"] for r in reports),
            "outcomes": dict(sum((Counter(r["outcomes"]) for r in reports), Counter())),
            "phases": dict(phases),
            "phases_cpu": dict(phases_cpu),
            "claims": sum(r["claims"] for r in reports),
            "claim_ms_first_tenth": mean_of(r["claim_ms_first_tenth"] for r in reports),
            "claim_ms_last_tenth": mean_of(r["claim_ms_last_tenth"] for r in reports),
            "claim_ms_empty": mean_of(r["claim_ms_empty"] for r in reports),
            "per_worker": [
                {"claimed": r["claimed"], "wall": r["wall"], "cpu": r["cpu"]} for r in reports
            ],
        }
    )
    if profile:
        run.extra["profile_top"] = reports[0].get("profile_top", "")
    else:
        run.extra["explain_after"] = explain_claim(app)
    return run


def mean_of(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def start_py_spy(binary: str, pid: int, workdir: Path) -> subprocess.Popen[bytes]:
    out = workdir / "py-spy.txt"
    with open(workdir / "py-spy.log", "wb") as log_file:
        process = subprocess.Popen(
            # --idle: samples while waiting on the network or PostgreSQL count too, so the
            # shares below are shares of wall time, comparable with the phase timers.
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "100",
                "--format",
                "raw",
                "--idle",
                "--output",
                str(out),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    time.sleep(1.0)  # let it attach before the clock starts
    return process


def stop_py_spy(process: subprocess.Popen[bytes], workdir: Path) -> dict[str, Any]:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    return summarize_py_spy(workdir / "py-spy.txt")


# Inclusive shares of these frames in the dispatcher's samples (substring of the frame).
PY_SPY_FRAMES = {
    "Dispatcher.claim (its whole transaction)": "Dispatcher.claim (reminders/dispatch.py",
    "prepare (queries, texts)": "prepare (reminders/dispatch.py",
    "  texts.reminder (babel)": "reminder (reminders/texts.py",
    "send: PushSender.send": "send (reminders/channels.py",
    "  pywebpush encrypt (http_ece)": "encrypt (http_ece",
    "  VAPID JWT sign (py_vapid)": "sign (py_vapid",
    "  requests Session.request": "request (requests/sessions.py",
    "    proxy lookup in os.environ (requests)": "get_environ_proxies (requests",
    "    waiting for the sink's answer": "getresponse (http/client.py",
    "record (UPDATE, before COMMIT)": "record (reminders/dispatch.py",
    "any Session.commit": "commit (sqlalchemy/orm/session.py",
    "any pool checkout (with pre-ping)": "_checkout (sqlalchemy/pool",
    "  the pre-ping itself": "_do_ping_w_event (sqlalchemy/engine/default.py",
    "any psycopg round trip (Connection.wait)": "wait (psycopg/connection.py",
}


def summarize_py_spy(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"error": f"py-spy wrote no {path.name} (see py-spy.log)"}
    total = 0
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for label, needle in PY_SPY_FRAMES.items():
            if any(needle in frame for frame in frames):
                inclusive[label] += count
        leaves[shorten_frame(frames[-1])] += count
    return {
        "samples": total,
        "inclusive": {label: inclusive[label] / total for label in PY_SPY_FRAMES} if total else {},
        "top_self": [(frame, count / total) for frame, count in leaves.most_common(12)]
        if total
        else [],
    }


def shorten_frame(frame: str) -> str:
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in frame:
            head, _, tail = frame.partition("(")
            return f"{head.strip()} ({tail.split(marker, 1)[-1]}"
    return frame


# --------------------------------------------------------------------------- part 2 (naive)


def job_rows(
    n: int, run_at: datetime, subscriptions: list[list[str]], misfire_grace: str
) -> list[tuple[str, float, bytes]]:
    """Exactly the rows SQLAlchemyJobStore.add_job writes for n 'date' jobs (built on a
    paused scheduler with a MemoryJobStore, pickled the way the SQL store pickles)."""
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.util import datetime_to_utc_timestamp

    scheduler = BackgroundScheduler(timezone=UTC, jobstores={"default": MemoryJobStore()})
    scheduler.start(paused=True)
    try:
        occurrence = (run_at + timedelta(hours=26)).isoformat()
        kwargs: dict[str, Any] = {} if misfire_grace == "default" else {"misfire_grace_time": None}
        for i in range(n):
            endpoint, p256dh, auth = subscriptions[i]
            scheduler.add_job(
                "dispatch_workers:send_reminder",
                "date",
                run_date=run_at,
                id=f"reminder-{i}",
                args=[endpoint, p256dh, auth, naive_payload(i), occurrence],
                **kwargs,
            )
        return [
            (
                job.id,
                datetime_to_utc_timestamp(job.next_run_time),
                pickle.dumps(job.__getstate__(), pickle.HIGHEST_PROTOCOL),
            )
            for job in scheduler.get_jobs()
        ]
    finally:
        scheduler.shutdown(wait=False)


def naive_payload(i: int) -> dict[str, Any]:
    from dispatch_workers import sample_payload

    return sample_payload(i)


def job_table(database_url: str, table: str) -> Any:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy import create_engine

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    return engine, SQLAlchemyJobStore(engine=engine, tablename=table)


def measure_add_job(database_url: str, n: int) -> float:
    """Seconds per scheduler.add_job() into a SQLAlchemyJobStore (what planning a reminder
    costs in the naive design), on a table of its own that is dropped afterwards."""
    from apscheduler.schedulers.background import BackgroundScheduler

    table = "apscheduler_add_sample"
    engine, store = job_table(database_url, table)
    scheduler = BackgroundScheduler(timezone=UTC, jobstores={"default": store})
    scheduler.start(paused=True)
    try:
        when = datetime.now(UTC) + timedelta(days=1)
        began = time.perf_counter()
        for i in range(n):
            scheduler.add_job(
                "dispatch_workers:send_reminder",
                "date",
                run_date=when,
                id=f"sample-{i}",
                args=["http://127.0.0.1:9/push/0", "k", "a", naive_payload(i), when.isoformat()],
            )
        return (time.perf_counter() - began) / n
    finally:
        scheduler.shutdown(wait=False)
        store.jobs_t.drop(engine, checkfirst=True)
        engine.dispose()


def run_naive(
    name: str,
    schedulers: int,
    n: int,
    misfire_grace: str,
    options: argparse.Namespace,
    env: dict[str, str],
    sink: Child,
    kids: list[Child],
    workdir: Path,
    subscriptions: list[list[str]],
) -> Run:
    import psycopg

    run = Run("naive", name, schedulers, n)
    database_url = env["DATABASE_URL"]
    table = f"apscheduler_jobs_{int(time.time() * 1000)}"
    sink.ask("reset")
    sink_cpu = sink.ask("stats")["cpu"]

    # All jobs run at one instant a few seconds from now, once the schedulers are up.
    lead = options.naive_lead + n / 5000
    run_at = datetime.now(UTC) + timedelta(seconds=lead)
    log(f"naive '{name}': {n} jobs due at {run_at:%H:%M:%S} in table {table}")
    rows = job_rows(n, run_at, subscriptions, misfire_grace)
    engine, store = job_table(database_url, table)
    store.jobs_t.create(engine, checkfirst=True)
    engine.dispose()
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor().copy(f"COPY {table} (id, next_run_time, job_state) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    vacuum_analyze(database_url, table)
    del rows

    workers = start_workers(
        kids, "naive", schedulers, env, workdir, [[table, str(options.naive_threads)]] * schedulers
    )
    late = time.time() - run_at.timestamp()
    if late > 0:
        log(
            f"WARNING: the schedulers were up {late:.1f}s after the jobs were due "
            "(raise --naive-lead)"
        )
    run.extra["late_start_s"] = max(late, 0.0)
    time.sleep(max(run_at.timestamp() - time.time(), 0))

    deadline = time.monotonic() + options.naive_timeout
    last_count, last_change = -1, time.monotonic()
    outcome = "timeout"
    with measured(database_url) as box, psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            time.sleep(0.25)
            accepted = sink.ask("stats")["accepted"]
            if accepted != last_count:
                last_count, last_change = accepted, time.monotonic()
            quiet = time.monotonic() - last_change
            left = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            states = [child.ask("stats") for child in workers]
            in_flight = sum(
                s["events"].get("submitted", 0)
                - s["events"].get("executed", 0)
                - s["events"].get("error", 0)
                - s["events"].get("missed", 0)
                for s in states
            )
            alive = [s["scheduler_thread_alive"] for s in states]
            if left == 0 and in_flight <= 0 and quiet >= 1.0:
                outcome = "drained"
                break
            if not any(alive) and in_flight <= 0 and quiet >= 3.0:
                outcome = "every scheduler thread died"
                break
    finals = [child.ask("stop", timeout=120) for child in workers]
    stop_workers(kids, workers)
    stats = sink.ask("stats")
    apply_sink(run, stats, sink_cpu)
    run.seconds = (stats["last"] - run_at.timestamp()) if stats["last"] else 0.0
    run.worker_cpu = sum(f["cpu"] for f in finals)
    run.postgres_cpu = box["postgres_cpu"]
    run.machine_busy = box["machine_busy"]
    events: Counter[str] = Counter()
    for final in finals:
        events.update(final["events"])
    with psycopg.connect(database_url, autocommit=True) as conn:
        left = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        conn.execute(f"DROP TABLE {table}")
    run.extra.update(
        {
            "outcome": outcome,
            "events": dict(events),
            "left_in_store": left,
            "scheduler_threads_died": sum(1 for f in finals if not f["scheduler_thread_alive"]),
            "lookup_errors": sum(
                child_log_count(workdir / f"naive-{k}.log", "JobLookupError")
                for k in range(schedulers)
            ),
        }
    )
    for k in range(schedulers):  # the next run's workers log to the same names
        with contextlib.suppress(OSError):
            (workdir / f"naive-{k}.log").rename(workdir / f"naive-{k}-{table}.log")
    return run


def child_log_count(path: Path, needle: str) -> int:
    try:
        return path.read_text(errors="replace").count(needle)
    except OSError:
        return 0


# --------------------------------------------------------------------------- report


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(runs: list[Run]) -> None:
    header = (
        f"{'run':<38} {'procs':>5} {'expected':>9} {'seconds':>8} {'deliv/s':>8} "
        f"{'ratio':>6} {'CPU ms/d':>8} {'pg ms/d':>8} {'busy%':>6} {'dup':>6} "
        f"{'missing':>7} {'not sent':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in runs:
        per = max(r.distinct, 1)
        print(
            f"{r.name:<38} {r.processes:>5} {r.deliveries:>9} {r.seconds:>8.1f} "
            f"{r.per_second:>8.1f} {fmt(r.ratio, '.2f'):>6} {1000 * r.worker_cpu / per:>8.2f} "
            f"{fmt(None if r.postgres_cpu is None else 1000 * r.postgres_cpu / per, '.2f'):>8} "
            f"{100 * r.machine_busy:>6.0f} {r.duplicates:>6} {r.missing:>7} "
            f"{fmt(r.rows_not_sent, 'd'):>8}"
        )


def print_phases(runs: list[Run]) -> None:
    order = ["claim", "prepare", "send", "record", "transactions+loop"]
    header = (
        f"{'dispatcher run':<28} {'':<4} "
        + " ".join(f"{p:>17}" for p in order)
        + f" {'claim ms: first':>15} {'last 10%':>9} {'idle':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in runs:
        per = max(r.extra.get("claimed", 0), 1)
        for kind, key in (("wall", "phases"), ("CPU", "phases_cpu")):
            phases = r.extra.get(key, {})
            total = sum(r.extra.get("phases", {}).values()) or 1.0  # shares of wall time
            cells = " ".join(
                f"{1000 * phases.get(p, 0) / per:>8.3f}ms {100 * phases.get(p, 0) / total:>5.1f}%"
                for p in order
            )
            name = r.name + f" x{r.processes}" if kind == "wall" else ""
            tail = (
                f"{fmt(r.extra.get('claim_ms_first_tenth'), '.1f'):>15} "
                f"{fmt(r.extra.get('claim_ms_last_tenth'), '.1f'):>9} "
                f"{fmt(r.extra.get('claim_ms_empty'), '.1f'):>6}"
                if kind == "wall"
                else ""
            )
            print(f"{name:<28} {kind:<4} {cells} {tail}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--deliveries",
        type=int,
        default=10_000,
        help="due deliveries the dispatcher drains (default 10000)",
    )
    parser.add_argument(
        "--processes", default="1,2", help="dispatcher process counts to measure, comma-separated"
    )
    parser.add_argument(
        "--baseline-deliveries",
        type=int,
        default=5_000,
        help="pushes per send-path baseline run (0 skips them)",
    )
    parser.add_argument(
        "--naive-deliveries",
        type=int,
        default=5_000,
        help="APScheduler jobs per naive run (0 skips the naive design)",
    )
    parser.add_argument(
        "--naive-threads",
        type=int,
        default=10,
        help="thread pool size of each naive scheduler (APScheduler's default)",
    )
    parser.add_argument(
        "--naive-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for one naive run to drain",
    )
    parser.add_argument(
        "--naive-lead",
        type=float,
        default=6.0,
        help="seconds between building the job table and the jobs' run time",
    )
    parser.add_argument(
        "--naive-add-sample",
        type=int,
        default=500,
        help="scheduler.add_job() calls timed on the SQLAlchemyJobStore",
    )
    parser.add_argument(
        "--sink",
        choices=("counting", "fake"),
        default="counting",
        help="counting: minimal HTTP server (default); fake: tests/fakes "
        "PushService, which verifies and decrypts every push",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="REMINDER_BATCH_SIZE for the dispatchers (default: the app's)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one extra 1-process dispatcher run under cProfile "
        "(--profile-deliveries), top functions printed",
    )
    parser.add_argument("--profile-deliveries", type=int, default=10_000)
    parser.add_argument(
        "--py-spy",
        metavar="BINARY",
        help="py-spy binary: sample the 1-process dispatcher run with it",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="admin URL of the server that gets the throwaway database",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the temporary folder (process logs) and print its path",
    )
    options = parser.parse_args()
    process_counts = [int(p) for p in options.processes.split(",") if p.strip()]

    sigterm_as_interrupt()
    load_before = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="homeward-dispatch-bench-"))
    options.subscriptions_file = workdir / "subscriptions.json"
    runs: list[Run] = []
    began = time.monotonic()
    try:
        with (
            fresh_postgres_database(options.postgres_url, "homeward_bench") as database_url,
            children() as kids,
        ):
            extra_env = {"LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO")}
            if options.batch_size:
                extra_env["REMINDER_BATCH_SIZE"] = str(options.batch_size)
            env = app_environment(database_url, new_vapid_private_key(), **extra_env)
            app = migrated_app({**env, "LOG_LEVEL": "WARNING"})
            pg = postgres_settings(database_url)

            n_subscriptions = max(
                options.deliveries,
                options.baseline_deliveries,
                options.naive_deliveries,
                options.profile_deliveries if options.profile else 0,
            )
            log(f"starting the {options.sink} sink with {n_subscriptions} subscriptions")
            sink = Child(
                "sink",
                [
                    sys.executable,
                    SINK,
                    "--kind",
                    options.sink,
                    "--subscriptions",
                    str(n_subscriptions),
                    "--subscriptions-file",
                    str(options.subscriptions_file),
                ],
                env,
                workdir / "sink.log",
            )
            kids.append(sink)
            sink_info = sink.receive(timeout=max(120, n_subscriptions / 500))
            subscriptions = json.loads(options.subscriptions_file.read_text())
            seconds = insert_fixture(
                database_url, subscriptions, app.extensions["homeward.keyring"]
            )
            log(
                f"inserted {len(subscriptions)} members, devices and appointments in {seconds:.1f}s"
            )

            print_header(options, pg, sink_info, load_before, app)

            baselines: dict[tuple[str, int], Run] = {}
            if options.baseline_deliveries:
                roles = ["rawpost", "pushonly"] if options.sink == "counting" else ["pushonly"]
                for processes in process_counts:
                    for role in roles:
                        run = run_send_path(
                            role,
                            processes,
                            options.baseline_deliveries,
                            options,
                            env,
                            sink,
                            kids,
                            workdir,
                            database_url,
                        )
                        baselines[(role, processes)] = run
                        runs.append(run)
            dispatcher_runs = []
            for processes in process_counts:
                run = run_dispatcher(
                    processes, options.deliveries, options, env, sink, kids, workdir, app
                )
                dispatcher_runs.append(run)
                runs.append(run)
            if options.profile:
                run = run_dispatcher(
                    1,
                    options.profile_deliveries,
                    options,
                    env,
                    sink,
                    kids,
                    workdir,
                    app,
                    profile=True,
                )
                dispatcher_runs.append(run)
                runs.append(run)

            naive_runs: list[Run] = []
            if options.naive_deliveries:
                add_job = measure_add_job(database_url, options.naive_add_sample)
                log(f"scheduler.add_job on SQLAlchemyJobStore: {1000 * add_job:.2f} ms per job")
                naive_runs = [
                    run_naive(
                        "APScheduler, grace=None",
                        1,
                        options.naive_deliveries,
                        "none",
                        options,
                        env,
                        sink,
                        kids,
                        workdir,
                        subscriptions,
                    ),
                    run_naive(
                        "APScheduler, default grace 1s",
                        1,
                        options.naive_deliveries,
                        "default",
                        options,
                        env,
                        sink,
                        kids,
                        workdir,
                        subscriptions,
                    ),
                    run_naive(
                        "APScheduler x2 sharing the store",
                        2,
                        options.naive_deliveries,
                        "none",
                        options,
                        env,
                        sink,
                        kids,
                        workdir,
                        subscriptions,
                    ),
                ]
                naive_runs[0].extra["add_job_ms"] = 1000 * add_job
                runs.extend(naive_runs)

        # Ratios: send path to Web Push only at the same process count; dispatcher likewise
        # (1.00 = as fast as pushing with no database); naive to the 1-process dispatcher.
        for run in runs:
            if run.part in ("send path", "dispatcher"):
                base = baselines.get(("pushonly", run.processes))
                run.ratio = run.per_second / base.per_second if base and base.per_second else None
        one = next(
            (r for r in dispatcher_runs if r.processes == 1 and "cProfile" not in r.name), None
        )
        for run in naive_runs:  # a run that lost deliveries has no comparable rate
            if one and one.per_second and not run.missing:
                run.ratio = run.per_second / one.per_second
        print_report(runs, dispatcher_runs, naive_runs, options)
        log(f"whole run: {time.monotonic() - began:.0f}s")
        if options.json:
            options.json.parent.mkdir(parents=True, exist_ok=True)
            options.json.write_text(
                json.dumps([asdict(r) for r in runs], indent=2, default=str) + "\n"
            )
            log(f"wrote {options.json}")
        bad = [
            r for r in dispatcher_runs if r.duplicates or r.missing or r.rows_not_sent or r.refused
        ]
        return 1 if bad else 0
    finally:
        if options.keep_logs:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def print_header(
    options: argparse.Namespace,
    pg: dict[str, str],
    sink: dict[str, Any],
    load_before: float,
    app: Any,
) -> None:
    cores = os.cpu_count() or 1
    print()
    print(
        f"Homeward reminder dispatch: {options.deliveries} due Web Push deliveries, "
        f"dispatcher processes {options.processes}, batch size "
        f"{app.config['REMINDER_BATCH_SIZE']}, lease {app.config['REMINDER_LEASE_SECONDS']}s; "
        f"{cores} CPUs, Python {platform.python_version()}"
    )
    print(
        f"PostgreSQL {pg.get('server_version')}: synchronous_commit="
        f"{pg.get('synchronous_commit')}, fsync={pg.get('fsync')}, "
        f"shared_buffers={pg.get('shared_buffers')}, autovacuum={pg.get('autovacuum')} "
        "(the bench runs VACUUM ANALYZE after each bulk insert)"
    )
    kind = (
        "counting: asyncio HTTP server, counts POST /push/<n>, answers 201, no decryption"
        if sink["kind"] == "counting"
        else "fake: tests/fakes PushService, verifies VAPID and decrypts every push "
        "(costs CPU on the same cores)"
    )
    print(f"sink: {kind}; its own process (pid {sink['pid']})")
    print(
        "data: one member (US time zones, en/es, no quiet hours), one Web Push device and "
        "one appointment tomorrow per delivery; each delivery due now"
    )
    busy = (
        " (BUSY: other processes are using the CPUs; expect noisy figures)"
        if load_before > 0.5
        else ""
    )
    print(f"code under test: {ROOT}")
    print(f"1-minute load average before the run: {load_before:.2f}{busy}")
    print(flush=True)


def print_report(
    runs: list[Run], dispatcher_runs: list[Run], naive_runs: list[Run], options: argparse.Namespace
) -> None:
    print()
    print("== 1. Dispatch throughput (PostgreSQL, Web Push to the local sink) ==")
    print_table([r for r in runs if r.part in ("send path", "dispatcher")])
    print()
    print(
        "deliv/s = deliveries that reached the sink / seconds from the first 'go' to the "
        "last process done;\nratio = deliv/s / 'Web Push only' deliv/s with as many "
        "processes (the send path with no database);\nCPU ms/d = CPU of the measured "
        "processes per delivery; pg ms/d = CPU of this database's PostgreSQL processes per "
        "delivery;\nbusy% = share of all CPUs in use during the run (anyone's, the sink's "
        "and other sessions' included);\ndup = pushes beyond the first for one delivery; "
        "missing = deliveries that never arrived; not sent = outbox rows not 'sent'."
    )
    for run in dispatcher_runs:
        sink_ms = 1000 * run.sink_cpu / max(run.accepted, 1)
        print(
            f"  {run.name} x{run.processes}: claimed {run.extra['claimed']} in "
            f"{run.extra['claims']} claims, outcomes {run.extra['outcomes']}, rows by state "
            f"{run.states}, sink accepted {run.accepted} (refused {run.refused}, "
            f"{sink_ms:.2f} sink CPU ms per push), per process {run.extra['per_worker']}"
        )
    print()
    print(
        "Where a dispatcher's time goes, per delivery (and as a share of its wall time), from "
        "timers around Dispatcher.claim,\nprepare, send and record in the measured processes: "
        "'wall' = elapsed, 'CPU' = the process's own CPU in that phase (the\nrest of the wall "
        "time it waited: for the sink, for PostgreSQL, for a core); 'transactions+loop' = "
        "opening and committing\nthe prepare/record transactions (pool checkout with "
        "pre-ping, BEGIN, COMMIT) and the loop:"
    )
    print_phases(dispatcher_runs)
    first = next((r for r in dispatcher_runs if "explain_before" in r.extra), None)
    if first:
        print()
        print(f"EXPLAIN ANALYZE of the claim statement with {first.deliveries} due rows:")
        for line in first.extra["explain_before"]:
            print(f"    {line}")
        print("... and once they are all sent (the idle poll):")
        for line in first.extra["explain_after"]:
            print(f"    {line}")
    for run in dispatcher_runs:
        spy = run.extra.get("py_spy")
        if spy:
            print()
            print(
                f"py-spy, {run.name} x{run.processes}: {spy.get('samples')} samples; "
                "inclusive share of the samples:"
            )
            for label, share in spy.get("inclusive", {}).items():
                print(f"    {label:<44} {100 * share:5.1f}%")
            print("  top frames by own time:")
            for frame, share in spy.get("top_self", []):
                print(f"    {100 * share:5.1f}%  {frame}")
            if "error" in spy:
                print(f"    {spy['error']}")
        if run.extra.get("profile_top"):
            print()
            print(f"cProfile of {run.name} ({run.deliveries} deliveries, 1 process), by own time:")
            print(run.extra["profile_top"])

    if naive_runs:
        print()
        print(
            "== 2. The naive design: one APScheduler 3 job per reminder in a "
            "SQLAlchemyJobStore on the same PostgreSQL =="
        )
        print(
            f"BackgroundScheduler, ThreadPoolExecutor({options.naive_threads}), every job "
            "due at the same instant, each doing the same Web Push to the same sink; "
            "scheduler.add_job on that store cost "
            f"{naive_runs[0].extra.get('add_job_ms', 0):.2f} ms per job "
            f"(sample of {options.naive_add_sample})."
        )
        header = (
            f"{'design':<36} {'sched':>5} {'jobs':>7} {'seconds':>8} {'deliv/s':>8} "
            f"{'vs disp':>7} {'sent':>7} {'missed':>7} {'dup':>6} {'missing':>7} "
            f"{'errors':>6} {'left':>6} {'CPU ms/d':>8} {'pg ms/d':>8}"
        )
        print(header)
        print("-" * len(header))
        for r in naive_runs:
            per = max(r.distinct, 1)
            events = r.extra["events"]
            print(
                f"{r.name:<36} {r.processes:>5} {r.deliveries:>7} {r.seconds:>8.1f} "
                f"{r.per_second:>8.1f} {fmt(r.ratio, '.2f'):>7} {r.accepted:>7} "
                f"{events.get('missed', 0):>7} {r.duplicates:>6} {r.missing:>7} "
                f"{events.get('error', 0):>6} {r.extra['left_in_store']:>6} "
                f"{1000 * r.worker_cpu / per:>8.2f} "
                f"{fmt(None if r.postgres_cpu is None else 1000 * r.postgres_cpu / per, '.2f'):>8}"
            )
        print()
        print(
            "seconds = from the jobs' run time to the last push the sink accepted; deliv/s = "
            "distinct deliveries / seconds;\nvs disp = deliv/s / the 1-process dispatcher's; "
            "sent = pushes accepted (duplicates included); missed = EVENT_JOB_MISSED\n(run "
            "more than misfire_grace_time late: never sent); left = jobs still in the table "
            "at the end."
        )
        for r in naive_runs:
            print(
                f"  {r.name}: {r.extra['outcome']}; events {r.extra['events']}; "
                f"scheduler threads that died: {r.extra['scheduler_threads_died']}; "
                f"JobLookupError in logs: {r.extra['lookup_errors']}; schedulers up "
                f"{r.extra['late_start_s']:.1f}s late"
            )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as interrupt:
        log(f"interrupted ({interrupt or 'Ctrl-C'}); processes stopped, database dropped")
        sys.exit(130)
