"""What planning reminders costs per appointment: ``reminders.service.create`` (which plans
the appointment's reminder deliveries in the same transaction), against inserting the same
appointment row without planning, on SQLite and PostgreSQL.

    .venv/bin/python bench/planning_cost.py [--appointments N] [--database sqlite|postgresql|both]

For each database (a SQLite file in a temporary folder; a throwaway PostgreSQL database,
dropped at the end), migrated with ``api.core.migrate.upgrade(app)``, with ``--members`` members
(US time zones, quiet hours 22:00-07:00) inserted first, it times ``--appointments``
appointments of each variant, one transaction per appointment as the API's
``POST /api/v1/appointments`` has (member loaded, work done, COMMIT), the two variants
interleaved appointment by appointment so that both see the same machine:

* ``insert only``: the baseline, ``db.add(Appointment(...))`` with the same columns, flush;
* ``service.create``: validation, the appointment, then ``replan`` (lock, plan, read current
  rows, insert the planned ones);

for a one-off appointment (10 to 29 days ahead) and a weekly one (``FREQ=WEEKLY``, planned
``REMINDER_PLAN_DAYS`` = 60 days ahead), both with the API's default offsets
(7d@10:00, 3d@10:00, 1d@10:00, 2h) and channels (push, sms). It also times
``planning.plan()`` alone (no database) on the same inputs. It prints ms per appointment,
rows planned per appointment, and the ratio to the baseline of the same shape.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from benchkit import log
from benchkit.apps import app_environment, app_on, postgres_settings
from benchkit.machine import PostgresCpu, load_average, proc_cpu_seconds
from benchkit.report import (
    fmt,
    latency_ms,
    print_context,
    print_facts,
    print_table,
    python_and_cpus,
)
from benchkit.run import add_backend_arguments, for_each_backend, merged, run_main, write_json

ZONES = ("America/Chicago", "America/New_York", "America/Los_Angeles", "America/Denver")


@dataclass
class Result:
    backend: str
    variant: str
    shape: str  # "one-off" or "weekly"
    appointments: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # CPU of this process per appointment (for SQLite: the database too)
    postgres_cpu_ms: float | None  # CPU of this database's PostgreSQL processes per appointment
    rows_per_appointment: float
    ratio: float | None = None
    extra_ms: float | None = None
    ms_per_planned_row: float | None = None


def insert_members(app: Any, count: int) -> list[str]:
    from sqlalchemy import insert

    from api.accounts.models import Account
    from api.core.db import utcnow

    now = utcnow()
    rows = [
        {
            "id": f"bench-m-{i}",
            "username": f"bench{i}",
            "username_key": f"bench{i}",
            "password_hash": "!bench-no-password",
            "role": "member",
            "timezone": ZONES[i % 4],
            "locale": "es" if i % 5 == 0 else "en",
            "phone": f"+1555{i:07d}",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:00",
            "notification_detail": "discreet",
            "password_changed_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with app.extensions["homeward.db"].sessionmaker.begin() as db:
        db.execute(insert(Account), rows)
    return [row["id"] for row in rows]


def fields_for(shape: str, i: int) -> dict[str, Any]:
    """What the API's AppointmentCreateSchema hands service.create (defaults applied)."""
    from reminders.planning import DEFAULT_CHANNELS, DEFAULT_OFFSETS

    today = date.today()
    if shape == "one-off":
        day, recurrence = today + timedelta(days=10 + i % 20), None
    else:
        day, recurrence = today + timedelta(days=1 + i % 7), "FREQ=WEEKLY"
    starts = datetime.combine(day, clock(14, 0))
    return {
        "title": f"Appointment {i}",
        "kind": "medical",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=1),
        "location": "Main St 1",
        "notes": None,
        "recurrence": recurrence,
        "reminder_offsets": list(DEFAULT_OFFSETS),
        "channels": list(DEFAULT_CHANNELS),
        "status": "scheduled",
    }


def insert_only(db: Any, member: Any, fields: dict[str, Any], now: datetime) -> None:
    """The baseline: the row service.create would insert, without validation or planning."""
    from reminders.models import Appointment

    db.add(
        Appointment(
            member_id=member.id,
            created_at=now,
            updated_at=now,
            timezone=member.timezone,
            title=fields["title"],
            kind=fields["kind"],
            starts_local=fields["starts_at"],
            ends_local=fields["ends_at"],
            location=fields["location"],
            notes=fields["notes"],
            recurrence=fields["recurrence"],
            reminder_offsets=fields["reminder_offsets"],
            channels=fields["channels"],
            status=fields["status"],
        )
    )
    db.flush()


def create(db: Any, member: Any, fields: dict[str, Any], now: datetime) -> None:
    from reminders import service

    service.create(db, member, fields, now)


def count_deliveries(app: Any) -> int:
    from sqlalchemy import func, select

    from reminders.models import ReminderDelivery

    with app.extensions["homeward.db"].sessionmaker() as db:
        return int(db.scalar(select(func.count()).select_from(ReminderDelivery)) or 0)


def measure_pair(
    app: Any, backend: str, shape: str, members: list[str], n: int, warmup: int, database_url: str
) -> tuple[Result, Result]:
    """The baseline and service.create, interleaved appointment by appointment, so both
    see the same machine (other load, the database's size) at the same moment."""
    from api.accounts.models import Account
    from api.core.db import utcnow

    sessions = app.extensions["homeward.db"].sessionmaker
    pg = PostgresCpu(database_url) if backend == "postgresql" else None
    variants = {"insert only (baseline)": insert_only, "service.create (plans)": create}
    timings: dict[str, list[float]] = {name: [] for name in variants}
    cpu = dict.fromkeys(variants, 0.0)
    pg_cpu = dict.fromkeys(variants, 0.0)

    def one(work: Callable[..., None], i: int) -> float:
        began = time.perf_counter()
        with sessions.begin() as db:  # one transaction, like one API request
            member = db.get(Account, members[i % len(members)])
            work(db, member, fields_for(shape, i), utcnow())
        return time.perf_counter() - began

    with app.app_context():
        for i in range(warmup):
            for work in variants.values():
                one(work, i)
        pids = pg.pids() if pg else []
        rows_before = count_deliveries(app)
        for i in range(n):
            for name, work in variants.items():
                cpu_before = time.process_time()
                pg_before = sum(proc_cpu_seconds(pid) for pid in pids)
                timings[name].append(one(work, i))
                cpu[name] += time.process_time() - cpu_before
                pg_cpu[name] += sum(proc_cpu_seconds(pid) for pid in pids) - pg_before
        rows = count_deliveries(app) - rows_before  # only service.create plans rows

    results = []
    for name in variants:
        summary = latency_ms(timings[name])
        results.append(
            Result(
                backend,
                name,
                shape,
                n,
                summary.mean_ms,
                summary.p50_ms,
                summary.p99_ms,
                cpu_ms=1000 * cpu[name] / n,
                postgres_cpu_ms=1000 * pg_cpu[name] / n if pg else None,
                rows_per_appointment=rows / n if variants[name] is create else 0.0,
            )
        )
    return results[0], results[1]


def measure_plan_alone(app: Any, backend: str, shape: str, n: int) -> Result:
    """planning.plan() for the same inputs, no database: the pure computing part."""
    from zoneinfo import ZoneInfo

    from api.core.db import utcnow
    from reminders import planning

    quiet = planning.QuietHours.of("22:00", "07:00")
    days = app.config["REMINDER_PLAN_DAYS"]
    timings, rows = [], 0
    cpu_before = time.process_time()
    for i in range(n):
        fields, zone = fields_for(shape, i), ZONES[i % 4]
        began = time.perf_counter()
        now = utcnow()
        recurrence = (
            planning.normalize_rrule(fields["recurrence"], ZoneInfo(zone))
            if fields["recurrence"]
            else None
        )
        planned = planning.plan(
            starts_local=fields["starts_at"],
            timezone=zone,
            recurrence=recurrence,
            offsets=fields["reminder_offsets"],
            member_timezone=zone,
            quiet=quiet,
            now=now,
            horizon=now + timedelta(days=days if recurrence else 3650),
        )
        timings.append(time.perf_counter() - began)
        rows += len(planned) * len(fields["channels"])
    cpu = time.process_time() - cpu_before
    summary = latency_ms(timings)
    return Result(
        backend,
        "planning.plan() alone, no DB",
        shape,
        n,
        summary.mean_ms,
        summary.p50_ms,
        summary.p99_ms,
        cpu_ms=1000 * cpu / n,
        postgres_cpu_ms=None,
        rows_per_appointment=rows / n,
    )


def run_backend(
    backend: str, options: argparse.Namespace, workdir: Path, vapid: str
) -> tuple[list[Result], dict[str, str]]:
    results: list[Result] = []

    def env(url: str) -> dict[str, str]:
        return app_environment(url, vapid, {"LOG_LEVEL": "WARNING"})

    with app_on(backend, workdir, options.postgres_url, "planning", env) as (app, url):
        facts = {"database": backend, "REMINDER_PLAN_DAYS": str(app.config["REMINDER_PLAN_DAYS"])}
        if backend == "postgresql":
            facts.update(postgres_settings(url))
        members = insert_members(app, options.members)
        n, warmup = options.appointments, options.warmup
        for shape in ("one-off", "weekly"):
            log(
                f"{backend}, {shape}: {n} appointments inserted without planning and "
                f"{n} through service.create, interleaved"
            )
            base, planned = measure_pair(app, backend, shape, members, n, warmup, url)
            alone = measure_plan_alone(app, backend, shape, n)
            for result in (base, planned, alone):
                result.ratio = result.mean_ms / base.mean_ms
            planned.extra_ms = planned.mean_ms - base.mean_ms
            if planned.rows_per_appointment:
                planned.ms_per_planned_row = planned.extra_ms / planned.rows_per_appointment
            if alone.rows_per_appointment:
                alone.ms_per_planned_row = alone.mean_ms / alone.rows_per_appointment
            results += [base, planned, alone]
    return results, facts


def print_results(results: list[Result]) -> None:
    print_table(
        [
            "database",
            "shape",
            "variant",
            "appts",
            "ms/appt",
            "p50",
            "p99",
            "CPU ms",
            "pg ms",
            "rows/appt",
            "ratio",
            "+ms",
            "ms/row",
        ],
        [
            [
                r.backend,
                r.shape,
                r.variant,
                r.appointments,
                f"{r.mean_ms:.3f}",
                f"{r.p50_ms:.3f}",
                f"{r.p99_ms:.3f}",
                f"{r.cpu_ms:.3f}",
                fmt(r.postgres_cpu_ms, ".3f"),
                f"{r.rows_per_appointment:.2f}",
                fmt(r.ratio, ".2f"),
                fmt(r.extra_ms, ".3f"),
                fmt(r.ms_per_planned_row, ".3f"),
            ]
            for r in results
        ],
        left=3,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--appointments",
        type=int,
        default=2000,
        help="timed appointments per variant and shape (default 2000)",
    )
    parser.add_argument(
        "--members", type=int, default=100, help="members the appointments are spread over"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed appointments before each variant"
    )
    add_backend_arguments(parser)
    options = parser.parse_args()

    load_before, began = load_average(), time.monotonic()
    results, all_facts = merged(for_each_backend(options, "planning", run_backend))

    print()
    print(
        f"Homeward reminder planning cost: {options.appointments} appointments per variant "
        f"(+{options.warmup} untimed), {options.members} members (US time zones, quiet hours "
        f"22:00-07:00), one transaction per appointment; {python_and_cpus()}"
    )
    for facts in all_facts:
        print_facts(facts)
    print(
        "  default offsets 7d@10:00, 3d@10:00, 1d@10:00, 2h x channels push, sms; one-off "
        "10-29 days ahead at 14:00; weekly FREQ=WEEKLY from 1-7 days ahead at 14:00"
    )
    print_context(load_before)
    print()
    print_results(results)
    print()
    print(
        "ms/appt, p50, p99 = wall time of one appointment's transaction (member loaded, "
        "work, COMMIT); CPU ms = this process's CPU per appointment\n(on SQLite that "
        "includes the database); pg ms = CPU of this database's PostgreSQL processes per "
        "appointment; rows/appt = reminder deliveries planned\nper appointment; ratio = "
        "ms/appt / the 'insert only' baseline of the same shape; +ms = service.create minus "
        "that baseline;\nms/row = +ms per planned row (for plan() alone: its time per "
        "planned row)."
    )
    log(f"whole run: {time.monotonic() - began:.0f}s")
    write_json(options.json, [asdict(r) for r in results])
    return 0


if __name__ == "__main__":
    run_main(main)
