"""How fast the directory import is: rows per second importing a synthetic Ohana-layout
directory (``--services`` services, each with its own location, address, phone and two
weekly schedules, 200 organizations) through ``resources.hsds.importers.import_paths``,
against a baseline measured in the same run: a plain executemany INSERT of the same
number of rows into the same tables (no parsing, checks, comparison or search refresh).

    .venv/bin/python bench/import_speed.py [--services N] [--database sqlite|postgresql|both]

Each variant runs into a fresh, migrated database (a SQLite file in a temporary folder; a
throwaway PostgreSQL database, dropped at the end). It also times a second import of
the same directory (nothing changes: every row is read, checked and compared only).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import uuid
from pathlib import Path
from typing import Any

from benchkit import log
from benchkit.apps import app_environment, app_on, new_vapid_private_key
from benchkit.machine import load_average
from benchkit.report import print_table, python_and_cpus
from benchkit.run import add_backend_arguments, backends, run_main, temporary_folder

ORGANIZATIONS = 200


def write_directory(folder: Path, services: int) -> int:
    """An Ohana-layout directory; returns the number of data rows written."""
    folder.mkdir(parents=True)
    files: dict[str, list[list[Any]]] = {
        "organizations.csv": [["id", "name", "description"]],
        "locations.csv": [["id", "organization_id", "name", "latitude", "longitude", "languages"]],
        "services.csv": [["id", "location_id", "name", "description", "status"]],
        "addresses.csv": [
            ["id", "location_id", "address_1", "city", "state_province", "postal_code", "country"]
        ],
        "phones.csv": [["id", "location_id", "service_id", "number", "number_type"]],
        "regular_schedules.csv": [
            ["id", "location_id", "service_id", "weekday", "opens_at", "closes_at"]
        ],
    }
    for o in range(1, ORGANIZATIONS + 1):
        files["organizations.csv"].append([o, f"Organization {o}", "Helps people coming home."])
    for i in range(1, services + 1):
        org = i % ORGANIZATIONS + 1
        lat, lng = 37 + (i % 1000) / 1000, -122 - (i % 700) / 1000
        files["locations.csv"].append([i, org, f"Place {i}", lat, lng, "Spanish"])
        files["services.csv"].append(
            [i, i, f"Service {i}", "Job training and housing help.", "active"]
        )
        files["addresses.csv"].append(
            [i, i, f"{i} Main Street", "Redwood City", "CA", "94063", "US"]
        )
        files["phones.csv"].append([i, "", i, f"650 555-{i % 10000:04d}", "voice"])
        files["regular_schedules.csv"].append([2 * i, i, "", "Monday", "9am", "5:00 PM"])
        files["regular_schedules.csv"].append([2 * i + 1, "", i, "Friday", "08:00", "12:00"])
    rows = 0
    for name, lines in files.items():
        with (folder / name).open("w", newline="") as handle:
            csv.writer(handle).writerows(lines)
        rows += len(lines) - 1
    # Derived rows the import also writes: one service_at_location and one language per service.
    return rows + 2 * services


def baseline(app: Any, services: int) -> tuple[float, int]:
    """Plain executemany INSERTs of as many rows into the same tables."""
    from sqlalchemy import insert

    from api.core.db import utcnow
    from resources.models import (
        Address,
        Language,
        Location,
        Organization,
        Phone,
        Schedule,
        Service,
        ServiceAtLocation,
    )

    now = utcnow()
    ids = [str(uuid.uuid4()) for _ in range(services)]
    orgs = [str(uuid.uuid4()) for _ in range(ORGANIZATIONS)]
    stamp = {"created_at": now, "updated_at": now, "last_verified_at": now}
    tables = [
        (Organization, [{"id": o, "name": "Org", "description": "x", **stamp} for o in orgs]),
        (
            Location,
            [
                {
                    "id": i,
                    "organization_id": orgs[n % ORGANIZATIONS],
                    "name": "P",
                    "latitude": 37.0,
                    "longitude": -122.0,
                    "location_type": "physical",
                    "timezone": "America/Los_Angeles",
                    **stamp,
                }
                for n, i in enumerate(ids)
            ],
        ),
        (
            Service,
            [
                {
                    "id": i,
                    "organization_id": orgs[n % ORGANIZATIONS],
                    "name": "S",
                    "description": "d",
                    "status": "active",
                    "accepts_records": "unknown",
                    "accepts_registrants": "unknown",
                    **stamp,
                }
                for n, i in enumerate(ids)
            ],
        ),
        (
            ServiceAtLocation,
            [{"id": str(uuid.uuid4()), "service_id": i, "location_id": i, **stamp} for i in ids],
        ),
        (
            Address,
            [
                {
                    "id": str(uuid.uuid4()),
                    "location_id": i,
                    "address_1": "1 Main",
                    "city": "C",
                    "state_province": "CA",
                    "postal_code": "94063",
                    "country": "US",
                    "address_type": "physical",
                    **stamp,
                }
                for i in ids
            ],
        ),
        (
            Phone,
            [
                {
                    "id": str(uuid.uuid4()),
                    "service_id": i,
                    "number": "650",
                    "type": "voice",
                    **stamp,
                }
                for i in ids
            ],
        ),
        (
            Schedule,
            [
                {
                    "id": str(uuid.uuid4()),
                    "location_id": i,
                    "freq": "WEEKLY",
                    "byday": byday,
                    "opens_at": opens,
                    "closes_at": closes,
                    **stamp,
                }
                for byday, opens, closes in (("MO", "09:00", "17:00"), ("FR", "08:00", "12:00"))
                for i in ids
            ],
        ),
        (
            Language,
            [
                {
                    "id": str(uuid.uuid4()),
                    "location_id": i,
                    "name": "Spanish",
                    "code": "es",
                    **stamp,
                }
                for i in ids
            ],
        ),
    ]
    began = time.perf_counter()
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        for model, rows in tables:
            db.execute(insert(model.__table__), rows)
    return time.perf_counter() - began, sum(len(rows) for _, rows in tables)


def timed_import(app: Any, folder: Path) -> tuple[float, Any]:
    from resources.hsds.importers import import_paths

    began = time.perf_counter()
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        summary = import_paths(db, [folder])
    return time.perf_counter() - began, summary


def run(
    backend: str, options: argparse.Namespace, workdir: Path, folder: Path, vapid: str
) -> list[tuple[str, ...]]:
    lines: list[tuple[str, ...]] = []

    def env(url: str) -> dict[str, str]:
        """This database, a random master key, a throwaway instance."""
        instance = str(workdir / "instance")
        return app_environment(
            url, vapid, {"LOG_LEVEL": "WARNING", "HOMEWARD_INSTANCE_PATH": instance}
        )

    def line(label: str, rows: int, seconds: float, vs_baseline: str | None = None) -> None:
        rate = rows / seconds
        vs = f"{base_rate / rate:.1f}x slower" if vs_baseline is None else vs_baseline
        lines.append((backend, label, str(rows), f"{seconds:.2f}", f"{rate:,.0f}", vs))

    with app_on(backend, workdir, options.postgres_url, "baseline", env) as (app, _):
        seconds, rows = baseline(app, options.services)
        base_rate = rows / seconds
        line("plain INSERT (baseline)", rows, seconds, "1.00")
    with app_on(backend, workdir, options.postgres_url, "import", env) as (app, _):
        for label in ("import (new rows)", "re-import (unchanged)"):
            seconds, summary = timed_import(app, folder)
            assert not summary.failed and not summary.rejects, (summary.failed, summary.rejects[:3])
            line(label, summary.total.read, seconds)
    with app_on(backend, workdir, options.postgres_url, "norefresh", env) as (app, _):
        # The same import with the search refresh (resources.search.indexing) switched off:
        # what reading, checking, comparing and writing cost by themselves.
        from resources.hsds.importers import store

        saved, store.indexing.refresh = store.indexing.refresh, lambda *a, **k: None
        try:
            seconds, summary = timed_import(app, folder)
        finally:
            store.indexing.refresh = saved
        line("import, search refresh off", summary.total.read, seconds)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=20000)
    add_backend_arguments(parser, json=False)
    options = parser.parse_args()
    load_before = load_average()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    results = []
    with temporary_folder("import") as workdir:
        folder = workdir / "synthetic"
        rows = write_directory(folder, options.services)
        log(f"wrote {rows} rows of Ohana CSV into {folder}")
        vapid = new_vapid_private_key()
        for backend in backends(options):
            results += run(backend, options, workdir, folder, vapid)
    print()
    print(
        f"Homeward directory import: {options.services} services (Ohana CSV, "
        f"{ORGANIZATIONS} organizations); {python_and_cpus()}, load before {load_before:.2f}"
    )
    print_table(
        ("database", "variant", "rows", "seconds", "rows/s", "vs baseline"), results, left=2
    )
    return 0


if __name__ == "__main__":
    run_main(main)
