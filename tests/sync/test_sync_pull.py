"""Sync pull, GET /api/v1/sync (docs/sync.md; product.md, "Offline sync: what must hold").

A first pull returns every record the caller may see and deletes nothing; a pull with the
returned timestamp returns only what changed since, and nothing when nothing did; no id
appears twice in one answer; deletions arrive in ``deleted``; the timestamp is the
server's strictly increasing clock in milliseconds; a write committed while a pull runs is
never skipped; migration pulls resend whole tables; a client older than the tombstone
horizon gets a replacement sync. Bad parameters are 422 problems.
"""

from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.fixtures.directory import SF, Directory, place
from tests.fixtures.http import assert_problem
from tests.sync.helpers import (
    APPOINTMENTS,
    CHECKINS,
    CHICAGO,
    COLUMNS,
    ME,
    MEMBER_TABLES,
    NOW,
    NOW_MS,
    SAVED,
    Phone,
    assert_gone,
    change_grant,
    check_columns,
    check_shape,
    connect,
    count,
    deleted_ids,
    is_replacement,
    later,
    ms,
    new_id,
    nothing_in,
    ok,
    pull,
    pull_response,
    records,
    rest_appointment,
    rest_checkin,
    revoke,
)

# The default plan of a 2026-10-20 09:00 Chicago appointment (14:00Z), as in
# tests/reminders/test_appointments.py: 7, 3 and 1 days before at 10:00 local, and 2 hours before.
OCCURRENCE_1020 = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
DUE_1020 = {
    "7d": datetime(2026, 10, 13, 15, 0, tzinfo=UTC),
    "3d": datetime(2026, 10, 17, 15, 0, tzinfo=UTC),
    "1d": datetime(2026, 10, 19, 15, 0, tzinfo=UTC),
    "2h": datetime(2026, 10, 20, 12, 0, tzinfo=UTC),
}


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa Díaz", "timezone": CHICAGO}


def respond(client: Any, mentor: Any, checkin_id: str, body: str) -> dict[str, Any]:
    created: dict[str, Any] = ok(
        client.post(
            f"{CHECKINS}/{checkin_id}/responses", json={"body": body}, headers=mentor.headers
        ),
        201,
    )
    return created


def offset_name(raw_offset: str) -> str:
    """'7d@10:00' and '7d' both name the 7-day reminder."""
    return raw_offset.split("@")[0]


# -- first pull ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(None, id="absent"),
        pytest.param("null", id="null"),
        pytest.param("", id="empty"),
        pytest.param(0, id="zero"),
    ],
)
def test_a_first_pull_returns_every_record_of_the_member_and_deletes_nothing(
    client, accounts, member, mentor, first
):
    checkin = rest_checkin(client, member, mood=4, note="a good day")
    appointment = rest_appointment(client, member)
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    reply = respond(client, mentor, checkin["id"], "Proud of you")
    other = accounts.register()
    rest_checkin(client, other, note="not Rosa's")
    rest_appointment(client, other, title="Not Rosa's")

    body = pull(client, member, first)

    assert set(body["changes"]) == MEMBER_TABLES
    assert set(records(body, "checkins")) == {checkin["id"]}
    assert set(records(body, "appointments")) == {appointment["id"]}
    assert set(records(body, "grants")) == {grant["id"]}
    assert set(records(body, "checkin_responses")) == {reply["id"]}
    reminders = records(body, "reminders")
    assert len(reminders) == 4
    assert {r["appointment_id"] for r in reminders.values()} == {appointment["id"]}
    assert records(body, "saved_resources") == {} and records(body, "resources") == {}
    assert {table: c["deleted"] for table, c in body["changes"].items()} == {
        table: [] for table in MEMBER_TABLES
    }


def test_a_first_pull_carries_the_values_the_member_wrote(client, member):
    checkin = rest_checkin(
        client,
        member,
        mood=2,
        needs=["housing", "work"],
        wins="Got the bus pass",
        note="Long day.\nTalked to my sister.",
        place="library",
        help_requested=True,
        recorded_at="2026-10-01T06:30:00-05:00",
    )
    appointment = rest_appointment(
        client,
        member,
        title="Housing viewing",
        kind="housing",
        starts_at="2026-10-21T14:30",
        ends_at="2026-10-21T15:15",
        location="12 Elm St",
        notes="Bring ID",
        reminder_offsets=["1d@18:00", "30m"],
        channels=["push"],
    )

    body = pull(client, member)

    raw = records(body, "checkins")[checkin["id"]]
    assert raw["mood"] == 2
    assert raw["needs"].split(",") == ["housing", "work"]
    assert raw["wins"] == "Got the bus pass"
    assert raw["note"] == "Long day.\nTalked to my sister."
    assert raw["place"] == "library"
    assert raw["help_requested"] is True
    assert raw["recorded_at"] == ms(datetime(2026, 10, 1, 11, 30, tzinfo=UTC))
    assert raw["created_at"] == NOW_MS and raw["updated_at"] == NOW_MS
    raw = records(body, "appointments")[appointment["id"]]
    assert raw["title"] == "Housing viewing" and raw["kind"] == "housing"
    assert raw["starts_at"] == "2026-10-21T14:30" and raw["ends_at"] == "2026-10-21T15:15"
    assert raw["timezone"] == CHICAGO
    assert raw["location"] == "12 Elm St" and raw["notes"] == "Bring ID"
    assert raw["recurrence"] is None
    assert raw["reminder_offsets"] == ",".join(appointment["reminder_offsets"])
    assert raw["reminder_offsets"].split(",") == ["1d@18:00", "30m"]
    assert raw["channels"] == "push"
    assert raw["status"] == "scheduled"
    assert raw["created_at"] == NOW_MS and raw["updated_at"] == NOW_MS


def test_every_raw_record_has_exactly_the_documented_columns_and_types(app, client, member, mentor):
    checkin = rest_checkin(client, member, needs=["food"], note="n", wins="w", place="p")
    rest_checkin(client, member)  # the optional columns left empty
    rest_appointment(client, member, recurrence="FREQ=WEEKLY;COUNT=2")
    connect(
        client,
        member,
        mentor,
        ["checkins.mood", "help_alerts", "plan.progress"],
        share_history=True,
    )
    respond(client, mentor, checkin["id"], "Here for you")
    directory = Directory(app, client)
    listing_id = directory.add("Pantry", locations=[place("Pantry hall", SF)])
    ok(client.put(f"{SAVED}/{listing_id}", headers=member.headers), 201)
    goal = {"area": "work", "title": "A job", "why": "Rent"}
    goal_id = ok(client.post("/api/v1/plan/goals", json=goal, headers=member.headers), 201)["id"]
    step = {"title": "Resume", "due_date": "2026-11-02", "due_time": "10:00", "bring": ["ID"]}
    ok(client.post(f"/api/v1/plan/goals/{goal_id}/steps", json=step, headers=member.headers), 201)
    # the optional columns left empty
    ok(
        client.post(
            f"/api/v1/plan/goals/{goal_id}/steps", json={"title": "Ask"}, headers=member.headers
        ),
        201,
    )

    suggestions = f"/api/v1/mentees/{member.account_id}/plan/suggestions"
    ok(client.post(suggestions, json={"title": "Ask"}, headers=mentor.headers), 201)

    body = pull(client, member)

    checked = set()
    for table in MEMBER_TABLES - {"resources"}:
        rows = records(body, table)
        assert rows, f"no {table} record to check"
        for record in rows.values():
            check_columns(table, record)
        checked.add(table)
    assert checked == set(COLUMNS) - {"resources", "shared_checkins", "shared_plan_steps", "alerts"}


# -- incremental pulls ---------------------------------------------------------------------


def test_pulling_again_with_the_returned_timestamp_and_no_writes_returns_nothing(
    client, member, mentor, clock
):
    checkin = rest_checkin(client, member)
    rest_appointment(client, member)
    connect(client, member, mentor, ["checkins.full"], share_history=True)
    respond(client, mentor, checkin["id"], "Hi")
    first = pull(client, member)
    assert nothing_in(first)

    clock.shift(timedelta(seconds=30))
    second = pull(client, member, first["timestamp"])
    third = pull(client, member, second["timestamp"])

    assert nothing_in(second) == {} and not is_replacement(second)
    assert nothing_in(third) == {} and not is_replacement(third)
    assert set(second["changes"]) == MEMBER_TABLES
    assert first["timestamp"] <= second["timestamp"] <= third["timestamp"]


def test_an_incremental_pull_returns_only_what_changed_since(client, member, clock):
    kept = rest_checkin(client, member, mood=2)
    moved = rest_appointment(client, member, title="Before")
    untouched = rest_appointment(client, member, title="Untouched", starts_at="2026-11-02T10:00")
    first = pull(client, member)

    clock.shift(timedelta(minutes=1))
    added = rest_checkin(client, member, mood=5)
    ok(
        client.patch(
            f"{APPOINTMENTS}/{moved['id']}", json={"title": "After"}, headers=member.headers
        )
    )
    second = pull(client, member, first["timestamp"])

    assert set(records(second, "checkins")) == {added["id"]}
    assert records(second, "checkins")[added["id"]]["mood"] == 5
    assert set(records(second, "appointments")) == {moved["id"]}
    assert records(second, "appointments")[moved["id"]]["title"] == "After"
    assert kept["id"] not in records(second, "checkins")
    assert untouched["id"] not in records(second, "appointments")
    assert not is_replacement(second)


def test_the_timestamp_is_the_servers_clock_in_ms_and_strictly_increases_with_each_write(
    client, member
):
    """The clock is frozen: several writes in one millisecond still get later timestamps,
    and each pull returns exactly the write made since the one before."""
    body = pull(client, member)
    assert NOW_MS <= body["timestamp"] < NOW_MS + 60_000
    for mood in (1, 2, 3, 4):
        written = rest_checkin(client, member, mood=mood)
        after = pull(client, member, body["timestamp"])
        assert after["timestamp"] > body["timestamp"]
        assert after["timestamp"] < NOW_MS + 60_000
        assert set(records(after, "checkins")) == {written["id"]}
        body = after


def test_no_id_appears_twice_when_a_record_was_created_changed_and_deleted_between_pulls(
    client, member, clock
):
    first = pull(client, member)
    kept = rest_checkin(client, member, mood=1)
    gone = rest_checkin(client, member, mood=1)
    for _ in range(3):
        clock.shift(timedelta(seconds=5))
        for item in (kept, gone):
            ok(client.patch(f"{CHECKINS}/{item['id']}", json={"mood": 4}, headers=member.headers))
    ok(client.delete(f"{CHECKINS}/{gone['id']}", headers=member.headers), 204)

    body = pull(client, member, first["timestamp"])  # pull() fails on any id seen twice

    checkins = body["changes"]["checkins"]
    everything = [r["id"] for r in checkins["created"] + checkins["updated"]]
    assert everything == [kept["id"]]
    assert records(body, "checkins")[kept["id"]]["mood"] == 4
    assert gone["id"] not in everything
    assert set(checkins["deleted"]) <= {gone["id"]}


@pytest.mark.parametrize("what", ["checkins", "appointments"])
def test_a_record_deleted_over_rest_arrives_in_deleted_on_the_next_pull(client, member, what):
    if what == "checkins":
        doomed, kept = rest_checkin(client, member), rest_checkin(client, member)
        path = CHECKINS
    else:
        doomed = rest_appointment(client, member)
        kept = rest_appointment(client, member, starts_at="2026-11-02T10:00")
        path = APPOINTMENTS
    first = pull(client, member)
    assert {doomed["id"], kept["id"]} <= set(records(first, what))

    ok(client.delete(f"{path}/{doomed['id']}", headers=member.headers), 204)
    second = pull(client, member, first["timestamp"])

    assert deleted_ids(second, what) == {doomed["id"]}
    assert records(second, what) == {}
    later_pull = pull(client, member, second["timestamp"])
    assert nothing_in(later_pull) == {}
    assert set(records(pull(client, member), what)) == {kept["id"]}


def test_a_deleted_appointments_reminders_arrive_in_deleted_too(client, member):
    doomed = rest_appointment(client, member)
    first = pull(client, member)
    planned = set(records(first, "reminders"))
    assert len(planned) == 4

    ok(client.delete(f"{APPOINTMENTS}/{doomed['id']}", headers=member.headers), 204)
    second = pull(client, member, first["timestamp"])

    assert deleted_ids(second, "reminders") == planned
    assert records(second, "reminders") == {}


def test_a_deleted_checkins_replies_arrive_in_deleted_too(client, member, mentor):
    doomed = rest_checkin(client, member)
    connect(client, member, mentor, ["checkins.full"], share_history=True)
    replies = {respond(client, mentor, doomed["id"], text)["id"] for text in ("Hi", "There")}
    first = pull(client, member)
    assert set(records(first, "checkin_responses")) == replies

    ok(client.delete(f"{CHECKINS}/{doomed['id']}", headers=member.headers), 204)
    second = pull(client, member, first["timestamp"])

    assert deleted_ids(second, "checkins") == {doomed["id"]}
    assert deleted_ids(second, "checkin_responses") == replies


# -- pull-only tables the member reads -----------------------------------------------------


def test_reminders_lists_the_planned_reminder_times_of_an_appointment(client, member):
    appointment = rest_appointment(client, member)  # the default offsets

    reminders = records(pull(client, member), "reminders")

    assert {r["appointment_id"] for r in reminders.values()} == {appointment["id"]}
    assert {r["occurrence_at"] for r in reminders.values()} == {ms(OCCURRENCE_1020)}
    assert sorted((offset_name(r["offset"]), r["remind_at"]) for r in reminders.values()) == sorted(
        (name, ms(due)) for name, due in DUE_1020.items()
    )


def test_cancelling_an_appointment_takes_its_reminders_off_the_phone(client, member):
    appointment = rest_appointment(client, member)
    first = pull(client, member)
    planned = set(records(first, "reminders"))

    ok(
        client.patch(
            f"{APPOINTMENTS}/{appointment['id']}",
            json={"status": "cancelled"},
            headers=member.headers,
        )
    )
    second = pull(client, member, first["timestamp"])

    assert records(second, "appointments")[appointment["id"]]["status"] == "cancelled"
    assert records(second, "reminders") == {}
    assert deleted_ids(second, "reminders") == planned


def test_moving_an_appointment_replaces_its_reminders(client, member):
    appointment = rest_appointment(client, member)
    first = pull(client, member)
    old = set(records(first, "reminders"))

    ok(
        client.patch(
            f"{APPOINTMENTS}/{appointment['id']}",
            json={"starts_at": "2026-10-21T09:00"},
            headers=member.headers,
        )
    )
    second = pull(client, member, first["timestamp"])

    now_planned = records(pull(client, member), "reminders")
    assert {r["occurrence_at"] for r in now_planned.values()} == {
        ms(OCCURRENCE_1020 + timedelta(days=1))
    }
    # What the phone holds after applying the pull is exactly the new plan.
    held = (old - deleted_ids(second, "reminders")) | set(records(second, "reminders"))
    assert held == set(now_planned)


def test_a_recurring_appointments_later_reminders_reach_the_phone_as_the_window_moves(
    app, client, accounts, member, clock
):
    weekly = rest_appointment(
        client, member, starts_at="2026-10-06T09:00", recurrence="FREQ=WEEKLY"
    )
    phone = Phone(client, member)
    phone.sync()
    first_window = {r["occurrence_at"] for r in phone.data["reminders"].values()}
    assert max(first_window) < ms(NOW + timedelta(days=60))

    later(clock, accounts, timedelta(days=30), member)
    result = app.test_cli_runner().invoke(args=["reminders", "plan"])
    assert result.exit_code == 0, result.output
    phone.sync()

    held = phone.data["reminders"].values()
    assert {r["appointment_id"] for r in held} == {weekly["id"]}
    assert max(r["occurrence_at"] for r in held) > ms(NOW + timedelta(days=60))
    phone.assert_matches_server()


def test_a_new_time_zone_moves_the_reminder_times_on_the_phone(client, member, clock):
    rest_appointment(client, member)  # 09:00 in Chicago; "1 day before" is at 10:00 local
    phone = Phone(client, member)
    phone.sync()
    before = {r["offset"]: r["remind_at"] for r in phone.data["reminders"].values()}

    clock.shift(timedelta(minutes=1))
    ok(client.patch(ME, json={"timezone": "America/New_York"}, headers=member.headers))
    phone.sync()

    after = {r["offset"]: r["remind_at"] for r in phone.data["reminders"].values()}
    day_before = next(key for key in after if key.startswith("1d"))
    # 10:00 in New York is an hour earlier than 10:00 in Chicago.
    assert after[day_before] == before[day_before] - 3_600_000
    phone.assert_matches_server()


def test_a_mentors_reply_reaches_the_member_in_checkin_responses(client, member, mentor, clock):
    checkin = rest_checkin(client, member, mood=2)
    connect(client, member, mentor, ["checkins.mood"], share_history=True)
    first = pull(client, member)
    assert records(first, "checkin_responses") == {}

    clock.shift(timedelta(minutes=3))
    reply = respond(client, mentor, checkin["id"], "Call me tonight?")
    second = pull(client, member, first["timestamp"])

    assert records(second, "checkin_responses") == {
        reply["id"]: {
            "id": reply["id"],
            "checkin_id": checkin["id"],
            "body": "Call me tonight?",
            "mentor_name": "Mae",
            "created_at": ms(NOW + timedelta(minutes=3)),
        }
    }


def test_the_members_grants_table_shows_the_grants_they_gave(client, member, mentor, clock):
    grant = connect(client, member, mentor, ["help_alerts", "checkins.mood"])
    first = pull(client, member)
    raw = records(first, "grants")[grant["id"]]
    assert raw["mentor_name"] == "Mae" and raw["member_name"] == "Rosa Díaz"
    assert sorted(raw["scopes"].split(",")) == ["checkins.mood", "help_alerts"]
    assert raw["share_history"] is False and raw["in_force"] is True
    assert raw["created_at"] == NOW_MS
    assert raw["expires_at"] is None and raw["revoked_at"] is None

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["checkins.full"])
    second = pull(client, member, first["timestamp"])
    assert records(second, "grants")[grant["id"]]["scopes"] == "checkins.full"

    clock.shift(timedelta(minutes=1))
    revoke(client, member, grant["id"])
    third = pull(client, member, second["timestamp"])
    if grant["id"] in records(third, "grants"):
        ended = records(third, "grants")[grant["id"]]
        assert ended["in_force"] is False
        assert ended["revoked_at"] == ms(NOW + timedelta(minutes=2))
    else:
        assert_gone(third, "grants", grant["id"])


def test_a_last_pulled_at_ahead_of_the_servers_clock_does_not_hide_everything(client, member):
    """A phone's own clock sent as last_pulled_at: either refused, or answered with all
    the member's records as a replacement sync, never an empty answer."""
    checkin = rest_checkin(client, member)
    future = ms(NOW + timedelta(days=365 * 70))

    response = pull_response(client, member, future)

    if response.status_code == 422:
        assert_problem(response, 422)
    else:
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        check_shape(body)
        assert is_replacement(body)
        assert set(records(body, "checkins")) == {checkin["id"]}
        assert body["timestamp"] < future


def test_a_grant_that_ran_out_shows_as_ended_on_the_members_phone(
    client, accounts, member, mentor, clock
):
    grant = connect(
        client, member, mentor, ["checkins.mood"], expires_at=(NOW + timedelta(hours=1)).isoformat()
    )
    phone = Phone(client, member)
    phone.sync()
    assert phone.record("grants", grant["id"])["in_force"] is True

    later(clock, accounts, timedelta(hours=2), member)
    phone.sync()

    if grant["id"] in phone.ids("grants"):
        assert phone.record("grants", grant["id"])["in_force"] is False
    phone.assert_matches_server()


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        pytest.param({"last_pulled_at": "abc"}, "last_pulled_at", id="last_pulled_at-word"),
        pytest.param({"last_pulled_at": "-5"}, "last_pulled_at", id="last_pulled_at-negative"),
        pytest.param({"last_pulled_at": "1.5"}, "last_pulled_at", id="last_pulled_at-fraction"),
        pytest.param({"migration": "{not json"}, "migration", id="migration-not-json"),
        pytest.param({"migration": "[1, 2]"}, "migration", id="migration-not-an-object"),
        pytest.param(
            {"migration": json.dumps({"from": "one", "tables": [], "columns": []})},
            "migration",
            id="migration-from-not-a-number",
        ),
        pytest.param({"schema_version": "abc"}, "schema_version", id="schema_version-word"),
    ],
)
def test_bad_pull_parameters_are_a_422_problem_naming_the_parameter(client, member, query, named):
    rest_checkin(client, member)
    before = pull(client, member)

    problem = assert_problem(pull_response(client, member, **query), 422)

    assert named in problem["detail"] + json.dumps(problem.get("errors", {})), problem
    after = pull(client, member, before["timestamp"])
    assert nothing_in(after) == {}


# -- migration pulls (Backend.md, pull point 6) --------------------------------------------


def test_a_migration_pull_adding_a_table_returns_that_whole_table(client, member, clock):
    appointment = rest_appointment(client, member)
    old_checkin = rest_checkin(client, member)
    first = pull(client, member)
    planned = set(records(first, "reminders"))
    assert len(planned) == 4

    clock.shift(timedelta(minutes=1))
    new_checkin = rest_checkin(client, member)
    migration = {"from": 1, "tables": ["reminders"], "columns": []}
    body = pull(client, member, first["timestamp"], schema_version=2, migration=migration)

    assert set(records(body, "reminders")) == planned
    assert {r["appointment_id"] for r in records(body, "reminders").values()} == {appointment["id"]}
    # Tables the migration did not touch are incremental as usual.
    assert set(records(body, "checkins")) == {new_checkin["id"]}
    assert old_checkin["id"] not in records(body, "checkins")
    assert records(body, "appointments") == {}


def test_a_migration_pull_adding_columns_returns_every_record_of_that_table(client, member):
    places = {rest_checkin(client, member, place=f"place {i}")["id"] for i in range(3)}
    rest_appointment(client, member)
    first = pull(client, member)

    migration = {"from": 1, "tables": [], "columns": [{"table": "checkins", "columns": ["place"]}]}
    body = pull(client, member, first["timestamp"], schema_version=2, migration=migration)

    assert set(records(body, "checkins")) == places
    assert {r["place"] for r in records(body, "checkins").values()} == {
        "place 0",
        "place 1",
        "place 2",
    }
    assert records(body, "appointments") == {} and records(body, "reminders") == {}


def test_a_null_migration_is_an_ordinary_incremental_pull(client, member):
    rest_checkin(client, member)
    first = pull(client, member)

    body = pull(client, member, first["timestamp"], migration="null", schema_version=1)

    assert nothing_in(body) == {} and not is_replacement(body)


# -- tombstone horizon ---------------------------------------------------------------------


def tombstones_of(app: Any, record_id: str) -> int:
    from api.sync.models import Tombstone

    return count(app, Tombstone, Tombstone.record_id == record_id)


def purge(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["sync", "purge"])
    assert result.exit_code == 0, result.output


def test_a_client_older_than_the_tombstone_horizon_gets_a_full_replacement_sync(
    app, client, accounts, member, clock
):
    doomed = rest_checkin(client, member)
    kept = rest_checkin(client, member)
    appointment = rest_appointment(client, member, starts_at="2026-12-01T09:00")
    old = pull(client, member)
    ok(client.delete(f"{CHECKINS}/{doomed['id']}", headers=member.headers), 204)

    later(clock, accounts, timedelta(days=31), member)
    assert tombstones_of(app, doomed["id"]) >= 1
    purge(app)
    assert tombstones_of(app, doomed["id"]) == 0
    body = pull(client, member, old["timestamp"])

    assert is_replacement(body), body.get("experimentalStrategy")
    assert set(body["changes"]) == MEMBER_TABLES
    assert set(records(body, "checkins")) == {kept["id"]}
    assert set(records(body, "appointments")) == {appointment["id"]}
    assert len(records(body, "reminders")) == 4
    assert body["timestamp"] >= ms(NOW + timedelta(days=31))


def test_a_client_inside_the_horizon_still_gets_its_deletions_after_a_purge(
    app, client, accounts, member, clock
):
    doomed = rest_checkin(client, member)
    kept = rest_checkin(client, member)
    old = pull(client, member)
    ok(client.delete(f"{CHECKINS}/{doomed['id']}", headers=member.headers), 204)

    later(clock, accounts, timedelta(days=10), member)
    purge(app)
    assert tombstones_of(app, doomed["id"]) >= 1
    body = pull(client, member, old["timestamp"])

    assert not is_replacement(body)
    assert deleted_ids(body, "checkins") == {doomed["id"]}
    assert kept["id"] not in records(body, "checkins")


def test_the_horizon_is_the_sync_tombstone_days_setting(
    app, client, accounts, member, clock, monkeypatch
):
    monkeypatch.setitem(app.config, "SYNC_TOMBSTONE_DAYS", 2)
    doomed = rest_checkin(client, member)
    kept = rest_checkin(client, member)
    old = pull(client, member)
    ok(client.delete(f"{CHECKINS}/{doomed['id']}", headers=member.headers), 204)

    later(clock, accounts, timedelta(days=3), member)
    purge(app)
    body = pull(client, member, old["timestamp"])

    assert is_replacement(body), body.get("experimentalStrategy")
    assert set(records(body, "checkins")) == {kept["id"]}
    assert doomed["id"] not in records(body, "checkins")


# -- a write committed while a pull runs ---------------------------------------------------


@pytest.mark.parametrize("pause", ["before-stamping", "before-the-database-commit"])
def test_a_write_committed_while_a_pull_runs_is_never_skipped_by_the_next_pull(
    app, client, member, pause
):
    """A check-in's transaction has written its row but not committed; a pull runs (or
    waits) meanwhile; then the write commits. The record must be in that pull or in the
    pull made with its timestamp."""
    first = pull(client, member)
    engine = app.extensions["homeward.db"].engine
    paused, go = threading.Event(), threading.Event()
    state: dict[str, Any] = {"writer": None, "held": False}
    results: dict[str, Any] = {}
    record_id = new_id()

    def hold(*_args: Any) -> None:
        if threading.get_ident() == state["writer"] and not state["held"]:
            state["held"] = True
            paused.set()
            go.wait(timeout=15)

    if pause == "before-stamping":
        target: Any = Session
        listen = ("before_commit", hold)
        event.listen(target, *listen, insert=True)
    else:
        target = engine
        listen = ("commit", hold)
        event.listen(target, *listen)

    def write() -> None:
        state["writer"] = threading.get_ident()
        results["write"] = app.test_client().post(
            CHECKINS, json={"id": record_id, "mood": 4}, headers=member.headers
        )

    def read() -> None:
        results["pull"] = pull_response(app.test_client(), member, first["timestamp"])

    writer = threading.Thread(target=write)
    reader = threading.Thread(target=read)
    try:
        writer.start()
        assert paused.wait(timeout=15), "the write never reached its commit"
        reader.start()
        reader.join(timeout=1.5)  # it may be waiting for the writer: that is allowed
        go.set()
        writer.join(timeout=30)
        reader.join(timeout=30)
    finally:
        go.set()
        event.remove(target, *listen)
    assert not writer.is_alive() and not reader.is_alive()

    assert results["write"].status_code == 201, results["write"].get_json()
    during = results["pull"]
    assert during.status_code == 200, during.get_data(as_text=True)
    during_body = during.get_json()
    check_shape(during_body)
    after = pull(client, member, during_body["timestamp"])
    assert record_id in records(during_body, "checkins") or record_id in records(
        after, "checkins"
    ), "the check-in committed during the pull was skipped by the next pull"


# -- on the wire ---------------------------------------------------------------------------


def test_a_pull_is_gzip_compressed_when_the_phone_accepts_it(client, member):
    for mood in range(1, 6):
        for _ in range(4):
            rest_checkin(client, member, mood=mood, note="A long enough note to compress.")
    plain = pull(client, member)

    response = client.get("/api/v1/sync", headers={**member.headers, "Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == "gzip"
    body = json.loads(gzip.decompress(response.get_data()))
    check_shape(body)
    assert set(records(body, "checkins")) == set(records(plain, "checkins"))
    assert len(response.get_data()) < len(json.dumps(body).encode())
