"""HSDS 3.0 JSON: a file holding one object, a list of objects, or a page envelope
(``{"contents": [...]}``), or a directory of such files. The kind of object (service,
organization, location, service_at_location, taxonomy, taxonomy_term) comes from the
file name when it says so (``services.json``, ``organization_full.json``), otherwise
from its fields. Nested objects become their own rows, linked to their parent; an object
met twice (HSDS repeats a phone under its service and its location) is merged.
Contacts, programs, funding, accessibility, service areas and the like are not modelled
and are skipped. The line of a reject is a JSON pointer into its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from resources.hsds.fields import FIELDS
from resources.hsds.importers.batch import Batch

KINDS = (
    "service_at_location",
    "taxonomy_term",
    "taxonomy",
    "organization",
    "service",
    "location",
)
LINK_KEYS = {
    "organizations": {"parent_organization_id": "organizations"},
    "services": {"organization_id": "organizations"},
    "locations": {"organization_id": "organizations"},
    "service_at_location": {"service_id": "services", "location_id": "locations"},
    "addresses": {"location_id": "locations"},
    "phones": {
        "location_id": "locations",
        "service_id": "services",
        "organization_id": "organizations",
        "service_at_location_id": "service_at_location",
    },
    "schedules": {
        "service_id": "services",
        "location_id": "locations",
        "service_at_location_id": "service_at_location",
    },
    "languages": {"service_id": "services", "location_id": "locations", "phone_id": "phones"},
    "taxonomy_terms": {"parent_id": "taxonomy_terms", "taxonomy_id": "taxonomies"},
    "attributes": {"taxonomy_term_id": "taxonomy_terms"},
}


def kind_of(name: str, item: dict[str, Any]) -> str:
    """The HSDS object kind of ``item`` read from file ``name``."""
    stem = name.lower().replace("taxonomies", "taxonomy")
    for kind in KINDS:
        if kind in stem:
            return kind
    if "location" in item and ("service_id" in item or "service" in item):
        return "service_at_location"
    if "status" in item or "service_at_locations" in item or "organization" in item:
        return "service"
    if "location_type" in item or "addresses" in item:
        return "location"
    if "taxonomy_detail" in item or "parent_id" in item or "code" in item:
        return "taxonomy_term"
    if "version" in item and "website" not in item:
        return "taxonomy"
    return "organization"


def parse_file(batch: Batch, path: Path, label: str) -> None:
    """Read one JSON file into ``batch``; ValueError/OSError when it is not JSON."""
    data = json.loads(path.read_text(encoding="utf-8"))
    base = ""
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        data, base = data["contents"], "/contents"
    items = (
        [(f"{base}/{i}", x) for i, x in enumerate(data)]
        if isinstance(data, list)
        else [("/", data)]
    )
    walker = _Walker(batch, label)
    batch.rows_read += len(items)
    if batch.progress is not None:
        batch.progress.file(label)
        batch.progress.advance(len(items))
    for pointer, item in items:
        if not isinstance(item, dict):
            batch.reject("services", label, pointer, "not an HSDS object")
            continue
        kind = kind_of(path.stem, item)
        getattr(walker, kind)(item, pointer)


class _Walker:
    def __init__(self, batch: Batch, file: str) -> None:
        self.batch, self.file = batch, file

    def _add(
        self, table: str, item: dict[str, Any], pointer: str, **parents: str | None
    ) -> str | None:
        values: dict[str, Any] = {}
        links = LINK_KEYS.get(table, {})
        for name in FIELDS[table]:
            if name == "id" or name not in item:
                continue  # a field left out is left alone (another file may set it)
            if name in links:
                values[name] = self.batch.ref(links[name], item.get(name))
            else:
                values[name] = item.get(name)
        for name, value in parents.items():
            if value is not None:
                values[name] = value
        if not isinstance(item.get("id"), (str, int)):
            self.batch.reject(table, self.file, pointer, "missing id")
            return None
        return self.batch.add(table, item["id"], values, self.file, pointer)

    def _each(
        self, item: dict[str, Any], key: str, pointer: str, method: Any, **parents: Any
    ) -> None:
        children = item.get(key)
        if not isinstance(children, list):
            return
        for i, child in enumerate(children):
            if isinstance(child, dict):
                method(child, f"{pointer.rstrip('/')}/{key}/{i}", **parents)

    def taxonomy(self, item: dict[str, Any], pointer: str) -> str | None:
        return self._add("taxonomies", item, pointer)

    def taxonomy_term(self, item: dict[str, Any], pointer: str) -> str | None:
        detail = item.get("taxonomy_detail")
        taxonomy = (
            self.taxonomy(detail, f"{pointer.rstrip('/')}/taxonomy_detail")
            if isinstance(detail, dict)
            else None
        )
        return self._add("taxonomy_terms", item, pointer, taxonomy_id=taxonomy)

    def attribute(
        self, item: dict[str, Any], pointer: str, link_id: str | None, entity: str
    ) -> None:
        term = item.get("taxonomy_term")
        term_id = (
            self.taxonomy_term(term, f"{pointer}/taxonomy_term") if isinstance(term, dict) else None
        )
        linked = link_id or self.batch.ref(f"{entity}s", item.get("link_id"))
        values = {"taxonomy_term_id": term_id, "link_id": linked}
        if not item.get("link_entity"):
            values["link_entity"] = entity
        self._add("attributes", item, pointer, **values)

    def _attributes(
        self, item: dict[str, Any], pointer: str, ours: str | None, entity: str
    ) -> None:
        self._each(item, "attributes", pointer, self.attribute, link_id=ours, entity=entity)

    def language(self, item: dict[str, Any], pointer: str, **parents: Any) -> None:
        self._add("languages", item, pointer, **parents)

    def schedule(self, item: dict[str, Any], pointer: str, **parents: Any) -> None:
        self._add("schedules", item, pointer, **parents)

    def address(self, item: dict[str, Any], pointer: str, **parents: Any) -> None:
        self._add("addresses", item, pointer, **parents)

    def phone(self, item: dict[str, Any], pointer: str, **parents: Any) -> None:
        ours = self._add("phones", item, pointer, **parents)
        self._each(item, "languages", pointer, self.language, phone_id=ours)

    def location(
        self, item: dict[str, Any], pointer: str, organization_id: str | None = None
    ) -> str | None:
        ours = self._add("locations", item, pointer, organization_id=organization_id)
        self._each(item, "languages", pointer, self.language, location_id=ours)
        self._each(item, "addresses", pointer, self.address, location_id=ours)
        self._each(item, "phones", pointer, self.phone, location_id=ours)
        self._each(item, "schedules", pointer, self.schedule, location_id=ours)
        self._attributes(item, pointer, ours, "location")
        return ours

    def organization(self, item: dict[str, Any], pointer: str) -> str | None:
        ours = self._add("organizations", item, pointer)
        self._each(item, "phones", pointer, self.phone, organization_id=ours)
        self._each(item, "locations", pointer, self.location, organization_id=ours)
        self._each(item, "services", pointer, self.service, organization_id=ours)
        self._attributes(item, pointer, ours, "organization")
        return ours

    def service_at_location(
        self, item: dict[str, Any], pointer: str, service_id: str | None = None
    ) -> None:
        location = item.get("location")
        location_id = (
            self.location(location, f"{pointer.rstrip('/')}/location")
            if isinstance(location, dict)
            else None
        )
        ours = self._add(
            "service_at_location", item, pointer, service_id=service_id, location_id=location_id
        )
        self._each(item, "phones", pointer, self.phone, service_at_location_id=ours)
        self._each(item, "schedules", pointer, self.schedule, service_at_location_id=ours)
        self._attributes(item, pointer, ours, "service_at_location")

    def service(
        self, item: dict[str, Any], pointer: str, organization_id: str | None = None
    ) -> None:
        organization = item.get("organization")
        if isinstance(organization, dict):
            organization_id = self.organization(organization, f"{pointer.rstrip('/')}/organization")
        ours = self._add("services", item, pointer, organization_id=organization_id)
        self._each(item, "phones", pointer, self.phone, service_id=ours)
        self._each(item, "schedules", pointer, self.schedule, service_id=ours)
        self._each(item, "service_at_locations", pointer, self.service_at_location, service_id=ours)
        self._each(item, "languages", pointer, self.language, service_id=ours)
        self._attributes(item, pointer, ours, "service")


def parse(batch: Batch, path: Path, on_file: Any) -> None:
    """A .json file, or every .json file of a directory (sorted by name)."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    for file in files:
        label = f"{path.name}/{file.name}" if path.is_dir() else file.name
        try:
            parse_file(batch, file, label)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            on_file(label, error)
