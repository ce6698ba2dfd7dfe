"""The Ohana API CSV layout (close to HSDS 1.x): organizations.csv, locations.csv,
services.csv (a service at one location, comma-separated ``taxonomy_ids`` and
``languages``), phones.csv, addresses.csv, mail_addresses.csv, regular_schedules.csv
(weekday names), taxonomy.csv (Open Eligibility codes). holiday_schedules.csv,
contacts.csv and programs.csv are not modelled and only noted.

The Open Eligibility taxonomy is shared by every source (its ids do not depend on the
source name), so two directories using it share its terms."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel import Locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from resources.hsds.importers.batch import NAMESPACE, Batch
from resources.models import Location
from resources.search.hours import WEEKDAY_NAMES

FILES = (
    "taxonomy.csv",
    "organizations.csv",
    "locations.csv",
    "services.csv",
    "addresses.csv",
    "mail_addresses.csv",
    "phones.csv",
    "regular_schedules.csv",
)
SKIPPED = {
    "holiday_schedules.csv": "holiday schedules are not imported (closures are not modelled)",
    "contacts.csv": "contacts are not imported (not modelled)",
    "programs.csv": "programs are not imported (not modelled)",
}
OPEN_ELIGIBILITY = "Open Eligibility"
OE_TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy:open-eligibility"))
_LANGUAGE_CODES = {name.casefold(): code for code, name in Locale("en").languages.items()}


def term_id(code: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"open-eligibility:{code.strip()}"))


def language_code(name: str) -> str | None:
    """ISO 639-1 code of an English language name ("Chinese (Mandarin)" -> "zh")."""
    key = name.casefold().strip()
    return _LANGUAGE_CODES.get(key) or _LANGUAGE_CODES.get(key.split("(")[0].strip())


def looks_like(directory: Path) -> bool:
    """Ohana's files are there (and HSDS 3.0 tabular's are not)."""
    return (directory / "organizations.csv").exists() and (
        (directory / "regular_schedules.csv").exists()
        or (directory / "taxonomy.csv").exists()
        or (directory / "mail_addresses.csv").exists()
    )


def parse(
    db: Session, batch: Batch, directory: Path, on_file: Callable[[str, Exception], None]
) -> None:
    """Read every Ohana file of ``directory`` into ``batch``; a file that cannot be read
    is reported through ``on_file`` and the others go on."""
    for name, reason in SKIPPED.items():
        if (directory / name).exists():
            batch.note(f"{directory.name}/{name}: {reason}")
    context = _Context(db, batch, directory)
    for name in FILES:
        path = directory / name
        if not path.exists():
            continue
        try:
            label = f"{directory.name}/{name}"
            for line, row in batch.read_csv(path, label):
                getattr(context, name.removesuffix(".csv"))(label, line, row)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            on_file(f"{directory.name}/{name}", error)


def _get(row: dict[str, str], name: str) -> str | None:
    value = (row.get(name) or "").strip()
    return value or None


class _Context:
    def __init__(self, db: Session, batch: Batch, directory: Path) -> None:
        self.db, self.batch = db, batch
        self.taxonomy_added = False

    def taxonomy(self, file: str, line: int, row: dict[str, str]) -> None:
        if not self.taxonomy_added:
            self.batch.add(
                "taxonomies",
                "open-eligibility",
                {"name": OPEN_ELIGIBILITY, "description": "Open Eligibility taxonomy (Ohana)."},
                file,
                line,
                global_id=OE_TAXONOMY_ID,
            )
            self.taxonomy_added = True
        code, parent = _get(row, "taxonomy_id"), _get(row, "parent_id")
        values = {
            "code": code,
            "name": _get(row, "name"),
            "description": "",
            "parent_id": term_id(parent) if parent else None,
            "taxonomy": OPEN_ELIGIBILITY,
            "taxonomy_id": OE_TAXONOMY_ID,
        }
        if code is None:
            self.batch.reject("taxonomy_terms", file, line, "missing taxonomy_id")
            return
        self.batch.add("taxonomy_terms", code, values, file, line, global_id=term_id(code))

    def organizations(self, file: str, line: int, row: dict[str, str]) -> None:
        incorporated = _get(row, "date_incorporated")
        values = {
            "name": _get(row, "name"),
            "alternate_name": _get(row, "alternate_name"),
            "description": _get(row, "description") or "",
            "email": _get(row, "email"),
            "website": _get(row, "website"),
            "legal_status": _get(row, "legal_status"),
            "tax_id": _get(row, "tax_id"),
            "tax_status": _get(row, "tax_status"),
            "year_incorporated": incorporated[-4:] if incorporated else None,
        }
        self.batch.add("organizations", _get(row, "id"), values, file, line)

    def locations(self, file: str, line: int, row: dict[str, str]) -> None:
        virtual = (_get(row, "virtual") or "").lower() == "true"
        values = {
            "organization_id": self.batch.ref("organizations", _get(row, "organization_id")),
            "location_type": "virtual" if virtual else "physical",
            "name": _get(row, "name"),
            "alternate_name": _get(row, "alternate_name"),
            "description": _get(row, "description") or _get(row, "short_desc"),
            "transportation": _get(row, "transportation"),
            "latitude": _get(row, "latitude"),
            "longitude": _get(row, "longitude"),
            "url": _get(row, "website"),
        }
        if values["organization_id"] is None:
            self.batch.reject("locations", file, line, "missing organization_id")
            return
        ours = self.batch.add("locations", _get(row, "id"), values, file, line)
        self._languages(file, line, row, "location_id", "locations", ours)

    def _languages(
        self, file: str, line: int, row: dict[str, str], column: str, key: str, ours: str | None
    ) -> None:
        for name in (_get(row, "languages") or "").split(","):
            name = name.strip()
            if not name or ours is None:
                continue
            values = {column: ours, "name": name, "code": language_code(name)}
            self.batch.add("languages", f"{key}:{_get(row, 'id')}:{name}", values, file, line)

    def _organization_of(self, location_id: str | None) -> str | None:
        if location_id is None:
            return None
        row = self.batch.rows.get("locations", {}).get(location_id)
        if row is not None:
            return row.values.get("organization_id")
        return self.db.scalar(select(Location.organization_id).where(Location.id == location_id))

    def services(self, file: str, line: int, row: dict[str, str]) -> None:
        location = self.batch.ref("locations", _get(row, "location_id"))
        organization = self._organization_of(location)
        if organization is None:
            reason = (
                f"location_id '{_get(row, 'location_id') or ''}' is unknown, so is its organization"
            )
            self.batch.reject("services", file, line, reason)
            return
        values = {
            "organization_id": organization,
            "name": _get(row, "name"),
            "alternate_name": _get(row, "alternate_name"),
            "description": _get(row, "description"),
            "url": _get(row, "website"),
            "email": _get(row, "email"),
            "status": _get(row, "status") or "active",
            "interpretation_services": _get(row, "interpretation_services"),
            "application_process": _get(row, "application_process"),
            "fees_description": _get(row, "fees"),
            "wait_time": _get(row, "wait_time"),
            "eligibility_description": _get(row, "eligibility"),
        }
        ours = self.batch.add("services", _get(row, "id"), values, file, line)
        if ours is None:
            return
        pair = {"service_id": ours, "location_id": location}
        self.batch.add(
            "service_at_location", f"{_get(row, 'id')}@{_get(row, 'location_id')}", pair, file, line
        )
        self._languages(file, line, row, "service_id", "services", ours)
        for code in (_get(row, "taxonomy_ids") or "").split(","):
            code = code.strip()
            if not code:
                continue
            values = {
                "link_id": ours,
                "link_entity": "service",
                "link_type": "category",
                "taxonomy_term_id": term_id(code),
            }
            self.batch.display[term_id(code)] = code
            self.batch.add("attributes", f"{_get(row, 'id')}:{code}", values, file, line)

    def _address(self, file: str, line: int, row: dict[str, str], kind: str) -> None:
        values = {
            "location_id": self.batch.ref("locations", _get(row, "location_id")),
            "attention": _get(row, "attention"),
            "address_1": _get(row, "address_1"),
            "address_2": _get(row, "address_2"),
            "city": _get(row, "city"),
            "state_province": _get(row, "state_province"),
            "postal_code": _get(row, "postal_code"),
            "country": _get(row, "country"),
            "address_type": kind,
        }
        key = "addresses" if kind == "physical" else "mail_addresses"
        self.batch.add("addresses", _get(row, "id"), values, file, line, key=key)

    def addresses(self, file: str, line: int, row: dict[str, str]) -> None:
        self._address(file, line, row, "physical")

    def mail_addresses(self, file: str, line: int, row: dict[str, str]) -> None:
        self._address(file, line, row, "postal")

    def phones(self, file: str, line: int, row: dict[str, str]) -> None:
        number, prefix = _get(row, "number"), _get(row, "country_prefix")
        parents: dict[str, Any] = {
            "location_id": self.batch.ref("locations", _get(row, "location_id")),
            "service_id": self.batch.ref("services", _get(row, "service_id")),
            "organization_id": self.batch.ref("organizations", _get(row, "organization_id")),
        }
        if not any(parents.values()) and _get(row, "contact_id"):
            self.batch.note(
                f"{file}:{line}: a contact's phone, not imported (contacts are not modelled)"
            )
            return
        values = {
            **parents,
            "number": f"{prefix} {number}" if prefix and number else number,
            "extension": _get(row, "extension"),
            "type": _get(row, "number_type"),
            "description": _get(row, "department"),
        }
        self.batch.add("phones", _get(row, "id"), values, file, line)

    def regular_schedules(self, file: str, line: int, row: dict[str, str]) -> None:
        weekday = (_get(row, "weekday") or "").strip()
        day = WEEKDAY_NAMES.get(weekday.lower())
        if day is None:
            self.batch.reject(
                "schedules", file, line, f"weekday '{weekday}' is not a day of the week"
            )
            return
        values = {
            "location_id": self.batch.ref("locations", _get(row, "location_id")),
            "service_id": self.batch.ref("services", _get(row, "service_id")),
            "freq": "WEEKLY",
            "byday": day,
            "opens_at": _get(row, "opens_at"),
            "closes_at": _get(row, "closes_at"),
        }
        self.batch.add("schedules", _get(row, "id"), values, file, line)
