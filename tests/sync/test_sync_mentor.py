"""Sync for mentors (docs/sync.md, "Mentors"; product.md, "Offline sync" and "Check-ins,
mentors, privacy"): a mentor's phone pulls the grants they hold that are in force and the
shared view of their mentees' check-ins, shaped by each grant's scopes. What a mentor may
no longer see (grant revoked, ended or narrowed, history unshared, member erased) leaves
the phone on the next pull. Every mentor pull is a mentor read: it is in the member's
access log. Staff may not sync (404: the path is not theirs); nobody without a
token may (401).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures.directory import Directory
from tests.fixtures.http import assert_problem
from tests.sync.helpers import (
    ACCESS_LOG,
    CHECKINS,
    ME,
    MENTOR_TABLES,
    NOW,
    NOW_MS,
    SYNC,
    Phone,
    assert_gone,
    change_grant,
    check_columns,
    connect,
    get_checkin,
    is_replacement,
    later,
    ms,
    nothing_in,
    ok,
    pull,
    pull_response,
    push_response,
    raw_checkin,
    records,
    rest_checkin,
    revoke,
    table_changes,
)

NOTE = "Landlord says out by Friday unless I pay"
WINS = "Finished the forklift certificate"
PLACE = "Northside Public Library"
BASE = {"id", "member_id", "member_name", "recorded_at", "created_at"}
SHARED_FIELDS = {"mood", "needs", "help_requested", "wins", "note", "place"}


def granted(raw: dict[str, Any]) -> set[str]:
    """The fields of a shared check-in that carry a value."""
    return {name for name in SHARED_FIELDS if raw.get(name) is not None}


def private_checkin(client: Any, member: Any, **fields: Any) -> dict[str, Any]:
    """A check-in with every field filled, with words that must not leak."""
    return rest_checkin(
        client,
        member,
        **{
            "mood": 2,
            "needs": ["housing", "legal"],
            "wins": WINS,
            "note": NOTE,
            "place": PLACE,
            "help_requested": True,
            **fields,
        },
    )


def shared(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return records(body, "shared_checkins")


def assert_no_private_words(body: dict[str, Any]) -> None:
    text = json.dumps(body, ensure_ascii=False)
    for words in (NOTE, WINS, PLACE):
        assert words not in text, words


# -- what a mentor's phone gets ------------------------------------------------------------


def test_a_mentor_pulls_the_grants_and_shared_checkins_tables_and_nothing_else(
    client, member, mentor
):
    private_checkin(client, member)
    rest_checkin_id = rest_checkin(client, member)["id"]
    connect(client, member, mentor, ["checkins.full", "appointments.times"], share_history=True)

    body = pull(client, mentor)

    assert set(body["changes"]) == MENTOR_TABLES
    assert rest_checkin_id in shared(body)
    assert {table: c["deleted"] for table, c in body["changes"].items()} == {
        "grants": [],
        "shared_checkins": [],
        "shared_plan_steps": [],
        "alerts": [],
    }


def test_a_full_grant_shares_every_field_with_the_members_name(client, member, mentor):
    checkin = private_checkin(client, member, recorded_at="2026-10-01T06:30:00-05:00")
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)

    body = pull(client, mentor)

    assert shared(body) == {
        checkin["id"]: {
            "id": checkin["id"],
            "member_id": member.account_id,
            "member_name": "Rosa Díaz",
            "recorded_at": ms(NOW.replace(hour=11, minute=30)),
            "created_at": NOW_MS,
            "mood": 2,
            "needs": "housing,legal",
            "wins": WINS,
            "note": NOTE,
            "place": PLACE,
            "help_requested": True,
        }
    }
    check_columns("shared_checkins", shared(body)[checkin["id"]])
    raw = records(body, "grants")[grant["id"]]
    check_columns("grants", raw)
    assert raw["member_name"] == "Rosa Díaz" and raw["mentor_name"] == "Mae"
    assert raw["scopes"] == "checkins.full" and raw["in_force"] is True
    assert raw["share_history"] is True and raw["revoked_at"] is None
    assert raw["created_at"] == NOW_MS


@pytest.mark.parametrize(
    ("scopes", "fields"),
    [
        pytest.param(["checkins.mood"], {"mood"}, id="mood"),
        pytest.param(["checkins.needs"], {"needs"}, id="needs"),
        pytest.param(["checkins.mood", "checkins.needs"], {"mood", "needs"}, id="mood-needs"),
        pytest.param(["checkins.mood", "help_alerts"], {"mood", "help_requested"}, id="mood-help"),
    ],
)
def test_a_mentor_gets_only_the_fields_the_grants_scopes_name(
    client, member, mentor, scopes, fields
):
    checkin = private_checkin(client, member)
    connect(client, member, mentor, scopes, share_history=True)

    body = pull(client, mentor)

    raw = shared(body)[checkin["id"]]
    # Every column travels; what the scopes do not name is null (a phone merges what a
    # pull sends into what it holds, so a field left out would keep an old value).
    assert set(raw) == BASE | SHARED_FIELDS
    assert granted(raw) == fields
    assert raw["member_name"] == "Rosa Díaz"
    if "mood" in fields:
        assert raw["mood"] == 2
    if "needs" in fields:
        assert raw["needs"] == "housing,legal"
    check_columns("shared_checkins", raw)
    assert_no_private_words(body)


def test_a_help_alerts_only_grant_shares_just_the_calls_for_help(client, member, mentor):
    quiet = rest_checkin(client, member, mood=4, note=NOTE)
    sos = private_checkin(client, member)
    connect(client, member, mentor, ["help_alerts"], share_history=True)

    body = pull(client, mentor)

    assert set(shared(body)) == {sos["id"]}
    assert granted(shared(body)[sos["id"]]) == {"help_requested"}
    assert quiet["id"] not in shared(body)
    assert_no_private_words(body)


def test_an_appointments_only_grant_shares_no_checkins(client, member, mentor):
    private_checkin(client, member)
    grant = connect(client, member, mentor, ["appointments.times"], share_history=True)

    body = pull(client, mentor)

    assert shared(body) == {}
    assert set(records(body, "grants")) == {grant["id"]}
    assert_no_private_words(body)


def test_without_shared_history_only_checkins_after_the_grant_are_shared(
    client, member, mentor, clock
):
    before = rest_checkin(client, member, mood=1)
    clock.shift(timedelta(minutes=1))
    connect(client, member, mentor, ["checkins.mood"])
    clock.shift(timedelta(minutes=1))
    after = rest_checkin(client, member, mood=5)
    # Written offline before the grant, synced after it: still private.
    offline = raw_checkin(mood=3, recorded_at=NOW_MS)
    start = pull(client, member)
    assert (
        push_response(
            client, member, {"checkins": table_changes(created=[offline])}, start["timestamp"]
        ).status_code
        == 200
    )

    body = pull(client, mentor)

    assert set(shared(body)) == {after["id"]}
    assert before["id"] not in shared(body) and offline["id"] not in shared(body)


def test_a_mentor_sees_only_the_members_who_granted_them(client, accounts, member, mentor):
    mine = rest_checkin(client, member, mood=2)
    stranger = accounts.register(display_name="Stranger")
    rest_checkin(client, stranger, mood=3)
    other_mentor = accounts.register(role="mentor")
    elsewhere = connect(client, stranger, other_mentor, ["checkins.full"], share_history=True)
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)

    body = pull(client, mentor)

    assert set(shared(body)) == {mine["id"]}
    assert {r["member_id"] for r in shared(body).values()} == {member.account_id}
    assert set(records(body, "grants")) == {grant["id"]}
    assert elsewhere["id"] not in records(body, "grants")


# -- incremental pulls ---------------------------------------------------------------------


def test_a_new_checkin_reaches_the_mentor_on_the_next_pull_and_then_nothing_more(
    client, member, mentor, clock
):
    connect(client, member, mentor, ["checkins.mood"])
    first = pull(client, mentor)
    assert shared(first) == {}

    clock.shift(timedelta(minutes=1))
    new = rest_checkin(client, member, mood=4, note=NOTE)
    second = pull(client, mentor, first["timestamp"])

    assert set(shared(second)) == {new["id"]}
    assert shared(second)[new["id"]]["mood"] == 4
    assert records(second, "grants") == {}
    assert_no_private_words(second)
    assert nothing_in(pull(client, mentor, second["timestamp"])) == {}


def test_a_members_edit_of_a_shared_checkin_reaches_the_mentor(client, member, mentor, clock):
    checkin = rest_checkin(client, member, mood=2, note="first words")
    connect(client, member, mentor, ["checkins.full"], share_history=True)
    phone = Phone(client, mentor)
    phone.sync()

    clock.shift(timedelta(minutes=1))
    ok(
        client.patch(
            f"{CHECKINS}/{checkin['id']}",
            json={"mood": 4, "note": "second words"},
            headers=member.headers,
        )
    )
    body = phone.sync()

    assert set(shared(body)) == {checkin["id"]}
    assert (shared(body)[checkin["id"]]["mood"], shared(body)[checkin["id"]]["note"]) == (
        4,
        "second words",
    )
    phone.assert_matches_server()


def test_a_checkin_moved_to_before_an_unshared_history_leaves_the_mentors_phone(
    client, member, mentor, clock
):
    clock.shift(timedelta(minutes=1))
    connect(client, member, mentor, ["checkins.mood"])
    clock.shift(timedelta(minutes=1))
    checkin = rest_checkin(client, member, mood=2)
    phone = Phone(client, mentor)
    phone.sync()
    assert phone.ids("shared_checkins") == {checkin["id"]}

    clock.shift(timedelta(minutes=1))
    ok(
        client.patch(
            f"{CHECKINS}/{checkin['id']}",
            json={"recorded_at": NOW.isoformat()},
            headers=member.headers,
        )
    )
    body = phone.sync()

    assert_gone(body, "shared_checkins", checkin["id"])
    phone.assert_matches_server()


def test_a_checkin_the_member_deletes_leaves_the_mentors_phone(client, member, mentor):
    doomed = rest_checkin(client, member)
    kept = rest_checkin(client, member)
    connect(client, member, mentor, ["checkins.mood"], share_history=True)
    first = pull(client, mentor)
    assert set(shared(first)) == {doomed["id"], kept["id"]}

    ok(client.delete(f"{CHECKINS}/{doomed['id']}", headers=member.headers), 204)
    second = pull(client, mentor, first["timestamp"])

    assert_gone(second, "shared_checkins", doomed["id"])
    if is_replacement(second):
        assert set(shared(second)) == {kept["id"]}


def test_a_withdrawn_call_for_help_leaves_a_help_alerts_only_mentors_phone(client, member, mentor):
    sos = private_checkin(client, member)
    connect(client, member, mentor, ["help_alerts"], share_history=True)
    first = pull(client, mentor)
    assert set(shared(first)) == {sos["id"]}

    ok(
        client.patch(
            f"{CHECKINS}/{sos['id']}", json={"help_requested": False}, headers=member.headers
        )
    )
    second = pull(client, mentor, first["timestamp"])

    assert_gone(second, "shared_checkins", sos["id"])


@pytest.mark.parametrize("ender", ["member", "mentor"])
def test_a_revoked_grant_takes_its_grant_and_checkins_off_the_mentors_phone(
    client, accounts, member, mentor, clock, ender
):
    checkins = {rest_checkin(client, member, mood=m)["id"] for m in (1, 2)}
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    other = accounts.register(display_name="Other mentee")
    others = {rest_checkin(client, other, mood=4)["id"]}
    other_grant = connect(client, other, mentor, ["checkins.mood"], share_history=True)
    phone = Phone(client, mentor)
    first = phone.sync()
    assert set(shared(first)) == checkins | others
    assert set(records(first, "grants")) == {grant["id"], other_grant["id"]}

    clock.shift(timedelta(minutes=1))
    revoke(client, member if ender == "member" else mentor, grant["id"])
    second = phone.sync()

    assert_gone(second, "grants", grant["id"])
    for checkin_id in checkins:
        assert_gone(second, "shared_checkins", checkin_id)
    # The other mentee's data stays on the phone (a replacement sync must list it again).
    assert phone.ids("shared_checkins") == others
    assert phone.ids("grants") == {other_grant["id"]}
    phone.assert_matches_server()
    # Nothing of the member reaches the mentor afterwards.
    clock.shift(timedelta(minutes=1))
    rest_checkin(client, member, note=NOTE)
    third = phone.sync()
    assert member.account_id not in {r["member_id"] for r in shared(third).values()}
    assert_no_private_words(third)
    assert phone.ids("shared_checkins") == others


def test_a_grant_that_runs_out_leaves_the_mentors_phone(client, accounts, member, mentor, clock):
    checkin = rest_checkin(client, member)
    grant = connect(
        client,
        member,
        mentor,
        ["checkins.mood"],
        share_history=True,
        expires_at=(NOW + timedelta(hours=1)).isoformat(),
    )
    first = pull(client, mentor)
    assert set(shared(first)) == {checkin["id"]}
    assert records(first, "grants")[grant["id"]]["expires_at"] == ms(NOW + timedelta(hours=1))

    later(clock, accounts, timedelta(hours=2), mentor)
    second = pull(client, mentor, first["timestamp"])

    assert_gone(second, "grants", grant["id"])
    assert_gone(second, "shared_checkins", checkin["id"])
    clock.shift(timedelta(minutes=1))
    assert nothing_in(pull(client, mentor, second["timestamp"])) == {}


def test_narrowing_a_grant_strips_the_fields_from_the_mentors_phone(client, member, mentor, clock):
    checkin = private_checkin(client, member)
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    first = pull(client, mentor)
    assert shared(first)[checkin["id"]]["note"] == NOTE

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["checkins.mood"])
    second = pull(client, mentor, first["timestamp"])

    # WatermelonDB replaces a record with what the pull sends: it must be sent again,
    # without the fields the grant no longer covers.
    raw = shared(second)[checkin["id"]]
    assert granted(raw) == {"mood"} and raw["mood"] == 2
    assert (raw["note"], raw["wins"], raw["place"], raw["needs"]) == (None, None, None, None)
    assert records(second, "grants")[grant["id"]]["scopes"] == "checkins.mood"
    assert_no_private_words(second)


def test_widening_a_grant_sends_the_newly_shared_fields(client, member, mentor, clock):
    checkin = private_checkin(client, member)
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    first = pull(client, mentor)
    assert shared(first)[checkin["id"]]["note"] is None

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["checkins.full"])
    second = pull(client, mentor, first["timestamp"])

    raw = shared(second)[checkin["id"]]
    assert (raw["note"], raw["wins"], raw["place"]) == (NOTE, WINS, PLACE)


def test_unsharing_history_takes_older_checkins_off_the_mentors_phone(
    client, member, mentor, clock
):
    older = rest_checkin(client, member)
    clock.shift(timedelta(minutes=1))
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    clock.shift(timedelta(minutes=1))
    newer = rest_checkin(client, member)
    first = pull(client, mentor)
    assert set(shared(first)) == {older["id"], newer["id"]}

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], share_history=False)
    second = pull(client, mentor, first["timestamp"])

    assert_gone(second, "shared_checkins", older["id"])
    if is_replacement(second):
        assert set(shared(second)) == {newer["id"]}


def test_a_grant_narrowed_to_appointments_only_takes_every_checkin_off_the_phone(
    client, member, mentor, clock
):
    checkins = {rest_checkin(client, member)["id"] for _ in range(2)}
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    phone = Phone(client, mentor)
    phone.sync()
    assert phone.ids("shared_checkins") == checkins

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["appointments.times"])
    second = phone.sync()

    for checkin_id in checkins:
        assert_gone(second, "shared_checkins", checkin_id)
    assert phone.ids("shared_checkins") == set()
    assert phone.record("grants", grant["id"])["scopes"] == "appointments.times"
    phone.assert_matches_server()


def test_sharing_history_sends_the_older_checkins(client, member, mentor, clock):
    older = rest_checkin(client, member, mood=1)
    clock.shift(timedelta(minutes=1))
    grant = connect(client, member, mentor, ["checkins.mood"])
    phone = Phone(client, mentor)
    phone.sync()
    assert phone.ids("shared_checkins") == set()

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], share_history=True)
    phone.sync()

    assert phone.ids("shared_checkins") == {older["id"]}
    assert phone.record("shared_checkins", older["id"])["mood"] == 1
    phone.assert_matches_server()


def test_a_members_new_name_reaches_the_mentors_phone(client, member, mentor, clock):
    checkin = rest_checkin(client, member)
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    phone = Phone(client, mentor)
    phone.sync()
    assert phone.record("shared_checkins", checkin["id"])["member_name"] == "Rosa Díaz"

    clock.shift(timedelta(minutes=1))
    ok(client.patch(ME, json={"display_name": "Rosa D."}, headers=member.headers))
    phone.sync()

    assert phone.record("grants", grant["id"])["member_name"] == "Rosa D."
    assert phone.record("shared_checkins", checkin["id"])["member_name"] == "Rosa D."
    phone.assert_matches_server()


def test_a_mentors_new_name_reaches_the_members_phone(client, member, mentor, clock):
    checkin = rest_checkin(client, member)
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    reply = ok(
        client.post(
            f"{CHECKINS}/{checkin['id']}/responses", json={"body": "Hi"}, headers=mentor.headers
        ),
        201,
    )
    phone = Phone(client, member)
    phone.sync()
    assert phone.record("grants", grant["id"])["mentor_name"] == "Mae"

    clock.shift(timedelta(minutes=1))
    ok(client.patch(ME, json={"display_name": "Mae West"}, headers=mentor.headers))
    phone.sync()

    assert phone.record("grants", grant["id"])["mentor_name"] == "Mae West"
    assert phone.record("checkin_responses", reply["id"])["mentor_name"] == "Mae West"
    phone.assert_matches_server()


def test_an_erased_member_disappears_from_the_mentors_next_pull(
    client, accounts, member, mentor, clock
):
    checkins = {private_checkin(client, member)["id"], rest_checkin(client, member)["id"]}
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    other = accounts.register(display_name="Other mentee")
    others = {rest_checkin(client, other, mood=4)["id"]}
    other_grant = connect(client, other, mentor, ["checkins.mood"], share_history=True)
    phone = Phone(client, mentor)
    first = phone.sync()
    assert set(shared(first)) == checkins | others

    clock.shift(timedelta(minutes=1))
    erased = client.delete(ME, json={"password": member.password}, headers=member.headers)
    assert erased.status_code == 204, erased.get_data(as_text=True)
    second = phone.sync()

    assert_gone(second, "grants", grant["id"])
    for checkin_id in checkins:
        assert_gone(second, "shared_checkins", checkin_id)
    assert_no_private_words(second)
    assert phone.ids("shared_checkins") == others
    assert phone.ids("grants") == {other_grant["id"]}
    phone.assert_matches_server()
    assert_problem(pull_response(client, member), 401)


def test_a_mentor_erasing_their_account_leaves_the_members_phone_consistent(
    client, member, mentor, clock
):
    checkin = rest_checkin(client, member)
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    reply = ok(
        client.post(
            f"{CHECKINS}/{checkin['id']}/responses", json={"body": "Hi"}, headers=mentor.headers
        ),
        201,
    )
    phone = Phone(client, member)
    phone.sync()
    assert phone.ids("checkin_responses") == {reply["id"]}

    clock.shift(timedelta(minutes=1))
    erased = client.delete(ME, json={"password": mentor.password}, headers=mentor.headers)
    assert erased.status_code == 204, erased.get_data(as_text=True)
    phone.sync()

    if grant["id"] in phone.ids("grants"):
        assert phone.record("grants", grant["id"])["in_force"] is False
    if reply["id"] in phone.ids("checkin_responses"):
        assert phone.record("checkin_responses", reply["id"])["mentor_name"] in (None, "")
    phone.assert_matches_server()


# -- the access log ------------------------------------------------------------------------


def test_a_mentors_pull_is_written_to_the_members_access_log(client, member, mentor):
    checkins = {rest_checkin(client, member)["id"] for _ in range(2)}
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    assert ok(client.get(ACCESS_LOG, headers=member.headers))["total"] == 0

    body = pull(client, mentor)

    assert set(shared(body)) == checkins
    entries = ok(client.get(ACCESS_LOG, headers=member.headers))["items"]
    shown = [e for e in entries if set(e["record_ids"]) & checkins]
    assert shown, entries
    assert {e["mentor_id"] for e in shown} == {mentor.account_id}
    assert {e["grant_id"] for e in shown} == {grant["id"]}
    assert set().union(*(set(e["record_ids"]) for e in shown)) == checkins


# -- what a mentor may not do --------------------------------------------------------------


def test_a_mentors_push_never_changes_a_members_data(client, member, mentor):
    checkin = rest_checkin(client, member, mood=2, note="mine")
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    start = pull(client, mentor)
    before = ok(get_checkin(client, member, checkin["id"]))
    forged = {"id": checkin["id"], "mood": 5, "note": "changed by the mentor"}

    response = push_response(
        client,
        mentor,
        {
            "shared_checkins": table_changes(updated=[{**forged, "member_id": member.account_id}]),
            "grants": table_changes(
                updated=[{"id": grant["id"], "scopes": "checkins.full", "in_force": True}],
                deleted=[grant["id"]],
            ),
            "checkins": table_changes(updated=[raw_checkin(**forged)]),
        },
        start["timestamp"],
    )

    assert response.status_code in (200, 409), response.get_data(as_text=True)
    if response.status_code == 200:
        rejected = response.get_json()["experimentalRejectedIds"]
        assert checkin["id"] in rejected.get("shared_checkins", [])
        assert grant["id"] in rejected.get("grants", [])
    assert ok(get_checkin(client, member, checkin["id"])) == before
    assert set(records(pull(client, mentor), "grants")) == {grant["id"]}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_staff_cannot_sync_the_path_does_not_exist_for_them(app, client, member, method):
    """docs/sync.md: staff get 404, as on every role-bound path."""
    rest_checkin(client, member, note=NOTE)
    directory = Directory(app, client)
    if method == "GET":
        response = client.get(SYNC, headers=directory.headers)
    else:
        response = client.post(
            SYNC,
            query_string={"last_pulled_at": NOW_MS},
            json={"checkins": table_changes(created=[raw_checkin()])},
            headers=directory.headers,
        )
    assert_problem(response, 404)
    assert NOTE not in response.get_data(as_text=True)
    assert len(records(pull(client, member), "checkins")) == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer not-a-token"}, id="bad-token"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_syncing_needs_a_valid_token(app, client, member, method, headers):
    rest_checkin(client, member, note=NOTE)
    if method == "GET":
        response = client.get(SYNC, headers=headers)
    else:
        response = client.post(
            SYNC,
            query_string={"last_pulled_at": NOW_MS},
            json={"checkins": table_changes(created=[raw_checkin()])},
            headers=headers,
        )
    assert_problem(response, 401)
    assert NOTE not in response.get_data(as_text=True)
    assert len(records(pull(client, member), "checkins")) == 1
