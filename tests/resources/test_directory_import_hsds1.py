"""Importing the HSDS 1.x CSV layout (Open Referral 1.0 to 1.1.1): tests/data/hsds-1.1 is a
small fictional package with every 1.1 file and the mess real exports have (rows without
ids, services of organizations not in the files, locations without an organization or
coordinates, times and weekdays written many ways, bad rows)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resources.cli import resources_cli
from resources.hsds.importers import detect, import_paths
from resources.hsds.importers.checks import clock, weekday
from resources.models import (
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from resources.search.models import OpeningHours

HSDS1 = Path(__file__).resolve().parent / "data/hsds-1.1"
DATA = Path(__file__).resolve().parents[3] / "shared/data"
MODELS = (
    Organization,
    Location,
    Service,
    ServiceAtLocation,
    Address,
    Phone,
    Schedule,
    Language,
    Attribute,
    Taxonomy,
    TaxonomyTerm,
)
# What the package holds that can be imported, per table.
EXPECTED = {
    "organizations": 3,
    "locations": 6,
    "services": 4,
    "service_at_location": 4,
    "addresses": 4,
    "phones": 5,
    "schedules": 8,
    "languages": 5,
    "attributes": 4,
    "taxonomies": 1,
    "taxonomy_terms": 4,
}
REJECTS = {
    "hsds-1.1/organizations.csv:5: missing name",
    "hsds-1.1/locations.csv:7: bad coordinates: latitude 137.5 is outside -90..90",
    "hsds-1.1/services.csv:5: organization_id 'org-404' is unknown or was rejected",
    "hsds-1.1/services.csv:6: missing organization_id",
    "hsds-1.1/services.csv:7: status 'open' is not one of: active, inactive, defunct, "
    "temporarily closed",
    "hsds-1.1/services.csv:9: organization_id 'org-4' is unknown or was rejected",
    "hsds-1.1/services_taxonomy.csv:4: taxonomy_term_id '999' is unknown or was rejected",
    "hsds-1.1/services_taxonomy.csv:5: link_id 'svc-404' (service) is unknown or was rejected",
    "hsds-1.1/services_at_location.csv:6: location_id 'loc-404' is unknown or was rejected",
    "hsds-1.1/services_at_location.csv:7: service_id 'svc-4' is unknown or was rejected",
    "hsds-1.1/physical_addresses.csv:5: missing city",
    "hsds-1.1/postal_addresses.csv:3: missing location_id",
    "hsds-1.1/phones.csv:7: missing number",
    "hsds-1.1/phones.csv:9: service_id 'svc-404' is unknown or was rejected",
    "hsds-1.1/regular_schedules.csv:9: weekday 'Funday' is not a day of the week",
    "hsds-1.1/regular_schedules.csv:10: opens_at: '25:00' is not a time of day "
    "(hours 0-23, minutes 0-59)",
    "hsds-1.1/regular_schedules.csv:11: service_id 'svc-404' is unknown or was rejected",
    "hsds-1.1/languages.csv:5: service_id 'svc-404' is unknown or was rejected",
    "hsds-1.1/taxonomy.csv:6: missing name",
}


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as session:
        yield session


def count(db: Session, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def counts(db: Session) -> dict[str, int]:
    return {m.__tablename__: count(db, m) for m in MODELS}


def copy(tmp_path: Path, name: str = "hsds-1.1") -> Path:
    target = tmp_path / name
    shutil.copytree(HSDS1, target)
    return target


def by_source(db: Session, model: Any, source_id: str) -> Any:
    return db.scalars(select(model).where(model.source_id == source_id)).one()


def test_every_row_that_has_what_it_needs_lands_and_every_other_is_reported(
    db: Session,
) -> None:
    summary = import_paths(db, [HSDS1])
    assert summary.failed == []
    assert summary.layouts == [(str(HSDS1), "HSDS 1.x CSV")]
    assert {str(r) for r in summary.rejects} == REJECTS
    assert len(summary.rejects) == len(REJECTS) == summary.total.rejected
    assert counts(db) == EXPECTED
    for table, expected in EXPECTED.items():
        assert summary.tables[table].created == expected, table
    # Every data row of a modelled file is accounted for: imported, rejected or noted.
    assert summary.total.read == sum(EXPECTED.values()) + len(REJECTS)
    assert any("phones.csv:6: a contact's phone" in n for n in summary.notes)
    for name in ("programs.csv", "contacts.csv", "holiday_schedules.csv", "metadata.csv"):
        assert any(f"hsds-1.1/{name}: not imported" in n for n in summary.notes), name


def test_services_link_to_locations_through_services_at_location(db: Session) -> None:
    import_paths(db, [HSDS1])
    workshop = by_source(db, Service, "svc-1")
    places = db.scalars(
        select(Location.source_id)
        .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
        .where(ServiceAtLocation.service_id == workshop.id)
    ).all()
    assert sorted(places) == ["loc-1", "loc-3"]
    assert workshop.organization_id == by_source(db, Organization, "org-1").id
    assert (workshop.url, workshop.fees_description) == ("http://scw.example/jobs", "Free")
    beds = by_source(db, Service, "svc-3")
    assert beds.status.value == "temporarily closed"
    assert by_source(db, Service, "svc-2").status.value == "active"  # "Active"
    org = by_source(db, Organization, "org-2")
    assert (org.website, org.year_incorporated) == ("http://harbor.example", 2004)
    codes = db.scalars(
        select(TaxonomyTerm.code)
        .join(Attribute, Attribute.taxonomy_term_id == TaxonomyTerm.id)
        .where(Attribute.link_id == workshop.id)
    ).all()
    assert sorted(codes) == ["106", "106-01"]  # taxonomy_ids and services_taxonomy.csv
    term = db.scalars(select(TaxonomyTerm).where(TaxonomyTerm.code == "106-01")).one()
    assert term.path == "/106/106-01/" and term.taxonomy == "Open Eligibility"


def test_locations_without_organization_or_coordinates_are_kept(db: Session) -> None:
    summary = import_paths(db, [HSDS1])
    assert by_source(db, Location, "loc-4").organization_id is None
    assert by_source(db, Location, "loc-5").organization_id is None  # org-999: not in files
    assert any(
        "locations.csv:6: organization_id 'org-999' is unknown" in n and "imported without it" in n
        for n in summary.notes
    )
    annex = by_source(db, Location, "loc-3")
    assert (annex.latitude, annex.longitude) == (None, None)
    assert annex.organization_id == by_source(db, Organization, "org-1").id


def test_phones_addresses_and_languages(db: Session) -> None:
    import_paths(db, [HSDS1])
    front = by_source(db, Phone, "ph-1")
    assert front.location_id == by_source(db, Location, "loc-1").id
    languages = db.scalars(select(Language).where(Language.phone_id == front.id)).all()
    assert sorted((x.code, x.name) for x in languages) == [("en", "English"), ("es", "Spanish")]
    jobs = by_source(db, Phone, "ph-2")
    assert (jobs.description, jobs.extension) == ("Jobs desk", 12)  # department
    sal = by_source(db, ServiceAtLocation, "sal-1")
    assert by_source(db, Phone, "ph-4").service_at_location_id == sal.id
    assert by_source(db, Phone, "ph-3").organization_id == by_source(db, Organization, "org-2").id
    main = by_source(db, Address, "pa-1")
    assert (main.address_type, main.address_2) == ("physical", "Suite 200, Floor 2")
    assert by_source(db, Address, "pa-2").region == "Alameda County"
    assert by_source(db, Address, "po-1").address_type == "postal"
    spoken = {
        (x.code, x.name) for x in db.scalars(select(Language).where(Language.phone_id.is_(None)))
    }
    assert spoken == {("es", "Spanish"), ("vi", "Vietnamese"), ("zh", "Chinese")}


def test_schedules_read_times_and_weekdays_written_many_ways(db: Session) -> None:
    import_paths(db, [HSDS1])
    found = {
        (s.source_id, s.byday, s.opens_at, s.closes_at)
        for s in db.scalars(select(Schedule))
        if s.source_id
    }
    assert found == {
        ("rs-1", "MO", "09:00", "17:00"),  # 1, "9:00 AM", "5:00 PM"
        ("rs-2", "TU", "09:00", "17:00"),  # "tuesday", "9am", "5pm"
        ("rs-3", "WE", "09:00", "17:30"),  # "WED", "0900", "1730"
        ("rs-4", "TH", "09:00", "17:00"),  # "Th"
        ("rs-5", "FR", "10:00", "12:00"),  # 5
        ("rs-6", "MO", "18:00", "20:00"),  # "MON", a service at a location
        ("rs-11", "SA", "09:00", "13:00"),  # "sa"
    }
    (sunday,) = db.scalars(select(Schedule).where(Schedule.source_id.is_(None))).all()
    assert (sunday.byday, sunday.opens_at, sunday.closes_at) == ("SU", "08:00", "20:00")
    assert {s.freq for s in db.scalars(select(Schedule))} == {"WEEKLY"}
    assert by_source(db, Schedule, "rs-6").service_at_location_id == (
        by_source(db, ServiceAtLocation, "sal-1").id
    )
    workshop = by_source(db, Service, "svc-1")
    hours = db.scalars(select(OpeningHours).where(OpeningHours.service_id == workshop.id)).all()
    assert (4, 600, 720) in {(h.weekday, h.opens_minute, h.closes_minute) for h in hours}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:00 AM", "09:00"),
        ("9am", "09:00"),
        ("0900", "09:00"),
        ("09:00", "09:00"),
        ("1730", "17:30"),
        ("5:30 pm", "17:30"),
        ("12 PM", "12:00"),
    ],
)
def test_clock_times(text: str, expected: str) -> None:
    assert clock("opens_at", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monday", "MO"),
        ("MON", "MO"),
        ("Mo", "MO"),
        ("1", "MO"),
        ("Tues", "TU"),
        ("thu.", "TH"),
        ("SATURDAY", "SA"),
        ("7", "SU"),
        ("Su", "SU"),
    ],
)
def test_weekdays(text: str, expected: str) -> None:
    assert weekday(text) == expected


@pytest.mark.parametrize("text", ["S", "T", "8", "Funday", ""])
def test_ambiguous_or_unknown_weekdays_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a day of the week"):
        weekday(text)


def test_rows_without_ids_get_ids_from_their_parent_and_content(tmp_path: Path, app: Flask) -> None:
    maker = app.extensions["homeward.db"].sessionmaker
    with app.app_context(), maker.begin() as db:
        import_paths(db, [HSDS1])
        kits = db.scalars(select(Service).where(Service.name == "Move-in kits")).one()
        first = {
            "kits": kits.id,
            "org": db.scalars(select(Organization).where(Organization.source_id.is_(None)))
            .one()
            .id,
            "sunday": db.scalars(select(Schedule).where(Schedule.source_id.is_(None))).one().id,
        }
        assert (
            kits.source_id is None
            and kits.organization_id == by_source(db, Organization, "org-2").id
        )
    # The same package elsewhere, its rows in another order and spaces around its cells:
    # the same ids (the source is the folder's name, as before).
    moved = copy(tmp_path / "elsewhere")
    services = (moved / "services.csv").read_text(encoding="utf-8").splitlines()
    services = [services[0], *reversed(services[1:])]
    text = "\n".join(services) + "\n"
    (moved / "services.csv").write_text(text.replace(",Move-in kits,", ",  Move-in kits ,"))
    with app.app_context(), maker.begin() as db:
        summary = import_paths(db, [moved])
        assert (summary.total.created, summary.total.updated) == (0, 0)
        assert (
            db.scalars(select(Service).where(Service.name == "Move-in kits")).one().id
            == first["kits"]
        )
    # Its content changed: a new row (the old one is not deleted by an import).
    (moved / "services.csv").write_text(text.replace("Move-in kits", "Move-in boxes"))
    with app.app_context(), maker.begin() as db:
        summary = import_paths(db, [moved])
        assert summary.tables["services"].created == 1
        assert (
            db.scalars(select(Service).where(Service.name == "Move-in boxes")).one().id
            != first["kits"]
        )


def _snapshot(db: Session) -> dict[tuple[str, str], Any]:
    found = {}
    for model in MODELS:
        for row in db.scalars(select(model)):
            found[(model.__tablename__, row.id)] = (
                row.updated_at,
                getattr(row, "sync_version", None),
            )
    return found


def test_a_second_import_changes_nothing(app: Flask) -> None:
    maker = app.extensions["homeward.db"].sessionmaker
    with app.app_context(), maker.begin() as db:
        import_paths(db, [HSDS1])
    with app.app_context(), maker.begin() as db:
        before = _snapshot(db)
    with app.app_context(), maker.begin() as db:
        summary = import_paths(db, [HSDS1])
    with app.app_context(), maker.begin() as db:
        assert _snapshot(db) == before
    assert (summary.total.created, summary.total.updated) == (0, 0)
    assert summary.total.unchanged == sum(EXPECTED.values())
    assert {str(r) for r in summary.rejects} == REJECTS


def test_without_datapackage_json_and_with_other_file_names(tmp_path: Path, db: Session) -> None:
    bare = copy(tmp_path)
    (bare / "datapackage.json").unlink()
    (bare / "services_at_location.csv").rename(bare / "service_at_location.csv")
    summary = import_paths(db, [bare])
    assert summary.failed == []
    assert not [n for n in summary.notes if "datapackage" in n]
    assert counts(db) == EXPECTED
    assert {
        str(r).replace("services_at_location.csv", "service_at_location.csv") for r in REJECTS
    } == {str(r) for r in summary.rejects}


def test_a_broken_datapackage_is_reported_and_the_usual_names_are_read(
    tmp_path: Path, db: Session
) -> None:
    broken = copy(tmp_path)
    (broken / "datapackage.json").write_text('{"resources": [', encoding="utf-8")
    summary = import_paths(db, [broken])
    assert [n for n in summary.notes if "datapackage.json" in n] == [
        "hsds-1.1/datapackage.json: not readable (invalid JSON: Expecting value: line 1 "
        "column 16 (char 15)); using the usual file names"
    ]
    assert counts(db) == EXPECTED


def test_a_dangling_datapackage_is_reported_and_what_it_names_is_read(
    tmp_path: Path, db: Session
) -> None:
    moved = copy(tmp_path)
    package = json.loads((moved / "datapackage.json").read_text(encoding="utf-8"))
    for resource in package["resources"]:
        if resource["name"] == "service_at_location":
            resource["path"] = "links.csv"
        if resource["name"] == "phone":
            resource["path"] = "telephones.csv"
    (moved / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    (moved / "services_at_location.csv").rename(moved / "links.csv")
    (moved / "phones.csv").unlink()
    summary = import_paths(db, [moved])
    assert [n for n in summary.notes if "datapackage.json" in n] == [
        "hsds-1.1/datapackage.json: names telephones.csv ('phone'), which is absent"
    ]
    assert count(db, ServiceAtLocation) == EXPECTED["service_at_location"]
    assert count(db, Phone) == 0


def test_layout_comes_from_the_headers_not_the_folder_name(tmp_path: Path) -> None:
    as_ohana = copy(tmp_path, "ohana-smc")
    assert detect(as_ohana) == "hsds1"
    ohana = tmp_path / "hsds-1.1"
    shutil.copytree(DATA / "ohana-smc", ohana)
    assert detect(ohana) == "ohana"
    tabular = tmp_path / "regular"
    shutil.copytree(DATA / "hsds-3.0/examples/csv", tabular)
    assert detect(tabular) == "tabular"
    hsds10 = copy(tmp_path, "csv")
    # HSDS 1.0: services also name their location; no services_taxonomy.csv.
    (hsds10 / "services_taxonomy.csv").unlink()
    assert detect(hsds10) == "hsds1"


def test_hsds_1_0_services_with_a_location_id(tmp_path: Path, db: Session) -> None:
    folder = tmp_path / "v10"
    folder.mkdir()
    (folder / "organizations.csv").write_text("id,name,description,url\n1,Org,Helps,\n")
    (folder / "locations.csv").write_text(
        "id,organization_id,name,latitude,longitude\n7,1,Hall,,\n"
    )
    (folder / "services.csv").write_text(
        "id,organization_id,location_id,program_id,name,status,taxonomy_ids\n3,1,7,,Meals,active,\n"
    )
    (folder / "regular_schedules.csv").write_text(
        "id,service_id,location_id,weekday,opens_at,closes_at\n1,3,,Friday,11:30 AM,1:30 PM\n"
    )
    summary = import_paths(db, [folder])
    assert summary.layouts[0][1] == "HSDS 1.x CSV" and summary.rejects == []
    (pair,) = db.scalars(select(ServiceAtLocation)).all()
    assert pair.location_id == by_source(db, Location, "7").id
    (schedule,) = db.scalars(select(Schedule)).all()
    assert (schedule.byday, schedule.opens_at, schedule.closes_at) == ("FR", "11:30", "13:30")


class Recorder:
    def __init__(self) -> None:
        self.files: list[str] = []
        self.rows = 0
        self.planned: tuple[int, int] | None = None

    def begin(self, files: int, rows: int) -> None:
        self.planned = (files, rows)

    def file(self, label: str) -> None:
        self.files.append(label)

    def advance(self, rows: int) -> None:
        self.rows += rows


def test_progress_is_told_of_every_file_and_row(db: Session) -> None:
    recorder = Recorder()
    import_paths(db, [HSDS1, DATA / "ohana-smc"], progress=recorder)
    assert recorder.planned is not None
    files, rows = recorder.planned
    read = [f for f in recorder.files if not f.startswith("writing ")]
    assert len(read) == files == 11 + 8
    assert "hsds-1.1/services_at_location.csv" in read
    assert recorder.rows == rows > 67
    assert recorder.files[-1] == "writing ohana-smc"


def test_cli_shows_progress_the_layout_and_the_summary(app: Flask) -> None:
    if "resources" not in app.cli.commands:
        app.cli.add_command(resources_cli)
    result = app.test_cli_runner().invoke(args=["resources", "import", str(HSDS1)])
    assert result.exit_code == 0, result.output
    assert "Importing" in result.stderr
    assert f"{HSDS1}: read as HSDS 1.x CSV" in result.stdout
    assert "hsds-1.1/services.csv:5: organization_id 'org-404' is unknown" in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"rows read {sum(EXPECTED.values()) + len(REJECTS)}, created {sum(EXPECTED.values())}, "
        f"updated 0, unchanged 0, rejected {len(REJECTS)}"
    )
