"""Importing directories of services into the HSDS tables.

``import_paths`` takes files and directories and decides per path what it holds, from the
column names of its CSV files (``detect``; never from the folder's name):

* HSDS 3.0 tabular (``tabular.py``): ``schedules.csv`` with ``freq``/``byday``,
  ``addresses.csv`` with ``address_type``, ``taxonomy_terms.csv``, ``attributes.csv``,
  ``locations.csv`` with ``location_type``...;
* HSDS 1.x CSV, 1.0 to 1.1.1 (``hsds1.py``): ``services.csv`` with ``organization_id``,
  ``services_at_location.csv``, ``regular_schedules.csv`` with ``weekday``,
  ``physical_addresses.csv``/``postal_addresses.csv``, ``taxonomy.csv`` with ``id``,
  ``services_taxonomy.csv``, organizations with ``url``...;
* Ohana's API CSVs (``ohana.py``): ``services.csv`` with ``location_id`` and no
  ``organization_id``, ``addresses.csv`` / ``mail_addresses.csv``, ``taxonomy.csv`` with
  ``taxonomy_id``, phones with ``number_type``...;
* a ``.json`` file, or a directory of them: HSDS 3.0 JSON (``hsds_json.py``).

Each path is one batch: its rows are checked (bad ones reported with file, line and
reason; the rest kept), compared with what is stored and written (``store.py``), and
search is refreshed for the services that changed. A file that cannot be read is reported
in ``Summary.failed`` and the other files and paths go on. ``Summary.layouts`` says which
layout each path was read as. Nothing is committed here: the caller owns the transaction.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

from sqlalchemy.orm import Session

from resources.hsds.importers import hsds1, hsds_json, ohana, store, tabular
from resources.hsds.importers.batch import Batch, Counts, Progress, Reject, Summary
from resources.hsds.importers.csvfiles import header

__all__ = ["LAYOUTS", "Counts", "Progress", "Reject", "Summary", "detect", "import_paths"]

LAYOUTS = {
    "tabular": "HSDS 3.0 tabular (CSV)",
    "hsds1": "HSDS 1.x CSV",
    "ohana": "Ohana API CSV",
    "json": "HSDS 3.0 JSON",
}


def _headers(directory: Path) -> dict[str, set[str]]:
    found = {}
    for path in directory.glob("*.csv"):
        try:
            found[path.name.lower()] = {h.lower() for h in header(path)}
        except (OSError, UnicodeDecodeError, csv.Error):
            found[path.name.lower()] = set()
    return found


def _scores(headers: dict[str, set[str]]) -> dict[str, int]:
    """How many signs of each CSV layout the files' column names show."""

    def has(name: str, *columns: str) -> bool:
        return name in headers and all(c in headers[name] for c in columns)

    services = headers.get("services.csv", set())
    addresses = headers.get("addresses.csv")
    taxonomy = headers.get("taxonomy.csv", set())
    schedules = headers.get("regular_schedules.csv", set())
    signs = {
        "tabular": [
            has("schedules.csv", "freq") or has("schedules.csv", "byday"),
            addresses is not None and "address_type" in addresses,
            "taxonomy_terms.csv" in headers,
            "attributes.csv" in headers,
            has("locations.csv", "location_type"),
            has("service_at_location.csv", "service_id") and "regular_schedules.csv" not in headers,
            "fees_description" in services or "eligibility_description" in services,
        ],
        "hsds1": [
            "organization_id" in services,
            "taxonomy_ids" in services and "organization_id" in services,
            "services_at_location.csv" in headers,
            "services_taxonomy.csv" in headers,
            "physical_addresses.csv" in headers,
            "postal_addresses.csv" in headers,
            "id" in taxonomy and "taxonomy_id" not in taxonomy,
            "service_at_location_id" in schedules
            or "service_at_location_id" in headers.get("phones.csv", set()),
            has("organizations.csv", "url"),
        ],
        "ohana": [
            "location_id" in services and "organization_id" not in services,
            "mail_addresses.csv" in headers,
            addresses is not None and "address_type" not in addresses,
            "taxonomy_id" in taxonomy,
            has("phones.csv", "number_type"),
            has("organizations.csv", "date_incorporated"),
        ],
    }
    return {layout: sum(map(bool, found)) for layout, found in signs.items()}


def detect(path: Path) -> str | None:
    """ "tabular", "hsds1", "ohana", "json", or None when the path holds nothing we read.
    A directory's CSV layout is read from its files' column names (see the module's
    docstring); a services.csv naming a location and no organization is Ohana's."""
    if path.is_dir():
        headers = _headers(path)
        if headers:
            services = headers.get("services.csv", set())
            if "location_id" in services and "organization_id" not in services:
                return "ohana"
            scores = _scores(headers)
            best = max(scores.values())
            if best > 0:
                # A tie goes to the newer layout: tabular, then 1.x, then Ohana.
                return next(k for k in ("tabular", "hsds1", "ohana") if scores[k] == best)
        if tabular.looks_like(path):
            return "tabular"
        if ohana.looks_like(path):
            return "ohana"
        if any(path.glob("*.json")):
            return "json"
        return None
    if path.suffix.lower() == ".json":
        return "json"
    return None


def _planned(path: Path, layout: str | None) -> tuple[int, int]:
    """(files, data rows) a path holds, for the progress bar: CSV rows counted, JSON
    objects at the top of each file."""
    if layout is None:
        return 0, 0
    if layout == "json":
        found = sorted(path.glob("*.json")) if path.is_dir() else [path]
        rows = 0
        for file in found:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("contents"), list):
                data = data["contents"]
            rows += len(data) if isinstance(data, list) else 1
        return len(found), rows
    scratch = Batch("plan", Summary())
    if layout == "hsds1":
        found = list(hsds1.files(scratch, path).values())
    elif layout == "tabular":
        found = list(tabular.files(scratch, path).values())
    else:
        found = [path / name for name in ohana.FILES if (path / name).exists()]
    rows = 0
    for file in found:
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                rows += max(0, sum(1 for _ in csv.reader(handle)) - 1)
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
    return len(found), rows


def _parse(
    db: Session,
    batch: Batch,
    path: Path,
    layout: str | None,
    failed: Callable[[str, Exception], None],
) -> None:
    """Read ``path`` into ``batch`` with the reader of its layout."""
    if layout == "tabular":
        tabular.parse(batch, path, failed)
    elif layout == "hsds1":
        hsds1.parse(batch, path, failed)
    elif layout == "ohana":
        ohana.parse(db, batch, path, failed)
    elif layout == "json":
        hsds_json.parse(batch, path, failed)
    elif not path.exists():
        failed(str(path), FileNotFoundError("no such file or directory"))
    else:
        failed(
            str(path),
            ValueError("neither HSDS JSON, HSDS tabular, HSDS 1.x CSV nor Ohana CSV"),
        )


def import_paths(
    db: Session,
    paths: Iterable[str | Path],
    *,
    source: str | None = None,
    progress: Callable[[str], None] | Progress | None = None,
) -> Summary:
    """Import every path (see the module's docstring) and return what happened.

    ``source`` names where the data came from (default: each path's directory or file
    name); it keys the ids made for non-UUID source ids, so re-importing the same source
    updates its rows. ``progress`` is either called with each path when it is done, or a
    ``Progress`` told of every file and row as they are read."""
    summary = Summary()
    tracker: Progress | None = None
    each_path: Callable[[str], None] | None = None
    if progress is not None and hasattr(progress, "advance"):
        tracker = cast(Progress, progress)
    elif progress is not None:
        each_path = progress
    plan = []
    for raw in paths:
        path = Path(raw)
        layout = detect(path) if path.exists() else None
        plan.append((path, layout, _planned(path, layout) if tracker else (0, 0)))
    if tracker is not None:
        tracker.begin(sum(f for _, _, (f, _) in plan), sum(r for _, _, (_, r) in plan))
    for path, layout, (_, planned_rows) in plan:
        name = source or (path.stem if path.is_file() else path.name) or "import"
        batch = Batch(name, summary, tracker)

        def failed(label: str, error: Exception) -> None:
            summary.failed.append((label, f"could not be read: {error}"))

        try:
            if layout is not None:
                summary.layouts.append((str(path), LAYOUTS[layout]))
            _parse(db, batch, path, layout, failed)
            if tracker is not None:
                tracker.advance(max(0, planned_rows - batch.rows_read))
                tracker.file(f"writing {path.name}")
            if batch.rows:
                with db.begin_nested():
                    store.write(db, batch)
        except Exception as error:  # one path's failure must not stop the others
            failed(str(path), error)
        if each_path is not None:
            each_path(str(path))
    return summary
