"""How each HSDS 1.x CSV row becomes our rows (``hsds1.py`` finds the files). A row
without an id gets ``Batch.derived_id`` (a service-at-location without one: the id of its
service and location pair); times such as "9:00 AM", "9am", "0900" and weekday numbers
1-7 or names are read by ``checks``."""

from __future__ import annotations

import re
from typing import Any

from babel import Locale

from resources.hsds.importers.batch import Batch
from resources.hsds.importers.checks import strip_offset, weekday
from resources.hsds.importers.ohana import language_code

_YEAR = re.compile(r"^\s*(\d{4})")
_LANGUAGE_NAMES = Locale("en").languages


def _get(row: dict[str, str], name: str) -> str | None:
    value = (row.get(name) or "").strip()
    return value or None


def _language(text: str) -> tuple[str | None, str | None]:
    """(name, code) of a language given as an ISO 639 code or an English name."""
    key = text.strip()
    if key.isalpha() and len(key) <= 3 and key.lower() in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[key.lower()], key.lower()
    return key, language_code(key)


class Reader:
    """Reads each 1.x row into the batch, one method per resource (named as in ``FILES``
    of ``hsds1.py``)."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.offsets_noted: set[str] = set()

    def _id(
        self, key: str, file: str, line: int, row: dict[str, str], *parents: str | None
    ) -> tuple[str | None, str]:
        """(the row's id as written or None, our id)."""
        raw = _get(row, "id")
        if raw is not None:
            ours = self.batch.ref(key, raw)
            assert ours is not None
            return raw, ours
        ours = self.batch.derived_id(key, file, list(parents), row)
        self.batch.display[ours] = f"(no id, {file}:{line})"
        return None, ours

    def _add(
        self,
        table: str,
        key: str,
        file: str,
        line: int,
        row: dict[str, str],
        values: dict[str, Any],
        *parents: str | None,
    ) -> tuple[str | None, str | None]:
        raw, ours = self._id(key, file, line, row, *parents)
        twin = self.batch.rows.get(table, {}).get(ours)
        if raw is None and twin is not None:
            self.batch.note(f"{file}:{line}: the same row as line {twin.line}; imported once")
            return raw, ours
        added = self.batch.add(table, raw, values, file, line, key=key, global_id=ours)
        return raw, added

    def taxonomy(self, file: str, line: int, row: dict[str, str]) -> None:
        vocabulary = _get(row, "vocabulary")
        taxonomy_id = None
        if vocabulary is not None:
            taxonomy_id = self.batch.ref("taxonomies", vocabulary)
            if taxonomy_id not in self.batch.rows.get("taxonomies", {}):
                self.batch.add(
                    "taxonomies", vocabulary, {"name": vocabulary, "description": ""}, file, line
                )
        values = {
            "code": _get(row, "id"),
            "name": _get(row, "name"),
            "description": "",
            "parent_id": self.batch.ref("taxonomy_terms", _get(row, "parent_id")),
            "taxonomy": vocabulary,
            "taxonomy_id": taxonomy_id,
        }
        self._add("taxonomy_terms", "taxonomy_terms", file, line, row, values)

    def organization(self, file: str, line: int, row: dict[str, str]) -> None:
        year = _YEAR.match(_get(row, "year_incorporated") or "")
        values = {
            "name": _get(row, "name"),
            "alternate_name": _get(row, "alternate_name"),
            "description": _get(row, "description") or "",
            "email": _get(row, "email"),
            "website": _get(row, "url") or _get(row, "website"),
            "tax_status": _get(row, "tax_status"),
            "tax_id": _get(row, "tax_id"),
            "year_incorporated": year.group(1) if year else _get(row, "year_incorporated"),
            "legal_status": _get(row, "legal_status"),
        }
        self._add("organizations", "organizations", file, line, row, values)

    def location(self, file: str, line: int, row: dict[str, str]) -> None:
        organization = _get(row, "organization_id")
        values = {
            "organization_id": self.batch.ref("organizations", organization),
            "location_type": "physical",
            "name": _get(row, "name"),
            "alternate_name": _get(row, "alternate_name"),
            "description": _get(row, "description"),
            "transportation": _get(row, "transportation"),
            "latitude": _get(row, "latitude"),
            "longitude": _get(row, "longitude"),
        }
        self._add("locations", "locations", file, line, row, values, organization)

    def service(self, file: str, line: int, row: dict[str, str]) -> None:
        organization = _get(row, "organization_id")
        values = {
            "organization_id": self.batch.ref("organizations", organization),
            "name": _get(row, "name"),
            "alternate_name": _get(row, "alternate_name"),
            "description": _get(row, "description"),
            "url": _get(row, "url"),
            "email": _get(row, "email"),
            "status": (_get(row, "status") or "active").lower(),
            "interpretation_services": _get(row, "interpretation_services"),
            "application_process": _get(row, "application_process"),
            "wait_time": _get(row, "wait_time"),
            "fees_description": _get(row, "fees"),
            "accreditations": _get(row, "accreditations") or _get(row, "accrediations"),
            "licenses": _get(row, "licenses"),
        }
        raw, ours = self._add("services", "services", file, line, row, values, organization)
        if ours is None:
            return
        key = raw or ours
        location = _get(row, "location_id")  # HSDS 1.0: a service at one location
        if location is not None:
            pair = {"service_id": ours, "location_id": self.batch.ref("locations", location)}
            self.batch.add("service_at_location", f"{key}@{location}", pair, file, line)
        for code in (_get(row, "taxonomy_ids") or "").split(","):
            if code.strip():
                self._category(file, line, ours, key, code.strip(), None)

    def _category(
        self, file: str, line: int, service: str | None, key: str, code: str, detail: str | None
    ) -> None:
        values = {
            "link_id": service,
            "link_entity": "service",
            "link_type": "category",
            "taxonomy_term_id": self.batch.ref("taxonomy_terms", code),
            "value": detail,
        }
        self.batch.add("attributes", f"{key}:{code}", values, file, line)

    def service_taxonomy(self, file: str, line: int, row: dict[str, str]) -> None:
        service, code = _get(row, "service_id"), _get(row, "taxonomy_id")
        if service is None or code is None:
            missing = "service_id" if service is None else "taxonomy_id"
            self.batch.reject("attributes", file, line, f"missing {missing}")
            return
        ours = self.batch.ref("services", service)
        self._category(file, line, ours, service, code, _get(row, "taxonomy_detail"))

    def service_at_location(self, file: str, line: int, row: dict[str, str]) -> None:
        service, location = _get(row, "service_id"), _get(row, "location_id")
        values = {
            "service_id": self.batch.ref("services", service),
            "location_id": self.batch.ref("locations", location),
            "description": _get(row, "description"),
        }
        raw = _get(row, "id") or (f"{service}@{location}" if service and location else None)
        if raw is None:
            missing = "service_id" if service is None else "location_id"
            self.batch.reject("service_at_location", file, line, f"missing {missing}")
            return
        self.batch.add("service_at_location", raw, values, file, line)

    def _address(self, file: str, line: int, row: dict[str, str], kind: str) -> None:
        location = _get(row, "location_id")
        extra = [_get(row, f"address_{n}") for n in (2, 3, 4)]
        values = {
            "location_id": self.batch.ref("locations", location),
            "attention": _get(row, "attention"),
            "address_1": _get(row, "address_1"),
            "address_2": ", ".join(x for x in extra if x) or None,
            "city": _get(row, "city"),
            "region": _get(row, "region"),
            "state_province": _get(row, "state_province"),
            "postal_code": _get(row, "postal_code"),
            "country": _get(row, "country"),
            "address_type": kind,
        }
        self._add("addresses", f"{kind}_addresses", file, line, row, values, location)

    def physical_address(self, file: str, line: int, row: dict[str, str]) -> None:
        self._address(file, line, row, "physical")

    def postal_address(self, file: str, line: int, row: dict[str, str]) -> None:
        self._address(file, line, row, "postal")

    def phone(self, file: str, line: int, row: dict[str, str]) -> None:
        raw_parents = [
            _get(row, c)
            for c in ("location_id", "service_id", "organization_id", "service_at_location_id")
        ]
        parents = {
            "location_id": self.batch.ref("locations", raw_parents[0]),
            "service_id": self.batch.ref("services", raw_parents[1]),
            "organization_id": self.batch.ref("organizations", raw_parents[2]),
            "service_at_location_id": self.batch.ref("service_at_location", raw_parents[3]),
        }
        if not any(parents.values()) and _get(row, "contact_id"):
            self.batch.note(
                f"{file}:{line}: a contact's phone, not imported (contacts are not modelled)"
            )
            return
        values = {
            **parents,
            "number": _get(row, "number"),
            "extension": _get(row, "extension"),
            "type": (_get(row, "type") or "").lower() or None,
            "description": _get(row, "description") or _get(row, "department"),
        }
        raw, ours = self._add("phones", "phones", file, line, row, values, *raw_parents)
        if ours is None:
            return
        for code in (_get(row, "language") or "").split(","):
            if code.strip():
                name, iso = _language(code)
                language = {"phone_id": ours, "name": name, "code": iso}
                key = f"phone:{raw or ours}:{code.strip()}"
                self.batch.add("languages", key, language, file, line)

    def regular_schedule(self, file: str, line: int, row: dict[str, str]) -> None:
        day = _get(row, "weekday")
        if day is None:
            self.batch.reject("schedules", file, line, "missing weekday")
            return
        try:
            byday = weekday(day)
        except ValueError as error:
            self.batch.reject("schedules", file, line, str(error))
            return
        times = {}
        for name in ("opens_at", "closes_at"):
            text = _get(row, name)
            if text is not None:
                text, offset = strip_offset(text)
                if offset and file not in self.offsets_noted:
                    self.offsets_noted.add(file)
                    self.batch.note(
                        f"{file}:{line}: times carry a UTC offset; they are read as the "
                        "place's own clock time"
                    )
            times[name] = text
        columns = ("service_id", "location_id", "service_at_location_id")
        raw_parents = [_get(row, c) for c in columns]
        values = {
            "service_id": self.batch.ref("services", raw_parents[0]),
            "location_id": self.batch.ref("locations", raw_parents[1]),
            "service_at_location_id": self.batch.ref("service_at_location", raw_parents[2]),
            "freq": "WEEKLY",
            "byday": byday,
            **times,
        }
        self._add("schedules", "schedules", file, line, row, values, *raw_parents)

    def language(self, file: str, line: int, row: dict[str, str]) -> None:
        text = _get(row, "language")
        if text is None:
            self.batch.reject("languages", file, line, "missing language")
            return
        service, location = _get(row, "service_id"), _get(row, "location_id")
        name, code = _language(text)
        values = {
            "service_id": self.batch.ref("services", service),
            "location_id": self.batch.ref("locations", location),
            "name": name,
            "code": code,
        }
        self._add("languages", "languages", file, line, row, values, service, location)
