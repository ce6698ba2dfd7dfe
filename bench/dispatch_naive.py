"""The naive design for bench/dispatch_throughput.py: one APScheduler 3 job per reminder in
a SQLAlchemyJobStore on the same PostgreSQL, each job doing the same send.

``run_naive`` writes N 'date' jobs, all due at one instant a few seconds ahead, into a
fresh job table with exactly the rows ``SQLAlchemyJobStore.add_job`` writes (built on a
paused scheduler with a MemoryJobStore and pickled the way the SQL store pickles, then
COPYed: adding them one by one would take longer than running them), starts the
schedulers (``dispatch_workers.py naive``, ThreadPoolExecutor(``--naive-threads``)),
and waits until the table is empty, nothing is in flight and the sink has been quiet for a
second. Its seconds run from the jobs' run time to the last message the sink accepted.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit import log
from dispatch_fixture import vacuum_analyze
from dispatch_workers import SMS_BODY, sample_payload
from twilio_sink import phone_number


def job_args(channel: str, i: int, subscriptions: list[list[str]], occurrence: str) -> list[Any]:
    if channel == "push":
        endpoint, p256dh, auth = subscriptions[i]
        return [endpoint, p256dh, auth, sample_payload(i), occurrence]
    return [phone_number(i), SMS_BODY]


def job_rows(
    channel: str, n: int, run_at: datetime, subscriptions: list[list[str]], grace: str
) -> list[tuple[str, float, bytes]]:
    """Exactly the rows SQLAlchemyJobStore.add_job writes for n 'date' jobs."""
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.util import datetime_to_utc_timestamp

    function = (
        "dispatch_workers:send_reminder" if channel == "push" else "dispatch_workers:send_sms"
    )
    scheduler = BackgroundScheduler(timezone=UTC, jobstores={"default": MemoryJobStore()})
    scheduler.start(paused=True)
    try:
        occurrence = (run_at + timedelta(hours=26)).isoformat()
        kwargs: dict[str, Any] = {} if grace == "default" else {"misfire_grace_time": None}
        for i in range(n):
            scheduler.add_job(
                function,
                "date",
                run_date=run_at,
                id=f"reminder-{i}",
                args=job_args(channel, i, subscriptions, occurrence),
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


def create_job_table(database_url: str, table: str, rows: list[tuple[str, float, bytes]]) -> None:
    import psycopg
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy import create_engine

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        SQLAlchemyJobStore(engine=engine, tablename=table).jobs_t.create(engine, checkfirst=True)
    finally:
        engine.dispose()
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor().copy(f"COPY {table} (id, next_run_time, job_state) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    vacuum_analyze(database_url, table)


def run_naive(bench: Any, run: Any, grace: str = "none", schedulers: int = 1) -> Any:
    """Fill ``run`` (a dispatch_throughput.Run) with one naive run on ``bench``'s database."""
    import psycopg

    options, channel, n = bench.options, run.channel, run.deliveries
    database_url = bench.database_url
    table = f"apscheduler_jobs_{int(time.time() * 1000)}"
    sink = bench.sinks[channel]
    sink.ask("reset")
    sink_cpu = sink.ask("stats")["cpu"]

    # All jobs run at one instant a few seconds from now, once the schedulers are up.
    run_at = datetime.now(UTC) + timedelta(seconds=options.naive_lead + n / 5000)
    log(f"{run.label}: {n} jobs due at {run_at:%H:%M:%S} in table {table}")
    create_job_table(database_url, table, job_rows(channel, n, run_at, bench.subscriptions, grace))
    workers = bench.start_workers(
        "naive", [[table, str(options.naive_threads)]] * schedulers, f"naive-{table}"
    )
    late = time.time() - run_at.timestamp()
    if late > 0:
        log(f"WARNING: the schedulers were up {late:.1f}s after the jobs were due (--naive-lead)")
    run.extra["late_start_s"] = max(late, 0.0)
    time.sleep(max(run_at.timestamp() - time.time(), 0))

    deadline = time.monotonic() + options.naive_timeout
    last_count, last_change = -1, time.monotonic()
    outcome = "timeout"
    with bench.measured() as box, psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            time.sleep(0.25)
            accepted = sink.ask("stats")["accepted"]
            if accepted != last_count:
                last_count, last_change = accepted, time.monotonic()
            quiet = time.monotonic() - last_change
            left = count_rows(conn, table)
            states = [child.ask("stats") for child in workers]
            in_flight = sum(
                s["events"].get("submitted", 0)
                - s["events"].get("executed", 0)
                - s["events"].get("error", 0)
                - s["events"].get("missed", 0)
                for s in states
            )
            if left == 0 and in_flight <= 0 and quiet >= 1.0:
                outcome = "drained"
                break
            alive = [s["scheduler_thread_alive"] for s in states]
            if not any(alive) and in_flight <= 0 and quiet >= 3.0:
                outcome = "every scheduler thread died"
                break
    finals = [child.ask("stop", timeout=120) for child in workers]
    bench.stop_workers(workers)
    stats = bench.apply_sink(run, sink_cpu)
    run.seconds = (stats["last"] - run_at.timestamp()) if stats["last"] else 0.0
    run.worker_cpu = sum(f["cpu"] for f in finals)
    run.rss_mb = [f["peak_rss_mb"] for f in finals]
    run.maxrss_mb = [f["ru_maxrss_mb"] for f in finals]
    run.postgres_cpu = box["postgres_cpu"]
    run.machine_busy = box["machine_busy"]
    bench.others(run, box)
    events: Counter[str] = Counter()
    for final in finals:
        events.update(final["events"])
    with psycopg.connect(database_url, autocommit=True) as conn:
        left = count_rows(conn, table)
        conn.execute(f"DROP TABLE {table}")
    logs = [bench.workdir / f"naive-{table}-{k}.log" for k in range(schedulers)]
    run.extra.update(
        {
            "outcome": outcome,
            "events": dict(events),
            "left_in_store": left,
            "scheduler_threads_died": sum(1 for f in finals if not f["scheduler_thread_alive"]),
            "lookup_errors": sum(log_count(path, "JobLookupError") for path in logs),
        }
    )
    if outcome != "drained":
        run.problems.append(f"naive run ended: {outcome}")
    if events.get("missed"):
        run.problems.append(f"{events['missed']} jobs missed (never sent)")
    if left:
        run.problems.append(f"{left} jobs left in the store")
    return run


def count_rows(conn: Any, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (our name)
    return int(row[0]) if row else 0


def log_count(path: Path, needle: str) -> int:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace").count(needle)
    return 0
