"""Exporting the directory as HSDS 3.0: JSON valid against the specification's schemas,
tabular packages with a datapackage.json, and both round-tripping what we model."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from resources.cli import resources_cli
from resources.hsds.export import export_json, export_tabular
from resources.hsds.fields import FIELDS, plain
from resources.hsds.importers import import_paths
from resources.hsds.serialize import organization_to_hsds, service_to_hsds
from resources.models import HSDS_TABLES as MODELS
from resources.models import BackgroundCheck, Organization, Service, YesNoUnknown

DATA = Path(__file__).resolve().parents[3] / "shared/data"
OHANA = DATA / "ohana-smc"
EXAMPLES = DATA / "hsds-3.0/examples"
COMPILED = DATA / "hsds-3.0/schema/compiled"
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# HSDS objects we do not model: the export has them empty or leaves them out.
UNMODELLED = {
    "contacts",
    "funding",
    "programs",
    "program",
    "organization_identifiers",
    "accessibility",
    "service_areas",
    "cost_options",
    "required_documents",
    "metadata",
}


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as session:
        yield session


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((COMPILED / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def errors(schema: Draft202012Validator, item: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in schema.iter_errors(item)]


def set_reentry_facts(db: Session) -> Service:
    service = db.scalars(select(Service).order_by(Service.id)).first()
    assert service is not None
    service.fair_chance = True
    service.background_check = BackgroundCheck.AFTER_CONDITIONAL_OFFER
    service.accepts_records = YesNoUnknown.YES
    service.narr_level = 2
    db.flush()
    return service


def test_every_exported_service_and_organization_is_valid_hsds(tmp_path: Path, db: Session) -> None:
    import_paths(db, [OHANA])
    set_reentry_facts(db)
    export_json(db, tmp_path)
    services = json.loads((tmp_path / "services.json").read_text(encoding="utf-8"))
    organizations = json.loads((tmp_path / "organizations.json").read_text(encoding="utf-8"))
    assert (len(services), len(organizations)) == (23, 8)
    service_schema, organization_schema = validator("service.json"), validator("organization.json")
    for item in services:
        assert errors(service_schema, item) == [], item["name"]
    for item in organizations:
        assert errors(organization_schema, item) == [], item["name"]
    taxonomies = json.loads((tmp_path / "taxonomies.json").read_text(encoding="utf-8"))
    assert {t["name"] for t in taxonomies} == {"homeward-reentry", "Open Eligibility"}


def test_reentry_facts_are_attributes_of_the_homeward_reentry_taxonomy(db: Session) -> None:
    import_paths(db, [OHANA])
    service = set_reentry_facts(db)
    attributes = service_to_hsds(db, service)["attributes"]
    facts = {
        a["taxonomy_term"]["code"]: a["value"]
        for a in attributes
        if a["taxonomy_term"].get("taxonomy") == "homeward-reentry"
    }
    assert facts == {
        "fair_chance": "true",
        "background_check": "after_conditional_offer",
        "accepts_records": "yes",
        "narr_level": "2",
    }
    assert all(
        a["taxonomy_term"]["taxonomy_detail"]["name"] == "homeward-reentry"
        for a in attributes
        if a["taxonomy_term"]["code"] in facts
    )


def test_service_object_carries_locations_phones_schedules_and_categories(db: Session) -> None:
    import_paths(db, [OHANA])
    passport = db.scalars(select(Service).where(Service.source_id == "22")).one()
    item = service_to_hsds(db, passport)
    (at,) = item["service_at_locations"]
    assert at["location"]["addresses"][0]["address_1"] == "2013 Avenue of the fellows"
    assert {s["byday"] for s in at["location"]["schedules"]} == set(
        ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    )
    assert {s["opens_at"] for s in item["schedules"]} == {"08:00", "14:00", "10:00"}
    assert {p["type"] for p in item["phones"]} == {"voice", "fax", "sms"}
    assert item["languages"] == [
        {
            "id": item["languages"][0]["id"],
            "service_id": passport.id,
            "name": "Spanish",
            "code": "es",
        }
    ]
    codes = sorted(a["taxonomy_term"]["code"] for a in item["attributes"])
    assert codes == ["105", "108", "108-05", "108-05-01", "111", "111-05"]
    assert (
        item["organization"]["name"]
        == organization_to_hsds(db, db.get(Organization, passport.organization_id))["name"]
    )


def _fixed(tmp_path: Path, name: str) -> Path:
    """The example with valid coordinates (it uses latitude 100, which we reject)."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    text = text.replace('"latitude": 100', '"latitude": 51.5').replace(
        '"longitude": 101', '"longitude": -0.12'
    )
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _same(source: Any, exported: Any, where: str, dropped: set[str]) -> None:
    """Every field of ``source`` we model is in ``exported`` with the same value."""
    if isinstance(source, list):
        by_id = {x["id"]: x for x in exported}
        for item in source:
            assert item["id"] in by_id, where
            _same(item, by_id[item["id"]], f"{where}/{item['id']}", dropped)
        return
    modelled = {f for fields in FIELDS.values() for f in fields}
    for key, value in source.items():
        if key in dropped or key in UNMODELLED:
            continue
        if key == "locations" and where.endswith("/organization"):
            continue  # a service's organization comes without its locations
        if isinstance(value, (list, dict)):
            assert key in exported, f"{where}/{key}"
            _same(value, exported[key], f"{where}/{key}", dropped)
        elif key in modelled:
            assert exported.get(key) == value, f"{where}/{key}"


def test_hsds_examples_round_trip_every_field_we_model(tmp_path: Path, db: Session) -> None:
    service_file, organization_file = (
        _fixed(tmp_path, "service_full.json"),
        _fixed(tmp_path, "organization_full.json"),
    )
    summary = import_paths(db, [service_file, organization_file])
    assert summary.rejects == []
    export_json(db, tmp_path / "out")
    services = json.loads((tmp_path / "out/services.json").read_text(encoding="utf-8"))
    organizations = json.loads((tmp_path / "out/organizations.json").read_text(encoding="utf-8"))
    # Links to records the examples do not contain cannot be kept (they are noted).
    dropped = {"parent_organization_id", "parent_id"}
    _same([json.loads(service_file.read_text())], services, "service", dropped)
    _same([json.loads(organization_file.read_text())], organizations, "organization", dropped)
    assert any("parent_organization_id" in n for n in summary.notes)


def _fields_snapshot(db: Session) -> dict[str, dict[str, tuple[Any, ...]]]:
    reentry = ("fair_chance", "background_check", "accepts_records", "narr_level")
    found = {}
    for table, fields in FIELDS.items():
        extra = reentry if table == "services" else ()
        found[table] = {
            row.id: tuple(plain(getattr(row, f)) for f in (*fields, *extra))
            for row in db.scalars(select(MODELS[table]))
        }
    return found


def test_tabular_export_lists_every_csv_and_reimports_to_the_same_data(
    tmp_path: Path, app: Flask
) -> None:
    maker = app.extensions["homeward.db"].sessionmaker
    with app.app_context(), maker.begin() as db:
        import_paths(db, [OHANA])
        set_reentry_facts(db)
    with app.app_context(), maker.begin() as db:
        written = export_tabular(db, tmp_path / "package")
        before = _fields_snapshot(db)
    package = json.loads((tmp_path / "package/datapackage.json").read_text(encoding="utf-8"))
    listed = {r["path"] for r in package["resources"]}
    assert listed == set(written) == {p.name for p in (tmp_path / "package").glob("*.csv")}
    for resource in package["resources"]:
        with (tmp_path / "package" / resource["path"]).open(newline="") as handle:
            assert next(csv.reader(handle)) == [f["name"] for f in resource["schema"]["fields"]]
    with app.app_context(), maker.begin() as db:
        summary = import_paths(db, [tmp_path / "package"])
        assert (summary.total.created, summary.total.updated, summary.rejects) == (0, 0, [])
        for model in reversed(list(MODELS.values())):
            db.execute(delete(model))
    with app.app_context(), maker.begin() as db:
        summary = import_paths(db, [tmp_path / "package"])
        assert summary.rejects == [] and summary.failed == []
        assert _fields_snapshot(db) == before


def test_json_export_reimports_to_the_same_data(tmp_path: Path, app: Flask) -> None:
    maker = app.extensions["homeward.db"].sessionmaker
    with app.app_context(), maker.begin() as db:
        import_paths(db, [OHANA])
        set_reentry_facts(db)
    with app.app_context(), maker.begin() as db:
        export_json(db, tmp_path / "json")
        before = _fields_snapshot(db)
        for model in reversed(list(MODELS.values())):
            db.execute(delete(model))
    with app.app_context(), maker.begin() as db:
        summary = import_paths(db, [tmp_path / "json"])
        assert summary.rejects == [] and summary.failed == []
        after = _fields_snapshot(db)
    # Ohana's taxonomy terms that no service uses and ... all terms are in taxonomy_terms.json.
    assert after == before


def test_cli_export_writes_both_formats(tmp_path: Path, app: Flask) -> None:
    if "resources" not in app.cli.commands:
        app.cli.add_command(resources_cli)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["resources", "import", str(OHANA)]).exit_code == 0
    result = runner.invoke(args=["resources", "export", str(tmp_path), "--format", "both"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "json/services.json").exists()
    assert (tmp_path / "tabular/datapackage.json").exists()
