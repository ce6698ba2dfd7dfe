"""Directory listings: staff write their own organization's listings (POST, PATCH, DELETE
/api/v1/resources), anyone reads one (GET /api/v1/resources/{id}), members save listings
(/api/v1/me/saved) and report wrong ones (POST /api/v1/resources/{id}/reports), which the
organization's staff read and resolve (/api/v1/reports)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.directory import (
    NOW,
    RESOURCES,
    SF,
    WEEKDAYS,
    Directory,
    hours,
    north_of,
    place,
)
from tests.fixtures.http import assert_problem

SAVED = "/api/v1/me/saved"
REPORTS = "/api/v1/reports"


@pytest.fixture
def now() -> datetime:
    """The clock stands at the directory's NOW from before anyone signs in (tokens are
    issued at NOW)."""
    return NOW


def listing(directory: Directory, listing_id: str) -> dict[str, Any]:
    response = directory.client.get(f"{RESOURCES}/{listing_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def patch(directory: Directory, listing_id: str, changes: Any, headers: Any = None) -> Any:
    return directory.client.patch(
        f"{RESOURCES}/{listing_id}", json=changes, headers=headers or directory.headers
    )


FULL_LISTING: dict[str, Any] = {
    "name": "Second Chance Kitchen",
    "description": "Paid culinary training for people coming home.",
    "url": "https://kitchen.example.org",
    "email": "hello@kitchen.example.org",
    "application_process": "Walk in on a weekday morning.",
    "categories": ["103-01"],
    "languages": ["en", "es"],
    "facets": {
        "fair_chance": True,
        "background_check": "after_conditional_offer",
        "accepts_records": "yes",
        "accepts_registrants": "no",
        "recovery_housing": False,
        "narr_level": 2,
        "transitional": True,
        "sobriety_required": True,
        "federally_assisted": False,
        "requires_id": True,
    },
    "locations": [
        place(
            "Mission kitchen",
            opening=[hours(WEEKDAYS, "09:00", "17:00"), hours(["FR"], "22:00", "02:00")],
        )
    ],
    "phones": [{"number": "415-555-0100", "type": "voice", "description": "Front desk"}],
}


@pytest.fixture
def with_terms(directory: Directory) -> Directory:
    employment = directory.term("103", "Employment")
    directory.term("103-01", "Job training", employment)
    directory.term("103-02", "Resume help", employment)
    return directory


# --------------------------------------------------------------------------- staff writes


def test_a_listing_shows_its_places_hours_phones_categories_languages_and_facts(with_terms):
    directory = with_terms
    created = directory.client.post(RESOURCES, json=FULL_LISTING, headers=directory.headers)
    assert created.status_code == 201, created.get_json()

    shown = listing(directory, created.get_json()["id"])

    assert shown == created.get_json()
    assert shown["name"] == "Second Chance Kitchen"
    assert shown["status"] == "active"
    assert shown["organization"] == {
        "id": directory.organization_id,
        "name": "Mission Reentry Works",
    }
    assert shown["url"] == "https://kitchen.example.org"
    [location] = shown["locations"]
    assert location["name"] == "Mission kitchen"
    assert location["latitude"] == pytest.approx(SF[0])
    assert location["longitude"] == pytest.approx(SF[1])
    assert location["timezone"] == "America/Los_Angeles"
    assert location["address"] == "1 Dr Carlton B Goodlett Pl, San Francisco, CA"
    assert location["distance_m"] is None
    # Friday night is shown whole, not as Friday to midnight and Saturday from midnight.
    assert location["hours"] == [
        {"days": WEEKDAYS, "opens_at": "09:00", "closes_at": "17:00"},
        {"days": ["FR"], "opens_at": "22:00", "closes_at": "02:00"},
    ]
    assert shown["hours"] == []
    assert shown["phones"] == [
        {"number": "415-555-0100", "type": "voice", "description": "Front desk"}
    ]
    assert shown["categories"] == ["103-01"]
    assert shown["languages"] == ["en", "es"]
    assert shown["facets"] == FULL_LISTING["facets"]
    assert shown["last_verified_at"] is not None


def test_a_listing_without_a_place_shows_its_own_hours(directory):
    created = directory.add("Phone Line", hours=[hours(["SA"], "20:00", "04:00")])

    shown = listing(directory, created)

    assert shown["locations"] == []
    assert shown["hours"] == [{"days": ["SA"], "opens_at": "20:00", "closes_at": "04:00"}]


def test_an_unknown_listing_is_404(directory):
    assert_problem(directory.client.get(f"{RESOURCES}/no-such-listing"), 404)


def test_staff_create_change_and_delete_their_organizations_listing(with_terms):
    directory = with_terms
    at_ten = "2024-06-10T10:00:00-07:00"
    at_seven_pm = "2024-06-10T19:00:00-07:00"
    listing_id = directory.add(**FULL_LISTING)
    assert directory.names(q="culinary", at=at_ten) == ["Second Chance Kitchen"]
    assert directory.names(language="es") == ["Second Chance Kitchen"]

    changed = patch(
        directory,
        listing_id,
        {
            "name": "Second Chance Bakery",
            "categories": ["103-02"],
            "languages": ["vi"],
            "phones": [{"number": "415-555-0199"}],
            "locations": [place("Bayview bakery", opening=[hours(["MO"], "18:00", "21:00")])],
        },
    )

    assert changed.status_code == 200, changed.get_json()
    shown = listing(directory, listing_id)
    assert shown == changed.get_json()
    assert shown["name"] == "Second Chance Bakery"
    assert shown["description"] == FULL_LISTING["description"]  # not given: kept
    assert shown["facets"] == FULL_LISTING["facets"]
    assert shown["categories"] == ["103-02"]
    assert shown["languages"] == ["vi"]
    assert [p["number"] for p in shown["phones"]] == ["415-555-0199"]
    [location] = shown["locations"]
    assert location["name"] == "Bayview bakery"
    assert location["hours"] == [{"days": ["MO"], "opens_at": "18:00", "closes_at": "21:00"}]
    # Search sees the change at once: the old hours, words, category and language are gone.
    assert directory.names(at=at_ten) == []
    assert directory.names(at=at_seven_pm) == ["Second Chance Bakery"]
    assert directory.names(q="kitchen") == []
    assert directory.names(q="bakery bayview") == ["Second Chance Bakery"]
    assert directory.names(category="103-01") == []
    assert directory.names(category="103-02") == ["Second Chance Bakery"]
    assert directory.names(language="es") == []

    deleted = directory.client.delete(f"{RESOURCES}/{listing_id}", headers=directory.headers)

    assert deleted.status_code == 204
    assert deleted.data == b""
    assert_problem(directory.client.get(f"{RESOURCES}/{listing_id}"), 404)
    assert directory.names(q="bakery") == []
    assert directory.names(at=at_seven_pm) == []
    assert directory.search()["total"] == 0


def test_new_service_hours_replace_the_old_ones_and_search_follows(directory):
    listing_id = directory.add(
        "Evening Program",
        locations=[place("Library", opening=[hours(WEEKDAYS, "09:00", "17:00")])],
        hours=[hours(["MO"], "18:00", "20:00")],
    )
    assert directory.names(at="2024-06-10T19:00:00-07:00") == ["Evening Program"]

    response = patch(directory, listing_id, {"hours": [hours(["TU"], "08:00", "10:00")]})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["locations"][0]["hours"] == [
        {"days": ["TU"], "opens_at": "08:00", "closes_at": "10:00"}
    ]
    assert directory.names(at="2024-06-10T19:00:00-07:00") == []
    assert directory.names(at="2024-06-11T09:00:00-07:00") == ["Evening Program"]
    # Removing the service's own hours brings back the location's.
    response = patch(directory, listing_id, {"hours": []})
    assert response.status_code == 200, response.get_json()
    assert directory.names(at="2024-06-10T10:00:00-07:00") == ["Evening Program"]


def test_a_change_of_status_is_saved_and_a_closed_listing_leaves_search(directory):
    listing_id = directory.add("Closing Soon")

    response = patch(directory, listing_id, {"status": "temporarily closed"})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "temporarily closed"
    assert listing(directory, listing_id)["status"] == "temporarily closed"
    assert directory.names() == []


def test_a_listing_created_with_a_status_shows_it(directory):
    response = directory.client.post(
        RESOURCES, json={"name": "Winter Shelter", "status": "inactive"}, headers=directory.headers
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "inactive"


def test_staff_of_another_organization_cannot_change_or_delete_a_listing(directory):
    listing_id = directory.add("Ours", description="Our listing.", languages=["en"])
    before = listing(directory, listing_id)
    elsewhere = directory.staff(directory.organization("Other Org"))

    assert_problem(patch(directory, listing_id, {"name": "Theirs"}, elsewhere), 404)
    assert_problem(directory.client.delete(f"{RESOURCES}/{listing_id}", headers=elsewhere), 404)

    assert listing(directory, listing_id) == before
    assert directory.names(q="ours") == ["Ours"]


@pytest.mark.parametrize("role", ["member", "mentor"])
def test_members_and_mentors_cannot_write_listings(directory, accounts, role):
    listing_id = directory.add("Ours")
    before = listing(directory, listing_id)
    person = accounts.register(role=role)

    assert_problem(
        directory.client.post(RESOURCES, json={"name": "Mine"}, headers=person.headers), 404
    )
    assert_problem(patch(directory, listing_id, {"name": "Mine"}, person.headers), 404)
    assert_problem(
        directory.client.delete(f"{RESOURCES}/{listing_id}", headers=person.headers), 404
    )

    assert listing(directory, listing_id) == before
    assert directory.search()["total"] == 1


def test_anonymous_writes_are_401(directory):
    listing_id = directory.add("Ours")
    before = listing(directory, listing_id)

    assert_problem(directory.client.post(RESOURCES, json={"name": "Mine"}), 401)
    assert_problem(directory.client.patch(f"{RESOURCES}/{listing_id}", json={"name": "x"}), 401)
    assert_problem(directory.client.delete(f"{RESOURCES}/{listing_id}"), 401)

    assert listing(directory, listing_id) == before


def test_staff_without_an_organization_cannot_create_listings(directory):
    unbound = directory.staff(None)
    listing_id = directory.add("Ours")

    body = assert_problem(
        directory.client.post(RESOURCES, json={"name": "Orphan"}, headers=unbound), 409
    )

    assert "organization" in body["detail"]
    assert_problem(patch(directory, listing_id, {"name": "Orphan"}, unbound), 404)
    assert directory.names() == ["Ours"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("organization_id", "other-org"),
        ("id", "chosen-id"),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("updated_at", "2020-01-01T00:00:00Z"),
        ("source", "hsds"),
    ],
)
def test_fields_the_server_keeps_cannot_be_written(directory, field, value):
    listing_id = directory.add("Ours")
    before = listing(directory, listing_id)

    created = directory.client.post(
        RESOURCES, json={"name": "Sneaky", field: value}, headers=directory.headers
    )
    changed = patch(directory, listing_id, {"name": "Sneaky", field: value})

    assert field in assert_problem(created, 422)["errors"]
    assert field in assert_problem(changed, 422)["errors"]
    assert listing(directory, listing_id) == before
    assert directory.names() == ["Ours"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"categories": ["no-such-code"]}, "categories"),
        ({"languages": ["english"]}, "languages"),
        ({"locations": [{**place("X"), "latitude": 91}]}, "locations"),
        ({"locations": [{**place("X"), "timezone": "Mars/Olympus"}]}, "locations"),
        ({"hours": [hours(["MO"], "25:00", "17:00")]}, "hours"),
        ({"hours": [hours(["XX"], "09:00", "17:00")]}, "hours"),
        ({"facets": {"narr_level": 5}}, "facets"),
        ({"facets": {"fair_chanse": True}}, "facets"),
    ],
)
def test_invalid_listing_fields_are_a_422_and_change_nothing(directory, changes, field):
    listing_id = directory.add("Ours", hours=[hours(["MO"], "09:00", "17:00")])
    before = listing(directory, listing_id)

    response = patch(directory, listing_id, changes)

    assert field in assert_problem(response, 422)["errors"]
    assert listing(directory, listing_id) == before


# --------------------------------------------------------------------------- saved listings


def test_members_save_services_and_jobs_once_each(directory, accounts):
    member = accounts.register()
    service_id = directory.add("Resume Desk")
    job_id = directory.job("Line Cook")

    first = directory.client.put(f"{SAVED}/{service_id}", headers=member.headers)
    second = directory.client.put(f"{SAVED}/{service_id}", headers=member.headers)
    job = directory.client.put(f"{SAVED}/{job_id}", headers=member.headers)

    assert first.status_code == 201, first.get_json()
    assert second.status_code == 200, second.get_json()
    assert second.get_json() == first.get_json()
    assert first.get_json()["kind"] == "service"
    assert first.get_json()["name"] == "Resume Desk"
    assert job.status_code == 201
    assert job.get_json()["kind"] == "job"
    saved = directory.client.get(SAVED, headers=member.headers)
    assert saved.status_code == 200
    assert sorted((s["resource_id"], s["kind"]) for s in saved.get_json()) == sorted(
        [(service_id, "service"), (job_id, "job")]
    )


def test_saved_listings_are_each_members_own(directory, accounts):
    sam, ana = accounts.register(), accounts.register()
    service_id = directory.add("Resume Desk")
    assert directory.client.put(f"{SAVED}/{service_id}", headers=sam.headers).status_code == 201

    assert directory.client.get(SAVED, headers=ana.headers).get_json() == []
    assert directory.client.delete(f"{SAVED}/{service_id}", headers=ana.headers).status_code == 204
    assert len(directory.client.get(SAVED, headers=sam.headers).get_json()) == 1


def test_removing_a_saved_listing(directory, accounts):
    member = accounts.register()
    service_id = directory.add("Resume Desk")
    directory.client.put(f"{SAVED}/{service_id}", headers=member.headers)

    removed = directory.client.delete(f"{SAVED}/{service_id}", headers=member.headers)
    again = directory.client.delete(f"{SAVED}/{service_id}", headers=member.headers)

    assert removed.status_code == 204
    assert again.status_code == 204
    assert directory.client.get(SAVED, headers=member.headers).get_json() == []


def test_an_unknown_or_expired_listing_cannot_be_saved(clock, directory, accounts):
    member = accounts.register()
    expired = directory.job("Seasonal Picker", valid_through=NOW - timedelta(minutes=1))

    assert_problem(directory.client.put(f"{SAVED}/no-such-listing", headers=member.headers), 404)
    assert_problem(directory.client.put(f"{SAVED}/{expired}", headers=member.headers), 404)

    assert directory.client.get(SAVED, headers=member.headers).get_json() == []


def test_only_signed_in_members_have_saved_listings(directory, accounts):
    service_id = directory.add("Resume Desk")
    mentor = accounts.register(role="mentor")

    assert_problem(directory.client.put(f"{SAVED}/{service_id}"), 401)
    assert_problem(directory.client.get(SAVED), 401)
    assert_problem(directory.client.put(f"{SAVED}/{service_id}", headers=mentor.headers), 404)
    assert_problem(directory.client.put(f"{SAVED}/{service_id}", headers=directory.headers), 404)


# --------------------------------------------------------------------------- reports


def report(directory: Directory, listing_id: str, headers: Any, **body: Any) -> Any:
    body.setdefault("reason", "closed")
    return directory.client.post(f"{RESOURCES}/{listing_id}/reports", json=body, headers=headers)


def test_a_members_report_reaches_that_organizations_staff_only(directory, accounts):
    member = accounts.register()
    listing_id = directory.add("Resume Desk")
    other_staff = directory.staff(directory.organization("Other Org"))

    created = report(directory, listing_id, member.headers, reason="moved", detail="Now on 3rd St")

    assert created.status_code == 201, created.get_json()
    made = created.get_json()
    assert made["resource_id"] == listing_id
    assert made["kind"] == "service"
    assert made["reason"] == "moved"
    assert made["detail"] == "Now on 3rd St"
    assert made["resolved_at"] is None
    ours = directory.client.get(REPORTS, headers=directory.headers)
    assert ours.status_code == 200
    assert ours.get_json()["total"] == 1
    assert [r["id"] for r in ours.get_json()["items"]] == [made["id"]]
    theirs = directory.client.get(REPORTS, headers=other_staff)
    assert theirs.status_code == 200
    assert theirs.get_json()["total"] == 0
    assert theirs.get_json()["items"] == []
    assert_problem(directory.client.get(REPORTS, headers=member.headers), 404)
    assert_problem(directory.client.get(REPORTS), 401)


def test_a_job_posting_can_be_reported(directory, accounts):
    member = accounts.register()
    job_id = directory.job("Line Cook")

    created = report(directory, job_id, member.headers, reason="wrong_information")

    assert created.status_code == 201, created.get_json()
    assert created.get_json()["kind"] == "job"
    items = directory.client.get(REPORTS, headers=directory.headers).get_json()["items"]
    assert [r["resource_id"] for r in items] == [job_id]


def test_only_the_listings_staff_resolve_a_report(clock, directory, accounts):
    member = accounts.register()
    listing_id = directory.add("Resume Desk")
    other_staff = directory.staff(directory.organization("Other Org"))
    report_id = report(directory, listing_id, member.headers).get_json()["id"]

    assert_problem(
        directory.client.patch(
            f"{REPORTS}/{report_id}", json={"resolved": True}, headers=other_staff
        ),
        404,
    )
    assert_problem(
        directory.client.patch(
            f"{REPORTS}/{report_id}", json={"resolved": True}, headers=member.headers
        ),
        404,
    )
    still_open = directory.client.get(REPORTS, headers=directory.headers).get_json()["items"]
    assert still_open[0]["resolved_at"] is None

    clock.shift(timedelta(minutes=5))
    resolved = directory.client.patch(
        f"{REPORTS}/{report_id}", json={"resolved": True}, headers=directory.headers
    )

    assert resolved.status_code == 200, resolved.get_json()
    resolved_at = NOW + timedelta(minutes=5)
    assert datetime.fromisoformat(resolved.get_json()["resolved_at"]) == resolved_at
    listed = directory.client.get(REPORTS, headers=directory.headers).get_json()["items"]
    assert datetime.fromisoformat(listed[0]["resolved_at"]) == resolved_at
    reopened = directory.client.patch(
        f"{REPORTS}/{report_id}", json={"resolved": False}, headers=directory.headers
    )
    assert reopened.get_json()["resolved_at"] is None


def test_open_reports_come_before_resolved_ones_newest_first(clock, directory, accounts):
    member = accounts.register()
    listing_id = directory.add("Resume Desk")
    oldest = report(directory, listing_id, member.headers).get_json()["id"]
    clock.shift(timedelta(minutes=1))
    middle = report(directory, listing_id, member.headers).get_json()["id"]
    clock.shift(timedelta(minutes=1))
    newest = report(directory, listing_id, member.headers).get_json()["id"]
    resolved = directory.client.patch(
        f"{REPORTS}/{newest}", json={"resolved": True}, headers=directory.headers
    )
    assert resolved.status_code == 200

    items = directory.client.get(REPORTS, headers=directory.headers).get_json()["items"]

    assert [r["id"] for r in items] == [middle, oldest, newest]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reason": "rude"}, "reason"),
        ({}, "reason"),
        ({"reason": "closed", "detail": "x" * 1001}, "detail"),
        ({"reason": "closed", "listing": "other"}, "listing"),
    ],
)
def test_report_reasons_and_fields_are_validated(directory, accounts, body, field):
    member = accounts.register()
    listing_id = directory.add("Resume Desk")

    response = directory.client.post(
        f"{RESOURCES}/{listing_id}/reports", json=body, headers=member.headers
    )

    assert field in assert_problem(response, 422)["errors"]
    assert directory.client.get(REPORTS, headers=directory.headers).get_json()["total"] == 0


def test_reports_of_unknown_listings_are_404_and_only_members_report(directory, accounts):
    member = accounts.register()
    mentor = accounts.register(role="mentor")
    listing_id = directory.add("Resume Desk")

    assert_problem(report(directory, "no-such-listing", member.headers), 404)
    assert_problem(report(directory, listing_id, mentor.headers), 404)
    assert_problem(report(directory, listing_id, directory.headers), 404)
    assert_problem(report(directory, listing_id, {}), 401)
    assert directory.client.get(REPORTS, headers=directory.headers).get_json()["total"] == 0


def test_reports_are_rate_limited_per_member(directory, accounts, monkeypatch):
    monkeypatch.setitem(directory.app.config, "RATELIMIT_REPORTS", "2/hour")
    member, other = accounts.register(), accounts.register()
    listing_id = directory.add("Resume Desk")

    answers = [report(directory, listing_id, member.headers).status_code for _ in range(2)]
    limited = report(directory, listing_id, member.headers)

    assert answers == [201, 201]
    assert_problem(limited, 429)
    assert report(directory, listing_id, other.headers).status_code == 201
    assert directory.client.get(REPORTS, headers=directory.headers).get_json()["total"] == 3


# --------------------------------------------------------------------------- export


def test_saved_listings_and_reports_are_in_the_members_export(directory, accounts):
    member = accounts.register()
    service_id = directory.add("Resume Desk")
    job_id = directory.job("Line Cook")
    directory.client.put(f"{SAVED}/{service_id}", headers=member.headers)
    directory.client.put(f"{SAVED}/{job_id}", headers=member.headers)
    report_id = report(
        directory, service_id, member.headers, detail="Phone disconnected"
    ).get_json()["id"]

    response = directory.client.get("/api/v1/me/export", headers=member.headers)

    assert response.status_code == 200
    document = response.get_json()
    assert sorted((s["resource_id"], s["kind"]) for s in document["saved_listings"]) == sorted(
        [(service_id, "service"), (job_id, "job")]
    )
    [made] = document["listing_reports"]
    assert made["id"] == report_id
    assert made["resource_id"] == service_id
    assert made["reason"] == "closed"
    assert made["detail"] == "Phone disconnected"
    other = accounts.register()
    theirs = directory.client.get("/api/v1/me/export", headers=other.headers).get_json()
    assert theirs["saved_listings"] == []
    assert theirs["listing_reports"] == []


def test_a_deleted_listing_leaves_members_saved_lists(directory, accounts):
    member = accounts.register()
    service_id = directory.add("Resume Desk", locations=[place("Desk", north_of(SF, 100))])
    directory.client.put(f"{SAVED}/{service_id}", headers=member.headers)

    deleted = directory.client.delete(f"{RESOURCES}/{service_id}", headers=directory.headers)

    assert deleted.status_code == 204
    assert directory.client.get(SAVED, headers=member.headers).get_json() == []
