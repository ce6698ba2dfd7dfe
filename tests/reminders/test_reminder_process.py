"""`flask reminders run` is a process of its own that wakes up and delivers what is due."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from reminders.models import DeliveryState, ReminderDelivery


def test_the_dispatcher_process_delivers_a_due_reminder_once(
    app, client, accounts, push, database_url
):
    person = accounts.register()
    client.post("/api/v1/devices", headers=person.headers, json=push.new_subscription())
    starts = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        "/api/v1/appointments",
        headers=person.headers,
        json={
            "title": "x",
            "starts_at": starts,
            "timezone": "UTC",
            "reminder_offsets": ["2h"],
            "channels": ["push"],
        },
    )
    sessions = app.extensions["homeward.db"].sessionmaker
    with app.app_context(), sessions.begin() as db:
        db.scalar(select(ReminderDelivery)).due_at = datetime.now(UTC) - timedelta(seconds=1)

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "x",
        "VAPID_PRIVATE_KEY": app.config["VAPID_PRIVATE_KEY"],
        "LOG_LEVEL": "WARNING",
        "PYTHONFAULTHANDLER": "1",
        "REMINDER_DISPATCH_INTERVAL": "1",
        "HOMEWARD_INSTANCE_PATH": app.config["INSTANCE_PATH"],
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "reminders", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            [message] = push.wait_for(1, timeout=30)
        except AssertionError:
            process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            _, stderr = process.communicate(timeout=15)
            with app.app_context(), sessions() as db:
                row = db.scalar(select(ReminderDelivery))
                state = (row.state, row.last_error, row.due_at, row.occurrence_at, row.attempts)
            raise AssertionError(
                f"no push; delivery {state}; now {datetime.now(UTC)} / {time.time()}; "
                f"dispatcher said: {stderr.decode()[:5000]}"
            ) from None
        assert message.json["body"].startswith("Appointment ")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)
    assert push.count() == 1
    with app.app_context(), sessions() as db:
        assert db.scalar(select(ReminderDelivery)).state == DeliveryState.SENT
