"""The HSDS 1.x CSV layout, as Open Referral published it from 1.0 to 1.1.1 (with or
without its ``datapackage.json``).

Files read (their usual names; a readable ``datapackage.json`` may name others):

* ``organizations.csv`` (``url`` becomes ``website``), ``locations.csv`` (a location may
  have no organization, or name one that is not in the files: it is kept without it, and
  that is noted), ``services.csv`` (``organization_id``; 1.0's ``location_id`` too),
* ``services_at_location.csv`` (or ``service_at_location.csv``),
* ``physical_addresses.csv`` and ``postal_addresses.csv`` (``address_2`` to ``address_4``
  joined into ``address_2``), ``phones.csv`` (belonging to a service, location,
  organization or service-at-location; ``language`` codes become phone languages),
* ``regular_schedules.csv`` (weekday numbers 1-7 or names in any case, times such as
  "9:00 AM", "9am", "0900", "09:00"), ``languages.csv``,
* ``taxonomy.csv`` (its ``vocabulary`` becomes the taxonomy), ``services_taxonomy.csv``
  and the deprecated ``taxonomy_ids`` of services (attributes linking services to terms).

Programs, contacts, holiday schedules, funding, eligibility, service areas, required
documents, payments, accessibility, fees, interpretation services and metadata are not
modelled: their files are noted. How each row is read is in ``hsds1_rows.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from resources.hsds.importers.batch import Batch
from resources.hsds.importers.hsds1_rows import Reader

# Our name for each modelled 1.x resource -> its usual file names (first is the spec's).
FILES: dict[str, tuple[str, ...]] = {
    "taxonomy": ("taxonomy.csv", "taxonomies.csv"),
    "organization": ("organizations.csv",),
    "location": ("locations.csv",),
    "service": ("services.csv",),
    "service_taxonomy": ("services_taxonomy.csv", "service_taxonomy.csv"),
    "service_at_location": (
        "services_at_location.csv",
        "service_at_location.csv",
        "services_at_locations.csv",
    ),
    "physical_address": ("physical_addresses.csv",),
    "postal_address": ("postal_addresses.csv",),
    "phone": ("phones.csv",),
    "regular_schedule": ("regular_schedules.csv",),
    "language": ("languages.csv",),
}
NOT_MODELLED = {
    "programs.csv": "programs",
    "contacts.csv": "contacts",
    "holiday_schedules.csv": "holiday schedules (closures)",
    "funding.csv": "funding",
    "eligibility.csv": "eligibility entries",
    "service_areas.csv": "service areas",
    "required_documents.csv": "required documents",
    "payments_accepted.csv": "accepted payments",
    "accessibility_for_disabilities.csv": "accessibility entries",
    "fees.csv": "fee entries",
    "interpretation_services.csv": "interpretation entries",
    "metadata.csv": "change metadata",
    "meta_table_descriptions.csv": "table descriptions",
}
# Names a data package may give a resource, besides ours.
ALIASES = {
    "organizations": "organization",
    "services": "service",
    "locations": "location",
    "services_at_location": "service_at_location",
    "service_taxonomies": "service_taxonomy",
    "services_taxonomy": "service_taxonomy",
    "phones": "phone",
    "physical_addresses": "physical_address",
    "postal_addresses": "postal_address",
    "regular_schedules": "regular_schedule",
    "languages": "language",
    "taxonomies": "taxonomy",
}


def files(batch: Batch, directory: Path) -> dict[str, Path]:
    """Resource -> CSV file: the usual names, then what a readable datapackage.json says.
    A package that cannot be read, or that names files that are absent, is noted."""
    found: dict[str, Path] = {}
    for resource, names in FILES.items():
        for name in names:
            if (directory / name).exists():
                found[resource] = directory / name
                break
    known = {p.name for p in found.values()}
    package = directory / "datapackage.json"
    if package.exists():
        label = f"{directory.name}/datapackage.json"
        try:
            data = json.loads(package.read_text(encoding="utf-8"))
            resources = data["resources"]
            if not isinstance(resources, list):
                raise TypeError("'resources' is not a list")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            what = "invalid JSON" if isinstance(error, ValueError) else "not a data package"
            batch.note(f"{label}: not readable ({what}: {error}); using the usual file names")
            resources = []
        for resource in resources:
            if not isinstance(resource, dict) or not resource.get("path"):
                continue
            name = str(resource.get("name", "")).strip().lower()
            name = ALIASES.get(name, name)
            path = directory / str(resource["path"])
            known.add(path.name)
            if not path.exists():
                batch.note(f"{label}: names {resource['path']} ('{name}'), which is absent")
                continue
            if name in FILES:
                found[name] = path
    for name, what in NOT_MODELLED.items():
        if (directory / name).exists():
            batch.note(f"{directory.name}/{name}: not imported (not modelled: {what})")
            known.add(name)
    for other in sorted(directory.glob("*.csv")):
        if other.name not in known:
            batch.note(f"{directory.name}/{other.name}: not imported (not an HSDS 1.x file)")
    return found


def parse(batch: Batch, directory: Path, on_file: Callable[[str, Exception], None]) -> None:
    """Read every modelled 1.x file of ``directory`` into ``batch``; a file that cannot
    be read is reported through ``on_file`` and the others go on."""
    batch.soft.add(("locations", "organization_id"))
    reader = Reader(batch)
    for resource, path in files(batch, directory).items():
        label = f"{directory.name}/{path.name}"
        try:
            for line, row in batch.read_csv(path, label):
                cells = {k.strip().lower(): v for k, v in row.items() if k}
                getattr(reader, resource)(label, line, cells)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            on_file(label, error)
