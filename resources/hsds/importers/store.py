"""Writing a batch: rows checked table by table in dependency order (a row whose parent
is unknown or was rejected is rejected too), then compared with what is stored so only
new or changed rows are written, in bulk. Unchanged rows are not touched, so their
``updated_at`` stays. Search is refreshed for every service whose data changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from api.core.db import in_chunks, utcnow
from resources.hsds.importers.batch import Batch, Row
from resources.hsds.importers.checks import check, coerce
from resources.models import HSDS_TABLES, ServiceAtLocation, TaxonomyTerm
from resources.search import indexing, reentry_terms

# (column, parent table, soft): an unknown soft parent is dropped with a note, an unknown
# hard one rejects the row.
PARENTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "taxonomy_terms": (("taxonomy_id", "taxonomies", True), ("parent_id", "taxonomy_terms", True)),
    "organizations": (("parent_organization_id", "organizations", True),),
    "locations": (("organization_id", "organizations", False),),
    "services": (("organization_id", "organizations", False),),
    "service_at_location": (
        ("service_id", "services", False),
        ("location_id", "locations", False),
    ),
    "addresses": (("location_id", "locations", False),),
    "phones": (
        ("location_id", "locations", False),
        ("service_id", "services", False),
        ("organization_id", "organizations", False),
        ("service_at_location_id", "service_at_location", False),
    ),
    "schedules": (
        ("service_id", "services", False),
        ("location_id", "locations", False),
        ("service_at_location_id", "service_at_location", False),
    ),
    "languages": (
        ("service_id", "services", False),
        ("location_id", "locations", False),
        ("phone_id", "phones", False),
    ),
    "attributes": (("taxonomy_term_id", "taxonomy_terms", False),),
}
LINK_TABLES = {
    "service": "services",
    "organization": "organizations",
    "location": "locations",
    "service_at_location": "service_at_location",
}
# Provenance is set when a row is created; a later import of the same row (our own
# export, say) does not rewrite it.
NOT_COMPARED = {"id", "created_at", "updated_at", "last_verified_at", "source", "source_id"}


def chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    """The distinct ids in bounded IN lists, sorted so queries are the same every run."""
    return in_chunks(sorted(set(ids)))


class Store:
    """Checks and writes one batch."""

    def __init__(self, db: Session, batch: Batch) -> None:
        self.db, self.batch = db, batch
        self.accepted: dict[str, dict[str, Row]] = {}
        self.stored: dict[str, set[str]] = {}  # ids known to exist in the database

    def exists(self, table: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are accepted in this batch or stored already."""
        ids = set(ids)
        accepted = self.accepted.get(table, {})
        known = self.stored.setdefault(table, set())
        missing = ids - accepted.keys() - known
        model = HSDS_TABLES[table]
        for chunk in chunks(missing):
            known.update(self.db.scalars(select(model.id).where(model.id.in_(chunk))))
        return {i for i in ids if i in accepted or i in known}

    def run(self) -> set[str]:
        """Check and write every table; the ids of services whose data changed."""
        self._reentry_attributes()
        changed: dict[str, set[str]] = {}
        for table in HSDS_TABLES:
            self._check_table(table)
        for table in HSDS_TABLES:
            changed[table] = self._write(table, list(self.accepted.get(table, {}).values()))
        return self._touched_services(changed)

    def _reentry_attributes(self) -> None:
        """Attributes of our own reentry taxonomy become the service's columns again."""
        attributes = self.batch.rows.get("attributes", {})
        services = self.batch.rows.get("services", {})
        for ours, row in list(attributes.items()):
            facet = reentry_terms.TERM_FACETS.get(row.values.get("taxonomy_term_id") or "")
            if facet is None:
                continue
            del attributes[ours]
            self.batch.summary.counts("attributes").read -= 1
            service = services.get(row.values.get("link_id") or "")
            if service is None:
                self.batch.reject(
                    "attributes",
                    row.file,
                    row.line,
                    "reentry fact of a service not in this import",
                    read=False,
                )
                continue
            try:
                service.values[facet] = reentry_terms.parse_value(
                    facet, str(row.values.get("value") or "")
                )
            except ValueError as error:
                self.batch.reject("attributes", row.file, row.line, str(error), read=False)

    def _check_table(self, table: str) -> None:
        model = HSDS_TABLES[table]
        columns = model.__table__.columns
        good: dict[str, Row] = {}
        for ours, row in self.batch.rows.get(table, {}).items():
            try:
                values = {}
                for name, value in row.values.items():
                    values[name] = coerce(columns[name], value) if name in columns else value
                    if values[name] is None and name in columns and not columns[name].nullable:
                        values[name] = _default(columns[name])
                check(table, values)
            except ValueError as error:
                self.batch.reject(table, row.file, row.line, str(error), read=False)
                continue
            row.values = values
            good[ours] = row
        self.accepted[table] = good  # soft self-references may point at these
        for column, parent, soft in PARENTS.get(table, ()):
            wanted = {r.values[column] for r in good.values() if r.values.get(column)}
            found = self.exists(parent, wanted)
            for ours, row in list(good.items()):
                value = row.values.get(column)
                if not value or value in found:
                    continue
                what = f"{column} '{self.batch.name(value)}' is unknown or was rejected"
                if soft or (table, column) in self.batch.soft:
                    row.values[column] = None
                    self.batch.note(f"{row.file}:{row.line}: {what}; imported without it")
                else:
                    del good[ours]
                    self.batch.reject(table, row.file, row.line, what, read=False)
        if table == "attributes":
            self._check_links(good)
        if table == "service_at_location":
            self._check_pairs(good)
        if table == "taxonomy_terms":
            self._paths(good)

    def _check_links(self, good: dict[str, Row]) -> None:
        for ours, row in list(good.items()):
            link, entity = row.values["link_id"], str(row.values["link_entity"])
            tables = [LINK_TABLES[entity]] if entity in LINK_TABLES else list(LINK_TABLES.values())
            if not any(self.exists(t, [link]) for t in tables):
                del good[ours]
                reason = f"link_id '{self.batch.name(link)}' ({entity}) is unknown or was rejected"
                self.batch.reject("attributes", row.file, row.line, reason, read=False)

    def _check_pairs(self, good: dict[str, Row]) -> None:
        """One row per service and location (the table's unique constraint)."""
        pairs: dict[tuple[str, str], str] = {}
        services = {r.values["service_id"] for r in good.values()}
        for chunk in chunks(services):
            query = select(
                ServiceAtLocation.id, ServiceAtLocation.service_id, ServiceAtLocation.location_id
            )
            for sal_id, service_id, location_id in self.db.execute(
                query.where(ServiceAtLocation.service_id.in_(chunk))
            ):
                pairs[(service_id, location_id)] = sal_id
        for ours, row in list(good.items()):
            pair = (row.values["service_id"], row.values["location_id"])
            if pairs.setdefault(pair, ours) != ours:
                del good[ours]
                reason = (
                    f"the service is already at this location (as '{self.batch.name(pairs[pair])}')"
                )
                self.batch.reject("service_at_location", row.file, row.line, reason, read=False)

    def _paths(self, good: dict[str, Row]) -> None:
        """Each term's path: "/" + the codes (or ids) from its root down, "/"-joined, + "/"."""
        links = {
            ours: (r.values.get("code") or ours, r.values.get("parent_id"))
            for ours, r in good.items()
        }
        unknown = {p for _, p in links.values() if p and p not in links}
        while unknown:
            found = self.db.execute(
                select(TaxonomyTerm.id, TaxonomyTerm.code, TaxonomyTerm.parent_id).where(
                    TaxonomyTerm.id.in_(sorted(unknown))
                )
            ).all()
            for term_id, code, parent_id in found:
                links[term_id] = (code or term_id, parent_id)
            unknown = {p for _, p in links.values() if p and p not in links} - unknown
        for ours, row in good.items():
            parts: list[str] = []
            seen: set[str] = set()
            current: str | None = ours
            while current is not None and current in links and current not in seen:
                seen.add(current)
                code, current = links[current]
                parts.append(code)
            row.values["path"] = "/" + "/".join(reversed(parts)) + "/"

    def _write(self, table: str, rows: list[Row]) -> set[str]:
        """Insert new rows, update changed ones; the ids of both."""
        model = HSDS_TABLES[table]
        columns = model.__table__.columns
        now = utcnow()
        current: dict[str, Any] = {}
        for chunk in chunks(r.values["id"] for r in rows):
            for stored_row in self.db.execute(
                select(model.__table__).where(model.id.in_(chunk))
            ).mappings():
                current[stored_row["id"]] = stored_row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        counts = self.batch.summary.counts(table)
        for row in rows:
            stored = current.get(row.values["id"])
            if stored is None:
                full = {c.name: _default(c) for c in columns}
                full.update({k: v for k, v in row.values.items() if k in columns})
                full["created_at"] = full["updated_at"] = now
                full["last_verified_at"] = row.values.get("last_verified_at") or now
                inserts.append(full)
                continue
            diff = {
                k: v
                for k, v in row.values.items()
                if k in columns and k not in NOT_COMPARED and stored[k] != v
            }
            if (
                row.values.get("last_verified_at")
                and stored["last_verified_at"] != row.values["last_verified_at"]
            ):
                diff["last_verified_at"] = row.values["last_verified_at"]
            if diff:
                diff.setdefault("last_verified_at", now)
                updates.append({"id": row.values["id"], **diff, "updated_at": now})
            else:
                counts.unchanged += 1
        if table in ("taxonomy_terms", "organizations"):
            by_id = {i["id"]: i for i in inserts}  # (built first: sort() empties the list)
            inserts.sort(key=lambda r: _depth(r, table, by_id))
        if inserts:
            self.db.execute(insert(model.__table__), inserts)  # Core: keeps the order
        if updates:
            self.db.execute(update(model), updates)
        counts.created += len(inserts)
        counts.updated += len(updates)
        return {r["id"] for r in inserts} | {r["id"] for r in updates}

    def _touched_services(self, changed: dict[str, set[str]]) -> set[str]:
        services = set(changed["services"])
        self.batch.summary.service_ids |= services
        rows = {t: self.accepted.get(t, {}) for t in HSDS_TABLES}
        for table, column in (
            ("service_at_location", "service_id"),
            ("schedules", "service_id"),
            ("phones", "service_id"),
            ("languages", "service_id"),
        ):
            services |= {
                str(value)
                for i in changed[table]
                if (value := rows[table][i].values.get(column)) is not None
            }
        services |= {
            rows["attributes"][i].values["link_id"]
            for i in changed["attributes"]
            if rows["attributes"][i].values["link_entity"] == "service"
        }
        locations = set(changed["locations"]) | {
            str(value)
            for i in changed["schedules"]
            if (value := rows["schedules"][i].values.get("location_id")) is not None
        }
        services |= set(
            indexing.services_touching(
                self.db, organization_ids=changed["organizations"], location_ids=locations
            )
        )
        return services


def _default(column: Any) -> Any:
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg
    return None


def _depth(row: dict[str, Any], table: str, rows: dict[str, dict[str, Any]]) -> int:
    column = "parent_id" if table == "taxonomy_terms" else "parent_organization_id"
    depth, seen, current = 0, set(), row
    while current.get(column) in rows and current["id"] not in seen:
        seen.add(current["id"])
        current = rows[current[column]]
        depth += 1
    return depth


def write(db: Session, batch: Batch) -> None:
    """Check and write ``batch``, then refresh search for the services it changed."""
    services = Store(db, batch).run()
    db.flush()
    db.expire_all()
    if services:
        indexing.refresh(db, service_ids=services)
