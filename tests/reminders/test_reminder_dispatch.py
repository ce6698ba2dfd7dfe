"""Delivery: the outbox reaches the local push service and the fake Twilio exactly once,
with several dispatchers, crashes, retries, quiet hours and cancellations."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from api.accounts.models import Account, Device
from api.core.crypto import vault_of
from reminders.dispatch import Dispatcher
from reminders.models import Appointment, DeliveryState, ReminderDelivery, SmsOptOut

DENIED = ("court", "probation", "parole", "warrant", "drug test", "tribunal", "juzgado")


def _member_with_device(client, accounts, push, **profile):
    person = accounts.register(**profile)
    subscription = push.new_subscription()
    response = client.post(
        "/api/v1/devices", headers=person.headers, json={**subscription, "name": "my phone"}
    )
    assert response.status_code == 201, response.get_json()
    person.extra["subscription"] = subscription
    return person


def _appointment(client, person, starts_at, **fields):
    body = {
        "title": "Court hearing, probation office",
        "kind": "court",
        "starts_at": starts_at,
        "timezone": "America/Chicago",
        **fields,
    }
    response = client.post("/api/v1/appointments", headers=person.headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _rows(app, **where):
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(ReminderDelivery)
        for name, value in where.items():
            query = query.where(getattr(ReminderDelivery, name) == value)
        return list(db.scalars(query.order_by(ReminderDelivery.due_at)))


def _dispatcher(app, at, **kwargs):
    return Dispatcher.for_app(app, clock=lambda: at, **kwargs)


def _local(text):
    return datetime.fromisoformat(text)


def test_due_push_reminder_arrives_once_decrypted_and_discreet(app, client, accounts, push):
    person = _member_with_device(client, accounts, push, timezone="America/Chicago")
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["2h"], channels=["push"]
    )
    [row] = _rows(app, appointment_id=appointment["id"])
    assert row.state == DeliveryState.PENDING

    assert _dispatcher(app, row.due_at - timedelta(minutes=1)).run_until_idle() == 0
    assert push.count() == 0
    assert _dispatcher(app, row.due_at).run_until_idle() == 1
    assert _dispatcher(app, row.due_at + timedelta(minutes=5)).run_until_idle() == 0

    [message] = push.wait_for(1)
    assert message.json["title"] == "Reminder"
    assert message.json["body"] == "Appointment today at 09:00"
    assert message.json["appointment_id"] == appointment["id"]
    text = message.text.lower()
    assert all(word not in text for word in DENIED) and "hearing" not in text
    assert int(message.headers["ttl"]) > 0
    [sent] = _rows(app, appointment_id=appointment["id"])
    assert sent.state == DeliveryState.SENT and sent.sent_at is not None and sent.attempts == 1


def test_detailed_text_in_spanish_when_the_member_opted_in(app, client, accounts, push):
    person = _member_with_device(client, accounts, push, timezone="America/Chicago", locale="es")
    client.patch("/api/v1/me", headers=person.headers, json={"notification_detail": "detailed"})
    appointment = _appointment(
        client,
        person,
        "2027-03-10T09:00",
        title="Audiencia",
        reminder_offsets=["1d@10:00"],
        channels=["push"],
    )
    [row] = _rows(app, appointment_id=appointment["id"])
    _dispatcher(app, row.due_at).run_until_idle()
    [message] = push.wait_for(1)
    assert message.json["title"] == "Cita en el juzgado"
    assert message.json["body"] == "Audiencia, mañana a las 09:00"


def test_two_dispatcher_processes_deliver_each_of_2000_exactly_once(app, push, database_url):
    now = datetime.now(UTC)
    subscription = push.new_subscription()
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        member = Account(
            username="many",
            username_key="many",
            password_hash="x",
            role="member",
            timezone="UTC",
            locale="en",
            created_at=now,
            updated_at=now,
            password_changed_at=now,
        )
        db.add(member)
        db.flush()
        db.add(
            Device(
                account_id=member.id,
                endpoint=subscription["endpoint"],
                endpoint_hash="h" * 64,
                p256dh=subscription["keys"]["p256dh"],
                auth=subscription["keys"]["auth"],
                created_at=now,
            )
        )
        starts = now + timedelta(days=1)
        db.execute(
            insert(Appointment),
            [
                {
                    "id": f"appt-{i:04d}",
                    "member_id": member.id,
                    # Bulk inserts bypass SealedText: the title goes in sealed by hand.
                    "title_sealed": vault_of(db).seal(
                        member.id, "appointments", "title", f"appt-{i:04d}", "t"
                    ),
                    "kind": "other",
                    "starts_local": starts.replace(tzinfo=None),
                    "timezone": "UTC",
                    "reminder_offsets": ["2h"],
                    "channels": ["push"],
                    "status": "scheduled",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(2000)
            ],
        )
        db.execute(
            insert(ReminderDelivery),
            [
                {
                    "id": f"rd-{i:04d}",
                    "appointment_id": f"appt-{i:04d}",
                    "member_id": member.id,
                    "occurrence_local": starts.replace(tzinfo=None),
                    "occurrence_at": starts,
                    "offset_key": "2h",
                    "channel": "push",
                    "due_at": now - timedelta(seconds=1),
                    "state": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(2000)
            ],
        )

    script = (
        "from api import create_app\nfrom reminders.dispatch import Dispatcher\n"
        "print(Dispatcher.for_app(create_app()).run_until_idle())"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "x",
        "LOG_LEVEL": "WARNING",
        "VAPID_PRIVATE_KEY": app.config["VAPID_PRIVATE_KEY"],
        "REMINDER_BATCH_SIZE": "25",
        "HOMEWARD_INSTANCE_PATH": app.config["INSTANCE_PATH"],
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    claimed = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        claimed.append(int(out.strip().splitlines()[-1]))

    received = push.wait_for(2000, timeout=60)
    ids = [message.json["appointment_id"] for message in received]
    assert len(ids) == 2000 and len(set(ids)) == 2000
    assert sum(claimed) == 2000
    assert all(count > 0 for count in claimed), f"both dispatchers should share: {claimed}"
    assert {row.state for row in _rows(app)} == {DeliveryState.SENT}


def test_a_dispatcher_that_dies_after_claiming_leads_to_one_delivery_after_the_lease(
    app, client, accounts, push
):
    person = _member_with_device(client, accounts, push)
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["2h"], channels=["push"]
    )
    [row] = _rows(app, appointment_id=appointment["id"])
    lease = timedelta(seconds=app.config["REMINDER_LEASE_SECONDS"])

    crashed = _dispatcher(app, row.due_at)
    assert crashed.claim() == [row.id]  # ...and then the process dies before sending

    assert _dispatcher(app, row.due_at + lease - timedelta(seconds=1)).run_until_idle() == 0
    assert push.count() == 0
    assert _dispatcher(app, row.due_at + lease + timedelta(seconds=1)).run_until_idle() == 1
    assert _dispatcher(app, row.due_at + 2 * lease + timedelta(seconds=2)).run_until_idle() == 0
    push.wait_for(1)
    assert push.count() == 1
    [settled] = _rows(app, appointment_id=appointment["id"])
    assert settled.state == DeliveryState.SENT and settled.attempts == 2


def test_rescheduling_before_the_due_time_means_the_old_reminder_is_never_sent(
    app, client, accounts, push
):
    person = _member_with_device(client, accounts, push)
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["2h"], channels=["push"]
    )
    [old] = _rows(app, appointment_id=appointment["id"])
    response = client.patch(
        f"/api/v1/appointments/{appointment['id']}",
        headers=person.headers,
        json={"starts_at": "2027-03-12T15:00"},
    )
    assert response.status_code == 200

    _dispatcher(app, old.due_at + timedelta(minutes=1)).run_until_idle()
    assert push.count() == 0
    rows = {row.id: row for row in _rows(app, appointment_id=appointment["id"])}
    assert rows[old.id].state == DeliveryState.CANCELLED
    [new] = [row for row in rows.values() if row.state == DeliveryState.PENDING]
    _dispatcher(app, new.due_at).run_until_idle()
    [message] = push.wait_for(1)
    assert "15:00" in message.json["body"]


def test_cancelling_before_the_due_time_sends_nothing(app, client, accounts, push):
    person = _member_with_device(client, accounts, push)
    appointment = _appointment(client, person, "2027-03-10T09:00", channels=["push"])
    client.patch(
        f"/api/v1/appointments/{appointment['id']}",
        headers=person.headers,
        json={"status": "cancelled"},
    )
    _dispatcher(app, datetime(2027, 3, 10, 14, tzinfo=UTC)).run_until_idle()
    assert push.count() == 0
    assert {row.state for row in _rows(app)} == {DeliveryState.CANCELLED}


def test_nothing_is_sent_after_the_appointment_starts(app, client, accounts, push):
    person = _member_with_device(client, accounts, push)
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["2h"], channels=["push"]
    )
    [row] = _rows(app, appointment_id=appointment["id"])
    # The dispatcher was down until after the start.
    assert _dispatcher(app, row.occurrence_at + timedelta(minutes=1)).run_until_idle() == 1
    assert push.count() == 0
    [skipped] = _rows(app, appointment_id=appointment["id"])
    assert skipped.state == DeliveryState.SKIPPED and "started" in skipped.last_error


def test_a_retry_that_falls_in_quiet_hours_waits_for_them_to_end(app, client, accounts, push):
    person = _member_with_device(client, accounts, push, timezone="America/Chicago")
    client.patch(
        "/api/v1/me",
        headers=person.headers,
        json={"quiet_hours": {"start": "22:00", "end": "07:00"}},
    )
    appointment = _appointment(
        client, person, "2027-03-10T12:00", reminder_offsets=["2h"], channels=["push"]
    )
    at_five = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)  # 05:00 in Chicago (CST)
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        row = db.scalar(select(ReminderDelivery))
        row.due_at = at_five  # as if a retry had been scheduled then

    _dispatcher(app, at_five).run_until_idle()
    assert push.count() == 0
    [waiting] = _rows(app, appointment_id=appointment["id"])
    assert waiting.state == DeliveryState.PENDING and waiting.attempts == 0
    assert waiting.due_at == datetime(2027, 3, 10, 13, 0, tzinfo=UTC)  # 07:00 CST

    _dispatcher(app, waiting.due_at).run_until_idle()
    assert push.wait_for(1)[0].json["body"] == "Appointment today at 12:00"


def test_a_failed_push_is_retried_with_backoff_and_the_error_kept(app, client, accounts, push):
    person = _member_with_device(client, accounts, push)
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["1d@10:00"], channels=["push"]
    )
    [row] = _rows(app, appointment_id=appointment["id"])
    push.fail_next(person.extra["subscription"], 500, times=1)

    _dispatcher(app, row.due_at).run_until_idle()
    [retrying] = _rows(app, appointment_id=appointment["id"])
    assert retrying.state == DeliveryState.PENDING and retrying.attempts == 1
    assert "500" in retrying.last_error
    base = timedelta(seconds=app.config["REMINDER_RETRY_BASE_SECONDS"])
    assert row.due_at + base / 2 <= retrying.due_at <= row.due_at + base

    _dispatcher(app, retrying.due_at).run_until_idle()
    push.wait_for(1)
    [sent] = _rows(app, appointment_id=appointment["id"])
    assert sent.state == DeliveryState.SENT and sent.attempts == 2


def test_retries_stop_at_the_cap_and_keep_the_reason(app, client, accounts, push, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_MAX_ATTEMPTS", 3)
    person = _member_with_device(client, accounts, push)
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["7d@10:00"], channels=["push"]
    )
    push.fail_next(person.extra["subscription"], 503, times=10)
    [row] = _rows(app, appointment_id=appointment["id"])
    at = row.due_at
    for _ in range(3):
        _dispatcher(app, at).run_until_idle()
        [row] = _rows(app, appointment_id=appointment["id"])
        at = row.due_at
    assert row.state == DeliveryState.FAILED and row.attempts == 3
    assert "503" in row.last_error
    assert push.count() == 0


def test_a_gone_subscription_is_removed(app, client, accounts, push):
    person = _member_with_device(client, accounts, push)
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["2h"], channels=["push"]
    )
    push.gone(person.extra["subscription"])
    [row] = _rows(app, appointment_id=appointment["id"])
    _dispatcher(app, row.due_at).run_until_idle()
    assert client.get("/api/v1/devices", headers=person.headers).get_json() == []
    [skipped] = _rows(app, appointment_id=appointment["id"])
    assert skipped.state == DeliveryState.SKIPPED


def test_sms_reminder_reaches_twilio_and_stop_stops_it(app, client, accounts, twilio, push):
    person = accounts.register(phone="+14155550123", timezone="America/Chicago")
    first = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["2h"], channels=["sms"]
    )
    [row] = _rows(app, appointment_id=first["id"])
    _dispatcher(app, row.due_at).run_until_idle()
    [sms] = twilio.wait_for(1)
    assert sms.to == "+14155550123" and sms.from_ == "+14155550100"
    assert sms.body == "Appointment today at 09:00. Reply C to confirm."

    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        db.add(SmsOptOut(phone="+14155550123", opted_out_at=datetime.now(UTC)))
    second = _appointment(
        client, person, "2027-03-11T09:00", reminder_offsets=["2h"], channels=["sms"]
    )
    [row] = _rows(app, appointment_id=second["id"])
    _dispatcher(app, row.due_at).run_until_idle()
    assert twilio.count() == 1
    [skipped] = _rows(app, appointment_id=second["id"])
    assert skipped.state == DeliveryState.SKIPPED and "STOP" in skipped.last_error


def test_a_number_twilio_reports_unsubscribed_is_recorded_and_skipped(
    app, client, accounts, twilio
):
    person = accounts.register(phone="+14155550124")
    twilio.block("+14155550124")
    appointment = _appointment(
        client, person, "2027-03-10T09:00", reminder_offsets=["2h"], channels=["sms"]
    )
    [row] = _rows(app, appointment_id=appointment["id"])
    _dispatcher(app, row.due_at).run_until_idle()
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        assert db.get(SmsOptOut, "+14155550124") is not None
    [skipped] = _rows(app, appointment_id=appointment["id"])
    assert skipped.state == DeliveryState.SKIPPED
