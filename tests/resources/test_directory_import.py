"""Importing directories: Ohana CSV, HSDS 3.0 JSON and tabular; bad rows reported with
file, line and reason; re-imports change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resources.cli import resources_cli
from resources.hsds.importers import import_paths
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
    TaxonomyTerm,
)
from resources.search.models import OpeningHours, SearchDocument

DATA = Path(__file__).resolve().parents[3] / "shared/data"
OHANA = DATA / "ohana-smc"
TABLES = (Organization, Location, Service, ServiceAtLocation, Address, Phone, Schedule, Language)


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as session:
        yield session


def count(db: Session, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def service_named(db: Session, name: str) -> Service:
    return db.scalars(select(Service).where(Service.name == name)).one()


def test_ohana_import_gives_8_organizations_22_locations_23_services(db: Session) -> None:
    summary = import_paths(db, [OHANA])
    assert summary.failed == []
    assert (count(db, Organization), count(db, Location), count(db, Service)) == (8, 22, 23)
    assert count(db, ServiceAtLocation) == 23
    assert count(db, Schedule) == 11
    assert count(db, Address) == 42  # 21 physical + 21 postal
    assert count(db, Phone) == 48  # 54 rows; 6 belong to contacts (noted, not modelled)
    assert summary.tables["services"].created == 23
    assert summary.rejects == []
    assert any("holiday_schedules.csv" in note for note in summary.notes)


def test_ohana_ids_are_stable_uuids_keeping_the_source_id(db: Session) -> None:
    import_paths(db, [OHANA])
    organization = db.scalars(select(Organization).where(Organization.source_id == "1")).one()
    assert organization.name == "Peninsula Family Service"
    assert organization.source == "ohana-smc"
    assert len(organization.id) == 36 and organization.last_verified_at is not None


def test_ohana_schedules_become_weekly_hsds_schedules_with_hhmm_times(db: Session) -> None:
    import_paths(db, [OHANA])
    rows = db.scalars(select(Schedule).order_by(Schedule.source_id)).all()
    by_source = {int(r.source_id or 0): r for r in rows}
    assert {r.freq for r in rows} == {"WEEKLY"}
    assert (by_source[1].byday, by_source[1].opens_at, by_source[1].closes_at) == (
        "MO",
        "08:00",
        "17:00",
    )
    assert by_source[9].closes_at == "16:00"  # "4:00 PM"
    assert by_source[10].closes_at == "15:00"  # "3pm"
    assert by_source[13].opens_at == "09:00"  # "9am"
    location = db.scalars(select(Location).where(Location.source_id == "22")).one()
    assert by_source[6].location_id == location.id and by_source[6].byday == "SA"
    passport = db.scalars(select(Service).where(Service.source_id == "22")).one()
    assert by_source[8].service_id == passport.id
    hours = db.scalars(select(OpeningHours).where(OpeningHours.service_id == passport.id)).all()
    assert {(h.weekday, h.opens_minute, h.closes_minute) for h in hours} >= {(0, 480, 720)}


def test_ohana_phones_languages_and_categories(db: Session) -> None:
    import_paths(db, [OHANA])
    passport = db.scalars(select(Service).where(Service.source_id == "22")).one()
    assert passport.email == "passports@example.org" and passport.url == "http://www.example.com"
    phones = db.scalars(select(Phone).where(Phone.service_id == passport.id)).all()
    assert {p.type for p in phones} == {"voice", "fax", "sms"}
    assert {p.description for p in phones} >= {"Passport Photos"}
    assert [
        (x.name, x.code)
        for x in db.scalars(select(Language).where(Language.service_id == passport.id))
    ] == [("Spanish", "es")]
    location = db.scalars(select(Location).where(Location.source_id == "2")).one()
    codes = {
        x.name: x.code
        for x in db.scalars(select(Language).where(Language.location_id == location.id))
    }
    assert codes == {"Chinese (Mandarin)": "zh", "Tagalog": "tl", "Italian": "it", "Spanish": "es"}
    terms = db.scalars(
        select(TaxonomyTerm)
        .join(Attribute, Attribute.taxonomy_term_id == TaxonomyTerm.id)
        .where(Attribute.link_id == passport.id, Attribute.link_entity == "service")
    ).all()
    assert sorted(t.code for t in terms) == ["105", "108", "108-05", "108-05-01", "111", "111-05"]
    leaf = next(t for t in terms if t.code == "108-05-01")
    assert leaf.path == "/108/108-05/108-05-01/"
    assert (
        db.scalars(select(TaxonomyTerm).where(TaxonomyTerm.code == "101-02")).one().path
        == "/101/101-02/"
    )
    assert count(db, TaxonomyTerm) == 290
    postal = db.scalars(select(Address).where(Address.address_type == "postal")).first()
    assert postal is not None and postal.attention


def test_ohana_locations_keep_coordinates_and_virtual_locations(db: Session) -> None:
    import_paths(db, [OHANA])
    first = db.scalars(select(Location).where(Location.source_id == "1")).one()
    assert (first.latitude, first.longitude) == (37.477227, -122.213221)
    assert first.name == "Fair Oaks Adult Activity Center"
    virtual = db.scalars(select(Location).where(Location.source_id == "20")).one()
    assert virtual.location_type == "virtual" and virtual.latitude is None


def test_imported_services_are_searchable(db: Session) -> None:
    import_paths(db, [OHANA])
    assert count(db, SearchDocument) == 23
    passport = db.scalars(select(Service).where(Service.source_id == "22")).one()
    body = db.get(SearchDocument, ("service", passport.id))
    assert body is not None and passport.name.lower().split()[0] in body.body


def _snapshot(db: Session) -> dict[tuple[str, str], Any]:
    return {
        (model.__tablename__, row.id): row.updated_at
        for model in (*TABLES, Attribute, TaxonomyTerm)
        for row in db.scalars(select(model))
    }


def test_reimporting_ohana_changes_nothing(app: Flask) -> None:
    maker = app.extensions["homeward.db"].sessionmaker
    with app.app_context(), maker.begin() as db:
        import_paths(db, [OHANA])
    with app.app_context(), maker.begin() as db:
        before = _snapshot(db)
        counts = [count(db, m) for m in TABLES]
    with app.app_context(), maker.begin() as db:
        summary = import_paths(db, [OHANA])
    with app.app_context(), maker.begin() as db:
        assert _snapshot(db) == before
        assert [count(db, m) for m in TABLES] == counts
    assert (summary.total.created, summary.total.updated) == (0, 0)
    assert summary.total.unchanged == summary.total.read - summary.total.rejected


def test_reimport_updates_a_changed_row_in_place(tmp_path: Path, db: Session) -> None:
    copy = tmp_path / "ohana-smc"
    copy.mkdir()
    for file in OHANA.glob("*.csv"):
        (copy / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    import_paths(db, [copy])
    text = (copy / "organizations.csv").read_text(encoding="utf-8")
    (copy / "organizations.csv").write_text(
        text.replace("Peninsula Volunteers,", "Peninsula Volunteers Inc,")
    )
    summary = import_paths(db, [copy])
    assert summary.tables["organizations"].updated == 1 and summary.total.created == 0
    assert count(db, Organization) == 8


def write_csv(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text.strip() + "\n", encoding="utf-8")


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    folder.mkdir()
    write_csv(folder, "organizations.csv", "id,name,description\n1,Good Org,x\n2,,missing name")
    write_csv(
        folder,
        "locations.csv",
        "id,organization_id,name,latitude,longitude\n"
        "1,1,Good place,37.5,-122.2\n"
        "2,1,Bad latitude,95,-122\n"
        "3,1,Bad number,abc,-122\n"
        "4,99,Orphan,37.5,-122.2\n"
        "5,1,Bad longitude,37,200",
    )
    write_csv(
        folder,
        "services.csv",
        "id,location_id,name,status\n1,1,Good service,active\n2,2,Lost,active",
    )
    write_csv(
        folder,
        "regular_schedules.csv",
        "id,location_id,service_id,weekday,opens_at,closes_at\n"
        "1,1,,Monday,9am,5:00 PM\n2,1,,Tuesday,25:00,17:00\n3,,1,Friday,noonish,17:00",
    )
    write_csv(folder, "phones.csv", "id,location_id,service_id,number\n1,,1,555\n2,,42,556")
    write_csv(folder, "taxonomy.csv", "taxonomy_id,name,parent_id,parent_name\n101,Emergency,,")
    return folder


def test_broken_rows_are_reported_with_file_line_and_reason(db: Session, broken: Path) -> None:
    summary = import_paths(db, [broken])
    assert summary.failed == []
    found = {(r.file, r.line): r.reason for r in summary.rejects}
    assert "missing name" in found[("broken/organizations.csv", 3)]
    assert "latitude 95 is outside -90..90" in found[("broken/locations.csv", 3)]
    assert "latitude 'abc' is not a number" in found[("broken/locations.csv", 4)]
    assert "organization_id '99'" in found[("broken/locations.csv", 5)]
    assert "longitude 200 is outside -180..180" in found[("broken/locations.csv", 6)]
    assert "location_id '2' is unknown" in found[("broken/services.csv", 3)]
    assert "'25:00' is not a time of day" in found[("broken/regular_schedules.csv", 3)]
    assert "'noonish' is not a time of day" in found[("broken/regular_schedules.csv", 4)]
    assert "service_id '42'" in found[("broken/phones.csv", 3)]
    assert len(summary.rejects) == 9
    assert [str(r) for r in summary.rejects if r.line == 4 and "noonish" in r.reason] == [
        "broken/regular_schedules.csv:4: opens_at: 'noonish' is not a time of day (use HH:MM)"
    ]


def test_good_rows_of_a_broken_directory_are_kept(db: Session, broken: Path) -> None:
    import_paths(db, [broken])
    assert [o.name for o in db.scalars(select(Organization))] == ["Good Org"]
    assert [x.name for x in db.scalars(select(Location))] == ["Good place"]
    # "Lost" is a good service at a rejected location: kept, without that location.
    assert sorted(s.name for s in db.scalars(select(Service))) == ["Good service", "Lost"]
    assert count(db, ServiceAtLocation) == 1
    (schedule,) = db.scalars(select(Schedule)).all()
    assert (schedule.opens_at, schedule.closes_at) == ("09:00", "17:00")
    assert count(db, Phone) == 1


def test_an_unreadable_file_does_not_stop_other_paths(tmp_path: Path, db: Session) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    summary = import_paths(db, [bad, OHANA])
    assert [label for label, _ in summary.failed] == ["bad.json"]
    assert count(db, Service) == 23


def test_cli_import_prints_rejects_and_exits_1_only_for_unreadable_files(
    app: Flask, broken: Path
) -> None:
    if "resources" not in app.cli.commands:
        app.cli.add_command(resources_cli)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["resources", "import", str(broken)])
    assert result.exit_code == 0, result.output
    assert (
        "broken/locations.csv:3: bad coordinates: latitude 95 is outside -90..90" in result.output
    )
    assert "rows read" in result.output and "rejected 9" in result.output
    bad = broken.parent / "bad.json"
    bad.write_text("[", encoding="utf-8")
    result = runner.invoke(args=["resources", "import", str(bad), str(OHANA)])
    assert result.exit_code == 1
    assert "created 0" not in result.output.splitlines()[-1]
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        assert count(db, Service) == 25  # 2 from the broken directory, 23 from Ohana


def _fixed_copy(tmp_path: Path, name: str) -> Path:
    """The example with its location's coordinates made valid (the HSDS examples use
    latitude 100, which we reject as out of range)."""
    text = (DATA / "hsds-3.0/examples" / name).read_text(encoding="utf-8")
    data = json.loads(
        text.replace('"latitude": 100', '"latitude": 51.5').replace(
            '"longitude": 101', '"longitude": -0.12'
        )
    )
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_hsds_example_with_latitude_100_is_imported_without_its_location(db: Session) -> None:
    summary = import_paths(db, [DATA / "hsds-3.0/examples/service_full.json"])
    assert (
        "service_full.json:/organization/locations/0: "
        "bad coordinates: latitude 100 is outside -90..90" in [str(r) for r in summary.rejects]
    )
    assert count(db, Service) == 1 and count(db, Location) == 0


def test_hsds_json_import_keeps_uuids_and_merges_repeated_objects(
    tmp_path: Path, db: Session
) -> None:
    summary = import_paths(db, [_fixed_copy(tmp_path, "service_full.json")])
    assert summary.rejects == []
    service = db.get(Service, "ac148810-d857-441c-9679-408f346de14b")
    assert service is not None and service.organization_id == "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
    phone = db.get(Phone, "1554f2e2-a373-45db-a3fa-9fc48a61c15e")
    assert phone is not None
    assert (phone.service_id, phone.location_id, phone.service_at_location_id) == (
        service.id,
        "3a19ff88-4620-4d17-9830-ac1d859eb5d5",
        "e94c9f38-1e8f-4564-91d4-d53501ab1765",
    )
    assert count(db, Phone) == 1 and count(db, Schedule) == 1 and count(db, Language) == 1
    term = db.get(TaxonomyTerm, "3f7b145d-84af-42d7-8fae-eaca714b02b2")
    assert term is not None and term.taxonomy_id == "5c4d79d7-cc55-470e-9f1f-8cad074e4892"
    assert term.path == "/code/"
    assert any("parent_organization_id" in note for note in summary.notes)


def test_hsds_tabular_example_imports_with_its_inconsistencies_reported(db: Session) -> None:
    summary = import_paths(db, [DATA / "hsds-3.0/examples/csv"])
    assert summary.failed == []
    assert count(db, Organization) == 1 and count(db, Service) == 1
    assert any("datapackage.json: not readable" in note for note in summary.notes)
    assert "csv/locations.csv:2: bad coordinates: latitude 100 is outside -90..90" in [
        str(r) for r in summary.rejects
    ]
