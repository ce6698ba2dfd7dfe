"""The phone's own reminders: planned reminder times sync with their appointment, move
when it moves, and leave when it goes."""

from __future__ import annotations

import re
from typing import Any

SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def _pull(client: Any, person: Any, since: int = 0) -> dict[str, Any]:
    response = client.get(f"/api/v1/sync?last_pulled_at={since}", headers=person.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def _book(client: Any, member: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "See Dana", "starts_at": "2030-03-20T09:00", "timezone": "America/Chicago"}
    response = client.post("/api/v1/appointments", json={**body, **fields}, headers=member.headers)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def test_planned_reminders_sync_once_per_offset_with_safe_ids(client, accounts):
    member = accounts.register(role="member")
    booked = _book(client, member, channels=["push", "sms"])
    reminders = _pull(client, member)["changes"]["reminders"]["created"]
    assert sorted(r["offset"] for r in reminders) == sorted(
        ["7d@10:00", "3d@10:00", "1d@10:00", "2h"]
    )
    assert {r["appointment_id"] for r in reminders} == {booked["id"]}
    assert all(SAFE_ID.match(r["id"]) for r in reminders)
    assert all(r["remind_at"] < r["occurrence_at"] for r in reminders)


def test_deleting_an_appointment_deletes_its_reminders_on_the_phone(client, accounts):
    member = accounts.register(role="member")
    booked = _book(client, member)
    first = _pull(client, member)
    reminder_ids = {r["id"] for r in first["changes"]["reminders"]["created"]}
    assert len(reminder_ids) == 4

    deleted = client.delete(f"/api/v1/appointments/{booked['id']}", headers=member.headers)
    assert deleted.status_code == 204
    after = _pull(client, member, first["timestamp"])["changes"]
    assert after["appointments"]["deleted"] == [booked["id"]]
    assert set(after["reminders"]["deleted"]) == reminder_ids


def test_cancelling_or_moving_an_appointment_moves_its_reminders(client, accounts):
    member = accounts.register(role="member")
    booked = _book(client, member)
    first = _pull(client, member)
    before = {r["id"]: r for r in first["changes"]["reminders"]["created"]}

    moved = client.patch(
        f"/api/v1/appointments/{booked['id']}",
        json={"starts_at": "2030-03-27T09:00"},
        headers=member.headers,
    )
    assert moved.status_code == 200, moved.get_json()
    second = _pull(client, member, first["timestamp"])
    changes = second["changes"]["reminders"]
    now_planned = {r["id"]: r for r in changes["created"] + changes["updated"]}
    assert len(now_planned) == 4 and not set(now_planned) & set(before)
    assert set(changes["deleted"]) == set(before)

    cancelled = client.patch(
        f"/api/v1/appointments/{booked['id']}", json={"status": "cancelled"}, headers=member.headers
    )
    assert cancelled.status_code == 200
    third = _pull(client, member, second["timestamp"])["changes"]["reminders"]
    # Every reminder of the appointment is deleted on the phone (ids deleted before may be
    # named again: deleting what is not there is a no-op for WatermelonDB).
    assert set(now_planned) <= set(third["deleted"])
    assert all(r.startswith(booked["id"]) for r in third["deleted"])
    assert not third["created"] and not third["updated"]


def test_a_new_time_zone_resends_the_reminder_times(client, accounts):
    member = accounts.register(role="member")
    _book(client, member, reminder_offsets=["1d@10:00"])
    first = _pull(client, member)
    [reminder] = first["changes"]["reminders"]["created"]

    changed = client.patch("/api/v1/me", json={"timezone": "Europe/Madrid"}, headers=member.headers)
    assert changed.status_code == 200, changed.get_json()
    [moved] = _pull(client, member, first["timestamp"])["changes"]["reminders"]["updated"]
    # "1d@10:00" is ten in the morning where the member now is, a different instant.
    assert moved["id"] == reminder["id"] and moved["remind_at"] != reminder["remind_at"]


def test_a_timestamp_the_server_never_gave_gets_a_replacement_sync(client, accounts):
    member = accounts.register(role="member")
    booked = _book(client, member)
    answer = _pull(client, member, 99_999_999_999_999)
    assert answer["experimentalStrategy"] == "replacement"
    assert [a["id"] for a in answer["changes"]["appointments"]["created"]] == [booked["id"]]
    assert answer["timestamp"] < 99_999_999_999_999
