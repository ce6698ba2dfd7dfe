"""Check-ins (GET|POST /api/v1/checkins, GET|PATCH|DELETE /api/v1/checkins/{id}): a
member's own record of how they are doing, private unless shared by a grant.

docs/checkins.md: mood 1..5 (required on POST), needs from a fixed list (each once), wins
and note free text, place a typed label (never coordinates), help_requested, recorded_at
(shown, never used for order; more than a day ahead is refused). A retry with the phone's
own id updates instead of making a second record; someone else's id is 409. Lists are
newest first by arrival. Bad input is a Problem with per-field errors and changes nothing.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.checkins.models import Checkin, CheckinResponse
from tests.fixtures.clock import NOW
from tests.fixtures.http import assert_problem

CHECKINS = "/api/v1/checkins"
INVITES = "/api/v1/invites"
NEEDS = ["housing", "work", "food", "transport", "health", "legal", "id", "family", "support"]
CHECKIN_KEYS = {
    "id",
    "mood",
    "needs",
    "wins",
    "note",
    "place",
    "help_requested",
    "recorded_at",
    "created_at",
    "updated_at",
    "responses",
}


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa"}


def url(checkin_id: str) -> str:
    return f"{CHECKINS}/{checkin_id}"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def create(client: Any, person: Any, status: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"mood": 3, **fields}
    response = client.post(CHECKINS, json=body, headers=person.headers)
    assert response.status_code == status, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def fetch(client: Any, person: Any, checkin_id: str) -> dict[str, Any]:
    response = client.get(url(checkin_id), headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def listing(client: Any, person: Any, **query: Any) -> dict[str, Any]:
    response = client.get(CHECKINS, query_string=query, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def stored_checkins(app: Any) -> int:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return db.scalar(select(func.count()).select_from(Checkin)) or 0


def stored_responses(app: Any, checkin_id: str) -> int:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(func.count()).where(CheckinResponse.checkin_id == checkin_id)
        return db.scalar(query) or 0


def share(client: Any, member: Any, mentor: Any, scopes: list[str]) -> dict[str, Any]:
    """The member invites the mentor with ``scopes`` (history included); the mentor redeems."""
    invite = client.post(
        INVITES, json={"scopes": scopes, "share_history": True}, headers=member.headers
    )
    assert invite.status_code == 201, invite.get_json()
    grant = client.post(
        f"{INVITES}/redeem", json={"code": invite.get_json()["code"]}, headers=mentor.headers
    )
    assert grant.status_code == 201, grant.get_json()
    body: dict[str, Any] = grant.get_json()
    return body


def respond(client: Any, mentor: Any, checkin_id: str, body: str) -> dict[str, Any]:
    response = client.post(
        f"{url(checkin_id)}/responses", json={"body": body}, headers=mentor.headers
    )
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


# -- create, read, change, delete ----------------------------------------------------------


def test_a_member_records_a_checkin_and_reads_it_back_whole(client, member):
    created = create(
        client,
        member,
        mood=4,
        needs=["housing", "work"],
        wins="Got the bus pass sorted",
        note="Long day, but ok.\nTalked to my sister.",
        place="library",
        help_requested=False,
        recorded_at="2026-10-01T06:30:00-05:00",
    )
    assert set(created) == CHECKIN_KEYS
    assert created["id"]
    assert created["mood"] == 4
    assert created["needs"] == ["housing", "work"]
    assert created["wins"] == "Got the bus pass sorted"
    assert created["note"] == "Long day, but ok.\nTalked to my sister."
    assert created["place"] == "library"
    assert created["help_requested"] is False
    assert at(created["recorded_at"]) == datetime(2026, 10, 1, 11, 30, tzinfo=UTC)
    assert at(created["created_at"]) == NOW and at(created["updated_at"]) == NOW
    assert created["responses"] == []
    read = fetch(client, member, created["id"])
    assert {k: v for k, v in read.items() if k != "recorded_at"} == {
        k: v for k, v in created.items() if k != "recorded_at"
    }
    assert at(read["recorded_at"]) == at(created["recorded_at"])


def test_recorded_at_is_answered_in_utc_on_create_just_as_on_read(client, member):
    created = create(client, member, recorded_at="2026-10-01T06:30:00-05:00")
    assert created["recorded_at"] == "2026-10-01T11:30:00+00:00"
    assert fetch(client, member, created["id"])["recorded_at"] == created["recorded_at"]


def test_mood_alone_is_a_checkin_and_the_rest_defaults_to_empty(client, member):
    created = create(client, member, mood=1)
    assert created["needs"] == []
    assert created["wins"] is None and created["note"] is None and created["place"] is None
    assert created["help_requested"] is False
    assert at(created["recorded_at"]) == NOW


def test_free_text_is_trimmed_and_blank_text_is_stored_as_nothing(client, member):
    created = create(client, member, wins="  a win  ", note="   ", place=" clinic ")
    assert created["wins"] == "a win"
    assert created["note"] is None
    assert created["place"] == "clinic"


def test_the_list_is_newest_first_by_arrival_and_paginated_with_a_total(client, member, clock):
    ids = []
    for minute in range(5):
        # The phone's own time runs backwards: it must not decide the order.
        recorded = (NOW - timedelta(days=minute)).isoformat()
        ids.append(create(client, member, mood=minute % 5 + 1, recorded_at=recorded)["id"])
        clock.shift(timedelta(minutes=1))

    first = listing(client, member, page=1, page_size=2)
    second = listing(client, member, page=2, page_size=2)
    third = listing(client, member, page=3, page_size=2)
    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 5)
    assert [c["id"] for c in first["items"]] == [ids[4], ids[3]]
    assert [c["id"] for c in second["items"]] == [ids[2], ids[1]]
    assert [c["id"] for c in third["items"]] == [ids[0]]
    assert third["total"] == 5
    assert listing(client, member, page=4, page_size=2)["items"] == []
    assert all(set(item) == CHECKIN_KEYS for item in first["items"])


def test_the_list_shows_only_the_members_own_checkins(client, accounts, member):
    create(client, member, note="mine")
    other = accounts.register()
    create(client, other, note="theirs")
    mine = listing(client, member)
    assert mine["total"] == 1 and [c["note"] for c in mine["items"]] == ["mine"]


def test_a_page_size_over_100_is_refused(client, member):
    assert_problem(
        client.get(CHECKINS, query_string={"page_size": 101}, headers=member.headers), 422
    )


def test_patch_changes_only_the_fields_given_and_moves_updated_at(client, member, clock):
    created = create(client, member, mood=2, needs=["food"], note="tired", place="shelter")
    clock.shift(timedelta(minutes=5))
    response = client.patch(
        url(created["id"]), json={"mood": 4, "wins": "ate well"}, headers=member.headers
    )
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["mood"] == 4 and changed["wins"] == "ate well"
    assert changed["needs"] == ["food"] and changed["note"] == "tired"
    assert changed["place"] == "shelter"
    assert changed["created_at"] == created["created_at"]
    assert at(changed["updated_at"]) == NOW + timedelta(minutes=5)
    assert fetch(client, member, created["id"]) == changed


def test_patch_clears_free_text_with_null_and_needs_with_an_empty_list(client, member):
    created = create(client, member, needs=["legal"], note="call lawyer", place="home")
    response = client.patch(
        url(created["id"]),
        json={"note": None, "place": "", "needs": []},
        headers=member.headers,
    )
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["note"] is None and changed["place"] is None and changed["needs"] == []


def test_delete_removes_the_checkin_and_a_second_delete_is_404(client, member, app):
    created = create(client, member)
    assert client.delete(url(created["id"]), headers=member.headers).status_code == 204
    assert_problem(client.get(url(created["id"]), headers=member.headers), 404)
    assert_problem(client.delete(url(created["id"]), headers=member.headers), 404)
    assert listing(client, member)["total"] == 0
    assert stored_checkins(app) == 0


def test_another_members_checkin_is_not_found_and_stays_unchanged(client, accounts, member):
    created = create(client, member, note="private")
    other = accounts.register()
    assert_problem(client.get(url(created["id"]), headers=other.headers), 404)
    assert_problem(client.patch(url(created["id"]), json={"mood": 1}, headers=other.headers), 404)
    assert_problem(client.delete(url(created["id"]), headers=other.headers), 404)
    assert fetch(client, member, created["id"]) == created


def test_an_unknown_checkin_id_is_404(client, member):
    assert_problem(client.get(url("no-such-checkin"), headers=member.headers), 404)


def test_without_a_token_every_checkin_path_is_401(client, member):
    created = create(client, member)
    for response in (
        client.get(CHECKINS),
        client.post(CHECKINS, json={"mood": 3}),
        client.get(url(created["id"])),
        client.patch(url(created["id"]), json={"mood": 1}),
        client.delete(url(created["id"])),
    ):
        assert_problem(response, 401)


# -- the phone's own id -------------------------------------------------------------------


def test_the_phones_own_id_is_kept(client, member):
    created = create(client, member, id="phone-0001_a")
    assert created["id"] == "phone-0001_a"
    assert fetch(client, member, "phone-0001_a")["mood"] == 3


def test_a_retry_with_the_same_id_makes_one_checkin_and_answers_200(client, member, app, clock):
    first = create(client, member, id="offline-42", mood=2, note="first try")
    clock.shift(timedelta(minutes=1))
    second = create(client, member, status=200, id="offline-42", mood=2, note="first try")
    assert second["id"] == first["id"] == "offline-42"
    assert second["created_at"] == first["created_at"]
    assert listing(client, member)["total"] == 1
    assert stored_checkins(app) == 1


def test_a_retry_with_the_same_id_updates_the_fields_it_carries(client, member):
    create(client, member, id="offline-43", mood=2, note="draft")
    retried = create(client, member, status=200, id="offline-43", mood=5, needs=["work"])
    assert retried["mood"] == 5 and retried["needs"] == ["work"]
    assert retried["note"] == "draft"
    assert fetch(client, member, "offline-43") == retried


def post_at_once(app: Any, posts: list[tuple[Any, dict[str, Any]]]) -> list[Any]:
    """Send the POSTs from separate threads, released together (a phone retrying while its
    first request is still in flight)."""
    barrier = threading.Barrier(len(posts))
    answers: list[Any] = [None] * len(posts)

    def send(index: int, person: Any, body: dict[str, Any]) -> None:
        own_client = app.test_client()
        barrier.wait()
        answers[index] = own_client.post(CHECKINS, json=body, headers=person.headers)

    threads = [
        threading.Thread(target=send, args=(index, person, body))
        for index, (person, body) in enumerate(posts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_a_retry_racing_the_first_post_still_makes_one_checkin_and_never_fails(client, member, app):
    for attempt in range(5):
        checkin_id = f"race-{attempt}"
        body = {"id": checkin_id, "mood": 3, "note": "sent twice"}
        answers = post_at_once(app, [(member, body), (member, body)])
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 201], [a.get_data(as_text=True)[:200] for a in answers]
        assert fetch(client, member, checkin_id)["note"] == "sent twice"
    assert listing(client, member)["total"] == 5
    assert stored_checkins(app) == 5


def test_an_id_another_member_used_is_409_and_changes_nothing(client, accounts, member, app):
    mine = create(client, member, id="shared-id-1", mood=2, note="mine")
    other = accounts.register()
    response = client.post(
        CHECKINS, json={"id": "shared-id-1", "mood": 5, "note": "theirs"}, headers=other.headers
    )
    body = assert_problem(response, 409)
    assert "id" in body["errors"]
    assert fetch(client, member, "shared-id-1") == mine
    assert listing(client, other)["total"] == 0
    assert stored_checkins(app) == 1


@pytest.mark.parametrize("bad_id", ["has space", "a/b", "x" * 65, "", "dot.dot", "ñ"])
def test_a_client_id_outside_the_pattern_is_refused(client, member, app, bad_id):
    body = assert_problem(
        client.post(CHECKINS, json={"id": bad_id, "mood": 3}, headers=member.headers), 422
    )
    assert "id" in body["errors"]
    assert stored_checkins(app) == 0


# -- validation: a Problem with per-field errors, and nothing changed ---------------------

INVALID_CREATE = [
    pytest.param({"mood": 0}, "mood", id="mood-0"),
    pytest.param({"mood": 6}, "mood", id="mood-6"),
    pytest.param({"mood": "3"}, "mood", id="mood-as-string"),
    pytest.param({"mood": 2.5}, "mood", id="mood-fraction"),
    pytest.param({"mood": True}, "mood", id="mood-boolean"),
    pytest.param({"mood": None}, "mood", id="mood-null"),
    pytest.param({"note": "missing mood"}, "mood", id="mood-missing"),
    pytest.param({"mood": 3, "needs": ["rent"]}, "needs", id="unknown-need"),
    pytest.param({"mood": 3, "needs": ["food", "food"]}, "needs", id="duplicate-need"),
    pytest.param({"mood": 3, "needs": "food"}, "needs", id="needs-not-a-list"),
    pytest.param({"mood": 3, "needs": [*NEEDS, "food"]}, "needs", id="too-many-needs"),
    pytest.param({"mood": 3, "member_id": "someone-else"}, "member_id", id="member_id"),
    pytest.param({"mood": 3, "created_at": "2020-01-01T00:00:00Z"}, "created_at", id="created_at"),
    pytest.param({"mood": 3, "updated_at": "2020-01-01T00:00:00Z"}, "updated_at", id="updated_at"),
    pytest.param({"mood": 3, "responses": [{"body": "hi"}]}, "responses", id="responses"),
    pytest.param({"mood": 3, "note": "n" * 2001}, "note", id="note-too-long"),
    pytest.param({"mood": 3, "wins": "w" * 1001}, "wins", id="wins-too-long"),
    pytest.param({"mood": 3, "place": "p" * 81}, "place", id="place-too-long"),
    pytest.param({"mood": 3, "note": "before\x00after"}, "note", id="note-nul"),
    pytest.param({"mood": 3, "wins": "bell\x07"}, "wins", id="wins-control-char"),
    pytest.param({"mood": 3, "place": "two\nlines"}, "place", id="place-newline"),
    pytest.param({"mood": 3, "note": "half \ud800 pair"}, "note", id="note-lone-surrogate"),
    pytest.param({"mood": 3, "note": 42}, "note", id="note-not-text"),
    pytest.param({"mood": 3, "help_requested": None}, "help_requested", id="help-null"),
    pytest.param(
        {"mood": 3, "recorded_at": "2026-10-03T12:00:00Z"}, "recorded_at", id="recorded-far-future"
    ),
    pytest.param(
        {"mood": 3, "recorded_at": "2026-10-01T12:00:00"}, "recorded_at", id="recorded-naive"
    ),
    pytest.param({"mood": 3, "recorded_at": "yesterday"}, "recorded_at", id="recorded-garbage"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_CREATE)
def test_an_invalid_new_checkin_is_422_with_the_field_named_and_nothing_stored(
    client, member, app, body, field
):
    create(client, member, note="already here")
    problem = assert_problem(client.post(CHECKINS, json=body, headers=member.headers), 422)
    assert field in problem["errors"], problem
    assert listing(client, member)["total"] == 1
    assert stored_checkins(app) == 1


INVALID_PATCH = [
    pytest.param({"mood": 0}, "mood", id="mood-0"),
    pytest.param({"mood": 6}, "mood", id="mood-6"),
    pytest.param({"mood": "3"}, "mood", id="mood-as-string"),
    pytest.param({"mood": 4.9}, "mood", id="mood-fraction"),
    pytest.param({"mood": None}, "mood", id="mood-null"),
    pytest.param({"needs": ["rent"]}, "needs", id="unknown-need"),
    pytest.param({"needs": ["work", "work"]}, "needs", id="duplicate-need"),
    pytest.param({"needs": None}, "needs", id="needs-null"),
    pytest.param({"id": "new-id"}, "id", id="id"),
    pytest.param({"member_id": "someone-else"}, "member_id", id="member_id"),
    pytest.param({"created_at": "2020-01-01T00:00:00Z"}, "created_at", id="created_at"),
    pytest.param({"responses": []}, "responses", id="responses"),
    pytest.param({"note": "n" * 2001}, "note", id="note-too-long"),
    pytest.param({"note": "\x00"}, "note", id="note-nul"),
    pytest.param({"place": "tab\there"}, "place", id="place-tab"),
    pytest.param({"recorded_at": "2027-01-01T00:00:00Z"}, "recorded_at", id="recorded-future"),
    pytest.param({"recorded_at": None}, "recorded_at", id="recorded-null"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_PATCH)
def test_an_invalid_change_is_422_with_the_field_named_and_changes_nothing(
    client, member, body, field
):
    created = create(client, member, mood=2, needs=["food"], note="as it was", place="home")
    problem = assert_problem(
        client.patch(url(created["id"]), json={"wins": "sneaky", **body}, headers=member.headers),
        422,
    )
    assert field in problem["errors"], problem
    assert fetch(client, member, created["id"]) == created


def test_a_retry_with_invalid_fields_changes_nothing(client, member, app):
    created = create(client, member, id="retry-bad", mood=2, note="as it was")
    problem = assert_problem(
        client.post(
            CHECKINS,
            json={"id": "retry-bad", "mood": 4, "note": "x", "recorded_at": "2027-01-01T00:00Z"},
            headers=member.headers,
        ),
        422,
    )
    assert "recorded_at" in problem["errors"]
    assert fetch(client, member, "retry-bad") == created
    assert stored_checkins(app) == 1


def test_free_text_at_its_limit_is_accepted_with_newlines_and_tabs(client, member):
    created = create(
        client,
        member,
        note="line one\n\tindented" + "n" * (2000 - 18),
        wins="w" * 1000,
        place="p" * 80,
    )
    assert len(created["note"]) == 2000 and created["note"].startswith("line one\n\tindented")
    assert len(created["wins"]) == 1000 and len(created["place"]) == 80


def test_every_need_may_be_given_once(client, member):
    assert create(client, member, needs=NEEDS)["needs"] == NEEDS


def test_a_phone_clock_less_than_a_day_ahead_is_accepted(client, member):
    ahead = NOW + timedelta(hours=23)
    created = create(client, member, recorded_at=ahead.isoformat())
    assert at(created["recorded_at"]) == ahead
    assert at(created["created_at"]) == NOW


def test_a_checkin_recorded_long_ago_is_accepted_and_listed_by_arrival(client, member, clock):
    old = create(client, member, recorded_at="2026-01-01T00:00:00Z")
    clock.shift(timedelta(minutes=1))
    newer = create(client, member, recorded_at="2025-01-01T00:00:00Z")
    assert [c["id"] for c in listing(client, member)["items"]] == [newer["id"], old["id"]]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([{"mood": 3}], id="a-list"),
        pytest.param("mood=3", id="a-string"),
        pytest.param(3, id="a-number"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_and_stores_nothing(client, member, app, body):
    response = client.post(CHECKINS, json=body, headers=member.headers)
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert_problem(response, response.status_code)
    assert stored_checkins(app) == 0


# -- place: a label, never coordinates ----------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"lat": 41.88, "lng": -87.63}, id="lat-lng"),
        pytest.param({"latitude": 41.88, "longitude": -87.63}, id="latitude-longitude"),
        pytest.param({"coordinates": [41.88, -87.63]}, id="coordinates"),
        pytest.param({"location": "41.88,-87.63"}, id="location"),
        pytest.param({"geo": {"lat": 41.88, "lng": -87.63}}, id="geo"),
    ],
)
def test_coordinate_fields_are_refused_and_nothing_is_stored(client, member, app, extra):
    body = {"mood": 3, "place": "library", **extra}
    problem = assert_problem(client.post(CHECKINS, json=body, headers=member.headers), 422)
    assert set(extra) <= set(problem["errors"])
    assert stored_checkins(app) == 0


@pytest.mark.parametrize(
    "place",
    [
        pytest.param({"lat": 41.88, "lng": -87.63}, id="object"),
        pytest.param([41.88, -87.63], id="pair"),
        pytest.param(41.88, id="number"),
    ],
)
def test_place_is_text_only(client, member, app, place):
    problem = assert_problem(
        client.post(CHECKINS, json={"mood": 3, "place": place}, headers=member.headers), 422
    )
    assert "place" in problem["errors"]
    assert stored_checkins(app) == 0


# -- mentors and check-ins ----------------------------------------------------------------


def test_mentors_get_404_on_every_checkin_path_and_create_nothing(client, accounts, member, app):
    created = create(client, member, note="mine")
    mentor = accounts.register(role="mentor")
    share(client, member, mentor, ["checkins.full"])
    for response in (
        client.get(CHECKINS, headers=mentor.headers),
        client.post(CHECKINS, json={"mood": 3}, headers=mentor.headers),
        client.get(url(created["id"]), headers=mentor.headers),
        client.patch(url(created["id"]), json={"mood": 1}, headers=mentor.headers),
        client.delete(url(created["id"]), headers=mentor.headers),
    ):
        assert_problem(response, 404)
    assert fetch(client, member, created["id"]) == created
    assert stored_checkins(app) == 1


def test_the_member_sees_mentors_responses_on_their_checkin_oldest_first(
    client, accounts, member, clock
):
    created = create(client, member, mood=2, note="rough week")
    mae = accounts.register(role="mentor", display_name="Mae")
    sam = accounts.register(role="mentor")
    share(client, member, mae, ["checkins.mood"])
    share(client, member, sam, ["checkins.full"])
    clock.shift(timedelta(minutes=1))
    first = respond(client, mae, created["id"], "Thinking of you. Call me?")
    clock.shift(timedelta(minutes=1))
    second = respond(client, sam, created["id"], "Proud of you.")

    assert first["checkin_id"] == created["id"] and first["mentor_id"] == mae.account_id
    assert first["mentor_name"] == "Mae" and first["body"] == "Thinking of you. Call me?"
    seen = fetch(client, member, created["id"])["responses"]
    assert [r["id"] for r in seen] == [first["id"], second["id"]]
    assert seen[0] == first
    assert seen[1]["mentor_name"] == sam.username and seen[1]["mentor_id"] == sam.account_id
    assert at(seen[1]["created_at"]) == NOW + timedelta(minutes=2)
    [listed] = listing(client, member)["items"]
    assert listed["responses"] == seen


def test_a_mentors_response_does_not_change_the_checkin_itself(client, accounts, member):
    created = create(client, member, mood=2, note="rough week")
    mentor = accounts.register(role="mentor")
    share(client, member, mentor, ["checkins.full"])
    respond(client, mentor, created["id"], "Here for you")
    after = fetch(client, member, created["id"])
    assert {k: v for k, v in after.items() if k != "responses"} == {
        k: v for k, v in created.items() if k != "responses"
    }


def test_deleting_a_checkin_deletes_its_responses(client, accounts, member, app):
    created = create(client, member, note="rough week")
    kept = create(client, member, note="better")
    mentor = accounts.register(role="mentor")
    share(client, member, mentor, ["checkins.full"])
    respond(client, mentor, created["id"], "Here for you")
    respond(client, mentor, created["id"], "Still here")
    respond(client, mentor, kept["id"], "Nice")
    assert stored_responses(app, created["id"]) == 2

    assert client.delete(url(created["id"]), headers=member.headers).status_code == 204
    assert stored_responses(app, created["id"]) == 0
    assert stored_responses(app, kept["id"]) == 1
    assert len(fetch(client, member, kept["id"])["responses"]) == 1
    gone = client.post(
        f"{url(created['id'])}/responses", json={"body": "hello?"}, headers=mentor.headers
    )
    assert_problem(gone, 404)
    assert stored_responses(app, created["id"]) == 0


def test_a_member_cannot_respond_to_a_checkin(client, member, app):
    created = create(client, member)
    response = client.post(
        f"{url(created['id'])}/responses", json={"body": "note to self"}, headers=member.headers
    )
    assert_problem(response, 404)
    assert stored_responses(app, created["id"]) == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"body": ""}, id="empty"),
        pytest.param({"body": "   "}, id="blank"),
        pytest.param({"body": "r" * 501}, id="too-long"),
        pytest.param({"body": "nul\x00"}, id="nul"),
        pytest.param({}, id="missing"),
        pytest.param({"body": "ok", "mentor_id": "x"}, id="unknown-field"),
    ],
)
def test_an_invalid_response_is_422_and_stores_nothing(client, accounts, member, app, body):
    created = create(client, member)
    mentor = accounts.register(role="mentor")
    share(client, member, mentor, ["checkins.full"])
    response = client.post(f"{url(created['id'])}/responses", json=body, headers=mentor.headers)
    assert_problem(response, 422)
    assert stored_responses(app, created["id"]) == 0
