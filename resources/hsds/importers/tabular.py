"""HSDS 3.0 tabular: a directory of CSV files, one per table, described by
``datapackage.json``. The package's resources name the files; when it cannot be read the
usual file names are used (and that is noted). Only the columns we model are read; files
of tables we do not model (contacts, programs, funding...) are noted and skipped."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from resources.hsds.fields import FIELDS
from resources.hsds.importers.batch import Batch
from resources.hsds.importers.hsds_json import LINK_KEYS

TABLE_FILES = {table: f"{table}.csv" for table in FIELDS}
# Resource names a data package may use for each table ("service", "services"...).
ALIASES = {
    "organization": "organizations",
    "service": "services",
    "location": "locations",
    "address": "addresses",
    "phone": "phones",
    "schedule": "schedules",
    "language": "languages",
    "taxonomy": "taxonomies",
    "taxonomy_term": "taxonomy_terms",
    "attribute": "attributes",
}
LINK_ENTITY_TABLES = {
    "service": "services",
    "organization": "organizations",
    "location": "locations",
    "service_at_location": "service_at_location",
}


def looks_like(directory: Path) -> bool:
    """A data package, or HSDS 3.0 file names."""
    return (directory / "datapackage.json").exists() or any(
        (directory / name).exists()
        for name in ("service_at_location.csv", "taxonomy_terms.csv", "schedules.csv")
    )


def files(batch: Batch, directory: Path) -> dict[str, Path]:
    """Table -> CSV file, from datapackage.json when it is readable."""
    found = {table: directory / name for table, name in TABLE_FILES.items()}
    package = directory / "datapackage.json"
    if package.exists():
        try:
            resources = json.loads(package.read_text(encoding="utf-8"))["resources"]
            for resource in resources:
                name = str(resource.get("name", "")).removesuffix(".csv")
                table = ALIASES.get(name, name)
                if table in found and resource.get("path"):
                    found[table] = directory / str(resource["path"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            batch.note(
                f"{directory.name}/datapackage.json: not readable ({error}); "
                "using the usual file names"
            )
    known = {p.name for p in found.values()}
    for other in sorted(directory.glob("*.csv")):
        if other.name not in known:
            batch.note(f"{directory.name}/{other.name}: not imported (not modelled)")
    return {t: p for t, p in found.items() if p.exists()}


def parse(batch: Batch, directory: Path, on_file: Callable[[str, Exception], None]) -> None:
    """Read every modelled CSV of the package into ``batch``."""
    for table, path in files(batch, directory).items():
        label = f"{directory.name}/{path.name}"
        links = LINK_KEYS.get(table, {})
        try:
            for line, row in batch.read_csv(path, label):
                values: dict[str, object] = {}
                for name in FIELDS[table]:
                    if name == "id" or name not in row:
                        continue
                    if name in links:
                        values[name] = batch.ref(links[name], row[name])
                    elif name == "link_id":
                        target = LINK_ENTITY_TABLES.get(row.get("link_entity", ""), "services")
                        values[name] = batch.ref(target, row[name])
                    else:
                        values[name] = row[name]
                if (row.get("id") or "").strip():
                    batch.add(table, row["id"], values, label, line)
                else:
                    batch.reject(table, label, line, "missing id")
        except (OSError, UnicodeDecodeError, ValueError) as error:
            on_file(label, error)
