"""Appointments (GET|POST /api/v1/appointments, GET|PATCH|DELETE /api/v1/appointments/{id})
and the reminder outbox they keep in step (reminders.models.ReminderDelivery).

product.md, "Reminders: what must hold": an appointment is local wall time plus an IANA
zone; default reminders 7, 3 and 1 day before at 10:00 and 2 hours before; one outbox row
per (occurrence, offset, channel); editing or cancelling cancels pending reminders;
recurring appointments are planned over a rolling window. Principle 6: bad input gets a
Problem with per-field errors and changes nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from reminders.models import Appointment, DeliveryState, ReminderDelivery
from tests.fixtures.clock import NOW
from tests.fixtures.http import assert_problem

APPOINTMENTS = "/api/v1/appointments"
ME = "/api/v1/me"

# A Thursday in October; America/Chicago is UTC-5 (CDT) until 2026-11-01.
CHICAGO = "America/Chicago"
DEFAULT_OFFSETS = ["7d@10:00", "3d@10:00", "1d@10:00", "2h"]


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"timezone": CHICAGO}


def url(appointment_id: str) -> str:
    return f"{APPOINTMENTS}/{appointment_id}"


def create(client: Any, person: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "See Dana", "starts_at": "2026-10-20T09:00", **fields}
    response = client.post(APPOINTMENTS, json=body, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def fetch(client: Any, person: Any, appointment_id: str) -> dict[str, Any]:
    response = client.get(url(appointment_id), headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def listing(client: Any, person: Any, **query: Any) -> dict[str, Any]:
    response = client.get(APPOINTMENTS, query_string=query, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def outbox(app: Any, appointment_id: str | None = None) -> list[dict[str, Any]]:
    """Every reminder-delivery row (of one appointment, when given), as plain dicts."""
    rd = ReminderDelivery
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(rd).order_by(rd.due_at, rd.offset_key, rd.channel)
        if appointment_id is not None:
            query = query.where(rd.appointment_id == appointment_id)
        return [
            {
                "id": row.id,
                "appointment_id": row.appointment_id,
                "member_id": row.member_id,
                "occurrence_local": row.occurrence_local,
                "occurrence_at": row.occurrence_at,
                "offset_key": row.offset_key,
                "channel": str(row.channel),
                "due_at": row.due_at,
                "state": str(row.state),
            }
            for row in db.scalars(query)
        ]


def pending(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["state"] == DeliveryState.PENDING.value]


def plan_of(rows: list[dict[str, Any]]) -> set[tuple[datetime, str, str, datetime]]:
    return {(r["occurrence_local"], r["offset_key"], r["channel"], r["due_at"]) for r in rows}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# The default plan of a 2026-10-20 09:00 Chicago appointment (14:00Z), member in Chicago.
START_1020 = datetime(2026, 10, 20, 9, 0)
DUE_1020 = {
    "7d@10:00": utc(2026, 10, 13, 15, 0),
    "3d@10:00": utc(2026, 10, 17, 15, 0),
    "1d@10:00": utc(2026, 10, 19, 15, 0),
    "2h": utc(2026, 10, 20, 12, 0),
}


def expected_plan(
    start_local: datetime, due: dict[str, datetime], channels: tuple[str, ...] = ("push", "sms")
) -> set[Any]:
    return {(start_local, key, channel, at) for key, at in due.items() for channel in channels}


# --- create, read, list, change, delete -------------------------------------------------


def test_create_fills_in_defaults_and_the_members_time_zone(client, member):
    response = client.post(
        APPOINTMENTS,
        json={"title": "See Dana", "starts_at": "2026-10-20T09:00"},
        headers=member.headers,
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"]
    assert body["title"] == "See Dana"
    assert body["kind"] == "other"
    assert body["starts_at"] == "2026-10-20T09:00"
    assert body["ends_at"] is None
    assert body["timezone"] == CHICAGO
    assert body["location"] is None and body["notes"] is None and body["recurrence"] is None
    assert body["reminder_offsets"] == DEFAULT_OFFSETS
    assert body["channels"] == ["push", "sms"]
    assert body["status"] == "scheduled"
    assert datetime.fromisoformat(body["created_at"]) == NOW
    assert datetime.fromisoformat(body["updated_at"]) == NOW


def test_created_appointment_can_be_read_back_with_every_field(client, member):
    created = create(
        client,
        member,
        title="Housing viewing, Elm St",
        kind="housing",
        starts_at="2026-10-21T14:30:45",
        ends_at="2026-10-21T15:15",
        timezone="America/New_York",
        location="12 Elm St",
        notes="Bring ID\nand pay stubs",
        reminder_offsets=["1d@18:00", "30m"],
        channels=["push"],
    )

    got = fetch(client, member, created["id"])

    assert got == created
    assert got["starts_at"] == "2026-10-21T14:30"  # seconds are dropped
    assert got["ends_at"] == "2026-10-21T15:15"
    assert got["timezone"] == "America/New_York"
    assert got["kind"] == "housing"
    assert got["notes"] == "Bring ID\nand pay stubs"
    assert got["reminder_offsets"] == ["1d@18:00", "30m"]
    assert got["channels"] == ["push"]


def test_list_is_paginated_by_start_time_and_filters_by_status(client, member):
    late = create(client, member, title="Late", starts_at="2026-12-01T09:00")
    early = create(client, member, title="Early", starts_at="2026-10-10T09:00")
    middle = create(client, member, title="Middle", starts_at="2026-11-05T09:00")
    cancelled = client.patch(
        url(middle["id"]), json={"status": "cancelled"}, headers=member.headers
    )
    assert cancelled.status_code == 200

    first = listing(client, member, page_size=2)
    second = listing(client, member, page=2, page_size=2)
    only_cancelled = listing(client, member, status="cancelled")
    only_scheduled = listing(client, member, status="scheduled")

    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 3)
    assert [a["id"] for a in first["items"]] == [early["id"], middle["id"]]
    assert (second["page"], second["page_size"], second["total"]) == (2, 2, 3)
    assert [a["id"] for a in second["items"]] == [late["id"]]
    assert only_cancelled["total"] == 1
    assert [a["id"] for a in only_cancelled["items"]] == [middle["id"]]
    assert only_cancelled["items"][0]["status"] == "cancelled"
    assert only_scheduled["total"] == 2
    assert {a["id"] for a in only_scheduled["items"]} == {early["id"], late["id"]}


def test_list_shows_only_the_callers_own_appointments(client, accounts, member):
    mine = create(client, member, title="Mine")
    other = accounts.register(timezone=CHICAGO)
    create(client, other, title="Theirs")

    body = listing(client, member)

    assert body["total"] == 1
    assert [a["id"] for a in body["items"]] == [mine["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
    ],
)
def test_list_with_bad_arguments_is_refused(client, member, query, field):
    response = client.get(APPOINTMENTS, query_string=query, headers=member.headers)

    body = assert_problem(response, 422)
    assert any(key.split(".")[-1] == field for key in body["errors"]), body["errors"]


def test_a_title_of_exactly_200_characters_is_accepted(client, member):
    created = create(client, member, title="t" * 200)

    assert fetch(client, member, created["id"])["title"] == "t" * 200


def test_patch_changes_only_the_given_fields(client, member, clock):
    created = create(client, member, location="Room 4")
    clock.shift(timedelta(minutes=10))

    response = client.patch(
        url(created["id"]),
        json={"title": "  See Dana again  ", "location": ""},
        headers=member.headers,
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["title"] == "See Dana again"
    assert body["location"] is None
    assert body["starts_at"] == created["starts_at"]
    assert body["reminder_offsets"] == created["reminder_offsets"]
    assert body["created_at"] == created["created_at"]
    assert datetime.fromisoformat(body["updated_at"]) == NOW + timedelta(minutes=10)
    assert fetch(client, member, created["id"]) == body


def test_delete_removes_the_appointment(client, member):
    created = create(client, member)
    kept = create(client, member, title="Kept")

    response = client.delete(url(created["id"]), headers=member.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(client.get(url(created["id"]), headers=member.headers), 404)
    assert_problem(client.delete(url(created["id"]), headers=member.headers), 404)
    assert [a["id"] for a in listing(client, member)["items"]] == [kept["id"]]


# --- client-supplied ids ------------------------------------------------------------------


def test_a_client_supplied_id_is_kept(client, member):
    created = create(client, member, id="phone-rec_0001")

    assert created["id"] == "phone-rec_0001"
    assert fetch(client, member, "phone-rec_0001")["title"] == "See Dana"


def test_posting_the_same_id_again_updates_instead_of_duplicating(client, app, member):
    create(client, member, id="phone-rec_0001", title="First try")

    again = client.post(
        APPOINTMENTS,
        json={"id": "phone-rec_0001", "title": "Second try", "starts_at": "2026-10-22T11:00"},
        headers=member.headers,
    )

    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == "phone-rec_0001"
    assert again.get_json()["title"] == "Second try"
    body = listing(client, member)
    assert body["total"] == 1
    assert body["items"][0]["title"] == "Second try"
    assert body["items"][0]["starts_at"] == "2026-10-22T11:00"
    # The outbox follows the retry: nothing pending for the first start time.
    rows = outbox(app, "phone-rec_0001")
    assert {r["occurrence_local"] for r in pending(rows)} == {datetime(2026, 10, 22, 11, 0)}


def test_the_same_id_from_another_member_is_a_conflict_and_changes_nothing(
    client, app, accounts, member
):
    original = create(client, member, id="shared-id-1", title="Mine")
    rows_before = outbox(app)
    intruder = accounts.register(timezone="Europe/Madrid")

    response = client.post(
        APPOINTMENTS,
        json={"id": "shared-id-1", "title": "Theirs", "starts_at": "2026-11-01T08:00"},
        headers=intruder.headers,
    )

    body = assert_problem(response, 409)
    assert "id" in body["errors"]
    assert fetch(client, member, "shared-id-1") == original
    assert listing(client, intruder)["total"] == 0
    assert outbox(app) == rows_before


@pytest.mark.parametrize("bad_id", ["a b", "x" * 65, "../x", "", "é"])
def test_an_id_that_is_not_a_plain_token_is_refused(client, app, member, bad_id):
    response = client.post(
        APPOINTMENTS,
        json={"id": bad_id, "title": "See Dana", "starts_at": "2026-10-20T09:00"},
        headers=member.headers,
    )

    body = assert_problem(response, 422)
    assert "id" in body["errors"]
    assert listing(client, member)["total"] == 0
    assert outbox(app) == []


def test_a_64_character_id_is_accepted(client, member):
    long_id = "A" * 64

    created = create(client, member, id=long_id)

    assert fetch(client, member, long_id)["id"] == created["id"] == long_id


# --- validation -----------------------------------------------------------------------------

BASE = {"title": "See Dana", "starts_at": "2026-10-20T09:00"}

REFUSED_BODIES = [
    pytest.param({**BASE, "starts_at": "2026-12-04T09:00Z"}, "starts_at", id="start-with-Z"),
    pytest.param(
        {**BASE, "starts_at": "2026-12-04T09:00+01:00"}, "starts_at", id="start-with-offset"
    ),
    pytest.param({**BASE, "starts_at": "2026-02-30T09:00"}, "starts_at", id="impossible-date"),
    pytest.param({**BASE, "starts_at": "2026-10-20T25:00"}, "starts_at", id="impossible-hour"),
    pytest.param({**BASE, "starts_at": "next tuesday"}, "starts_at", id="start-not-a-date"),
    pytest.param({"title": "See Dana"}, "starts_at", id="start-missing"),
    pytest.param({**BASE, "ends_at": "2026-10-20T08:00"}, "ends_at", id="end-before-start"),
    pytest.param({**BASE, "ends_at": "2026-10-20T09:00"}, "ends_at", id="end-equals-start"),
    pytest.param({**BASE, "timezone": "Mars/Olympus_Mons"}, "timezone", id="unknown-zone"),
    pytest.param({**BASE, "recurrence": "FREQ=HOURLY"}, "recurrence", id="rrule-hourly"),
    pytest.param({**BASE, "recurrence": "FREQ=WEEKLY;BYDAY=XX"}, "recurrence", id="rrule-bad-day"),
    pytest.param(
        {**BASE, "reminder_offsets": ["0d@10:00"]}, "reminder_offsets", id="offset-zero-days"
    ),
    pytest.param({**BASE, "reminder_offsets": ["2 h"]}, "reminder_offsets", id="offset-with-space"),
    pytest.param(
        {**BASE, "reminder_offsets": ["2h", "2h"]}, "reminder_offsets", id="offset-duplicate"
    ),
    pytest.param({**BASE, "channels": ["push", "email"]}, "channels", id="unknown-channel"),
    pytest.param({**BASE, "channels": ["sms", "sms"]}, "channels", id="duplicate-channel"),
    pytest.param({**BASE, "kind": "parole"}, "kind", id="unknown-kind"),
    pytest.param({**BASE, "colour": "red"}, "colour", id="unknown-field"),
    pytest.param({**BASE, "member_id": "someone-else"}, "member_id", id="member-id-field"),
    pytest.param({**BASE, "title": "x" * 201}, "title", id="title-too-long"),
    pytest.param({**BASE, "title": "   "}, "title", id="title-blank"),
    pytest.param({**BASE, "notes": "bring\x00this"}, "notes", id="nul-in-notes"),
    pytest.param({**BASE, "status": "lost"}, "status", id="unknown-status"),
    pytest.param({**BASE, "starts_at": "1999-12-31T09:00"}, "starts_at", id="year-too-early"),
    pytest.param(
        {**BASE, "reminder_offsets": [f"{n}h" for n in range(1, 10)]},
        "reminder_offsets",
        id="too-many-offsets",
    ),
    pytest.param({**BASE, "reminder_offsets": "2h"}, "reminder_offsets", id="offsets-not-list"),
]


@pytest.mark.parametrize(("body", "field"), REFUSED_BODIES)
def test_invalid_create_is_refused_per_field_and_changes_nothing(client, app, member, body, field):
    existing = create(client, member, title="Already there")
    rows_before = outbox(app)

    response = client.post(APPOINTMENTS, json=body, headers=member.headers)

    problem = assert_problem(response, 422)
    assert field in problem["errors"], problem["errors"]
    after = listing(client, member)
    assert after["total"] == 1
    assert [a["id"] for a in after["items"]] == [existing["id"]]
    assert outbox(app) == rows_before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"ends_at": "2026-10-20T08:00"}, "ends_at", id="end-before-start"),
        pytest.param({"starts_at": "2026-10-20T11:00"}, "ends_at", id="start-after-end"),
        pytest.param({"recurrence": "FREQ=HOURLY"}, "recurrence", id="rrule-hourly"),
        pytest.param({"reminder_offsets": ["1d"]}, "reminder_offsets", id="bad-offset"),
        pytest.param({"timezone": "Nowhere/Land"}, "timezone", id="unknown-zone"),
        pytest.param({"title": "ok", "colour": "red"}, "colour", id="unknown-field"),
        pytest.param({"id": "new-id"}, "id", id="id-not-patchable"),
        pytest.param({"starts_at": None}, "starts_at", id="start-null"),
    ],
)
def test_invalid_patch_is_refused_and_changes_nothing(client, app, member, body, field):
    created = create(client, member, ends_at="2026-10-20T10:00")
    rows_before = outbox(app)

    response = client.patch(url(created["id"]), json=body, headers=member.headers)

    problem = assert_problem(response, 422)
    assert field in problem["errors"], problem["errors"]
    assert fetch(client, member, created["id"]) == created
    assert outbox(app) == rows_before


# --- re-planning, visible in the outbox --------------------------------------------------------


def test_creating_plans_one_row_per_offset_and_channel(client, app, member):
    created = create(client, member)

    rows = outbox(app, created["id"])

    assert len(rows) == 8
    assert all(r["state"] == "pending" for r in rows)
    assert all(r["member_id"] == member.account_id for r in rows)
    assert all(r["occurrence_at"] == utc(2026, 10, 20, 14, 0) for r in rows)
    assert plan_of(rows) == expected_plan(START_1020, DUE_1020)


def test_only_the_chosen_offsets_and_channels_are_planned(client, app, member):
    created = create(client, member, reminder_offsets=["1d@18:30", "45m"], channels=["sms"])

    rows = outbox(app, created["id"])

    assert plan_of(rows) == expected_plan(
        START_1020,
        {
            "1d@18:30": utc(2026, 10, 19, 23, 30),
            "45m": utc(2026, 10, 20, 13, 15),
        },
        channels=("sms",),
    )


def test_reminders_already_past_are_not_planned(client, app, member):
    # Starts in 2 days: the 7-day and 3-day reminders are already past.
    created = create(client, member, starts_at="2026-10-03T09:00")

    rows = outbox(app, created["id"])

    assert {r["offset_key"] for r in rows} == {"1d@10:00", "2h"}
    assert all(r["due_at"] >= NOW for r in rows)


def test_moving_the_start_cancels_every_old_row_and_plans_new_ones(client, app, member):
    created = create(client, member)
    old_ids = {r["id"] for r in outbox(app, created["id"])}

    response = client.patch(
        url(created["id"]), json={"starts_at": "2026-10-22T09:00"}, headers=member.headers
    )

    assert response.status_code == 200, response.get_json()
    rows = outbox(app, created["id"])
    old = [r for r in rows if r["id"] in old_ids]
    new = [r for r in rows if r["id"] not in old_ids]
    assert len(old) == 8
    assert {r["state"] for r in old} == {"cancelled"}
    assert all(r["occurrence_local"] == START_1020 for r in old)
    assert {r["state"] for r in new} == {"pending"}
    assert plan_of(new) == expected_plan(
        datetime(2026, 10, 22, 9, 0),
        {
            "7d@10:00": utc(2026, 10, 15, 15, 0),
            "3d@10:00": utc(2026, 10, 19, 15, 0),
            "1d@10:00": utc(2026, 10, 21, 15, 0),
            "2h": utc(2026, 10, 22, 12, 0),
        },
    )


def test_removing_an_offset_or_a_channel_cancels_just_those_rows(client, app, member):
    created = create(client, member)

    response = client.patch(
        url(created["id"]),
        json={"reminder_offsets": ["1d@10:00", "2h"], "channels": ["push"]},
        headers=member.headers,
    )

    assert response.status_code == 200, response.get_json()
    rows = outbox(app, created["id"])
    assert plan_of(pending(rows)) == expected_plan(
        START_1020, {k: DUE_1020[k] for k in ("1d@10:00", "2h")}, channels=("push",)
    )
    assert len([r for r in rows if r["state"] == "cancelled"]) == 6
    assert len(rows) == 8


def test_cancelling_an_appointment_leaves_no_pending_reminder(client, app, member):
    created = create(client, member)

    response = client.patch(
        url(created["id"]), json={"status": "cancelled"}, headers=member.headers
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    rows = outbox(app, created["id"])
    assert len(rows) == 8
    assert {r["state"] for r in rows} == {"cancelled"}


def test_rescheduling_a_cancelled_appointment_plans_it_again(client, app, member):
    created = create(client, member)
    client.patch(url(created["id"]), json={"status": "cancelled"}, headers=member.headers)

    response = client.patch(
        url(created["id"]), json={"status": "scheduled"}, headers=member.headers
    )

    assert response.status_code == 200, response.get_json()
    rows = outbox(app, created["id"])
    assert len(rows) == 8
    assert plan_of(pending(rows)) == expected_plan(START_1020, DUE_1020)


def test_a_confirmed_appointment_keeps_its_reminders(client, app, member):
    created = create(client, member)

    client.patch(url(created["id"]), json={"status": "confirmed"}, headers=member.headers)

    assert plan_of(pending(outbox(app, created["id"]))) == expected_plan(START_1020, DUE_1020)


def test_deleting_an_appointment_removes_its_outbox_rows(client, app, member):
    created = create(client, member)
    kept = create(client, member, title="Kept", starts_at="2026-10-25T09:00")

    response = client.delete(url(created["id"]), headers=member.headers)

    assert response.status_code == 204
    assert outbox(app, created["id"]) == []
    assert len(pending(outbox(app, kept["id"]))) == 8
    assert {r["appointment_id"] for r in outbox(app)} == {kept["id"]}


def test_a_new_time_zone_for_the_member_moves_pending_day_reminders(client, app, member):
    created = create(client, member)
    ids_before = {r["id"] for r in outbox(app)}

    response = client.patch(ME, json={"timezone": "America/New_York"}, headers=member.headers)

    assert response.status_code == 200, response.get_json()
    rows = outbox(app, created["id"])
    # "1 day before at 10:00" is now 10:00 in New York (14:00Z); "2h" is still 2 h before.
    assert plan_of(pending(rows)) == expected_plan(
        START_1020,
        {
            "7d@10:00": utc(2026, 10, 13, 14, 0),
            "3d@10:00": utc(2026, 10, 17, 14, 0),
            "1d@10:00": utc(2026, 10, 19, 14, 0),
            "2h": utc(2026, 10, 20, 12, 0),
        },
    )
    assert len(rows) == 8
    assert {r["id"] for r in rows} == ids_before
    # The appointment itself keeps its own zone: it still happens at 09:00 in Chicago.
    assert fetch(client, member, created["id"])["timezone"] == CHICAGO


def test_quiet_hours_move_pending_reminders_out_of_them(client, app, member):
    created = create(client, member)

    response = client.patch(
        ME, json={"quiet_hours": {"start": "09:30", "end": "10:30"}}, headers=member.headers
    )

    assert response.status_code == 200, response.get_json()
    rows = outbox(app, created["id"])
    # 10:00 is quiet: those go out at 09:15 local (14:15Z); 07:00 (the "2h") is not quiet.
    assert plan_of(pending(rows)) == expected_plan(
        START_1020,
        {
            "7d@10:00": utc(2026, 10, 13, 14, 15),
            "3d@10:00": utc(2026, 10, 17, 14, 15),
            "1d@10:00": utc(2026, 10, 19, 14, 15),
            "2h": utc(2026, 10, 20, 12, 0),
        },
    )
    assert len(rows) == 8

    cleared = client.patch(ME, json={"quiet_hours": None}, headers=member.headers)

    assert cleared.status_code == 200, cleared.get_json()
    assert plan_of(pending(outbox(app, created["id"]))) == expected_plan(START_1020, DUE_1020)


def test_profile_changes_leave_cancelled_appointments_alone(client, app, member):
    created = create(client, member)
    client.patch(url(created["id"]), json={"status": "cancelled"}, headers=member.headers)

    client.patch(ME, json={"timezone": "America/New_York"}, headers=member.headers)

    assert pending(outbox(app, created["id"])) == []


def test_a_profile_change_reaches_only_the_members_own_rows(client, app, accounts, member):
    mine = create(client, member)
    other = accounts.register(timezone=CHICAGO)
    theirs = create(client, other)
    theirs_before = outbox(app, theirs["id"])

    client.patch(ME, json={"timezone": "America/New_York"}, headers=member.headers)

    assert outbox(app, theirs["id"]) == theirs_before
    assert outbox(app, mine["id"]) != []


def test_replanning_with_the_same_values_creates_no_duplicates(client, app, member):
    created = create(client, member)
    before = outbox(app)

    for _ in range(2):
        same = client.patch(
            url(created["id"]),
            json={"starts_at": "2026-10-20T09:00", "reminder_offsets": DEFAULT_OFFSETS},
            headers=member.headers,
        )
        assert same.status_code == 200, same.get_json()
        me = client.patch(
            ME, json={"timezone": CHICAGO, "quiet_hours": None}, headers=member.headers
        )
        assert me.status_code == 200, me.get_json()

    after = outbox(app)
    assert len(after) == 8
    keys = Counter((r["occurrence_local"], r["offset_key"], r["channel"]) for r in after)
    assert max(keys.values()) == 1
    assert [(r["id"], r["due_at"], r["state"]) for r in after] == [
        (r["id"], r["due_at"], r["state"]) for r in before
    ]


def test_moving_the_start_there_and_back_reuses_rows_without_duplicates(client, app, member):
    created = create(client, member)

    client.patch(url(created["id"]), json={"starts_at": "2026-10-22T09:00"}, headers=member.headers)
    client.patch(url(created["id"]), json={"starts_at": "2026-10-20T09:00"}, headers=member.headers)

    rows = outbox(app, created["id"])
    assert len(rows) == 16
    keys = Counter((r["occurrence_local"], r["offset_key"], r["channel"]) for r in rows)
    assert max(keys.values()) == 1
    assert plan_of(pending(rows)) == expected_plan(START_1020, DUE_1020)
    assert {r["state"] for r in rows if r["occurrence_local"] != START_1020} == {"cancelled"}


# --- recurring appointments: a rolling window ------------------------------------------------


def test_a_weekly_appointment_is_planned_60_days_ahead_and_extended_later(
    client, app, member, clock
):
    created = create(
        client, member, title="Group", starts_at="2026-10-06T09:00", recurrence="FREQ=WEEKLY"
    )

    rows = pending(outbox(app, created["id"]))
    horizon = NOW + timedelta(days=60)
    occurrences = sorted({r["occurrence_local"] for r in rows})
    assert occurrences == [datetime(2026, 10, 6, 9, 0) + timedelta(weeks=n) for n in range(8)]
    assert all(r["due_at"] <= NOW + timedelta(days=61) for r in rows)
    assert all(r["occurrence_at"] < horizon for r in rows)
    # Every offset of every occurrence, on both channels, except the 7-day reminder of
    # 2026-10-06 (due 2026-09-29, already past).
    assert len(rows) == (8 * 4 - 1) * 2
    assert {
        r["offset_key"] for r in rows if r["occurrence_local"] == datetime(2026, 10, 6, 9, 0)
    } == {"3d@10:00", "1d@10:00", "2h"}
    # The wall time stays 09:00 in Chicago across the end of DST on 2026-11-01.
    by_occurrence = {r["occurrence_local"]: r["occurrence_at"] for r in rows}
    assert by_occurrence[datetime(2026, 10, 27, 9, 0)] == utc(2026, 10, 27, 14, 0)
    assert by_occurrence[datetime(2026, 11, 3, 9, 0)] == utc(2026, 11, 3, 15, 0)

    clock.move_to(NOW + timedelta(days=30))
    result = app.test_cli_runner().invoke(args=["reminders", "plan"])

    assert result.exit_code == 0, result.output
    assert "re-planned 1 recurring appointments" in result.output
    later = NOW + timedelta(days=30)
    extended = pending(outbox(app, created["id"]))
    later_occurrences = sorted({r["occurrence_local"] for r in extended})
    # Every Tuesday from 2026-11-03 to 2026-12-29 (the window ends 2026-12-30 12:00Z).
    assert later_occurrences == [datetime(2026, 11, 3, 9, 0) + timedelta(weeks=n) for n in range(9)]
    assert max(r["occurrence_at"] for r in extended) > horizon
    assert all(r["due_at"] <= later + timedelta(days=61) for r in extended)
    assert all(r["due_at"] >= later - timedelta(minutes=5) for r in extended)
    keys = Counter(
        (r["occurrence_local"], r["offset_key"], r["channel"]) for r in outbox(app, created["id"])
    )
    assert max(keys.values()) == 1


def test_the_planner_leaves_a_fresh_window_alone(client, app, member):
    created = create(client, member, starts_at="2026-10-06T09:00", recurrence="FREQ=WEEKLY")
    before = outbox(app, created["id"])

    result = app.test_cli_runner().invoke(args=["reminders", "plan"])

    assert result.exit_code == 0, result.output
    assert "re-planned 0 recurring appointments" in result.output
    assert outbox(app, created["id"]) == before


def test_removing_the_recurrence_keeps_only_the_first_occurrence(client, app, member):
    created = create(client, member, starts_at="2026-10-06T09:00", recurrence="FREQ=WEEKLY")

    response = client.patch(url(created["id"]), json={"recurrence": None}, headers=member.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["recurrence"] is None
    rows = outbox(app, created["id"])
    assert {r["occurrence_local"] for r in pending(rows)} == {datetime(2026, 10, 6, 9, 0)}
    assert {r["state"] for r in rows if r["occurrence_local"] != datetime(2026, 10, 6, 9, 0)} == {
        "cancelled"
    }


def test_changing_the_appointments_zone_moves_its_reminders(client, app, member):
    created = create(client, member, reminder_offsets=["2h"])
    ids_before = {r["id"] for r in outbox(app, created["id"])}

    response = client.patch(
        url(created["id"]), json={"timezone": "America/New_York"}, headers=member.headers
    )

    assert response.status_code == 200, response.get_json()
    rows = outbox(app, created["id"])
    # 09:00 in New York is 13:00Z: the same wall time, an hour earlier.
    assert {(r["occurrence_at"], r["due_at"]) for r in pending(rows)} == {
        (utc(2026, 10, 20, 13, 0), utc(2026, 10, 20, 11, 0))
    }
    assert {r["id"] for r in rows} == ids_before


def test_a_recurrence_with_until_stops_planning_at_until(client, app, member):
    created = create(
        client,
        member,
        starts_at="2026-10-06T09:00",
        recurrence="FREQ=WEEKLY;UNTIL=20261021T000000Z",
    )

    rows = pending(outbox(app, created["id"]))

    assert sorted({r["occurrence_local"] for r in rows}) == [
        datetime(2026, 10, 6, 9, 0),
        datetime(2026, 10, 13, 9, 0),
        datetime(2026, 10, 20, 9, 0),
    ]


# --- who may see and change what ----------------------------------------------------------------


def test_another_member_gets_404_and_changes_nothing(client, app, accounts, member):
    created = create(client, member, title="Court, Room 4", kind="court", location="100 Main St")
    rows_before = outbox(app)
    other = accounts.register(timezone=CHICAGO)
    target = url(created["id"])

    for response in (
        client.get(target, headers=other.headers),
        client.patch(target, json={"status": "cancelled", "title": "gone"}, headers=other.headers),
        client.delete(target, headers=other.headers),
        client.get(f"{target}/calendar.ics", headers=other.headers),
    ):
        body = assert_problem(response, 404)
        assert "Court" not in body["detail"] and created["id"] not in body["detail"]

    assert fetch(client, member, created["id"]) == created
    assert outbox(app) == rows_before
    # The same answer as for an id that does not exist at all.
    missing = assert_problem(client.get(url("no-such-appointment"), headers=other.headers), 404)
    stranger = assert_problem(client.get(target, headers=other.headers), 404)
    assert missing["detail"] == stranger["detail"]


def test_a_mentor_gets_404_on_every_appointment_path(client, app, accounts, member):
    created = create(client, member)
    mentor = accounts.register(role="mentor")
    target = url(created["id"])

    for response in (
        client.get(APPOINTMENTS, headers=mentor.headers),
        client.post(APPOINTMENTS, json=BASE, headers=mentor.headers),
        client.get(target, headers=mentor.headers),
        client.patch(target, json={"title": "x"}, headers=mentor.headers),
        client.delete(target, headers=mentor.headers),
        client.get(f"{target}/calendar.ics", headers=mentor.headers),
    ):
        assert_problem(response, 404)

    assert fetch(client, member, created["id"]) == created
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        assert (
            db.scalar(select(Appointment.id).where(Appointment.member_id == mentor.account_id))
            is None
        )


def test_no_token_is_401(client, member):
    created = create(client, member)
    target = url(created["id"])

    for response in (
        client.get(APPOINTMENTS),
        client.post(APPOINTMENTS, json=BASE),
        client.get(target),
        client.patch(target, json={"title": "x"}),
        client.delete(target),
        client.get(f"{target}/calendar.ics"),
        client.get(APPOINTMENTS, headers={"Authorization": "Bearer not-a-real-token"}),
    ):
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    assert fetch(client, member, created["id"]) == created
    assert listing(client, member)["total"] == 1


def post_at_once(app: Any, person: Any, body: dict[str, Any], times: int = 2) -> list[Any]:
    """The same POST from several threads, released together."""
    barrier = threading.Barrier(times)
    answers: list[Any] = [None] * times

    def send(index: int) -> None:
        own_client = app.test_client()
        barrier.wait()
        answers[index] = own_client.post("/api/v1/appointments", json=body, headers=person.headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_a_retry_racing_the_first_post_makes_one_appointment_and_one_plan(client, member, app):
    """A phone retries while its first POST is still in flight: one appointment, one set of
    reminders, answers 201 and 200, never a 500."""
    for attempt in range(4):
        appointment_id = f"race-{attempt}"
        body = {
            "id": appointment_id,
            "title": "ID office",
            "starts_at": "2026-12-20T10:00",
            "location": "Room 3",
        }
        answers = post_at_once(app, member, body)
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 201], [a.get_data(as_text=True)[:200] for a in answers]
        assert fetch(client, member, appointment_id)["location"] == "Room 3"
        rows = outbox(app, appointment_id)
        keys = [(r["occurrence_local"], r["offset_key"], r["channel"]) for r in rows]
        assert keys and len(keys) == len(set(keys))
    assert listing(client, member)["total"] == 4
