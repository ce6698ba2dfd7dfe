"""Importing directories of services into the HSDS tables.

``import_paths`` takes files and directories and decides per path what it holds:

* a directory with ``datapackage.json`` (or HSDS 3.0 file names such as
  ``service_at_location.csv``): HSDS 3.0 tabular (``tabular.py``);
* a directory with Ohana's CSVs (``organizations.csv`` with ``regular_schedules.csv``,
  ``taxonomy.csv`` or ``mail_addresses.csv``): Ohana / HSDS 1.x (``ohana.py``);
* a ``.json`` file, or a directory of them: HSDS 3.0 JSON (``hsds_json.py``).

Each path is one batch: its rows are checked (bad ones reported with file, line and
reason; the rest kept), compared with what is stored and written (``store.py``), and
search is refreshed for the services that changed. A file that cannot be read is reported
in ``Summary.failed`` and the other files and paths go on. Nothing is committed here: the
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from resources.importers import hsds_json, ohana, store, tabular
from resources.importers.batch import Batch, Counts, Reject, Summary

__all__ = ["Counts", "Reject", "Summary", "detect", "import_paths"]


def detect(path: Path) -> str | None:
    """ "tabular", "ohana", "json", or None when the path holds nothing we read."""
    if path.is_dir():
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


def import_paths(
    db: Session,
    paths: Iterable[str | Path],
    *,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Import every path (see the module's docstring) and return what happened.

    ``source`` names where the data came from (default: each path's directory or file
    name); it keys the ids made for non-UUID source ids, so re-importing the same source
    updates its rows. ``progress`` is called with each path when it is done."""
    summary = Summary()
    for raw in paths:
        path = Path(raw)
        name = source or (path.stem if path.is_file() else path.name) or "import"
        batch = Batch(name, summary)

        def failed(label: str, error: Exception) -> None:
            summary.failed.append((label, f"could not be read: {error}"))

        layout = detect(path) if path.exists() else None
        try:
            if layout == "tabular":
                tabular.parse(batch, path, failed)
            elif layout == "ohana":
                ohana.parse(db, batch, path, failed)
            elif layout == "json":
                hsds_json.parse(batch, path, failed)
            elif not path.exists():
                failed(str(path), FileNotFoundError("no such file or directory"))
            else:
                failed(str(path), ValueError("neither HSDS JSON, HSDS tabular nor Ohana CSV"))
            if batch.rows:
                with db.begin_nested():
                    store.write(db, batch)
        except Exception as error:  # one path's failure must not stop the others
            failed(str(path), error)
        if progress is not None:
            progress(str(path))
    return summary
