"""Calendar files: GET /api/v1/appointments/{id}/calendar.ics (one VEVENT with a VALARM per
reminder offset) and the member's private feed (POST|DELETE /api/v1/me/calendar-feed,
GET /api/v1/calendar/{token}.ics, where the token is the only credential).

Principle 4, discreet by default: the event title says "Appointment" unless the member
opted in to detailed text; then it is the member's own title.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest

from tests.fixtures.http import assert_problem

APPOINTMENTS = "/api/v1/appointments"
FEED = "/api/v1/me/calendar-feed"
ME = "/api/v1/me"
CHICAGO = "America/Chicago"
SENSITIVE_TITLE = "Court with PO Smith - drug test"


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"timezone": CHICAGO}


def create(client: Any, person: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": SENSITIVE_TITLE, "kind": "court", "starts_at": "2026-10-20T09:00", **fields}
    response = client.post(APPOINTMENTS, json=body, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def ics_of(client: Any, person: Any, appointment_id: str) -> tuple[Any, bytes]:
    response = client.get(f"{APPOINTMENTS}/{appointment_id}/calendar.ics", headers=person.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return response, response.get_data()


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return [c for c in calendar.walk("VEVENT")]


def only_event(body: bytes) -> icalendar.Event:
    calendar = parse(body)
    found = events(calendar)
    assert len(found) == 1
    return found[0]


def unfolded(body: bytes) -> str:
    """The ICS text with folded lines joined (RFC 5545 3.1)."""
    return re.sub(r"\r?\n[ \t]", "", body.decode("utf-8"))


def feed_path(feed: dict[str, Any]) -> str:
    parts = urlsplit(feed["url"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def make_feed(client: Any, person: Any) -> dict[str, Any]:
    response = client.post(FEED, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def set_detail(client: Any, person: Any, detail: str) -> None:
    response = client.patch(ME, json={"notification_detail": detail}, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["notification_detail"] == detail


# --- one appointment ------------------------------------------------------------------------


def test_calendar_file_has_one_event_in_the_appointments_zone(client, member):
    created = create(client, member, ends_at="2026-10-20T10:30")

    response, body = ics_of(client, member, created["id"])

    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Content-Disposition"].startswith("attachment")
    calendar = parse(body)
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar["PRODID"]
    event = only_event(body)
    assert str(event["UID"]).startswith(created["id"])
    start = event["DTSTART"].dt
    assert start.replace(tzinfo=None) == datetime(2026, 10, 20, 9, 0)
    assert event["DTSTART"].params["TZID"] == CHICAGO
    assert start.astimezone(UTC) == datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
    assert event["DTEND"].dt.replace(tzinfo=None) == datetime(2026, 10, 20, 10, 30)
    assert event["DTEND"].params["TZID"] == CHICAGO
    assert "DTSTART;TZID=America/Chicago:20261020T090000" in unfolded(body)
    zones = [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]
    assert zones == [CHICAGO]


def test_an_event_without_an_end_lasts_an_hour(client, member):
    created = create(client, member)

    _, body = ics_of(client, member, created["id"])

    event = only_event(body)
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(hours=1)


def test_an_appointment_in_another_zone_keeps_its_own_zone(client, member):
    created = create(client, member, starts_at="2026-10-20T09:00", timezone="Europe/Madrid")

    _, body = ics_of(client, member, created["id"])

    event = only_event(body)
    assert event["DTSTART"].params["TZID"] == "Europe/Madrid"
    assert event["DTSTART"].dt.astimezone(UTC) == datetime(2026, 10, 20, 7, 0, tzinfo=UTC)
    assert [str(tz["TZID"]) for tz in parse(body).walk("VTIMEZONE")] == ["Europe/Madrid"]


def test_each_reminder_offset_becomes_a_valarm_with_its_trigger(client, member):
    created = create(client, member)  # default offsets, 09:00 start

    _, body = ics_of(client, member, created["id"])

    alarms = only_event(body).walk("VALARM")
    triggers = sorted((alarm["TRIGGER"].dt for alarm in alarms), reverse=True)
    assert triggers == [
        -timedelta(hours=2),
        -timedelta(hours=23),  # 1d@10:00 -> 10:00 the day before a 09:00 start
        -timedelta(days=2, hours=23),  # 3d@10:00
        -timedelta(days=6, hours=23),  # 7d@10:00
    ]
    text = unfolded(body)
    for trigger in ("TRIGGER:-PT2H", "TRIGGER:-PT23H", "TRIGGER:-P2DT23H", "TRIGGER:-P6DT23H"):
        assert trigger in text
    assert all(str(alarm["ACTION"]) == "DISPLAY" for alarm in alarms)


def test_custom_offsets_give_exactly_those_alarms(client, member):
    created = create(
        client, member, starts_at="2026-10-20T14:30", reminder_offsets=["1d@18:00", "45m"]
    )

    _, body = ics_of(client, member, created["id"])

    alarms = only_event(body).walk("VALARM")
    assert sorted(alarm["TRIGGER"].dt for alarm in alarms) == [
        -timedelta(hours=20, minutes=30),
        -timedelta(minutes=45),
    ]


def test_no_offsets_means_no_alarms(client, member):
    created = create(client, member, reminder_offsets=[])

    _, body = ics_of(client, member, created["id"])

    assert only_event(body).walk("VALARM") == []


def test_summary_is_discreet_by_default(client, member):
    created = create(
        client,
        member,
        location="County Courthouse, Room 4",
        notes="Ask the probation officer about the warrant",
    )

    _, body = ics_of(client, member, created["id"])

    event = only_event(body)
    assert str(event["SUMMARY"]) == "Appointment"
    assert "LOCATION" not in event
    for alarm in event.walk("VALARM"):
        assert str(alarm["DESCRIPTION"]) == "Appointment"
    text = unfolded(body).lower()
    for word in ("court", "smith", "drug", "probation", "warrant", "room 4"):
        assert word not in text, word
    assert not re.search(r"\bpo\b", text)


def test_summary_is_in_the_members_language(client, accounts, clock):
    member = accounts.register(timezone=CHICAGO, locale="es")
    created = create(client, member)

    _, body = ics_of(client, member, created["id"])

    assert str(only_event(body)["SUMMARY"]) == "Cita"


def test_summary_is_the_title_when_the_member_chose_detailed_text(client, member):
    created = create(client, member, location="County Courthouse, Room 4")
    set_detail(client, member, "detailed")

    _, body = ics_of(client, member, created["id"])

    event = only_event(body)
    assert str(event["SUMMARY"]) == SENSITIVE_TITLE
    assert str(event["LOCATION"]) == "County Courthouse, Room 4"

    set_detail(client, member, "discreet")
    _, again = ics_of(client, member, created["id"])
    assert str(only_event(again)["SUMMARY"]) == "Appointment"


def test_a_recurring_event_carries_its_rule(client, member):
    created = create(
        client, member, starts_at="2026-10-06T09:00", recurrence="FREQ=WEEKLY;BYDAY=TU"
    )

    _, body = ics_of(client, member, created["id"])

    rule = only_event(body)["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"]
    assert rule["BYDAY"] == ["TU"]
    assert "UNTIL" not in rule


def test_a_recurring_event_gives_until_in_utc(client, member):
    # The client sends UNTIL in UTC; the app keeps it local and must give UTC back (RFC 5545).
    created = create(
        client,
        member,
        starts_at="2026-10-06T09:00",
        recurrence="FREQ=WEEKLY;UNTIL=20261231T235959Z",
    )

    _, body = ics_of(client, member, created["id"])

    rule = only_event(body)["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"]
    [until] = rule["UNTIL"]
    assert until.utcoffset() == timedelta(0)
    assert until == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert re.search(r"RRULE:.*UNTIL=20261231T235959Z", unfolded(body))


def test_a_recurring_event_with_local_until_gives_it_in_utc(client, member):
    # UNTIL without Z is local time in the appointment's zone: 2026-12-31 09:00 CST = 15:00Z.
    created = create(
        client, member, starts_at="2026-10-06T09:00", recurrence="FREQ=WEEKLY;UNTIL=20261231T090000"
    )

    _, body = ics_of(client, member, created["id"])

    [until] = only_event(body)["RRULE"]["UNTIL"]
    assert until == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)


def test_a_cancelled_appointment_is_a_cancelled_event(client, member):
    created = create(client, member)
    client.patch(
        f"{APPOINTMENTS}/{created['id']}", json={"status": "cancelled"}, headers=member.headers
    )

    _, body = ics_of(client, member, created["id"])

    assert str(only_event(body)["STATUS"]) == "CANCELLED"


def test_the_calendar_file_of_a_missing_appointment_is_404(client, member):
    assert_problem(
        client.get(f"{APPOINTMENTS}/nothing-here/calendar.ics", headers=member.headers), 404
    )


# --- the private feed ---------------------------------------------------------------------


def test_creating_a_feed_gives_a_url_and_its_token(client, member):
    feed = make_feed(client, member)

    assert feed["token"] and len(feed["token"]) >= 24
    assert feed["url"].startswith("http")
    assert urlsplit(feed["url"]).path == f"/api/v1/calendar/{feed['token']}.ics"


def test_the_feed_lists_every_appointment_without_any_other_credential(client, accounts, member):
    first = create(client, member, starts_at="2026-10-20T09:00")
    second = create(
        client,
        member,
        title="Job interview at the depot",
        kind="job_interview",
        starts_at="2026-11-03T15:00",
        timezone="America/New_York",
    )
    third = create(
        client, member, title="Group", starts_at="2026-10-06T18:00", recurrence="FREQ=WEEKLY"
    )
    client.patch(
        f"{APPOINTMENTS}/{third['id']}", json={"status": "cancelled"}, headers=member.headers
    )
    other = accounts.register(timezone=CHICAGO)
    create(client, other, title="Not in this feed")
    feed = make_feed(client, member)

    response = client.get(feed_path(feed))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data()
    found = events(parse(body))
    uids = {str(e["UID"]).split("@")[0] for e in found}
    assert uids == {first["id"], second["id"], third["id"]}
    assert all(str(e["SUMMARY"]) == "Appointment" for e in found)
    text = unfolded(body).lower()
    assert "court" not in text and "depot" not in text and "not in this feed" not in text
    starts = {str(e["UID"]).split("@")[0]: e["DTSTART"] for e in found}
    assert starts[second["id"]].params["TZID"] == "America/New_York"
    assert starts[second["id"]].dt.replace(tzinfo=None) == datetime(2026, 11, 3, 15, 0)
    assert {str(tz["TZID"]) for tz in parse(body).walk("VTIMEZONE")} == {
        CHICAGO,
        "America/New_York",
    }


def test_the_feed_follows_the_members_detail_choice(client, member):
    create(client, member)
    feed = make_feed(client, member)
    set_detail(client, member, "detailed")

    response = client.get(feed_path(feed))

    assert response.status_code == 200
    assert [str(e["SUMMARY"]) for e in events(parse(response.get_data()))] == [SENSITIVE_TITLE]


def test_rotating_the_feed_retires_the_old_token(client, member):
    create(client, member)
    old = make_feed(client, member)

    new = make_feed(client, member)

    assert new["token"] != old["token"]
    assert_problem(client.get(feed_path(old)), 404)
    response = client.get(feed_path(new))
    assert response.status_code == 200
    assert len(events(parse(response.get_data()))) == 1


def test_deleting_the_feed_turns_it_off(client, member):
    create(client, member)
    feed = make_feed(client, member)

    response = client.delete(FEED, headers=member.headers)

    assert response.status_code == 204
    assert_problem(client.get(feed_path(feed)), 404)
    # Nothing left to delete.
    assert_problem(client.delete(FEED, headers=member.headers), 404)
    # A new feed can be made afterwards, and the old token stays dead.
    again = make_feed(client, member)
    assert client.get(feed_path(again)).status_code == 200
    assert_problem(client.get(feed_path(feed)), 404)


def test_an_unknown_token_is_404(client, member):
    make_feed(client, member)

    assert_problem(client.get("/api/v1/calendar/cal_notarealtokenatall1234567890.ics"), 404)
    assert_problem(client.get("/api/v1/calendar/x.ics"), 404)


def test_each_member_has_their_own_feed(client, accounts, member):
    mine = create(client, member)
    other = accounts.register(timezone=CHICAGO)
    theirs = create(client, other, title="Theirs")
    my_feed, their_feed = make_feed(client, member), make_feed(client, other)

    mine_listed = events(parse(client.get(feed_path(my_feed)).get_data()))
    theirs_listed = events(parse(client.get(feed_path(their_feed)).get_data()))

    assert [str(e["UID"]).split("@")[0] for e in mine_listed] == [mine["id"]]
    assert [str(e["UID"]).split("@")[0] for e in theirs_listed] == [theirs["id"]]
    # Rotating one member's feed leaves the other's working.
    make_feed(client, member)
    assert client.get(feed_path(their_feed)).status_code == 200


def test_a_mentor_cannot_create_a_feed(client, accounts, clock):
    mentor = accounts.register(role="mentor")

    assert_problem(client.post(FEED, headers=mentor.headers), 404)
    assert_problem(client.delete(FEED, headers=mentor.headers), 404)


def test_the_feed_paths_need_a_token_to_manage(client, member):
    assert_problem(client.post(FEED), 401)
    assert_problem(client.delete(FEED), 401)


def test_dtstart_keeps_the_local_time_across_dst(client, member):
    # A 09:00 appointment after the end of DST is still 09:00 in the file.
    created = create(client, member, starts_at="2026-11-10T09:00")

    _, body = ics_of(client, member, created["id"])

    start = only_event(body)["DTSTART"].dt
    assert start.replace(tzinfo=None) == datetime(2026, 11, 10, 9, 0)
    assert start.astimezone(UTC) == datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
    assert start.astimezone(ZoneInfo(CHICAGO)).hour == 9
