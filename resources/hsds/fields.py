"""The HSDS 3.0 fields we model, per table, in the specification's order, and the JSON
form of column values. Shared by the HSDS serializers, the exports and the importers."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

# HSDS field order per table, restricted to the fields we model (shared with the exports).
FIELDS: dict[str, list[str]] = {
    "organizations": [
        "id",
        "name",
        "alternate_name",
        "description",
        "email",
        "website",
        "tax_status",
        "tax_id",
        "year_incorporated",
        "legal_status",
        "logo",
        "uri",
        "parent_organization_id",
    ],
    "services": [
        "id",
        "organization_id",
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "interpretation_services",
        "application_process",
        "fees_description",
        "wait_time",
        "fees",
        "accreditations",
        "eligibility_description",
        "minimum_age",
        "maximum_age",
        "assured_date",
        "assurer_email",
        "licenses",
        "alert",
    ],
    "locations": [
        "id",
        "location_type",
        "url",
        "organization_id",
        "name",
        "alternate_name",
        "description",
        "transportation",
        "latitude",
        "longitude",
        "external_identifier",
        "external_identifier_type",
    ],
    "service_at_location": ["id", "service_id", "location_id", "description"],
    "addresses": [
        "id",
        "location_id",
        "attention",
        "address_1",
        "address_2",
        "city",
        "region",
        "state_province",
        "postal_code",
        "country",
        "address_type",
    ],
    "phones": [
        "id",
        "location_id",
        "service_id",
        "organization_id",
        "service_at_location_id",
        "number",
        "extension",
        "type",
        "description",
    ],
    "schedules": [
        "id",
        "service_id",
        "location_id",
        "service_at_location_id",
        "valid_from",
        "valid_to",
        "dtstart",
        "timezone",
        "until",
        "count",
        "wkst",
        "freq",
        "interval",
        "byday",
        "byweekno",
        "bymonthday",
        "byyearday",
        "description",
        "opens_at",
        "closes_at",
        "schedule_link",
        "attending_type",
        "notes",
    ],
    "languages": ["id", "service_id", "location_id", "phone_id", "name", "code", "note"],
    "taxonomies": ["id", "name", "description", "uri", "version"],
    "taxonomy_terms": [
        "id",
        "code",
        "name",
        "description",
        "parent_id",
        "taxonomy",
        "language",
        "taxonomy_id",
        "term_uri",
    ],
    "attributes": ["id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value"],
}


def plain(value: Any) -> Any:
    """A column value as JSON: dates ISO, enums by value, whole floats as integers."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def row_fields(table: str, row: Any) -> dict[str, Any]:
    """The modelled HSDS fields of one row, missing ones left out."""
    found = {}
    for name in FIELDS[table]:
        value = getattr(row, name)
        if value is not None:
            found[name] = plain(value)
    return found
