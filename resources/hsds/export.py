"""Exporting the directory as HSDS 3.0.

``export_json(db, directory)`` writes four files into ``directory``:

* ``services.json``: a list of full service objects (as ``examples/service_full.json``:
  organization, service_at_locations with their location, phones, schedules, languages,
  attributes with their taxonomy term);
* ``organizations.json``: a list of organization objects with phones and full locations;
* ``taxonomies.json`` and ``taxonomy_terms.json``: every taxonomy and term, ours
  (``homeward-reentry``, under which reentry facts are attributes) included.

``export_tabular(db, directory)`` writes the HSDS tabular form: one CSV per table we
model (``organizations.csv``, ``services.csv``, ``locations.csv``,
``service_at_location.csv``, ``addresses.csv``, ``phones.csv``, ``schedules.csv``,
``languages.csv``, ``taxonomies.csv``, ``taxonomy_terms.csv``, ``attributes.csv``) and a
``datapackage.json`` listing each of them with its fields. Both re-import with
``resources.hsds.importers.import_paths``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resources.hsds.fields import FIELDS, plain
from resources.hsds.serialize import (
    organizations_to_hsds,
    reentry_attributes,
    services_to_hsds,
    taxonomy_term_to_hsds,
    taxonomy_to_hsds,
)
from resources.models import HSDS_TABLES, Organization, Service, Taxonomy, TaxonomyTerm
from resources.search import reentry_terms

PAGE = 200
TYPES = {"Float": "number", "Integer": "integer", "Date": "date", "Boolean": "boolean"}


def _pages(db: Session, model: Any) -> Iterator[list[Any]]:
    last = ""
    while True:
        rows = list(db.scalars(select(model).where(model.id > last).order_by(model.id).limit(PAGE)))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _write_json(path: Path, items: Iterator[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for item in items:
            handle.write(("," if count else "") + "\n" + json.dumps(item, ensure_ascii=False))
            count += 1
        handle.write("\n]\n")
    return count


def export_json(db: Session, path: str | Path) -> dict[str, int]:
    """Write the directory as HSDS 3.0 JSON into the directory ``path`` (see the module's
    docstring for the layout); returns the number of objects per file."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    taxonomies = {t.id: t for t in db.scalars(select(Taxonomy))}
    terms = list(db.scalars(select(TaxonomyTerm).order_by(TaxonomyTerm.path, TaxonomyTerm.id)))
    detail = reentry_terms.taxonomy()
    return {
        "services.json": _write_json(
            directory / "services.json",
            (item for rows in _pages(db, Service) for item in services_to_hsds(db, rows)),
        ),
        "organizations.json": _write_json(
            directory / "organizations.json",
            (item for rows in _pages(db, Organization) for item in organizations_to_hsds(db, rows)),
        ),
        "taxonomies.json": _write_json(
            directory / "taxonomies.json",
            iter([detail, *(taxonomy_to_hsds(t) for t in taxonomies.values())]),
        ),
        "taxonomy_terms.json": _write_json(
            directory / "taxonomy_terms.json",
            iter(
                [
                    *(
                        {**reentry_terms.term(f), "taxonomy_detail": detail}
                        for f in reentry_terms.FACETS
                    ),
                    *(taxonomy_term_to_hsds(t, taxonomies.get(t.taxonomy_id or "")) for t in terms),
                ]
            ),
        ),
    }


def _cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_type(table: str, name: str) -> str:
    column = HSDS_TABLES[table].__table__.columns[name]
    return TYPES.get(type(column.type).__name__, "string")


def export_tabular(db: Session, directory: str | Path) -> list[str]:
    """Write the HSDS tabular package (CSVs + datapackage.json) into ``directory``;
    returns the CSV file names written."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    resources, written = [], []
    for table, fields in FIELDS.items():
        name = f"{table}.csv"
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(fields)
            if table == "taxonomies":
                writer.writerow([_cell(reentry_terms.taxonomy().get(f)) for f in fields])
            if table == "taxonomy_terms":
                for facet in reentry_terms.FACETS:
                    writer.writerow([_cell(reentry_terms.term(facet).get(f)) for f in fields])
            for rows in _pages(db, HSDS_TABLES[table]):
                for row in rows:
                    writer.writerow([_cell(getattr(row, f)) for f in fields])
            if table == "attributes":
                for rows in _pages(db, Service):
                    for service in rows:
                        for item in reentry_attributes(service):
                            writer.writerow([_cell(item.get(f)) for f in fields])
        written.append(name)
        resources.append(
            {
                "name": table,
                "path": name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": [{"name": f, "type": _field_type(table, f)} for f in fields],
                    "primaryKey": "id",
                },
            }
        )
    package = {
        "name": "homeward-directory",
        "title": "Homeward directory (HSDS 3.0)",
        "profile": "tabular-data-package",
        "resources": resources,
    }
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    return written
