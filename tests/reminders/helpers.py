"""Dispatching the reminders outbox for real: the outbox filled through the API, dispatcher
processes started as production starts them, and what the push service received from them
(shared by the exactly-once and the crash tests)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from api.accounts.models import Device
from reminders.models import Channel, DeliveryState, ReminderDelivery
from tests.fakes.push_service import PushService, Received
from tests.fixtures.people import Accounts
from tests.fixtures.production import REPO

# "Homeward-Dispatcher (<host>:<pid>:<hex8>)": who sent a message, as the push service saw it.
USER_AGENT = re.compile(r"^Homeward-Dispatcher \((?P<worker>[^\s()]+:(?P<pid>\d+):[0-9a-f]{8})\)$")
WORKER = re.compile(r"^[^\s()]+:\d+:[0-9a-f]{8}$")
UNSETTLED = (DeliveryState.PENDING, DeliveryState.SENDING)

Key = tuple[str, str, str]  # (subscription id, payload tag, payload starts_at)


# -- the outbox, filled through the API ------------------------------------------------------


@dataclass
class Outbox:
    """Due push reminders: which message each device should receive, and for which row."""

    expected: dict[Key, str]  # one message per (device, occurrence) -> the delivery row's id
    rows: int
    devices: int


def fill_outbox(
    app: Flask,
    client: FlaskClient,
    accounts: Accounts,
    push: PushService,
    monkeypatch: pytest.MonkeyPatch,
    *,
    members: int,
    appointments: int,
    occurrences: int,
    two_devices_every: int = 0,
    make_due: bool = True,
) -> Outbox:
    """``members`` members with devices registered through the API (every
    ``two_devices_every``-th member has two), each with ``appointments`` daily appointments of
    ``occurrences`` occurrences created through the API with a 2-hour push reminder; then
    every planned reminder is made due now, in the database (as if the time had come),
    unless ``make_due`` is false (then ``make_all_due`` does it later)."""
    # Members of a county sign up from many addresses; here they all come from one.
    monkeypatch.setitem(app.config, "RATELIMIT_REGISTER_PER_IP", "100000/hour")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    for m in range(members):
        person = accounts.register(timezone="UTC")
        for _ in range(2 if two_devices_every and m % two_devices_every == 0 else 1):
            response = client.post(
                "/api/v1/devices", headers=person.headers, json=push.new_subscription()
            )
            assert response.status_code == 201, response.get_json()
        for a in range(appointments):
            starts = tomorrow + timedelta(minutes=10 * a)
            response = client.post(
                "/api/v1/appointments",
                headers=person.headers,
                json={
                    "title": "See the housing officer",
                    "kind": "other",
                    "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
                    "timezone": "UTC",
                    "recurrence": f"FREQ=DAILY;COUNT={occurrences}",
                    "reminder_offsets": ["2h"],
                    "channels": ["push"],
                },
            )
            assert response.status_code == 201, response.get_json()

    sessions = app.extensions["homeward.db"].sessionmaker
    with app.app_context(), sessions() as db:
        rows = list(db.scalars(select(ReminderDelivery)))
        endpoints: dict[str, list[str]] = defaultdict(list)
        for device in db.scalars(select(Device)):
            endpoints[device.account_id].append(PushService.subscription_id(device.endpoint))
    assert len(rows) == members * appointments * occurrences
    assert {row.state for row in rows} == {DeliveryState.PENDING}
    assert {row.channel for row in rows} == {Channel.PUSH}
    expected = {
        (subscription, f"appointment-{row.appointment_id}", row.occurrence_at.isoformat()): row.id
        for row in rows
        for subscription in endpoints[row.member_id]
    }
    assert len(expected) == sum(len(endpoints[row.member_id]) for row in rows)
    if make_due:
        make_all_due(app, len(rows))
    return Outbox(expected, len(rows), sum(len(e) for e in endpoints.values()))


def make_all_due(app: Flask, expected: int) -> None:
    """Every pending reminder's time has come (a second ago)."""
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        made_due = db.execute(
            update(ReminderDelivery)
            .where(ReminderDelivery.state == DeliveryState.PENDING)
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        ).rowcount
    assert made_due == expected


def received_by_key(received: list[Received]) -> dict[Key, list[Received]]:
    """Every accepted message, by (subscription, tag, starts_at), in arrival order."""
    by_key: dict[Key, list[Received]] = defaultdict(list)
    for message in sorted(received, key=lambda m: m.at):
        assert isinstance(message.json, dict), message.text
        by_key[(message.subscription_id, message.json["tag"], message.json["starts_at"])].append(
            message
        )
    return by_key


def sender(message: Received) -> str:
    """The dispatcher worker that sent a message, from its User-Agent."""
    match = USER_AGENT.match(message.user_agent or "")
    assert match, f"User-Agent {message.user_agent!r} does not name the dispatcher's worker"
    return match["worker"]


def outbox_rows(app: Flask) -> dict[str, ReminderDelivery]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return {row.id: row for row in db.scalars(select(ReminderDelivery))}


def states(app: Flask) -> Counter[str]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(ReminderDelivery.state, func.count()).group_by(ReminderDelivery.state)
        return Counter({str(state): count for state, count in db.execute(query)})


def wait_until_settled(
    app: Flask, timeout: float, why: Callable[[], str] = lambda: ""
) -> Counter[str]:
    """Poll the outbox until no row is pending or sending; fail naming what is left."""
    deadline = time.monotonic() + timeout
    while True:
        now = states(app)
        if not any(now[str(state)] for state in UNSETTLED):
            return now
        if time.monotonic() > deadline:
            pytest.fail(f"outbox not settled within {timeout} s: {dict(now)} {why()}")
        time.sleep(0.2)


def assert_exactly_once(outbox: Outbox, push: PushService, app: Flask) -> dict[Key, Received]:
    """Each expected message arrived exactly once, nothing else arrived, every row is sent,
    and each message's sender is its row's (last) claimer. Returns the message per key."""
    by_key = received_by_key(push.received)
    rows = outbox_rows(app)
    first = min((m.at for m in push.received), default=0.0)
    doubled = {
        key: {
            "copies": [(sender(m), round(m.at - first, 2)) for m in copies],
            "row attempts": rows[outbox.expected[key]].attempts if key in outbox.expected else None,
            "row claimed_by": rows[outbox.expected[key]].claimed_by
            if key in outbox.expected
            else None,
        }
        for key, copies in by_key.items()
        if len(copies) > 1
    }
    missing = [key for key in outbox.expected if key not in by_key]
    unexpected = [key for key in by_key if key not in outbox.expected]
    assert not doubled, f"{len(doubled)} message(s) arrived more than once: {doubled}"
    assert not missing, f"{len(missing)} of {len(outbox.expected)} never arrived: {missing[:5]}"
    assert not unexpected, f"messages nobody planned: {unexpected[:5]}"
    assert push.count() == len(outbox.expected)

    assert Counter(str(row.state) for row in rows.values()) == {
        str(DeliveryState.SENT): outbox.rows
    }, {row.id: (str(row.state), row.last_error) for row in rows.values()}
    for key, [message] in by_key.items():
        row = rows[outbox.expected[key]]
        assert row.claimed_by and WORKER.match(row.claimed_by), row.claimed_by
        assert sender(message) == row.claimed_by, (key, sender(message), row.claimed_by)
    return {key: copies[0] for key, copies in by_key.items()}


# -- dispatcher processes ----------------------------------------------------------------------


def dispatcher_env(app: Flask, database_url: str, **settings: Any) -> dict[str, str]:
    """The environment of ``flask --app wsgi reminders run`` against this test's database,
    with this app's VAPID key and instance folder, and ``settings`` as REMINDER_* variables."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "dispatcher-test-secret",
        "VAPID_PRIVATE_KEY": app.config["VAPID_PRIVATE_KEY"],
        "HOMEWARD_INSTANCE_PATH": app.config["INSTANCE_PATH"],
        "LOG_LEVEL": "WARNING",
        "PYTHONFAULTHANDLER": "1",
        **{f"REMINDER_{name.upper()}": str(value) for name, value in settings.items()},
    }


class Dispatchers:
    """Dispatcher processes started by one test; every one still running is stopped at the
    end (SIGTERM, then SIGKILL), its stderr kept in a file for failure messages."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.logs / f"dispatcher-{len(self.started)}.log"
        with log.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "reminders", "run"],
                cwd=REPO,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        self.started.append((process, log))
        return process

    def running(self) -> list[subprocess.Popen[bytes]]:
        return [process for process, _ in self.started if process.poll() is None]

    def exited(self) -> list[str]:
        """What each process that ended on its own said (not those this test killed)."""
        return [
            f"pid {p.pid} exited {p.returncode}: {log.read_text(errors='replace')[-3000:]}"
            for p, log in self.started
            if p.returncode is not None and p.returncode != -signal.SIGKILL
        ]

    def output(self) -> str:
        return "\n".join(
            f"--- pid {p.pid} ({p.returncode}):\n{log.read_text(errors='replace')[-2000:]}"
            for p, log in self.started
            if log.stat().st_size
        )

    def stop_all(self) -> None:
        for process in self.running():
            process.send_signal(signal.SIGTERM)
        for process, _ in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def dispatcher_processes(env: dict[str, str], logs: Path) -> Iterator[Dispatchers]:
    dispatchers = Dispatchers(env, logs)
    try:
        yield dispatchers
    finally:
        dispatchers.stop_all()


def wait_for_processes(
    app: Flask, dispatchers: Dispatchers, push: PushService, timeout: float
) -> None:
    """Wait until the outbox is settled, failing early (with their output) when a
    dispatcher process exits by itself; then let in-flight requests finish at the fake."""
    deadline = time.monotonic() + timeout
    while True:
        if dispatchers.exited():
            pytest.fail("a dispatcher process died:\n" + "\n".join(dispatchers.exited()))
        left = states(app)
        if not any(left[str(state)] for state in UNSETTLED):
            break
        if time.monotonic() > deadline:
            pytest.fail(
                f"outbox not settled within {timeout} s: {dict(left)}; {push.count()} "
                f"received\n{dispatchers.output()}"
            )
        time.sleep(0.2)
    time.sleep(0.5)  # a request the fake is still holding lands (it would count)
