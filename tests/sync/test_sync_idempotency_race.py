"""Two copies of one push, sent at once with one Idempotency-Key (a phone retrying while
the first request is still in flight): one application, one answer, on both backends."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from reminders.models import Appointment, ReminderDelivery


def test_a_push_raced_by_its_own_retry_applies_once(app, client, accounts):
    member = accounts.register(role="member")
    since = client.get("/api/v1/sync", headers=member.headers).get_json()["timestamp"]
    changes = {
        "appointments": {
            "created": [
                {
                    "id": "raced0000000001",
                    "title": "See Dana",
                    "starts_at": "2030-05-02T09:00",
                    "timezone": "America/Chicago",
                    "reminder_offsets": "1d@10:00,2h",
                    "channels": "push",
                }
            ],
            "updated": [],
            "deleted": [],
        }
    }
    headers = {**member.headers, "Idempotency-Key": "retry-while-in-flight"}
    answers: list[Any] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        response = client.post(
            f"/api/v1/sync?last_pulled_at={since}", json=changes, headers=headers
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [status for status, _ in answers] == [200, 200], answers
    assert answers[0][1] == answers[1][1] == {"experimentalRejectedIds": {}}
    with app.extensions["homeward.db"].sessionmaker() as db:
        appointments = db.scalar(
            select(func.count()).select_from(Appointment).where(Appointment.id == "raced0000000001")
        )
        deliveries = db.scalar(
            select(func.count())
            .select_from(ReminderDelivery)
            .where(ReminderDelivery.appointment_id == "raced0000000001")
        )
    assert appointments == 1
    assert deliveries == 2  # one plan: two offsets on one channel
