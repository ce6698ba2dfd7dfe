"""Directory data on the phone (docs/sync.md, "Members": ``resources`` and
``saved_resources``).

``resources`` holds summaries of the listings (services and job postings) near the
member's chosen area, set with PUT /api/v1/me/area; with no area it is empty. A listing
that leaves the area or the directory (deleted by staff, moved away, a job posting that
expired) leaves the phone; changing the area makes the next pull a replacement sync, which
still carries everything else the member holds. ``saved_resources`` are the member's
bookmarks: saved or unsaved over REST or pushed as ``{id, resource_id}``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.directory import (
    RESOURCES,
    SF,
    Directory,
    haversine,
    north_of,
    place,
)
from tests.fixtures.http import assert_problem
from tests.sync.helpers import (
    AREA,
    CHICAGO,
    MEMBER_TABLES,
    NOW,
    SAVED,
    Phone,
    assert_gone,
    check_columns,
    deleted_ids,
    is_replacement,
    later,
    ms,
    new_id,
    nothing_in,
    ok,
    pull,
    push,
    records,
    rest_appointment,
    rest_checkin,
    table_changes,
)

JOBS = "/api/v1/jobs"
FAR = north_of(SF, 20_000)  # 20 km north of Civic Center
NEAR = north_of(SF, 3_000)


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa Díaz", "timezone": CHICAGO}


# Unlike the shared one, this directory's staff signs in on the frozen clock.
@pytest.fixture
def directory(app: Any, client: Any, clock: Any) -> Directory:
    return Directory(app, client)


def set_area(
    client: Any, person: Any, point: tuple[float, float], radius_km: float = 5
) -> dict[str, Any]:
    response = client.put(
        AREA,
        json={"latitude": point[0], "longitude": point[1], "radius_km": radius_km},
        headers=person.headers,
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def listing_at(directory: Directory, name: str, point: tuple[float, float], **fields: Any) -> str:
    return directory.add(name, locations=[place(f"{name} hall", point)], **fields)


def resources(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return records(body, "resources")


def saved_list(client: Any, member: Any) -> dict[str, dict[str, Any]]:
    body = ok(client.get(SAVED, headers=member.headers))
    items = body["items"] if isinstance(body, dict) else body
    return {item["resource_id"]: item for item in items}


# -- the area ------------------------------------------------------------------------------


def test_a_member_sets_reads_and_removes_their_area(client, member):
    shown = set_area(client, member, SF, 12.5)
    assert shown["latitude"] == pytest.approx(SF[0]) and shown["longitude"] == pytest.approx(SF[1])
    assert shown["radius_km"] == pytest.approx(12.5)

    read = ok(client.get(AREA, headers=member.headers))
    assert (read["latitude"], read["longitude"], read["radius_km"]) == (
        shown["latitude"],
        shown["longitude"],
        shown["radius_km"],
    )

    assert client.delete(AREA, headers=member.headers).status_code == 204
    after = client.get(AREA, headers=member.headers)
    if after.status_code == 200:
        assert after.get_json() in (None, {}) or after.get_json().get("latitude") is None
    else:
        assert_problem(after, 404)


@pytest.mark.parametrize(
    "area",
    [
        pytest.param({"latitude": SF[0], "longitude": SF[1], "radius_km": 0}, id="radius-0"),
        pytest.param({"latitude": SF[0], "longitude": SF[1], "radius_km": 101}, id="radius-101"),
        pytest.param({"latitude": 91, "longitude": SF[1], "radius_km": 5}, id="latitude-91"),
        pytest.param({"latitude": SF[0], "longitude": -181, "radius_km": 5}, id="longitude"),
        pytest.param({"latitude": SF[0], "radius_km": 5}, id="longitude-missing"),
        pytest.param({"latitude": "here", "longitude": SF[1], "radius_km": 5}, id="not-a-number"),
    ],
)
def test_an_area_out_of_bounds_is_a_422_problem_and_the_old_area_stays(client, member, area):
    set_area(client, member, SF, 5)

    problem = assert_problem(client.put(AREA, json=area, headers=member.headers), 422)

    assert problem["detail"]
    read = ok(client.get(AREA, headers=member.headers))
    assert read["radius_km"] == pytest.approx(5) and read["latitude"] == pytest.approx(SF[0])


def test_with_no_area_resources_is_empty(client, member, directory):
    listing_at(directory, "Pantry", SF)
    directory.job("Line cook", SF, valid_through=NOW + timedelta(days=30))

    body = pull(client, member)

    assert "resources" in body["changes"]
    assert resources(body) == {}


# -- what is in the area -------------------------------------------------------------------


def test_listings_inside_the_radius_are_in_resources_and_those_outside_are_not(
    client, member, directory
):
    here = listing_at(directory, "Pantry", SF)
    near = listing_at(directory, "Clinic", NEAR)
    far = listing_at(directory, "Far Away Shelter", FAR)
    job = directory.job("Line cook", SF, valid_through=NOW + timedelta(days=30))
    far_job = directory.job("Warehouse", FAR, valid_through=NOW + timedelta(days=30))
    assert haversine(*SF, *FAR) > 5_000 > haversine(*SF, *NEAR)
    set_area(client, member, SF, 5)

    body = pull(client, member)

    assert set(resources(body)) == {here, near, job}
    assert far not in resources(body) and far_job not in resources(body)
    assert deleted_ids(body, "resources") == set()
    kinds = {record_id: raw["kind"] for record_id, raw in resources(body).items()}
    assert kinds == {here: "service", near: "service", job: "job"}
    for raw in resources(body).values():
        check_columns("resources", raw)


def test_a_resource_is_a_summary_of_the_listing(client, member, directory):
    listing = listing_at(
        directory,
        "Second Chance Kitchen",
        SF,
        description="Paid culinary training. " * 40,
        phones=[{"number": "415-555-0100"}],
        facets={"fair_chance": True, "accepts_records": "yes"},
    )
    valid_through = datetime(2026, 11, 1, tzinfo=NOW.tzinfo)
    job = directory.job("Line cook", SF, valid_through=valid_through, fair_chance=True)
    set_area(client, member, SF, 5)

    body = pull(client, member)

    raw = resources(body)[listing]
    assert raw["name"] == "Second Chance Kitchen" and raw["kind"] == "service"
    assert raw["organization_name"] == "Mission Reentry Works"
    assert 0 < len(raw["description"]) <= 280
    assert raw["description"].startswith("Paid culinary training.")
    assert raw["latitude"] == pytest.approx(SF[0]) and raw["longitude"] == pytest.approx(SF[1])
    assert "Goodlett" in raw["address"]
    assert raw["phone"] == "415-555-0100"
    assert raw["fair_chance"] is True and raw["accepts_records"] == "yes"
    assert isinstance(raw["last_verified_at"], int | float)
    raw = resources(body)[job]
    assert raw["kind"] == "job" and raw["name"] == "Line cook"
    assert raw["valid_through"] == ms(valid_through)
    assert raw["fair_chance"] is True
    # The whole listing is one REST call away.
    assert ok(directory.client.get(f"{RESOURCES}/{listing}"))["name"] == "Second Chance Kitchen"


def test_a_listing_with_several_places_phones_and_categories_in_the_area_is_sent_once(
    client, member, directory
):
    directory.term("103", "Employment")
    directory.term("104", "Housing")
    listing = directory.add(
        "Two Halls",
        locations=[place("North hall", NEAR), place("South hall", SF)],
        phones=[{"number": "415-555-0100"}, {"number": "415-555-0199"}],
        categories=["103", "104"],
        languages=["en", "es"],
    )
    set_area(client, member, SF, 5)

    body = pull(client, member)  # pull() fails on an id seen twice

    assert [r["id"] for r in body["changes"]["resources"]["created"]] + [
        r["id"] for r in body["changes"]["resources"]["updated"]
    ] == [listing]


def test_an_area_of_one_member_is_not_anothers(client, accounts, member, directory):
    listing = listing_at(directory, "Pantry", SF)
    set_area(client, member, SF, 5)
    other = accounts.register()

    assert set(resources(pull(client, member))) == {listing}
    assert resources(pull(client, other)) == {}


# -- what changes in the area --------------------------------------------------------------


def test_a_listing_added_or_changed_by_staff_reaches_the_phone(client, member, directory, clock):
    set_area(client, member, SF, 5)
    kept = listing_at(directory, "Pantry", SF)
    phone = Phone(client, member)
    phone.sync()

    clock.shift(timedelta(minutes=1))
    added = listing_at(directory, "Clinic", NEAR)
    changed = directory.client.patch(
        f"{RESOURCES}/{kept}", json={"name": "Eastside Pantry"}, headers=directory.headers
    )
    assert changed.status_code == 200, changed.get_json()
    body = phone.sync()

    assert set(resources(body)) == {kept, added}
    assert resources(body)[kept]["name"] == "Eastside Pantry"
    assert not is_replacement(body)
    phone.assert_matches_server()


def test_a_listing_deleted_by_staff_arrives_in_deleted(client, member, directory):
    set_area(client, member, SF, 5)
    doomed = listing_at(directory, "Pantry", SF)
    kept = listing_at(directory, "Clinic", SF)
    job = directory.job("Line cook", SF, valid_through=NOW + timedelta(days=30))
    first = pull(client, member)
    assert set(resources(first)) == {doomed, kept, job}

    ok(directory.client.delete(f"{RESOURCES}/{doomed}", headers=directory.headers), 204)
    ok(directory.client.delete(f"{JOBS}/{job}", headers=directory.headers), 204)
    second = pull(client, member, first["timestamp"])

    assert deleted_ids(second, "resources") == {doomed, job}
    assert resources(second) == {}


def test_a_listing_moved_out_of_the_area_leaves_the_phone(client, member, directory):
    set_area(client, member, SF, 5)
    moving = listing_at(directory, "Pantry", SF)
    kept = listing_at(directory, "Clinic", SF)
    phone = Phone(client, member)
    phone.sync()
    assert phone.ids("resources") == {moving, kept}

    moved = directory.client.patch(
        f"{RESOURCES}/{moving}",
        json={"locations": [place("New hall", FAR)]},
        headers=directory.headers,
    )
    assert moved.status_code == 200, moved.get_json()
    body = phone.sync()

    assert_gone(body, "resources", moving)
    assert phone.ids("resources") == {kept}
    phone.assert_matches_server()


def test_an_expired_job_posting_leaves_resources(client, accounts, member, directory, clock):
    set_area(client, member, SF, 5)
    expiring = directory.job("Night porter", SF, valid_through=NOW + timedelta(days=1))
    lasting = directory.job("Line cook", SF, valid_through=NOW + timedelta(days=30))
    checkin = rest_checkin(client, member)
    phone = Phone(client, member)
    phone.sync()
    assert phone.ids("resources") == {expiring, lasting}

    later(clock, accounts, timedelta(days=2), member)
    body = phone.sync()

    assert_gone(body, "resources", expiring)
    assert phone.ids("resources") == {lasting}
    assert phone.ids("checkins") == {checkin["id"]}
    phone.assert_matches_server()
    clock.shift(timedelta(minutes=1))
    assert nothing_in(phone.sync()) == {}


def test_changing_the_area_makes_the_next_pull_a_replacement_sync_of_everything(
    client, member, directory, clock
):
    here = listing_at(directory, "Pantry", SF)
    there = listing_at(directory, "Far Away Shelter", FAR)
    checkin = rest_checkin(client, member)
    appointment = rest_appointment(client, member)
    set_area(client, member, SF, 5)
    phone = Phone(client, member)
    phone.sync()
    assert phone.ids("resources") == {here}

    clock.shift(timedelta(minutes=1))
    set_area(client, member, FAR, 5)
    body = phone.sync()

    assert is_replacement(body), body.get("experimentalStrategy")
    assert set(body["changes"]) == MEMBER_TABLES
    assert set(resources(body)) == {there}
    # A replacement sync drops whatever it does not list, so it lists everything else too.
    assert set(records(body, "checkins")) == {checkin["id"]}
    assert set(records(body, "appointments")) == {appointment["id"]}
    assert len(records(body, "reminders")) == 4
    assert phone.ids("resources") == {there}
    phone.assert_matches_server()
    # And the pull after it is an ordinary, empty one.
    after = phone.sync()
    assert not is_replacement(after) and nothing_in(after) == {}


def test_setting_a_first_area_brings_the_listings_already_there(client, member, directory, clock):
    listings = {listing_at(directory, name, SF) for name in ("Pantry", "Clinic")}
    phone = Phone(client, member)
    phone.sync()
    assert phone.ids("resources") == set()

    clock.shift(timedelta(minutes=1))
    set_area(client, member, SF, 5)
    phone.sync()

    assert phone.ids("resources") == listings
    phone.assert_matches_server()


def test_removing_the_area_empties_resources_on_the_next_pull(client, member, directory, clock):
    listings = {listing_at(directory, name, SF) for name in ("Pantry", "Clinic")}
    set_area(client, member, SF, 5)
    phone = Phone(client, member)
    phone.sync()
    assert phone.ids("resources") == listings

    clock.shift(timedelta(minutes=1))
    assert client.delete(AREA, headers=member.headers).status_code == 204
    body = phone.sync()

    for listing in listings:
        assert_gone(body, "resources", listing)
    assert phone.ids("resources") == set()
    phone.assert_matches_server()


# -- saved resources -----------------------------------------------------------------------


def test_a_listing_saved_over_rest_is_in_saved_resources(client, member, directory):
    listing = listing_at(directory, "Pantry", FAR)  # saved listings need not be in the area
    job = directory.job("Line cook", FAR, valid_through=NOW + timedelta(days=30))
    ok(client.put(f"{SAVED}/{listing}", headers=member.headers), 201)
    ok(client.put(f"{SAVED}/{job}", headers=member.headers), 201)

    body = pull(client, member)

    saved = {raw["resource_id"]: raw for raw in records(body, "saved_resources").values()}
    assert set(saved) == {listing, job}
    assert (saved[listing]["kind"], saved[listing]["name"]) == ("service", "Pantry")
    assert (saved[job]["kind"], saved[job]["name"]) == ("job", "Line cook")
    assert {raw["created_at"] for raw in saved.values()} == {ms(NOW)}
    for raw in saved.values():
        check_columns("saved_resources", raw)


def test_unsaving_over_rest_arrives_in_deleted(client, member, directory):
    doomed = listing_at(directory, "Pantry", SF)
    kept = listing_at(directory, "Clinic", SF)
    for listing in (doomed, kept):
        ok(client.put(f"{SAVED}/{listing}", headers=member.headers), 201)
    first = pull(client, member)
    by_resource = {r["resource_id"]: i for i, r in records(first, "saved_resources").items()}

    assert client.delete(f"{SAVED}/{doomed}", headers=member.headers).status_code == 204
    second = pull(client, member, first["timestamp"])

    assert deleted_ids(second, "saved_resources") == {by_resource[doomed]}
    assert records(second, "saved_resources") == {}


def test_a_listing_deleted_by_staff_leaves_saved_resources_too(client, member, directory):
    doomed = listing_at(directory, "Pantry", SF)
    ok(client.put(f"{SAVED}/{doomed}", headers=member.headers), 201)
    first = pull(client, member)
    [saved_id] = records(first, "saved_resources")

    ok(directory.client.delete(f"{RESOURCES}/{doomed}", headers=directory.headers), 204)
    second = pull(client, member, first["timestamp"])

    assert deleted_ids(second, "saved_resources") == {saved_id}


def test_a_saved_listing_renamed_by_staff_is_renamed_on_the_phone(client, member, directory, clock):
    listing = listing_at(directory, "Pantry", FAR)
    ok(client.put(f"{SAVED}/{listing}", headers=member.headers), 201)
    phone = Phone(client, member)
    phone.sync()
    [saved_id] = phone.ids("saved_resources")

    clock.shift(timedelta(minutes=1))
    renamed = directory.client.patch(
        f"{RESOURCES}/{listing}", json={"name": "Eastside Pantry"}, headers=directory.headers
    )
    assert renamed.status_code == 200, renamed.get_json()
    phone.sync()

    assert phone.record("saved_resources", saved_id)["name"] == "Eastside Pantry"
    assert saved_list(client, member)[listing]["name"] == "Eastside Pantry"
    phone.assert_matches_server()


def test_a_saved_resource_pushed_from_the_phone_is_saved(client, member, directory):
    listing = listing_at(directory, "Pantry", SF)
    job = directory.job("Line cook", SF, valid_through=NOW + timedelta(days=30))
    phone = Phone(client, member)
    phone.sync()
    bookmarks = [
        {"id": new_id(), "resource_id": listing, "_status": "created", "_changed": ""},
        {"id": new_id(), "resource_id": job, "_status": "created", "_changed": ""},
    ]

    rejected = push(
        client, member, {"saved_resources": table_changes(created=bookmarks)}, phone.last_pulled_at
    )

    assert rejected == {}
    saved = saved_list(client, member)
    assert set(saved) == {listing, job}
    assert saved[listing]["name"] == "Pantry" and saved[job]["kind"] == "job"
    on_phone = records(pull(client, member), "saved_resources")
    assert {raw["resource_id"] for raw in on_phone.values()} == {listing, job}
    assert {raw["name"] for raw in on_phone.values()} == {"Pantry", "Line cook"}


def test_a_saved_resource_deleted_on_the_phone_is_unsaved(client, member, directory):
    doomed = listing_at(directory, "Pantry", SF)
    kept = listing_at(directory, "Clinic", SF)
    for listing in (doomed, kept):
        ok(client.put(f"{SAVED}/{listing}", headers=member.headers), 201)
    first = pull(client, member)
    by_resource = {r["resource_id"]: i for i, r in records(first, "saved_resources").items()}

    rejected = push(
        client,
        member,
        {"saved_resources": table_changes(deleted=[by_resource[doomed]])},
        first["timestamp"],
    )

    assert rejected == {}
    assert set(saved_list(client, member)) == {kept}


def test_a_bookmark_of_an_unknown_listing_is_rejected_alone(client, member, directory):
    listing = listing_at(directory, "Pantry", SF)
    start = pull(client, member)
    good = {"id": new_id(), "resource_id": listing}
    bad = {"id": new_id(), "resource_id": "no-such-listing"}

    rejected = push(
        client, member, {"saved_resources": table_changes(created=[good, bad])}, start["timestamp"]
    )

    assert rejected == {"saved_resources": [bad["id"]]}
    assert set(saved_list(client, member)) == {listing}
    assert "no-such-listing" not in json.dumps(pull(client, member))
