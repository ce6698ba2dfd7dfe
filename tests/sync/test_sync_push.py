"""Sync push, POST /api/v1/sync (docs/sync.md; product.md, "Offline sync: what must hold").

Push is one transaction: a record changed on the server after ``last_pulled_at`` is a 409
and nothing of the push is applied. ``created`` with an existing id updates it, ``updated``
for a missing id creates it, deleting an unknown id does nothing. Unknown tables, unknown
columns, ``_status`` and ``_changed`` are never stored; records for pull-only tables and
records with invalid values come back in ``experimentalRejectedIds`` while the rest is
applied. Another member's record is never changed. A replay with the same
Idempotency-Key answers the first answer and applies nothing twice (one row, one reminder
plan, one help alert). The phone's clock never orders anything.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.checkins.models import Checkin
from reminders.models import Appointment
from tests.fixtures.http import assert_problem
from tests.sync.helpers import (
    CHECKINS,
    CHICAGO,
    GRANTS,
    NOW,
    NOW_MS,
    PULL_ONLY,
    connect,
    count,
    deleted_ids,
    get_appointment,
    get_checkin,
    help_alert_rows,
    is_replacement,
    ms,
    new_id,
    nothing_in,
    ok,
    pull,
    push,
    push_response,
    raw_appointment,
    raw_checkin,
    records,
    reminder_rows,
    rest_appointment,
    rest_checkin,
    table_changes,
)

FAR_FUTURE_MS = ms(datetime(2100, 1, 1, tzinfo=UTC))
FAR_PAST_MS = ms(datetime(1990, 1, 1, tzinfo=UTC))


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa Díaz", "timezone": CHICAGO}


@pytest.fixture
def other(accounts: Any, clock: Any) -> Any:
    return accounts.register(display_name="Someone Else", timezone=CHICAGO)


def checkin_of(client: Any, person: Any, checkin_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(get_checkin(client, person, checkin_id))
    return body


def appointment_of(client: Any, person: Any, appointment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(get_appointment(client, person, appointment_id))
    return body


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- what a push stores --------------------------------------------------------------------


def test_pushed_records_are_stored_and_read_back_over_rest(client, member):
    start = pull(client, member)
    checkin = raw_checkin(
        mood=4,
        needs="housing,work",
        wins="Got the bus pass",
        note="Long day",
        place="library",
        help_requested=False,
        recorded_at=ms(NOW - timedelta(hours=1)),
    )
    appointment = raw_appointment(
        title="Housing viewing", kind="housing", location="12 Elm St", notes="Bring ID"
    )

    rejected = push(
        client,
        member,
        {
            "checkins": table_changes(created=[checkin]),
            "appointments": table_changes(created=[appointment]),
        },
        start["timestamp"],
    )

    assert rejected == {}
    stored = checkin_of(client, member, checkin["id"])
    assert stored["mood"] == 4 and stored["needs"] == ["housing", "work"]
    assert stored["wins"] == "Got the bus pass" and stored["note"] == "Long day"
    assert stored["place"] == "library" and stored["help_requested"] is False
    assert at(stored["recorded_at"]) == NOW - timedelta(hours=1)
    planned = appointment_of(client, member, appointment["id"])
    assert planned["title"] == "Housing viewing" and planned["kind"] == "housing"
    assert planned["starts_at"] == "2026-10-20T09:00" and planned["timezone"] == CHICAGO
    assert planned["location"] == "12 Elm St" and planned["notes"] == "Bring ID"
    assert planned["status"] == "scheduled"
    assert planned["reminder_offsets"] == ["7d@10:00", "3d@10:00", "1d@10:00", "2h"]


def test_created_with_an_existing_id_updates_that_record(app, client, member):
    existing = rest_checkin(client, member, mood=2, note="before")
    start = pull(client, member)

    again = raw_checkin(existing["id"], mood=5, note="after")
    rejected = push(
        client, member, {"checkins": table_changes(created=[again])}, start["timestamp"]
    )

    assert rejected == {}
    stored = checkin_of(client, member, existing["id"])
    assert stored["mood"] == 5 and stored["note"] == "after"
    assert count(app, Checkin) == 1


def test_updated_for_a_missing_id_creates_it(app, client, member):
    start = pull(client, member)
    record = raw_checkin(mood=1, note="written offline", _status="updated", _changed="mood,note")

    rejected = push(
        client, member, {"checkins": table_changes(updated=[record])}, start["timestamp"]
    )

    assert rejected == {}
    stored = checkin_of(client, member, record["id"])
    assert stored["mood"] == 1 and stored["note"] == "written offline"
    assert count(app, Checkin) == 1


def test_deleting_an_unknown_id_is_a_no_op(app, client, member):
    kept = rest_checkin(client, member, mood=2)
    appointment = rest_appointment(client, member)
    start = pull(client, member)

    rejected = push(
        client,
        member,
        {
            "checkins": table_changes(deleted=["never-existed-1"]),
            "appointments": table_changes(deleted=["never-existed-2"]),
        },
        start["timestamp"],
    )

    assert rejected == {}
    assert checkin_of(client, member, kept["id"])["mood"] == 2
    assert appointment_of(client, member, appointment["id"])["status"] == "scheduled"
    assert count(app, Checkin) == 1 and count(app, Appointment) == 1
    assert nothing_in(pull(client, member, start["timestamp"])) == {}


def test_an_empty_push_changes_nothing_and_rejects_nothing(client, member):
    rest_checkin(client, member)
    start = pull(client, member)
    assert push(client, member, {}, start["timestamp"]) == {}
    assert push(client, member, {"checkins": table_changes()}, start["timestamp"]) == {}
    assert nothing_in(pull(client, member, start["timestamp"])) == {}


def test_a_pushed_deletion_removes_the_record_and_reaches_the_members_other_phone(client, member):
    doomed = rest_checkin(client, member)
    appointment = rest_appointment(client, member)
    other_phone = pull(client, member)
    this_phone = pull(client, member)

    rejected = push(
        client,
        member,
        {
            "checkins": table_changes(deleted=[doomed["id"]]),
            "appointments": table_changes(deleted=[appointment["id"]]),
        },
        this_phone["timestamp"],
    )

    assert rejected == {}
    assert_problem(get_checkin(client, member, doomed["id"]), 404)
    assert_problem(get_appointment(client, member, appointment["id"]), 404)
    seen = pull(client, member, other_phone["timestamp"])
    assert deleted_ids(seen, "checkins") == {doomed["id"]}
    assert deleted_ids(seen, "appointments") == {appointment["id"]}
    assert records(seen, "checkins") == {} and records(seen, "appointments") == {}


def test_an_edit_from_a_phone_that_missed_a_deletion_does_not_bring_the_record_back(client, member):
    doomed = rest_checkin(client, member, mood=2)
    stale_phone = pull(client, member)
    ok(client.delete(f"{CHECKINS}/{doomed['id']}", headers=member.headers), 204)

    edit = raw_checkin(doomed["id"], mood=5, _status="updated", _changed="mood")
    response = push_response(
        client, member, {"checkins": table_changes(updated=[edit])}, stale_phone["timestamp"]
    )

    assert response.status_code in (200, 409), response.get_data(as_text=True)
    if response.status_code == 409:
        assert response.get_json()["type"].endswith("sync-conflict")
    assert_problem(get_checkin(client, member, doomed["id"]), 404)
    assert doomed["id"] not in records(pull(client, member), "checkins")
    caught_up = pull(client, member, stale_phone["timestamp"])
    assert doomed["id"] not in records(caught_up, "checkins")
    assert doomed["id"] in deleted_ids(caught_up, "checkins") or is_replacement(caught_up)


# -- what a push never stores --------------------------------------------------------------


def test_unknown_tables_unknown_columns_status_and_changed_are_never_stored(client, member, other):
    start = pull(client, member)
    record = raw_checkin(
        mood=4,
        favourite_colour="blue",
        _status="created",
        _changed="mood,favourite_colour",
        member_id=other.account_id,
        sync_version=1,
    )
    changes = {
        "checkins": table_changes(created=[record]),
        "diary_entries": table_changes(created=[{"id": new_id(), "text": "secret"}]),
    }

    response = push_response(client, member, changes, start["timestamp"])

    assert response.status_code == 200, response.get_data(as_text=True)
    assert "checkins" not in response.get_json()["experimentalRejectedIds"]
    stored = checkin_of(client, member, record["id"])
    assert stored["mood"] == 4
    assert not {"favourite_colour", "_status", "_changed", "member_id", "sync_version"} & set(
        stored
    )
    # The server-only member_id in the push did not hand the record to someone else.
    assert_problem(get_checkin(client, other, record["id"]), 404)
    body = pull(client, member)
    assert "diary_entries" not in body["changes"]
    raw = records(body, "checkins")[record["id"]]
    assert not {"favourite_colour", "_status", "_changed", "member_id", "sync_version"} & set(raw)
    assert "secret" not in json.dumps(body)
    assert records(pull(client, other), "checkins") == {}


def test_pushes_to_pull_only_tables_are_rejected_per_record_and_the_rest_is_applied(
    app, client, accounts, member
):
    mentor = accounts.register(role="mentor", display_name="Mae")
    checkin = rest_checkin(client, member, mood=2)
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    reply = ok(
        client.post(
            f"{CHECKINS}/{checkin['id']}/responses", json={"body": "Hi"}, headers=mentor.headers
        ),
        201,
    )
    appointment = rest_appointment(client, member)
    start = pull(client, member)
    [reminder_id, *_] = records(start, "reminders")
    outbox = reminder_rows(app, appointment["id"])
    fake = {table: new_id() for table in PULL_ONLY}
    kept = raw_checkin(mood=5)
    changes: dict[str, Any] = {
        table: table_changes(created=[{"id": fake[table], "name": "forged"}]) for table in PULL_ONLY
    }
    changes["grants"]["deleted"] = [grant["id"]]
    changes["checkin_responses"]["updated"] = [
        {"id": reply["id"], "checkin_id": checkin["id"], "body": "forged reply"}
    ]
    changes["reminders"]["deleted"] = [reminder_id]
    changes["checkins"] = table_changes(created=[kept])

    rejected = push(client, member, changes, start["timestamp"])

    assert set(rejected) == set(PULL_ONLY)
    assert set(rejected["grants"]) == {fake["grants"], grant["id"]}
    assert set(rejected["checkin_responses"]) == {fake["checkin_responses"], reply["id"]}
    assert set(rejected["resources"]) == {fake["resources"]}
    assert set(rejected["reminders"]) == {fake["reminders"], reminder_id}
    # The rest was applied; the pull-only data is as the server had it.
    assert checkin_of(client, member, kept["id"])["mood"] == 5
    [held] = ok(client.get(GRANTS, headers=member.headers))["items"]
    assert held["id"] == grant["id"] and held["active"] is True
    assert [r["body"] for r in checkin_of(client, member, checkin["id"])["responses"]] == ["Hi"]
    assert_problem(client.get(f"/api/v1/resources/{fake['resources']}"), 404)
    assert reminder_rows(app, appointment["id"]) == outbox
    after = pull(client, member)
    for table in PULL_ONLY:
        assert fake[table] not in records(after, table)
    assert set(records(after, "reminders")) == set(records(start, "reminders"))


@pytest.mark.parametrize(
    ("table", "bad"),
    [
        pytest.param("checkins", {"mood": 9}, id="mood-9"),
        pytest.param("checkins", {"mood": "high"}, id="mood-not-a-number"),
        pytest.param("checkins", {"needs": "housing,spaceships"}, id="unknown-need"),
        pytest.param("checkins", {"help_requested": "maybe"}, id="help-not-a-boolean"),
        pytest.param("appointments", {"timezone": "Mars/Olympus"}, id="bad-timezone"),
        pytest.param("appointments", {"starts_at": "next tuesday"}, id="bad-start"),
        pytest.param("appointments", {"title": ""}, id="empty-title"),
        pytest.param("appointments", {"status": "vanished"}, id="bad-status"),
    ],
)
def test_a_record_with_invalid_values_is_rejected_alone_and_the_others_are_applied(
    app, client, member, table, bad
):
    start = pull(client, member)
    maker = raw_checkin if table == "checkins" else raw_appointment
    invalid = maker(**bad)
    sibling = maker()
    elsewhere = raw_appointment() if table == "checkins" else raw_checkin()
    other_table = "appointments" if table == "checkins" else "checkins"

    rejected = push(
        client,
        member,
        {
            table: table_changes(created=[invalid, sibling]),
            other_table: table_changes(created=[elsewhere]),
        },
        start["timestamp"],
    )

    assert rejected == {table: [invalid["id"]]}
    getter = {"checkins": get_checkin, "appointments": get_appointment}
    assert_problem(getter[table](client, member, invalid["id"]), 404)
    assert getter[table](client, member, sibling["id"]).status_code == 200
    assert getter[other_table](client, member, elsewhere["id"]).status_code == 200
    assert set(records(pull(client, member), table)) == {sibling["id"]}


def test_an_invalid_update_is_rejected_and_leaves_the_stored_record_as_it_was(client, member):
    existing = rest_checkin(client, member, mood=2, note="as it was")
    start = pull(client, member)

    broken = raw_checkin(existing["id"], mood=0, note="broken", _status="updated")
    rejected = push(
        client, member, {"checkins": table_changes(updated=[broken])}, start["timestamp"]
    )

    assert rejected == {"checkins": [existing["id"]]}
    stored = checkin_of(client, member, existing["id"])
    assert stored["mood"] == 2 and stored["note"] == "as it was"


@pytest.mark.parametrize(
    "record_id",
    [
        pytest.param("has a space", id="space"),
        pytest.param("x" * 65, id="65-characters"),
        pytest.param("semi;colon", id="semicolon"),
    ],
)
def test_a_record_the_server_will_not_store_is_never_dropped_silently(client, member, record_id):
    """The phone marks every pushed record synced unless its id comes back rejected: a
    record neither stored nor rejected would be lost without anyone knowing."""
    start = pull(client, member)
    odd = raw_checkin(record_id, mood=2)
    kept = raw_checkin(mood=4)

    rejected = push(
        client, member, {"checkins": table_changes(created=[odd, kept])}, start["timestamp"]
    )

    stored = records(pull(client, member), "checkins")
    assert kept["id"] in stored and kept["id"] not in rejected.get("checkins", [])
    assert record_id in stored or record_id in rejected.get("checkins", []), (
        f"{record_id!r} was neither stored nor rejected: {rejected}"
    )


# -- conflicts -----------------------------------------------------------------------------


def test_a_record_changed_on_the_server_after_the_last_pull_is_a_409_and_nothing_is_applied(
    client, member, clock
):
    changed = rest_checkin(client, member, mood=2)
    untouched = rest_checkin(client, member, mood=3)
    start = pull(client, member)
    clock.shift(timedelta(minutes=1))
    ok(client.patch(f"{CHECKINS}/{changed['id']}", json={"mood": 1}, headers=member.headers))

    newcomer = raw_checkin(mood=4)
    appointment = raw_appointment()
    conflicting = {
        "checkins": table_changes(
            created=[newcomer],
            updated=[
                raw_checkin(changed["id"], mood=5, _status="updated"),
                raw_checkin(untouched["id"], mood=5, _status="updated"),
            ],
        ),
        "appointments": table_changes(created=[appointment]),
    }
    response = push_response(client, member, conflicting, start["timestamp"])

    problem = assert_problem(response, 409)
    assert problem["type"].endswith("sync-conflict"), problem["type"]
    assert checkin_of(client, member, changed["id"])["mood"] == 1
    assert checkin_of(client, member, untouched["id"])["mood"] == 3
    assert_problem(get_checkin(client, member, newcomer["id"]), 404)
    assert_problem(get_appointment(client, member, appointment["id"]), 404)

    # The phone pulls (it gets the server's change), then pushes again: accepted.
    caught_up = pull(client, member, start["timestamp"])
    assert records(caught_up, "checkins")[changed["id"]]["mood"] == 1
    retried = {
        "checkins": table_changes(
            created=[newcomer], updated=[raw_checkin(untouched["id"], mood=5)]
        ),
        "appointments": table_changes(created=[appointment]),
    }
    assert push(client, member, retried, caught_up["timestamp"]) == {}
    assert checkin_of(client, member, newcomer["id"])["mood"] == 4
    assert checkin_of(client, member, untouched["id"])["mood"] == 5
    assert checkin_of(client, member, changed["id"])["mood"] == 1


def test_deleting_a_record_changed_on_the_server_after_the_last_pull_is_a_409(
    client, member, clock
):
    changed = rest_checkin(client, member, mood=2)
    start = pull(client, member)
    clock.shift(timedelta(minutes=1))
    ok(client.patch(f"{CHECKINS}/{changed['id']}", json={"mood": 1}, headers=member.headers))

    response = push_response(
        client, member, {"checkins": table_changes(deleted=[changed["id"]])}, start["timestamp"]
    )

    assert assert_problem(response, 409)["type"].endswith("sync-conflict")
    assert checkin_of(client, member, changed["id"])["mood"] == 1


def test_the_phones_clock_cannot_win_a_conflict(client, member, clock):
    changed = rest_checkin(client, member, mood=2)
    start = pull(client, member)
    clock.shift(timedelta(minutes=1))
    ok(client.patch(f"{CHECKINS}/{changed['id']}", json={"mood": 1}, headers=member.headers))

    newer_by_its_own_clock = raw_checkin(
        changed["id"], mood=5, updated_at=FAR_FUTURE_MS, _status="updated"
    )
    response = push_response(
        client,
        member,
        {"checkins": table_changes(updated=[newer_by_its_own_clock])},
        start["timestamp"],
    )

    assert assert_problem(response, 409)["type"].endswith("sync-conflict")
    assert checkin_of(client, member, changed["id"])["mood"] == 1


def test_a_last_pulled_at_ahead_of_the_servers_clock_cannot_skip_the_conflict_check(
    client, member, clock
):
    """A phone that sends its own (or any invented) time as last_pulled_at must not make
    every server change look older than its pull."""
    changed = rest_checkin(client, member, mood=2)
    pull(client, member)
    clock.shift(timedelta(minutes=1))
    ok(client.patch(f"{CHECKINS}/{changed['id']}", json={"mood": 1}, headers=member.headers))

    response = push_response(
        client,
        member,
        {"checkins": table_changes(updated=[raw_checkin(changed["id"], mood=5)])},
        FAR_FUTURE_MS,
    )

    assert response.status_code in (409, 422), response.get_data(as_text=True)
    assert_problem(response, response.status_code)
    assert checkin_of(client, member, changed["id"])["mood"] == 1


# -- another member's records --------------------------------------------------------------


@pytest.mark.parametrize("how", ["created", "updated", "deleted"])
@pytest.mark.parametrize("table", ["checkins", "appointments"])
def test_a_push_with_another_members_id_never_changes_that_record(
    client, member, other, table, how
):
    if table == "checkins":
        theirs = rest_checkin(client, other, mood=2, note="mine, not yours")
        forged = raw_checkin(theirs["id"], mood=5, note="overwritten")
        read = get_checkin
    else:
        theirs = rest_appointment(client, other, title="Their appointment")
        forged = raw_appointment(theirs["id"], title="Overwritten")
        read = get_appointment
    before = ok(read(client, other, theirs["id"]))
    start = pull(client, member)
    changes = {table: table_changes(**{how: [theirs["id"] if how == "deleted" else forged]})}

    response = push_response(client, member, changes, start["timestamp"])

    assert response.status_code in (200, 409), response.get_data(as_text=True)
    if response.status_code == 200 and how != "deleted":
        assert theirs["id"] in response.get_json()["experimentalRejectedIds"].get(table, [])
    assert ok(read(client, other, theirs["id"])) == before
    assert_problem(read(client, member, theirs["id"]), 404)
    assert theirs["id"] not in records(pull(client, member), table)
    assert set(records(pull(client, other), table)) == {theirs["id"]}


# -- Idempotency-Key -----------------------------------------------------------------------


def test_a_push_replayed_with_the_same_idempotency_key_is_applied_once_and_answered_alike(
    app, client, member, clock
):
    start = pull(client, member)
    checkin = raw_checkin(mood=2)
    appointment = raw_appointment()
    invalid = raw_checkin(mood=9)
    changes = {
        "checkins": table_changes(created=[checkin, invalid]),
        "appointments": table_changes(created=[appointment]),
    }
    first = push_response(client, member, changes, start["timestamp"], key="push-0001")
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json() == {"experimentalRejectedIds": {"checkins": [invalid["id"]]}}
    outbox = reminder_rows(app, appointment["id"])
    assert len(outbox) == 8  # 4 default offsets x (push, sms)

    # The member changes the check-in on the server; a replay must not undo that.
    clock.shift(timedelta(minutes=1))
    ok(client.patch(f"{CHECKINS}/{checkin['id']}", json={"mood": 4}, headers=member.headers))
    replay = push_response(client, member, changes, start["timestamp"], key="push-0001")

    assert replay.status_code == first.status_code
    assert replay.get_json() == first.get_json()
    assert checkin_of(client, member, checkin["id"])["mood"] == 4
    assert count(app, Checkin) == 1 and count(app, Appointment) == 1
    assert reminder_rows(app, appointment["id"]) == outbox
    assert len(records(pull(client, member), "reminders")) == 4


def test_two_copies_of_one_push_racing_with_the_same_key_apply_it_once(app, client, member):
    """The phone timed out and retried while the first push was still running."""
    start = pull(client, member)
    checkin = raw_checkin(mood=2)
    appointment = raw_appointment()
    changes = {
        "checkins": table_changes(created=[checkin]),
        "appointments": table_changes(created=[appointment]),
    }
    barrier = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []

    def send() -> None:
        own = app.test_client()
        barrier.wait()
        response = push_response(own, member, changes, start["timestamp"], key="race-1")
        answers.append((response.status_code, response.get_data(as_text=True)))

    racers = [threading.Thread(target=send) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)

    assert [status for status, _ in answers] == [200, 200], answers
    assert json.loads(answers[0][1]) == json.loads(answers[1][1]) == {"experimentalRejectedIds": {}}
    assert count(app, Checkin) == 1 and count(app, Appointment) == 1
    assert len(reminder_rows(app, appointment["id"])) == 8


def test_a_replayed_push_plans_an_appointments_reminders_once(app, client, member):
    start = pull(client, member)
    appointment = raw_appointment()
    changes = {"appointments": table_changes(created=[appointment])}

    push(client, member, changes, start["timestamp"], key="plan-once")
    planned = reminder_rows(app, appointment["id"])
    push(client, member, changes, start["timestamp"], key="plan-once")

    assert len(planned) == 8
    assert reminder_rows(app, appointment["id"]) == planned
    assert {r["state"] for r in planned} == {"pending"}
    assert count(app, Appointment) == 1


def test_a_replayed_call_for_help_alerts_the_mentor_once(app, client, accounts, member):
    mentor = accounts.register(role="mentor", display_name="Mae", phone="+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    start = pull(client, member)
    sos = raw_checkin(mood=1, help_requested=True, note="Need help now")
    changes = {"checkins": table_changes(created=[sos])}

    first = push(client, member, changes, start["timestamp"], key="sos-1")
    alerts = help_alert_rows(app, sos["id"])
    second = push(client, member, changes, start["timestamp"], key="sos-1")

    assert first == second == {}
    assert {(a["member_id"], a["channel"]) for a in alerts} == {
        (mentor.account_id, "push"),
        (mentor.account_id, "sms"),
        (mentor.account_id, "app"),
    }
    assert help_alert_rows(app, sos["id"]) == alerts
    assert count(app, Checkin) == 1


def test_the_same_idempotency_key_with_a_different_body_is_422_and_applies_nothing(
    app, client, member
):
    start = pull(client, member)
    first = raw_checkin(mood=2)
    push(client, member, {"checkins": table_changes(created=[first])}, start["timestamp"], "k-1")

    different = raw_checkin(mood=5)
    response = push_response(
        client,
        member,
        {"checkins": table_changes(created=[different])},
        start["timestamp"],
        key="k-1",
    )

    problem = assert_problem(response, 422)
    assert "dempotency" in problem["detail"] + json.dumps(problem.get("errors", {}))
    assert_problem(get_checkin(client, member, different["id"]), 404)
    assert count(app, Checkin) == 1


def test_idempotency_keys_belong_to_one_account(app, client, member, other):
    mine, theirs = raw_checkin(mood=2), raw_checkin(mood=4)
    mine_at, theirs_at = pull(client, member)["timestamp"], pull(client, other)["timestamp"]
    push(client, member, {"checkins": table_changes(created=[mine])}, mine_at, "same")
    push(client, other, {"checkins": table_changes(created=[theirs])}, theirs_at, "same")

    assert checkin_of(client, member, mine["id"])["mood"] == 2
    assert checkin_of(client, other, theirs["id"])["mood"] == 4
    assert count(app, Checkin) == 2


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("x" * 201, id="too-long"),
        pytest.param("has a space", id="space"),
    ],
)
def test_an_invalid_idempotency_key_is_422_and_applies_nothing(app, client, member, key):
    start = pull(client, member)
    record = raw_checkin()

    response = push_response(
        client, member, {"checkins": table_changes(created=[record])}, start["timestamp"], key
    )

    problem = assert_problem(response, 422)
    assert "dempotency" in problem["detail"] + json.dumps(problem.get("errors", {}))
    assert count(app, Checkin) == 0


# -- the phone's clock ---------------------------------------------------------------------


@pytest.mark.parametrize("phone_time", [FAR_FUTURE_MS, FAR_PAST_MS], ids=["future", "past"])
def test_pushed_created_at_and_updated_at_are_replaced_by_the_servers_clock(
    client, member, phone_time
):
    start = pull(client, member)
    record = raw_checkin(created_at=phone_time, updated_at=phone_time)
    appointment = raw_appointment(created_at=phone_time, updated_at=phone_time)

    push(
        client,
        member,
        {
            "checkins": table_changes(created=[record]),
            "appointments": table_changes(created=[appointment]),
        },
        start["timestamp"],
    )

    stored = checkin_of(client, member, record["id"])
    assert at(stored["created_at"]) == NOW and at(stored["updated_at"]) == NOW
    assert at(appointment_of(client, member, appointment["id"])["created_at"]) == NOW
    body = pull(client, member)
    for table, record_id in (("checkins", record["id"]), ("appointments", appointment["id"])):
        raw = records(body, table)[record_id]
        assert abs(raw["created_at"] - NOW_MS) < 60_000, raw
        assert abs(raw["updated_at"] - NOW_MS) < 60_000, raw
    assert NOW_MS <= body["timestamp"] < NOW_MS + 60_000


def test_a_record_pushed_with_an_old_clock_still_reaches_a_phone_that_pulled_before(
    client, member, clock
):
    other_phone = pull(client, member)
    clock.shift(timedelta(minutes=1))
    this_phone = pull(client, member)
    old = raw_checkin(
        mood=3, created_at=FAR_PAST_MS, updated_at=FAR_PAST_MS, recorded_at=FAR_PAST_MS
    )

    push(client, member, {"checkins": table_changes(created=[old])}, this_phone["timestamp"])

    seen = pull(client, member, other_phone["timestamp"])
    assert set(records(seen, "checkins")) == {old["id"]}
    assert seen["timestamp"] > other_phone["timestamp"]


def test_a_record_pushed_with_a_future_clock_does_not_hide_later_changes_or_repeat(
    client, member, clock
):
    start = pull(client, member)
    future = raw_checkin(mood=2, created_at=FAR_FUTURE_MS, updated_at=FAR_FUTURE_MS)
    push(client, member, {"checkins": table_changes(created=[future])}, start["timestamp"])
    after_push = pull(client, member)
    assert after_push["timestamp"] < FAR_FUTURE_MS
    assert nothing_in(pull(client, member, after_push["timestamp"])) == {}

    clock.shift(timedelta(minutes=1))
    ok(client.patch(f"{CHECKINS}/{future['id']}", json={"mood": 5}, headers=member.headers))
    seen = pull(client, member, after_push["timestamp"])

    assert records(seen, "checkins")[future["id"]]["mood"] == 5


def test_an_implausible_recorded_at_is_not_kept(client, member):
    start = pull(client, member)
    record = raw_checkin(recorded_at=FAR_FUTURE_MS)

    rejected = push(
        client, member, {"checkins": table_changes(created=[record])}, start["timestamp"]
    )

    if rejected:
        assert rejected == {"checkins": [record["id"]]}
        assert_problem(get_checkin(client, member, record["id"]), 404)
    else:
        recorded = at(checkin_of(client, member, record["id"])["recorded_at"])
        assert recorded <= NOW + timedelta(days=1)


# -- after a push --------------------------------------------------------------------------


def test_after_a_push_the_pushers_next_pull_carries_its_records_right_if_at_all(client, member):
    before = rest_checkin(client, member, mood=1)
    other_phone = pull(client, member)
    this_phone = pull(client, member)
    record = raw_checkin(mood=4, needs="food", wins="Cooked dinner")

    push(client, member, {"checkins": table_changes(created=[record])}, this_phone["timestamp"])
    own = pull(client, member, this_phone["timestamp"])
    theirs = pull(client, member, other_phone["timestamp"])

    assert before["id"] not in records(own, "checkins")
    assert set(records(own, "checkins")) <= {record["id"]}
    assert set(records(theirs, "checkins")) == {record["id"]}
    for body in (own, theirs):
        for raw in records(body, "checkins").values():
            assert (raw["mood"], raw["needs"], raw["wins"]) == (4, "food", "Cooked dinner")
            assert raw["note"] is None and raw["help_requested"] is False
            assert abs(raw["created_at"] - NOW_MS) < 60_000


def test_reminders_of_a_pushed_appointment_are_in_the_next_pull(client, member):
    start = pull(client, member)
    default = raw_appointment()
    chosen = raw_appointment(reminder_offsets="1d@18:00,30m", channels="push")

    push(
        client,
        member,
        {"appointments": table_changes(created=[default, chosen])},
        start["timestamp"],
    )
    reminders = records(pull(client, member, start["timestamp"]), "reminders").values()

    def plan(appointment_id: str) -> list[tuple[str, int]]:
        return sorted(
            (r["offset"].split("@")[0], r["remind_at"])
            for r in reminders
            if r["appointment_id"] == appointment_id
        )

    occurrence = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
    assert {r["occurrence_at"] for r in reminders} == {ms(occurrence)}
    assert plan(default["id"]) == sorted(
        [
            ("7d", ms(datetime(2026, 10, 13, 15, 0, tzinfo=UTC))),
            ("3d", ms(datetime(2026, 10, 17, 15, 0, tzinfo=UTC))),
            ("1d", ms(datetime(2026, 10, 19, 15, 0, tzinfo=UTC))),
            ("2h", ms(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))),
        ]
    )
    assert plan(chosen["id"]) == sorted(
        [
            ("1d", ms(datetime(2026, 10, 19, 23, 0, tzinfo=UTC))),
            ("30m", ms(datetime(2026, 10, 20, 13, 30, tzinfo=UTC))),
        ]
    )


def test_a_pushed_change_of_time_moves_the_reminders_in_the_next_pull(client, member):
    start = pull(client, member)
    appointment = raw_appointment()
    push(client, member, {"appointments": table_changes(created=[appointment])}, start["timestamp"])
    synced = pull(client, member, start["timestamp"])
    old = set(records(synced, "reminders"))
    assert len(old) == 4

    moved = raw_appointment(appointment["id"], starts_at="2026-10-22T09:00", _status="updated")
    push(client, member, {"appointments": table_changes(updated=[moved])}, synced["timestamp"])
    after = pull(client, member, synced["timestamp"])

    held = (old - deleted_ids(after, "reminders")) | set(records(after, "reminders"))
    now_planned = records(pull(client, member), "reminders")
    assert held == set(now_planned)
    assert {r["occurrence_at"] for r in now_planned.values()} == {
        ms(datetime(2026, 10, 22, 14, 0, tzinfo=UTC))
    }
    assert appointment_of(client, member, appointment["id"])["starts_at"] == "2026-10-22T09:00"


# -- bad input -----------------------------------------------------------------------------


def _valid_changes() -> dict[str, Any]:
    return {"appointments": table_changes(created=[raw_appointment()])}


@pytest.mark.parametrize(
    ("raw", "query"),
    [
        pytest.param("{not json", "ok", id="not-json"),
        pytest.param("[]", "ok", id="a-list"),
        pytest.param('"changes"', "ok", id="a-string"),
        pytest.param("null", "ok", id="null"),
        pytest.param(
            json.dumps({**_valid_changes(), "checkins": []}), "ok", id="table-not-an-object"
        ),
        pytest.param(
            json.dumps(
                {**_valid_changes(), "checkins": {"created": {}, "updated": [], "deleted": []}}
            ),
            "ok",
            id="created-not-a-list",
        ),
        pytest.param(
            json.dumps(
                {**_valid_changes(), "checkins": {"created": [], "updated": [], "deleted": "x"}}
            ),
            "ok",
            id="deleted-not-a-list",
        ),
        pytest.param(json.dumps(_valid_changes()), None, id="last_pulled_at-missing"),
        pytest.param(json.dumps(_valid_changes()), "abc", id="last_pulled_at-word"),
        pytest.param(json.dumps(_valid_changes()), "-1", id="last_pulled_at-negative"),
    ],
)
def test_a_push_that_is_not_a_changes_object_is_a_422_problem_and_changes_nothing(
    app, client, member, raw, query
):
    start = pull(client, member)
    last_pulled_at = start["timestamp"] if query == "ok" else query

    response = push_response(client, member, None, last_pulled_at, raw=raw)

    problem = assert_problem(response, 422)
    if query != "ok":
        assert "last_pulled_at" in problem["detail"] + json.dumps(problem.get("errors", {}))
    assert count(app, Appointment) == 0
    assert nothing_in(pull(client, member, start["timestamp"])) == {}
