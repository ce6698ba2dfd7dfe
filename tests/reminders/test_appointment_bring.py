"""An appointment's `bring` list: what to take along. Sealed at rest, in the .ics
DESCRIPTION, in reminders only for a member who chose detailed text, synced as a JSON
array in a string column, and in the export."""

from __future__ import annotations

import json
from typing import Any

import icalendar
from sqlalchemy import select, text

from reminders.dispatch import Dispatcher
from reminders.models import ReminderDelivery
from tests.sync.helpers import pull, push, raw_appointment

APPOINTMENTS = "/api/v1/appointments"
BRING = ["Release papers", "Birth certificate"]


def _create(client: Any, person: Any, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Benefits office",
        "kind": "benefits",
        "starts_at": "2027-03-10T09:00",
        "timezone": "America/Chicago",
        "bring": BRING,
        **fields,
    }
    response = client.post(APPOINTMENTS, json=body, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def _device(client: Any, person: Any, push_service: Any) -> None:
    body = {**push_service.new_subscription(), "name": "my phone"}
    response = client.post("/api/v1/devices", headers=person.headers, json=body)
    assert response.status_code == 201, response.get_json()


def test_bring_is_kept_changed_and_cleared(client, member):
    created = _create(client, member)
    assert created["bring"] == BRING
    shown = client.get(f"{APPOINTMENTS}/{created['id']}", headers=member.headers).get_json()
    assert shown["bring"] == BRING

    response = client.patch(
        f"{APPOINTMENTS}/{created['id']}", json={"bring": ["Pay stub"]}, headers=member.headers
    )
    assert response.status_code == 200 and response.get_json()["bring"] == ["Pay stub"]
    response = client.patch(
        f"{APPOINTMENTS}/{created['id']}", json={"bring": []}, headers=member.headers
    )
    assert response.status_code == 200 and response.get_json()["bring"] == []


def test_a_bad_bring_list_is_refused_and_changes_nothing(client, member):
    created = _create(client, member)
    for bad in (["x"] * 11, ["y" * 81], [""], "Release papers", [3]):
        response = client.patch(
            f"{APPOINTMENTS}/{created['id']}", json={"bring": bad}, headers=member.headers
        )
        assert response.status_code == 422, (bad, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert "bring" in response.get_json()["detail"]
    shown = client.get(f"{APPOINTMENTS}/{created['id']}", headers=member.headers).get_json()
    assert shown["bring"] == BRING


def test_the_stored_column_holds_no_plaintext(app, client, member):
    _create(client, member)
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        [stored] = db.execute(text("SELECT bring FROM appointments")).scalars().all()
    assert stored and "Release" not in stored and "Birth" not in stored


def test_the_ics_description_says_what_to_bring(client, member):
    created = _create(client, member)
    response = client.get(f"{APPOINTMENTS}/{created['id']}/calendar.ics", headers=member.headers)
    assert response.status_code == 200
    [event] = icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT")
    assert str(event["DESCRIPTION"]) == "Bring: Release papers, Birth certificate."
    assert str(event["SUMMARY"]) == "Appointment"  # the summary stays discreet

    none = _create(client, member, bring=[])
    response = client.get(f"{APPOINTMENTS}/{none['id']}/calendar.ics", headers=member.headers)
    [event] = icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT")
    assert "DESCRIPTION" not in event


def _reminder_text(app: Any, appointment_id: str, push_service: Any) -> dict[str, Any]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        [row] = db.scalars(
            select(ReminderDelivery).where(ReminderDelivery.appointment_id == appointment_id)
        ).all()
    assert Dispatcher.for_app(app, clock=lambda: row.due_at).run_until_idle() == 1
    [message] = push_service.wait_for(1)
    body: dict[str, Any] = message.json
    return body


def test_discreet_reminders_never_say_what_to_bring(app, client, accounts, push):
    person = accounts.register(timezone="America/Chicago")
    _device(client, person, push)
    created = _create(client, person, reminder_offsets=["2h"], channels=["push"])
    message = _reminder_text(app, created["id"], push)
    assert message["body"] == "Appointment today at 09:00"
    assert "Release" not in json.dumps(message)


def test_detailed_reminders_say_what_to_bring(app, client, accounts, push):
    person = accounts.register(timezone="America/Chicago")
    response = client.patch(
        "/api/v1/me", headers=person.headers, json={"notification_detail": "detailed"}
    )
    assert response.status_code == 200
    _device(client, person, push)
    created = _create(client, person, reminder_offsets=["2h"], channels=["push"])
    message = _reminder_text(app, created["id"], push)
    assert message["body"] == (
        "Benefits office, today at 09:00. Bring: Release papers, Birth certificate"
    )


def test_bring_syncs_as_a_json_array_both_ways(client, member):
    created = _create(client, member)
    [raw] = pull(client, member)["changes"]["appointments"]["created"]
    assert raw["id"] == created["id"] and json.loads(raw["bring"]) == BRING

    record = raw_appointment(bring=json.dumps(["Pay stub", "ID"]))
    changes = {"appointments": {"created": [record], "updated": [], "deleted": []}}
    assert push(client, member, changes, pull(client, member)["timestamp"]) == {}
    shown = client.get(f"{APPOINTMENTS}/{record['id']}", headers=member.headers).get_json()
    assert shown["bring"] == ["Pay stub", "ID"]

    bad = raw_appointment(bring="not a list")
    changes = {"appointments": {"created": [bad], "updated": [], "deleted": []}}
    rejected = push(client, member, changes, pull(client, member)["timestamp"])
    assert rejected == {"appointments": [bad["id"]]}
    assert client.get(f"{APPOINTMENTS}/{bad['id']}", headers=member.headers).status_code == 404


def test_the_export_holds_bring_decrypted(client, member):
    created = _create(client, member)
    document = client.get("/api/v1/me/export", headers=member.headers).get_json()
    [exported] = [a for a in document["appointments"] if a["id"] == created["id"]]
    assert exported["bring"] == BRING
