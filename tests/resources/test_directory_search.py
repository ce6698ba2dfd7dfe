"""Directory search, public: GET /api/v1/resources and GET /api/v1/jobs.

Listings go in the way they do in production: a staff account bound to an organization
(made on the command line) POSTs them; job postings are inserted as an import would and
indexed with ``resources.search.indexing.refresh``. Every test using ``app`` runs on SQLite and
on PostgreSQL; one more test loads the same listings into both and compares answers.
"""

from __future__ import annotations

import contextlib
import gzip
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask

from api import create_app
from api.core.db import commit_session, get_session
from api.core.migrate import upgrade
from resources.jobs.models import JobPosting
from resources.models import (
    Attribute,
    Language,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from resources.search import indexing
from tests.fixtures.backends import TEST_CONFIG, postgres_database
from tests.fixtures.directory import (
    JOBS,
    LA_TZ,
    NOW,
    RESOURCES,
    SF,
    WEEKDAYS,
    Directory,
    east_of,
    haversine,
    hours,
    north_of,
    place,
)
from tests.fixtures.http import assert_problem

NY_TZ = "America/New_York"


# --------------------------------------------------------------------------- full text


def test_words_match_as_prefixes_and_every_word_is_required(directory):
    directory.add("Café Job Center", description="Barista training and hiring.")
    directory.add("Cafeteria Jobs Program", description="Kitchen work for people with records.")
    directory.add("Job Corps Welding", description="Certification in twelve weeks.")
    directory.add("Catering Kitchen", description="Food service apprenticeships.")

    assert sorted(directory.names(q="caf")) == ["Cafeteria Jobs Program", "Café Job Center"]
    assert sorted(directory.names(q="caf job")) == ["Cafeteria Jobs Program", "Café Job Center"]
    assert directory.names(q="welding job") == ["Job Corps Welding"]
    assert sorted(directory.names(q="kitchen")) == ["Cafeteria Jobs Program", "Catering Kitchen"]
    assert directory.names(q="welding kitchen") == []
    assert directory.names(q="plumbing") == []


def test_whitespace_case_and_accents_do_not_change_results(directory):
    directory.add("Café Job Center", description="Barista training.")
    directory.add("Cafe Jobs Collective", description="Espresso and pastry.")
    directory.add("Job Corps Welding", description="Certification.")

    plain = directory.names(q="cafe job")

    assert sorted(plain) == ["Cafe Jobs Collective", "Café Job Center"]
    for variant in ("  CAFÉ   job ", "Cafe JOB", "café   job  ", "CAFE\u0301 Job"):
        assert sorted(directory.names(q=variant)) == sorted(plain), variant
        assert directory.search(q=variant)["total"] == 2, variant


def test_text_finds_words_of_the_organization_category_and_place(directory):
    path = directory.term("103", "Employment")
    directory.term("103-01", "Forklift certification", path)
    directory.add(
        "Second Chance Hiring",
        categories=["103-01"],
        locations=[place("Bayview Opera House")],
    )
    directory.add("Unrelated Pantry")

    assert directory.names(q="mission reentry second") == ["Second Chance Hiring"]
    assert directory.names(q="forklift") == ["Second Chance Hiring"]
    assert directory.names(q="bayview opera") == ["Second Chance Hiring"]


@pytest.mark.parametrize("q", ["!!!", "...", "-", "'", '"', "*", "_", "&|!", "()", ":*", "%"])
def test_a_query_of_punctuation_only_finds_nothing_and_is_not_an_error(directory, q):
    directory.add("Café Job Center")

    body = directory.search(q=q)

    assert body["items"] == []
    assert body["total"] == 0


# --------------------------------------------------------------------------- categories


@pytest.fixture
def categorized(directory: Directory) -> Directory:
    employment = directory.term("103", "Employment")
    directory.term("103-01", "Job training", employment)
    directory.term("103-02", "Resume help", employment)
    housing = directory.term("105", "Housing")
    directory.term("105-01", "Transitional housing", housing)
    directory.term("10", "Legal aid")  # its path "/10/" is a prefix of "/103/" as text only
    directory.add("Training Hall", categories=["103-01"])
    directory.add("Resume Desk", categories=["103-02"])
    directory.add("Halfway House", categories=["105-01"])
    directory.add("Record Clearance Clinic", categories=["10"])
    directory.add("No Category Cafe")
    return directory


def test_a_parent_category_matches_its_children(categorized):
    assert sorted(categorized.names(category="103")) == ["Resume Desk", "Training Hall"]
    assert categorized.names(category="103-01") == ["Training Hall"]
    assert categorized.names(category="105") == ["Halfway House"]


def test_a_category_whose_code_prefixes_another_matches_only_its_own_branch(categorized):
    assert categorized.names(category="10") == ["Record Clearance Clinic"]


def test_several_categories_match_any_of_them(categorized):
    assert sorted(categorized.names(category=["103-01", "105"])) == [
        "Halfway House",
        "Training Hall",
    ]
    assert sorted(categorized.names(category=["103", "10"])) == [
        "Record Clearance Clinic",
        "Resume Desk",
        "Training Hall",
    ]


@pytest.mark.parametrize("codes", [["999"], ["103", "nope"]])
def test_an_unknown_category_is_a_422_naming_it(categorized, codes):
    body = assert_problem(categorized.get(category=codes), 422)

    assert "category" in body["errors"]
    assert codes[-1] in body["detail"]


# --------------------------------------------------------------------------- radius


def test_each_hit_carries_its_distance_and_hits_come_nearest_first(directory):
    spots = {
        "Far": north_of(SF, 9000),
        "Near": east_of(SF, 800),
        "Middle": north_of(east_of(SF, 2500), 1500),
    }
    for name, point in spots.items():
        directory.add(name, locations=[place(f"{name} office", point)])

    for params in ({}, {"sort": "distance"}):
        body = directory.search(lat=SF[0], lng=SF[1], radius_m=20000, **params)

        assert [hit["name"] for hit in body["items"]] == ["Near", "Middle", "Far"], params
        for hit in body["items"]:
            expected = haversine(*SF, *spots[hit["name"]])
            assert hit["distance_m"] == pytest.approx(expected, abs=1.0), hit["name"]
            assert hit["location"]["distance_m"] == pytest.approx(expected, abs=1.0)


def test_a_point_without_radius_orders_everything_by_distance(directory):
    directory.add("Oakland", locations=[place("Oakland", (37.8044, -122.2712))])
    directory.add("Daly City", locations=[place("Daly City", (37.6879, -122.4702))])
    directory.add("Nowhere", locations=[])

    body = directory.search(lat=SF[0], lng=SF[1])

    # A listing without a place has no distance and is not a hit of a point search.
    assert [hit["name"] for hit in body["items"]] == ["Daly City", "Oakland"]
    assert body["items"][0]["distance_m"] == pytest.approx(
        haversine(*SF, 37.6879, -122.4702), abs=1.0
    )


def test_the_nearest_of_a_services_locations_decides_its_distance(directory):
    near, far = north_of(SF, 1000), north_of(SF, 10000)
    directory.add("Two Sites", locations=[place("Far site", far), place("Near site", near)])
    directory.add("One Site", locations=[place("Only site", north_of(SF, 3000))])

    body = directory.search(lat=SF[0], lng=SF[1], sort="distance")

    assert [hit["name"] for hit in body["items"]] == ["Two Sites", "One Site"]
    first = body["items"][0]
    assert first["distance_m"] == pytest.approx(1000, abs=1.0)
    assert first["location"]["name"] == "Near site"
    assert body["total"] == 2  # a service with two locations is one hit
    within = directory.names(lat=SF[0], lng=SF[1], radius_m=1500)
    assert within == ["Two Sites"]


def test_a_listing_just_outside_the_radius_is_excluded(directory):
    north = north_of(SF, 2000)
    east = east_of(SF, 2600)
    directory.add("North", locations=[place("North", north)])
    directory.add("East", locations=[place("East", east)])
    to_north, to_east = haversine(*SF, *north), haversine(*SF, *east)
    assert to_north < to_east

    assert directory.names(lat=SF[0], lng=SF[1], radius_m=to_north - 1) == []
    assert directory.names(lat=SF[0], lng=SF[1], radius_m=to_north + 1) == ["North"]
    assert directory.names(lat=SF[0], lng=SF[1], radius_m=to_east - 1) == ["North"]
    assert directory.names(lat=SF[0], lng=SF[1], radius_m=to_east + 1) == ["North", "East"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": SF[0], "lng": SF[1], "radius_m": 0}, "radius_m"),
        ({"lat": SF[0], "lng": SF[1], "radius_m": 100001}, "radius_m"),
        ({"lat": 91, "lng": SF[1]}, "lat"),
        ({"lat": SF[0], "lng": -181}, "lng"),
        ({"lat": SF[0]}, "lat"),
        ({"radius_m": 1000}, "radius_m"),
        ({"sort": "distance"}, "sort"),
        ({"page_size": 101}, "page_size"),
        ({"page": 0}, "page"),
        ({"fair_chanse": "true"}, "fair_chanse"),
        ({"at": "2024-06-10T10:00:00"}, "at"),
        ({"language": "e1"}, "language"),
        ({"accepts_records": "maybe"}, "accepts_records"),
        ({"sort": "popular"}, "sort"),
    ],
)
def test_invalid_search_parameters_are_a_422_naming_the_field(directory, params, field):
    body = assert_problem(directory.get(**params), 422)

    assert any(key.split(".")[-1] == field for key in body["errors"]), body["errors"]


# --------------------------------------------------------------------------- open now / at


def open_names(directory: Directory, at: str, **params: Any) -> list[str]:
    return sorted(directory.names(at=at, **params))


def test_opening_time_is_open_and_closing_time_is_closed(directory):
    directory.add(
        "Weekday Office",
        locations=[place("Office", opening=[hours(WEEKDAYS, "09:00", "17:00")])],
    )

    # Monday 10 June 2024, San Francisco (UTC-7).
    assert open_names(directory, "2024-06-10T08:59:00-07:00") == []
    assert open_names(directory, "2024-06-10T09:00:00-07:00") == ["Weekday Office"]
    assert open_names(directory, "2024-06-10T16:59:00-07:00") == ["Weekday Office"]
    assert open_names(directory, "2024-06-10T17:00:00-07:00") == []
    # Saturday.
    assert open_names(directory, "2024-06-15T10:00:00-07:00") == []


def test_a_range_over_midnight_is_open_into_the_next_morning(directory):
    directory.add(
        "Night Shelter",
        locations=[place("Shelter", opening=[hours(["FR"], "22:00", "02:00")])],
    )

    # Friday 7 June 2024 and the Saturday after, San Francisco.
    assert open_names(directory, "2024-06-07T21:59:00-07:00") == []
    assert open_names(directory, "2024-06-07T22:00:00-07:00") == ["Night Shelter"]
    assert open_names(directory, "2024-06-07T23:00:00-07:00") == ["Night Shelter"]
    assert open_names(directory, "2024-06-08T00:00:00-07:00") == ["Night Shelter"]
    assert open_names(directory, "2024-06-08T01:59:00-07:00") == ["Night Shelter"]
    assert open_names(directory, "2024-06-08T02:00:00-07:00") == []
    # Not the night from Saturday to Sunday, nor Friday's small hours.
    assert open_names(directory, "2024-06-09T01:00:00-07:00") == []
    assert open_names(directory, "2024-06-07T01:00:00-07:00") == []


def test_open_is_judged_on_each_locations_own_clock(directory):
    directory.add(
        "Brooklyn Works",
        locations=[
            place(
                "Brooklyn",
                (40.6782, -73.9442),
                timezone=NY_TZ,
                opening=[hours(WEEKDAYS, "09:00", "17:00")],
            )
        ],
    )
    directory.add(
        "Oakland Works",
        locations=[
            place(
                "Oakland",
                (37.8044, -122.2712),
                timezone=LA_TZ,
                opening=[hours(WEEKDAYS, "09:00", "17:00")],
            )
        ],
    )

    # Monday 10 June 2024: 10:00 in New York is 07:00 in Oakland.
    assert open_names(directory, "2024-06-10T14:00:00Z") == ["Brooklyn Works"]
    # 18:00 in New York is 15:00 in Oakland.
    assert open_names(directory, "2024-06-10T22:00:00Z") == ["Oakland Works"]
    # The same instant written with another offset is the same instant.
    assert open_names(directory, "2024-06-10T07:00:00-07:00") == ["Brooklyn Works"]


def test_open_follows_daylight_saving_time_changes(directory):
    directory.add(
        "Sunday Clinic",
        locations=[
            place(
                "Clinic",
                (40.7128, -74.0060),
                timezone=NY_TZ,
                opening=[hours(["SU"], "09:00", "17:00")],
            )
        ],
    )
    directory.add(
        "Small Hours Line",
        locations=[
            place(
                "Line",
                (40.7128, -74.0060),
                timezone=NY_TZ,
                opening=[hours(["SU"], "01:00", "02:00")],
            )
        ],
    )

    # Sunday 10 March 2024, New York springs forward at 02:00: 13:30Z is 09:30 EDT
    # (on last week's offset it would be 08:30, closed).
    assert open_names(directory, "2024-03-10T13:30:00Z") == ["Sunday Clinic"]
    assert open_names(directory, "2024-03-10T12:59:00Z") == []
    assert open_names(directory, "2024-03-10T20:59:00Z") == ["Sunday Clinic"]
    assert open_names(directory, "2024-03-10T21:00:00Z") == []
    # Sunday 3 November 2024, New York falls back: 01:30 happens twice, open both times.
    assert open_names(directory, "2024-11-03T05:30:00Z") == ["Small Hours Line"]
    assert open_names(directory, "2024-11-03T06:30:00Z") == ["Small Hours Line"]
    assert open_names(directory, "2024-11-03T07:00:00Z") == []


def test_several_ranges_a_day_leave_the_gap_closed(directory):
    directory.add(
        "Lunch Break Office",
        locations=[
            place(
                "Office",
                opening=[hours(WEEKDAYS, "09:00", "12:00"), hours(WEEKDAYS, "13:00", "17:00")],
            )
        ],
    )

    assert open_names(directory, "2024-06-10T11:59:00-07:00") == ["Lunch Break Office"]
    assert open_names(directory, "2024-06-10T12:00:00-07:00") == []
    assert open_names(directory, "2024-06-10T12:30:00-07:00") == []
    assert open_names(directory, "2024-06-10T13:00:00-07:00") == ["Lunch Break Office"]


def test_service_hours_override_its_locations_hours(directory):
    directory.add(
        "Evening Program",
        locations=[place("Library", opening=[hours(WEEKDAYS, "09:00", "17:00")])],
        hours=[hours(["MO"], "18:00", "20:00")],
    )
    directory.add(
        "Library Desk",
        locations=[place("Library desk", opening=[hours(WEEKDAYS, "09:00", "17:00")])],
    )

    assert open_names(directory, "2024-06-10T10:00:00-07:00") == ["Library Desk"]
    assert open_names(directory, "2024-06-10T19:00:00-07:00") == ["Evening Program"]
    assert open_names(directory, "2024-06-11T19:00:00-07:00") == []


def test_service_hours_without_a_location_use_the_directory_time_zone(directory):
    directory.add("Phone Line", hours=[hours(["MO"], "09:00", "17:00")])

    assert open_names(directory, "2024-06-10T16:30:00Z") == ["Phone Line"]  # 09:30 PDT
    assert open_names(directory, "2024-06-10T15:30:00Z") == []  # 08:30 PDT


def test_open_now_uses_the_current_time(directory):
    directory.add(
        "Weekday Office",
        locations=[place("Office", opening=[hours(WEEKDAYS, "09:00", "17:00")])],
    )
    directory.add("Never Open")

    with time_machine.travel(datetime(2024, 6, 10, 16, 30, tzinfo=UTC), tick=False):
        assert directory.names(open_now="true") == ["Weekday Office"]  # 09:30 PDT
        assert sorted(directory.names(open_now="false")) == ["Never Open", "Weekday Office"]
    with time_machine.travel(datetime(2024, 6, 11, 0, 30, tzinfo=UTC), tick=False):
        assert directory.names(open_now="true") == []  # 17:30 PDT


def test_open_with_a_point_counts_only_the_location_that_is_open(directory):
    near, far = north_of(SF, 500), north_of(SF, 8000)
    directory.add(
        "Two Sites",
        locations=[
            place("Near, mornings", near, opening=[hours(WEEKDAYS, "08:00", "12:00")]),
            place("Far, afternoons", far, opening=[hours(WEEKDAYS, "13:00", "18:00")]),
        ],
    )

    morning = directory.search(lat=SF[0], lng=SF[1], at="2024-06-10T09:00:00-07:00")
    afternoon = directory.search(lat=SF[0], lng=SF[1], at="2024-06-10T14:00:00-07:00")
    afternoon_near = directory.search(
        lat=SF[0], lng=SF[1], radius_m=1000, at="2024-06-10T14:00:00-07:00"
    )

    assert morning["items"][0]["distance_m"] == pytest.approx(500, abs=1.0)
    assert morning["items"][0]["location"]["name"] == "Near, mornings"
    assert afternoon["items"][0]["distance_m"] == pytest.approx(8000, abs=1.0)
    assert afternoon_near["total"] == 0
    # The hit's place is the one that is open then, and its distance is its own.
    shown = afternoon["items"][0]["location"]
    assert shown["name"] == "Far, afternoons"
    assert shown["distance_m"] == pytest.approx(
        haversine(*SF, shown["latitude"], shown["longitude"]), abs=1.0
    )


# --------------------------------------------------------------------------- language, facets


def test_language_matches_any_of_the_listings_languages(directory):
    directory.add("Bilingual Center", languages=["en", "es"])
    directory.add("English Only", languages=["en"])
    directory.add("Vietnamese Desk", languages=["vi"])

    assert directory.names(language="es") == ["Bilingual Center"]
    assert directory.names(language="ES") == ["Bilingual Center"]
    assert sorted(directory.names(language=["es", "vi"])) == ["Bilingual Center", "Vietnamese Desk"]
    assert sorted(directory.names(language="en")) == ["Bilingual Center", "English Only"]
    assert directory.names(language="fr") == []


ALL_NO = {
    "fair_chance": False,
    "background_check": "required",
    "accepts_records": "no",
    "accepts_registrants": "no",
    "recovery_housing": False,
    "transitional": False,
    "sobriety_required": False,
    "federally_assisted": False,
    "requires_id": False,
}
FACET_CASES = [
    # (search parameter, its value, the facet that satisfies it, the plain listing's answer)
    ("fair_chance", "true", {"fair_chance": True}, "false"),
    ("background_check", "none", {"background_check": "none"}, "required"),
    (
        "background_check",
        "after_conditional_offer",
        {"background_check": "after_conditional_offer"},
        "required",
    ),
    ("accepts_records", "yes", {"accepts_records": "yes"}, "no"),
    ("accepts_registrants", "yes", {"accepts_registrants": "yes"}, "no"),
    ("recovery_housing", "true", {"recovery_housing": True}, "false"),
    ("transitional", "true", {"transitional": True}, "false"),
    ("sobriety_required", "true", {"sobriety_required": True}, "false"),
    ("federally_assisted", "true", {"federally_assisted": True}, "false"),
    ("requires_id", "true", {"requires_id": True}, "false"),
]


@pytest.mark.parametrize(("param", "value", "facet", "opposite"), FACET_CASES)
def test_each_reentry_facet_filters_on_its_value(directory, param, value, facet, opposite):
    directory.add("Plain Listing", facets=ALL_NO)
    directory.add("Facet Listing", facets=facet)
    directory.add("Unknown Facts")

    assert directory.names(**{param: value}) == ["Facet Listing"]
    assert directory.names(**{param: opposite}) == ["Plain Listing"]
    hit = directory.search(**{param: value})["items"][0]
    assert hit["facets"][param] == facet[param]


def test_background_check_values_combine_as_any_of_them(directory):
    directory.add("None", facets={"background_check": "none"})
    directory.add("After Offer", facets={"background_check": "after_conditional_offer"})
    directory.add("Required", facets={"background_check": "required"})

    assert sorted(directory.names(background_check=["none", "after_conditional_offer"])) == [
        "After Offer",
        "None",
    ]


def test_text_category_radius_open_and_facet_combine(directory):
    employment = directory.term("103", "Employment")
    directory.term("103-01", "Job training", employment)
    directory.term("105", "Housing")
    near = east_of(SF, 1000)
    weekdays = [hours(WEEKDAYS, "09:00", "17:00")]
    good = {
        "description": "Welding apprenticeship for people with records.",
        "categories": ["103-01"],
        "facets": {"fair_chance": True},
        "locations": [place("Shop", near, opening=weekdays)],
    }
    directory.add("Everything Matches", **good)
    directory.add("Wrong Words", **{**good, "description": "Barista apprenticeship."})
    directory.add("Wrong Category", **{**good, "categories": ["105"]})
    directory.add(
        "Too Far", **{**good, "locations": [place("Shop", north_of(SF, 6000), opening=weekdays)]}
    )
    directory.add(
        "Closed Then",
        **{**good, "locations": [place("Shop", near, opening=[hours(["SA"], "09:00", "17:00")])]},
    )
    directory.add("Not Fair Chance", **{**good, "facets": {"fair_chance": False}})

    params = {
        "q": "welding",
        "category": "103",
        "lat": SF[0],
        "lng": SF[1],
        "radius_m": 5000,
        "at": "2024-06-10T10:00:00-07:00",
        "fair_chance": "true",
    }
    assert directory.names(**params) == ["Everything Matches"]
    for left_out, expected_extra in [
        ("q", "Wrong Words"),
        ("category", "Wrong Category"),
        ("radius_m", "Too Far"),
        ("at", "Closed Then"),
        ("fair_chance", "Not Fair Chance"),
    ]:
        looser = {k: v for k, v in params.items() if k != left_out}
        assert sorted(directory.names(**looser)) == sorted(
            ["Everything Matches", expected_extra]
        ), left_out


def test_listings_that_are_not_active_are_not_found(directory):
    directory.add("Open Doors")
    closed = directory.add("Closed Doors")
    with directory.session() as db:
        db.get(Service, closed).status = "temporarily closed"

    assert directory.names(q="doors") == ["Open Doors"]
    assert directory.names() == ["Open Doors"]


# --------------------------------------------------------------------------- pages, ETags, gzip


def test_pages_do_not_overlap_and_together_give_every_hit(directory):
    names = [f"Listing {letter}" for letter in "ABCDEFG"]
    for name in reversed(names):
        directory.add(name, description="Help with housing, jobs and benefits. " * 5)

    pages = [directory.search(page=n, page_size=3) for n in (1, 2, 3, 4)]

    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert {p["total"] for p in pages} == {7}
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    assert {p["page_size"] for p in pages} == {3}
    seen = [hit["name"] for p in pages for hit in p["items"]]
    assert seen == names  # no overlap, nothing missing, name order without a query
    assert directory.search()["page_size"] == 20


def test_a_search_carries_an_etag_and_answers_if_none_match_with_304(directory):
    listing = directory.add("Resume Desk", description="Resume help. " * 20)
    directory.add("Training Hall", description="Training. " * 20)
    first = directory.get(q="resume")
    etag = first.headers.get("ETag")

    assert first.status_code == 200
    assert etag
    again = directory.client.get(
        RESOURCES, query_string={"q": "resume"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.data == b""

    response = directory.client.patch(
        f"{RESOURCES}/{listing}",
        json={"description": "Resume help, now with mock interviews."},
        headers=directory.headers,
    )
    assert response.status_code == 200
    changed = directory.client.get(
        RESOURCES, query_string={"q": "resume"}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.get_json()["items"][0]["summary"].startswith("Resume help, now")


def test_a_listing_and_the_jobs_list_carry_etags_too(directory):
    listing = directory.add("Resume Desk")
    directory.job("Line Cook")

    for path in (f"{RESOURCES}/{listing}", JOBS):
        first = directory.client.get(path)
        assert first.status_code == 200
        again = directory.client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, path
        assert again.data == b""


def test_search_pages_are_gzipped_for_clients_that_accept_it(directory):
    for letter in "ABCDEF":
        directory.add(f"Listing {letter}", description="Help with housing and jobs. " * 8)

    plain = directory.client.get(RESOURCES, query_string={"page_size": 100})
    zipped = directory.client.get(
        RESOURCES, query_string={"page_size": 100}, headers={"Accept-Encoding": "gzip"}
    )

    assert plain.status_code == zipped.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.data) < len(plain.data)
    assert gzip.decompress(zipped.data) == plain.data


def test_a_gzipped_search_still_answers_if_none_match_with_304(directory):
    for letter in "ABCDEF":
        directory.add(f"Listing {letter}", description="Help with housing and jobs. " * 8)
    gzip_only = {"Accept-Encoding": "gzip"}
    first = directory.client.get(RESOURCES, headers=gzip_only)
    assert first.headers["Content-Encoding"] == "gzip"

    again = directory.client.get(
        RESOURCES, headers={**gzip_only, "If-None-Match": first.headers["ETag"]}
    )

    assert again.status_code == 304
    assert again.data == b""


# --------------------------------------------------------------------------- jobs


def test_jobs_are_found_by_words_point_radius_and_facts(directory):
    with time_machine.travel(NOW, tick=False):
        directory.job(
            "Line Cook",
            east_of(SF, 700),
            description="Prep and grill.",
            fair_chance=True,
            employment_type=["PART_TIME"],
        )
        directory.job(
            "Forklift Driver",
            north_of(SF, 4000),
            description="Warehouse work.",
            drivers_license_required=True,
            fair_chance=False,
        )
        directory.job("Delivery Driver", (37.8044, -122.2712), drivers_license_required=True)

        assert sorted(directory.names(JOBS, q="driver")) == ["Delivery Driver", "Forklift Driver"]
        assert directory.names(JOBS, q="warehouse driv") == ["Forklift Driver"]
        assert directory.names(JOBS, q="  GRILL ") == ["Line Cook"]
        assert directory.names(JOBS, q="!!") == []
        assert directory.names(JOBS, lat=SF[0], lng=SF[1], radius_m=5000) == [
            "Line Cook",
            "Forklift Driver",
        ]
        near = directory.search(JOBS, lat=SF[0], lng=SF[1], radius_m=5000)["items"]
        assert near[0]["distance_m"] == pytest.approx(haversine(*SF, *east_of(SF, 700)), abs=1.0)
        assert directory.names(JOBS, fair_chance="true") == ["Line Cook"]
        assert sorted(directory.names(JOBS, drivers_license_required="true")) == [
            "Delivery Driver",
            "Forklift Driver",
        ]
        assert directory.names(JOBS, employment_type="PART_TIME") == ["Line Cook"]
        assert directory.names(JOBS, q="driver", lat=SF[0], lng=SF[1], radius_m=5000) == [
            "Forklift Driver"
        ]
        body = assert_problem(directory.get(JOBS, lat=SF[0], lng=SF[1], radius_m=0), 422)
        assert "query.radius_m" in body["errors"]
        body = assert_problem(directory.get(JOBS, fair_chanse="true"), 422)
        assert "query.fair_chanse" in body["errors"]


def test_expired_job_postings_are_never_listed_nor_shown(directory):
    with time_machine.travel(NOW, tick=False):
        gone = directory.job("Seasonal Picker", valid_through=NOW - timedelta(days=1))
        ending = directory.job("Holiday Packer", valid_through=NOW + timedelta(hours=1))
        lasting = directory.job("Night Baker")

        assert sorted(directory.names(JOBS)) == ["Holiday Packer", "Night Baker"]
        assert directory.names(JOBS, q="picker") == []
        assert directory.search(JOBS)["total"] == 2
        assert_problem(directory.client.get(f"{JOBS}/{gone}"), 404)
        assert directory.client.get(f"{JOBS}/{ending}").status_code == 200

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        # valid_through itself is past the end.
        assert directory.names(JOBS) == ["Night Baker"]
        assert directory.names(JOBS, q="packer") == []
        assert_problem(directory.client.get(f"{JOBS}/{ending}"), 404)
        assert directory.client.get(f"{JOBS}/{lasting}").status_code == 200


def test_jobs_use_schema_org_jobposting_field_names(directory):
    with time_machine.travel(NOW, tick=False):
        job_id = directory.job(
            "Line Cook",
            valid_through=datetime(2024, 7, 1, tzinfo=UTC),
            employment_type=["FULL_TIME", "TEMPORARY"],
            salary_currency="USD",
            salary_min=21.5,
            salary_max=25.0,
            salary_unit="HOUR",
            direct_apply=True,
            application_url="https://jobs.example.org/cook",
            drivers_license_required=False,
            fair_chance=True,
            background_check="after_conditional_offer",
            accepts_records="yes",
            work_hours="Evenings",
        )

        one = directory.client.get(f"{JOBS}/{job_id}")
        hit = directory.search(JOBS)["items"][0]

    assert one.status_code == 200
    job = one.get_json()
    assert job == {**hit, "distance_m": None}
    assert job["title"] == "Line Cook"
    assert job["datePosted"] == "2024-06-01"
    assert datetime.fromisoformat(job["validThrough"]) == datetime(2024, 7, 1, tzinfo=UTC)
    assert job["hiringOrganization"] == {
        "id": directory.organization_id,
        "name": "Mission Reentry Works",
    }
    assert job["jobLocation"]["name"] == "Line Cook site"
    assert job["jobLocation"]["latitude"] == pytest.approx(SF[0])
    assert job["employmentType"] == ["FULL_TIME", "TEMPORARY"]
    assert job["baseSalary"] == {
        "currency": "USD",
        "min_value": 21.5,
        "max_value": 25.0,
        "unit": "HOUR",
    }
    assert job["directApply"] is True
    assert job["applicationUrl"] == "https://jobs.example.org/cook"
    assert job["driversLicenseRequired"] is False
    assert job["workHours"] == "Evenings"
    assert job["fair_chance"] is True
    assert job["background_check"] == "after_conditional_offer"
    assert job["accepts_records"] == "yes"
    for snake in ("date_posted", "valid_through", "hiring_organization", "job_location"):
        assert snake not in job


# --------------------------------------------------------------------------- both backends

BACKEND_WORDS = ["housing", "jobs", "legal", "clinic", "kitchen", "welding", "café", "recovery"]
BACKEND_NAMES = ["A New Way", "ABC Housing", "Bay Works", "bay area legal", "Zeta House"]


def _load_same_directory(app: Flask) -> None:
    """Forty services, their places, hours, categories, languages and facts, and a few
    jobs, with fixed ids: the same rows on every backend."""
    rng = random.Random(20240610)
    with app.app_context():
        db = get_session()
        db.add(Organization(id="org-1", name="Bay Reentry Network", description=""))
        db.add_all(
            [
                TaxonomyTerm(id="t-103", code="103", name="Employment", path="/103/"),
                TaxonomyTerm(id="t-10301", code="103-01", name="Training", path="/103/103-01/"),
                TaxonomyTerm(id="t-10302", code="103-02", name="Resumes", path="/103/103-02/"),
                TaxonomyTerm(id="t-105", code="105", name="Housing", path="/105/"),
                TaxonomyTerm(id="t-10501", code="105-01", name="Shelter", path="/105/105-01/"),
            ]
        )
        db.flush()
        terms = ["t-10301", "t-10302", "t-105", "t-10501"]
        zones = [LA_TZ, LA_TZ, LA_TZ, NY_TZ]
        for n in range(40):
            service_id = f"svc-{n:02d}"
            words = rng.sample(BACKEND_WORDS, 3)
            db.add(
                Service(
                    id=service_id,
                    organization_id="org-1",
                    name=f"{BACKEND_NAMES[n % 5]} {n:02d}",
                    description=" ".join(words) + " services",
                    fair_chance=rng.choice([True, False, None]),
                    accepts_records=rng.choice(["yes", "no", "unknown"]),
                    recovery_housing=rng.choice([True, False, None]),
                    background_check=rng.choice(["none", "required", None]),
                )
            )
            db.flush()
            for k in range(1 + n % 2):
                location_id = f"loc-{n:02d}-{k}"
                db.add(
                    Location(
                        id=location_id,
                        organization_id="org-1",
                        name=f"Site {n}-{k}",
                        latitude=SF[0] + rng.uniform(-0.15, 0.15),
                        longitude=SF[1] + rng.uniform(-0.15, 0.15),
                        timezone=zones[n % 4],
                    )
                )
                db.flush()
                db.add(
                    ServiceAtLocation(
                        id=f"sal-{n:02d}-{k}", service_id=service_id, location_id=location_id
                    )
                )
                opens = rng.choice(["08:00", "09:00", "13:00", "22:00"])
                closes = {"08:00": "12:00", "09:00": "17:00", "13:00": "19:00"}.get(opens, "02:00")
                db.add(
                    Schedule(
                        id=f"sch-{n:02d}-{k}",
                        location_id=location_id,
                        freq="WEEKLY",
                        byday=",".join(rng.sample(["MO", "TU", "WE", "TH", "FR", "SA"], 3)),
                        opens_at=opens,
                        closes_at=closes,
                    )
                )
            db.add(
                Attribute(
                    id=f"attr-{n:02d}",
                    link_id=service_id,
                    link_entity="service",
                    taxonomy_term_id=terms[n % 4],
                )
            )
            db.add(Language(id=f"lang-{n:02d}", service_id=service_id, code=["en", "es"][n % 2]))
        for n in range(6):
            db.add(
                JobPosting(
                    id=f"job-{n}",
                    organization_id="org-1",
                    location_id=f"loc-{n:02d}-0",
                    title=f"{rng.choice(BACKEND_WORDS)} job {n}",
                    description="Fair chance employer.",
                    date_posted=date(2024, 6, 1) - timedelta(days=n),
                    valid_through=None if n % 3 else datetime(2024, 1, 1, tzinfo=UTC),
                    employment_type=["FULL_TIME"],
                    fair_chance=n % 2 == 0,
                )
            )
        db.flush()
        indexing.refresh(
            db,
            service_ids=[f"svc-{n:02d}" for n in range(40)],
            job_ids=[f"job-{n}" for n in range(6)],
        )
        commit_session()


BACKEND_QUERIES: list[tuple[str, dict[str, Any]]] = [
    (RESOURCES, {}),
    (RESOURCES, {"q": "housing"}),
    (RESOURCES, {"q": "hous kitch"}),
    (RESOURCES, {"q": "CAFE"}),
    (RESOURCES, {"q": "legal", "sort": "updated"}),
    (RESOURCES, {"category": "103"}),
    (RESOURCES, {"category": ["103-02", "105-01"]}),
    (RESOURCES, {"lat": SF[0], "lng": SF[1], "radius_m": 8000}),
    (RESOURCES, {"lat": SF[0], "lng": SF[1], "sort": "distance", "page_size": 7, "page": 2}),
    (RESOURCES, {"at": "2024-06-10T10:00:00-07:00"}),
    (RESOURCES, {"at": "2024-06-08T01:00:00-07:00"}),
    (RESOURCES, {"fair_chance": "true", "accepts_records": "yes"}),
    (RESOURCES, {"language": "es", "background_check": ["none"]}),
    (
        RESOURCES,
        {
            "q": "services",
            "category": "105",
            "lat": SF[0],
            "lng": SF[1],
            "radius_m": 15000,
            "at": "2024-06-11T10:00:00-07:00",
            "sort": "distance",
        },
    ),
    (RESOURCES, {"q": "jobs", "lat": SF[0], "lng": SF[1], "radius_m": 12000, "sort": "distance"}),
    (JOBS, {}),
    (JOBS, {"q": "job", "fair_chance": "true"}),
    (JOBS, {"lat": SF[0], "lng": SF[1], "radius_m": 20000}),
]


def test_both_backends_give_the_same_results(tmp_path):
    with contextlib.ExitStack() as stack:
        postgres_url = stack.enter_context(contextlib.contextmanager(postgres_database)())
        apps = {}
        for name, url in (
            ("sqlite", f"sqlite:///{tmp_path / 'same.sqlite3'}"),
            ("postgresql", postgres_url),
        ):
            app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
            stack.callback(app.extensions["homeward.db"].engine.dispose)
            with app.app_context():
                upgrade(app)
            _load_same_directory(app)
            apps[name] = app

        with time_machine.travel(NOW, tick=False):
            for path, params in BACKEND_QUERIES:
                answers = {}
                params = {"page_size": 100, **params}
                for name, app in apps.items():
                    response = app.test_client().get(path, query_string=params)
                    assert response.status_code == 200, (name, path, params, response.get_json())
                    answers[name] = response.get_json()
                sqlite, postgresql = answers["sqlite"], answers["postgresql"]
                assert sqlite["total"] == postgresql["total"], (path, params)
                assert sqlite["total"] > 0, (
                    path,
                    params,
                )  # a query that finds nothing proves little
                ids = {name: [hit["id"] for hit in a["items"]] for name, a in answers.items()}
                if params.get("q") and params.get("sort") in (None, "relevance"):
                    assert set(ids["sqlite"]) == set(ids["postgresql"]), (path, params)
                else:
                    assert ids["sqlite"] == ids["postgresql"], (path, params)
                distances = {
                    name: [hit["distance_m"] for hit in a["items"]] for name, a in answers.items()
                }
                if params.get("lat") is not None and ids["sqlite"] == ids["postgresql"]:
                    assert distances["sqlite"] == pytest.approx(distances["postgresql"], abs=0.2)
