"""The outbox under the batched dispatcher (reminders/outbox.py, reminders/dispatch.py):
VAPID tokens per push-service origin, batch claims and their leases, what a settle does
to sync, retention, and the claim's query plan among many settled rows.

Pushes go to the real-protocol local push service (tests/fakes/push_service.py), which
verifies every VAPID JWT (signature, ``aud``, ``exp``), so a token cached for the wrong
origin or past its life shows as a refusal there. Time is the dispatcher's injected clock
(``Dispatcher.for_app(app, clock=...)``) and, for tokens, ``VapidTokens``'s own clock.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from py_vapid import Vapid02
from sqlalchemy import event, func, insert, select, text, update

from api import create_app
from api.core.extensions import limiter
from api.core.migrate import upgrade
from reminders import outbox
from reminders.channels import VAPID_LIFETIME, VAPID_RENEW_BEFORE, VapidTokens
from reminders.cli import purge_outbox
from reminders.dispatch import Dispatcher, Lease, Senders, Settings
from reminders.models import Appointment, DeliveryState, NoticeKind, ReminderDelivery
from reminders.outbox import RELEASE, Settle
from tests.fakes.push_service import PushService
from tests.fixtures.backends import TEST_CONFIG, postgres_database
from tests.fixtures.people import Accounts, Person

rd = ReminderDelivery
T0 = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


# -- helpers (the way tests/reminders/test_reminder_dispatch.py makes members and appointments) ---


def _sessions(app: Flask) -> Any:
    return app.extensions["homeward.db"].sessionmaker


def _member_with_devices(client: Any, accounts: Accounts, services: list[PushService]) -> Person:
    """A member with one device per push service given (the same service twice: two)."""
    person = accounts.register(timezone="America/Chicago")
    person.extra["subscriptions"] = []
    for number, service in enumerate(services):
        subscription = service.new_subscription()
        response = client.post(
            "/api/v1/devices",
            headers=person.headers,
            json={**subscription, "name": f"phone {number}"},
        )
        assert response.status_code == 201, response.get_json()
        person.extra["subscriptions"].append(subscription)
    return person


def _appointment(client: Any, person: Person, starts_at: str, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "See Dana",
        "kind": "other",
        "starts_at": starts_at,
        "timezone": "America/Chicago",
        "reminder_offsets": ["2h"],
        "channels": ["push"],
        **fields,
    }
    response = client.post("/api/v1/appointments", headers=person.headers, json=body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def _rows(app: Flask, **where: Any) -> list[ReminderDelivery]:
    with app.app_context(), _sessions(app)() as db:
        query = select(rd)
        for name, value in where.items():
            query = query.where(getattr(rd, name) == value)
        return list(db.scalars(query.order_by(rd.due_at, rd.id)))


def _row(app: Flask, delivery_id: str) -> ReminderDelivery:
    [row] = _rows(app, id=delivery_id)
    return row


def _dispatcher(app: Flask, at: datetime, **kwargs: Any) -> Dispatcher:
    return Dispatcher.for_app(app, clock=lambda: at, **kwargs)


def _dispatcher_with(app: Flask, at: datetime, worker: str, **settings: Any) -> Dispatcher:
    """A dispatcher whose Settings differ from the app's config in ``settings``."""
    return Dispatcher(
        _sessions(app),
        Senders.from_config(app.config, user_agent=f"Homeward-Dispatcher ({worker})"),
        dataclasses.replace(Settings.from_config(app.config), **settings),
        clock=lambda: at,
        worker=worker,
    )


def _claims(authorization: str) -> dict[str, Any]:
    """The JWT claims of an ``Authorization: vapid t=<jwt>,k=<key>`` header."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme == "vapid", authorization
    params = dict(part.strip().split("=", 1) for part in rest.split(","))
    payload = params["t"].split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def _insert_deliveries(app: Flask, member_id: str, rows: list[dict[str, Any]]) -> None:
    """Outbox rows written directly (a help alert unless ``kind`` says otherwise)."""
    defaults = {
        "kind": NoticeKind.HELP_ALERT,
        "member_id": member_id,
        "occurrence_local": T0.replace(tzinfo=None) + timedelta(days=1),
        "occurrence_at": T0 + timedelta(days=1),
        "offset_key": "now",
        "channel": "push",
        "due_at": T0,
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "created_at": T0,
        "updated_at": T0,
        "appointment_id": None,
        "claimed_by": None,
        "lease_until": None,
    }
    with app.app_context(), _sessions(app).begin() as db:
        db.execute(
            insert(rd),
            [
                {**defaults, "subject_id": None if r.get("appointment_id") else r["id"], **r}
                for r in rows
            ],
        )


def _pull(client: Any, person: Person, since: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/sync?last_pulled_at={since}", headers=person.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def _records(body: dict[str, Any], table: str) -> dict[str, dict[str, Any]]:
    change = body["changes"][table]
    return {r["id"]: r for r in [*change["created"], *change["updated"]]}


# -- 1. VAPID tokens, one per push-service origin -----------------------------------------


def test_pushes_to_one_origin_share_one_token_and_each_origin_gets_its_own(
    app, client, accounts, push, monkeypatch
):
    monkeypatch.setitem(app.config, "REMINDER_BATCH_SIZE", 2)
    # One sending thread: the first use from many threads at once has its own test below.
    monkeypatch.setitem(app.config, "REMINDER_SEND_THREADS", 1)
    with PushService(vapid_public_key=app.extensions["homeward.vapid_public_key"]) as other:
        near = _member_with_devices(client, accounts, [push])
        far = _member_with_devices(client, accounts, [other])
        booked = {
            person.username: {
                _appointment(client, person, f"2027-03-10T{start}")["id"]
                for start in ("12:00", "12:20", "12:40")
            }
            for person in (near, far)
        }
        rows = _rows(app)
        assert len(rows) == 6
        at = max(row.due_at for row in rows)
        assert at < min(row.occurrence_at for row in rows)

        dispatcher = _dispatcher(app, at)
        batches = []
        while claimed := dispatcher.run_once():
            batches.append(claimed)
        dispatcher.close()
        assert batches == [2, 2, 2]  # one sender, three batches

        tokens = {}
        for service, person in ((push, near), (other, far)):
            received = service.wait_for(3)
            assert {m.json["appointment_id"] for m in received} == booked[person.username]
            # The fake verified every JWT: nothing was refused.
            assert [a.status for a in service.attempts] == [201, 201, 201]
            [token] = {m.headers["authorization"] for m in received}
            claims = _claims(token)
            assert claims["aud"] == service.base_url
            assert claims["sub"] == app.config["VAPID_SUBJECT"]
            assert abs(claims["exp"] - (time.time() + VAPID_LIFETIME)) < 120
            tokens[service.base_url] = token
        assert len(set(tokens.values())) == 2
    assert {row.state for row in _rows(app)} == {DeliveryState.SENT}


def test_a_token_is_replaced_when_less_than_an_hour_of_its_twelve_is_left(app, push):
    key = Vapid02.from_pem(app.config["VAPID_PRIVATE_KEY"].encode())
    start = time.time()
    now = [start]
    tokens = VapidTokens(key, app.config["VAPID_SUBJECT"], clock=lambda: now[0])
    endpoint = push.new_subscription()["endpoint"]
    another_endpoint = push.new_subscription()["endpoint"]

    first = tokens.header(endpoint)
    assert _claims(first)["exp"] == int(start) + 12 * 3600
    assert _claims(first)["aud"] == push.base_url
    now[0] = start + VAPID_LIFETIME - VAPID_RENEW_BEFORE - 1  # 1 h 1 s left
    assert tokens.header(endpoint) == first
    assert tokens.header(another_endpoint) == first  # per origin, not per subscription

    now[0] = start + VAPID_LIFETIME - VAPID_RENEW_BEFORE + 1  # 59 min 59 s left
    renewed = tokens.header(endpoint)
    assert renewed != first
    assert _claims(renewed)["exp"] == int(now[0]) + 12 * 3600
    now[0] += 600
    assert tokens.header(another_endpoint) == renewed

    # Both are tokens the push service takes (an empty message needs no encryption).
    for token in (first, renewed):
        answer = requests.post(endpoint, headers={"Authorization": token, "TTL": "60"}, timeout=5)
        assert answer.status_code == 201, answer.text


def test_two_origins_get_two_tokens_each_with_its_own_aud(app, push):
    key = Vapid02.from_pem(app.config["VAPID_PRIVATE_KEY"].encode())
    tokens = VapidTokens(key, app.config["VAPID_SUBJECT"], clock=lambda: time.time())
    with PushService(vapid_public_key=app.extensions["homeward.vapid_public_key"]) as other:
        here, there = push.new_subscription()["endpoint"], other.new_subscription()["endpoint"]
        for_here, for_there = tokens.header(here), tokens.header(there)
        assert for_here != for_there
        assert _claims(for_here)["aud"] == push.base_url
        assert _claims(for_there)["aud"] == other.base_url
        assert tokens.header(here) == for_here and tokens.header(there) == for_there

        def status(endpoint: str, token: str) -> int:
            headers = {"Authorization": token, "TTL": "60"}
            return requests.post(endpoint, headers=headers, timeout=5).status_code

        assert status(here, for_here) == 201 and status(there, for_there) == 201
        # What a cache keyed wrongly would send: the push service refuses it.
        assert status(there, for_here) == 403 and status(here, for_there) == 403


class _SlowKey(Vapid02):
    """The app's VAPID key, signing slowly (a loaded machine) and counting signatures."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed = 0
        self._count = threading.Lock()

    def sign(self, claims: dict[str, Any], crypto_key: str | None = None) -> dict[str, str]:
        with self._count:
            self.signed += 1
        time.sleep(0.05)
        signed: dict[str, str] = super().sign(claims, crypto_key)
        return signed


def test_sending_threads_that_meet_a_new_origin_at_once_sign_one_token(app, push):
    """The dispatcher's sending threads start a batch together: they must share one token
    for the origin, not each sign their own (channels.py promises one per origin)."""
    key = _SlowKey.from_pem(app.config["VAPID_PRIVATE_KEY"].encode())
    tokens = VapidTokens(key, app.config["VAPID_SUBJECT"])
    endpoint = push.new_subscription()["endpoint"]
    threads, start = 8, threading.Barrier(8)
    headers: list[str] = []

    def first_send() -> None:
        start.wait()
        headers.append(tokens.header(endpoint))

    workers = [threading.Thread(target=first_send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert len(headers) == threads
    assert len(set(headers)) == 1, f"{len(set(headers))} tokens for one origin"
    assert key.signed == 1


# -- 2. claims: a batch, expired leases first, held for the lease --------------------------


def test_a_claim_takes_a_batch_expired_leases_first_and_holds_it_for_the_lease(
    app, accounts, monkeypatch
):
    monkeypatch.setitem(app.config, "REMINDER_BATCH_SIZE", 3)
    lease = timedelta(seconds=app.config["REMINDER_LEASE_SECONDS"])
    member = accounts.register()
    minute = timedelta(minutes=1)
    sending = {"state": DeliveryState.SENDING, "attempts": 1}
    _insert_deliveries(
        app,
        member.account_id,
        [
            # Leases that ran out (their dispatcher died), due later than every pending row.
            {"id": "expired-a", **sending, "claimed_by": "dead", "lease_until": T0 - 2 * minute},
            {"id": "expired-b", **sending, "claimed_by": "dead", "lease_until": T0 - minute},
            # Still held by a live dispatcher until T0 + 30 s.
            {
                "id": "held",
                **sending,
                "claimed_by": "alive",
                "lease_until": T0 + timedelta(seconds=30),
                "due_at": T0 - 10 * minute,
            },
            *(
                {"id": f"due-{i}", "due_at": T0 - (6 - i) * minute, "channel": channel}
                for i, channel in enumerate(["push", "sms", "push", "sms", "push"])
            ),
            {"id": "due-5", "due_at": T0},  # due exactly now
            # Delivered by the recipient's pull, never by a dispatcher; the oldest rows.
            {"id": "app-0", "channel": "app", "due_at": T0 - 60 * minute},
            {"id": "app-1", "channel": "app", "due_at": T0 - 50 * minute},
            {"id": "early", "due_at": T0 + minute},
            {"id": "late", "due_at": T0 + lease + timedelta(milliseconds=1)},
            {"id": "sent", "state": DeliveryState.SENT, "due_at": T0 - 90 * minute},
        ],
    )

    def claim(worker: str, at: datetime, limit: int) -> set[str]:
        with _sessions(app).begin() as db:
            claimed = outbox.claim(db, worker, at, lease, limit)
        assert len(claimed) == len(set(claimed)) <= limit
        return set(claimed)

    # The dispatcher's own claim takes REMINDER_BATCH_SIZE: the expired leases, then the
    # oldest pending row.
    first = set(_dispatcher(app, T0, worker="w1").claim())
    assert first == {"expired-a", "expired-b", "due-0"}
    assert claim("w1", T0, 1) == {"due-1"}  # never more than asked
    assert claim("w2", T0, 3) == {"due-2", "due-3", "due-4"}
    assert claim("w1", T0, 3) == {"due-5"}
    # Nothing else is claimable now: not what others hold, not 'app', not early, not settled.
    assert claim("w3", T0, 100) == set()
    # At the very end of the lease the claims stand; only the live dispatcher's ended.
    assert claim("w3", T0 + lease, 100) == {"held", "early"}

    # A moment later every claim taken at T0 has run out: expired leases come before the
    # pending row that is due by then, even with a limit that leaves it out.
    after = T0 + lease + timedelta(milliseconds=1)
    taken_at_t0 = {"expired-a", "expired-b"} | {f"due-{i}" for i in range(6)}
    again = claim("w4", after, 3)
    assert again <= taken_at_t0 and len(again) == 3
    rest = claim("w5", after, 100)
    assert rest == (taken_at_t0 - again) | {"late"}

    rows = {row.id: row for row in _rows(app)}
    for delivery_id in taken_at_t0:
        row = rows[delivery_id]
        assert row.state == DeliveryState.SENDING
        assert row.claimed_by == ("w4" if delivery_id in again else "w5")
        assert row.lease_until == after + lease
        initial = 1 if delivery_id.startswith("expired") else 0
        assert row.attempts == initial + 2, (delivery_id, row.attempts)
    for delivery_id in ("app-0", "app-1"):
        row = rows[delivery_id]
        assert (row.state, row.claimed_by, row.attempts) == (DeliveryState.PENDING, None, 0)
    assert (rows["sent"].state, rows["sent"].attempts) == (DeliveryState.SENT, 0)
    assert (rows["held"].claimed_by, rows["held"].attempts) == ("w3", 2)
    assert (rows["early"].claimed_by, rows["late"].claimed_by) == ("w3", "w5")


def test_a_settle_or_renewal_for_a_claim_taken_over_changes_nothing(app, accounts):
    member = accounts.register()
    lease = timedelta(seconds=app.config["REMINDER_LEASE_SECONDS"])
    _insert_deliveries(app, member.account_id, [{"id": "one"}, {"id": "two"}])
    with _sessions(app).begin() as db:
        assert set(outbox.claim(db, "slow", T0, lease, 10)) == {"one", "two"}
    later = T0 + lease + timedelta(seconds=1)
    with _sessions(app).begin() as db:
        assert set(outbox.claim(db, "quick", later, lease, 10)) == {"one", "two"}
    before = {row.id: row for row in _rows(app)}

    with _sessions(app).begin() as db:
        assert outbox.settle(db, "slow", {"one": Settle(DeliveryState.SENT, sent_at=T0)}) == set()
        assert outbox.settle(db, "slow", {"two": RELEASE}) == set()
        assert outbox.renew(db, "slow", ["one", "two"], later, lease) == set()
    for row in _rows(app):
        old = before[row.id]
        assert row.state == DeliveryState.SENDING and row.claimed_by == "quick"
        assert row.attempts == 2 and row.sent_at is None
        assert (row.lease_until, row.sync_version) == (later + lease, old.sync_version)

    with _sessions(app).begin() as db:  # the new owner's settle is recorded
        outcome = Settle(DeliveryState.SENT, sent_at=later)
        assert outbox.settle(db, "quick", {"one": outcome}) == {"one"}
    assert _row(app, "one").state == DeliveryState.SENT
    assert _row(app, "two").state == DeliveryState.SENDING


# -- 3. leases: no send starts without budget -----------------------------------------------


def _settings(lease: float, send_timeout: float = 10.0) -> Settings:
    return Settings(
        lease=timedelta(seconds=lease),
        batch_size=10,
        max_attempts=3,
        retry_base=timedelta(seconds=30),
        retry_cap=timedelta(hours=1),
        threads=2,
        send_timeout=send_timeout,
    )


def test_a_lease_gives_no_budget_for_a_row_not_held_or_with_less_than_the_margin_left():
    settings = _settings(lease=60)
    assert settings.margin == 5.0  # LEASE_SAFETY; a fifth of a short lease
    assert _settings(lease=2).margin == pytest.approx(0.4)

    fresh = Lease({"mine"}, time.monotonic(), settings)
    assert fresh.budget("mine") == 10.0  # the send timeout, lease to spare
    assert fresh.budget("not mine") == 0.0

    # 60 s lease, 53 s gone: 2 s left after the 5 s margin.
    assert 1.9 < Lease({"mine"}, time.monotonic() - 53, settings).budget("mine") <= 2.0
    # 0.4 s left after the margin: too little to start a send.
    assert Lease({"mine"}, time.monotonic() - 54.6, settings).budget("mine") == 0.0
    # Inside the margin, and past the end.
    assert Lease({"mine"}, time.monotonic() - 57, settings).budget("mine") == 0.0
    assert Lease({"mine"}, time.monotonic() - 61, settings).budget("mine") == 0.0
    # A short lease: what is left of it after its margin.
    assert 1.5 < Lease({"mine"}, time.monotonic(), _settings(lease=2)).budget("mine") <= 1.6

    # A renewal that no longer holds the row: no budget, however fresh the renewal.
    old = Lease({"mine", "lost"}, time.monotonic() - 58, settings)
    assert old.budget("mine") == 0.0
    old.renewed({"mine"}, time.monotonic())
    assert old.budget("mine") == 10.0
    assert old.budget("lost") == 0.0


def test_a_dispatcher_whose_lease_is_too_short_sends_nothing_and_puts_the_row_back(
    app, client, accounts, push
):
    person = _member_with_devices(client, accounts, [push])
    _appointment(client, person, "2027-03-10T09:00")
    [row] = _rows(app)
    # 0.5 s lease: 0.1 s margin, so at most 0.4 s left: under the 0.5 s a send needs.
    short = _dispatcher_with(app, row.due_at, "short-lease", lease=timedelta(milliseconds=500))
    assert short.run_once() == 1
    short.close()
    assert push.attempts == []  # not even a request reached the push service
    back = _row(app, row.id)
    assert back.state == DeliveryState.PENDING and back.lease_until is None
    assert back.attempts == 0 and back.due_at == row.due_at and back.last_error is None

    assert _dispatcher(app, row.due_at).run_until_idle() == 1
    assert len(push.wait_for(1)) == 1
    sent = _row(app, row.id)
    assert sent.state == DeliveryState.SENT and sent.attempts == 1


def _take_over(app: Flask, until: datetime) -> None:
    """Another dispatcher takes every claimed row (as after a lease it saw run out)."""
    with app.extensions["homeward.db"].engine.begin() as connection:
        connection.execute(
            update(rd)
            .where(rd.state == DeliveryState.SENDING)
            .values(claimed_by="other-worker", lease_until=until, attempts=rd.attempts + 1)
        )


def test_rows_taken_over_mid_batch_are_not_sent_and_their_settle_changes_nothing(
    app, client, accounts, push
):
    first, second = (_member_with_devices(client, accounts, [push]) for _ in range(2))
    _appointment(client, first, "2027-03-10T09:00")
    _appointment(client, second, "2027-03-10T09:00")
    rows = _rows(app)
    at, theirs = rows[0].due_at, rows[0].due_at + timedelta(minutes=10)
    taken = threading.Event()

    def slow_first_request() -> float:
        # While the first send is in flight, another dispatcher takes both rows.
        if not taken.is_set():
            _take_over(app, theirs)
            taken.set()
        return 1.1

    push.delay = slow_first_request
    # One thread: the second send waits for the first. The lease (2.1 s) is renewed every
    # 0.7 s while sends are in flight: that renewal finds both rows gone.
    dispatcher = _dispatcher_with(app, at, "slow", lease=timedelta(seconds=2.1), threads=1)
    assert dispatcher.run_once() == 2
    dispatcher.close()

    assert taken.is_set()
    assert len(push.attempts) == 1  # the send in flight; the one queued never started
    for row in _rows(app):
        assert row.state == DeliveryState.SENDING and row.claimed_by == "other-worker"
        assert row.lease_until == theirs and row.attempts == 2 and row.sent_at is None


def test_a_job_for_several_devices_sends_nothing_after_its_lease_ends(app, client, accounts, push):
    """Lease.budget is checked once per job, but a job for a member with five devices
    makes five requests one after another, each given the whole budget as its timeout.
    Once the claim is lost (here: taken over, the renewal says so) or the lease has run
    out, no further request may start: another dispatcher owns the row and sends it."""
    person = _member_with_devices(client, accounts, [push] * 5)
    _appointment(client, person, "2027-03-10T09:00")
    [row] = _rows(app)
    arrivals: list[float] = []

    def slow() -> float:
        if not arrivals:
            _take_over(app, row.due_at + timedelta(minutes=10))
        arrivals.append(time.monotonic())
        return 0.6

    push.delay = slow
    lease = 1.5
    dispatcher = _dispatcher_with(app, row.due_at, "many-devices", lease=timedelta(seconds=lease))
    began = time.monotonic()
    assert dispatcher.run_once() == 1
    dispatcher.close()

    assert arrivals, "the first request was never made"
    late = [round(at - began, 2) for at in arrivals if at > began + lease]
    assert late == [], f"requests started {late} s into a {lease} s lease already lost"
    taken = _row(app, row.id)
    assert taken.claimed_by == "other-worker" and taken.state == DeliveryState.SENDING


# -- 4. settling and sync --------------------------------------------------------------------


def test_a_sent_reminder_reaches_the_phone_without_making_its_appointment_stale(
    app, client, accounts, push
):
    person = _member_with_devices(client, accounts, [push])
    appointment = _appointment(client, person, "2027-03-10T09:00")
    [row] = _rows(app)
    pulled = _pull(client, person, 0)
    [planned] = _records(pulled, "reminders").values()
    assert planned["appointment_id"] == appointment["id"] and planned["push_state"] == "planned"
    raw = _records(pulled, "appointments")[appointment["id"]]

    def versions() -> tuple[int | None, int | None]:
        with _sessions(app)() as db:
            return (
                db.scalar(select(Appointment.sync_version).where(Appointment.id == raw["id"])),
                db.scalar(select(rd.sync_version).where(rd.id == row.id)),
            )

    appointment_before, delivery_before = versions()
    assert appointment_before is not None and delivery_before is not None

    assert _dispatcher(app, row.due_at).run_until_idle() == 1
    push.wait_for(1)
    appointment_after, delivery_after = versions()
    assert appointment_after == appointment_before  # the appointment did not change
    assert delivery_after is not None and delivery_after > delivery_before
    assert delivery_after > pulled["timestamp"]

    after_send = _pull(client, person, pulled["timestamp"])
    [sent] = _records(after_send, "reminders").values()
    assert sent["id"] == planned["id"]
    assert (sent["push_state"], sent["state"]) == ("sent", "sent")
    assert _records(after_send, "appointments") == {}

    # The phone edits the appointment offline, on what it pulled before the send.
    edited = {**raw, "title": "See Dana at the library", "_status": "updated", "_changed": "title"}
    changes = {"appointments": {"created": [], "updated": [edited], "deleted": []}}
    pushed = client.post(
        f"/api/v1/sync?last_pulled_at={pulled['timestamp']}", json=changes, headers=person.headers
    )
    assert pushed.status_code == 200, pushed.get_data(as_text=True)
    assert pushed.get_json() == {"experimentalRejectedIds": {}}
    shown = client.get(f"/api/v1/appointments/{raw['id']}", headers=person.headers)
    assert shown.get_json()["title"] == "See Dana at the library"

    # The check that let it through is live: now that the appointment did change (by that
    # push), the same push on the same old pull is a conflict.
    stale = client.post(
        f"/api/v1/sync?last_pulled_at={pulled['timestamp']}", json=changes, headers=person.headers
    )
    assert stale.status_code == 409 and stale.get_json()["type"].endswith("sync-conflict")


# -- 5. retention ----------------------------------------------------------------------------


def _age(app: Flask, days: dict[str, float]) -> None:
    now = datetime.now(UTC)
    with _sessions(app).begin() as db:
        for delivery_id, age in days.items():
            db.execute(
                update(rd)
                .where(rd.id == delivery_id)
                .values(updated_at=now - timedelta(days=age))
                .execution_options(synchronize_session=False)
            )


def test_purge_deletes_old_cancelled_and_settled_notices_and_keeps_reminder_history(
    app, client, accounts, monkeypatch
):
    monkeypatch.setitem(app.config, "REMINDER_RETENTION_DAYS", 10)
    monkeypatch.setitem(app.config, "SYNC_TOMBSTONE_DAYS", 30)  # the horizon: 30 days
    member = accounts.register()
    appointment = _appointment(client, member, "2027-03-10T09:00")
    planned = {row.id for row in _rows(app)}  # pending and recent
    assert len(planned) == 1

    offsets = iter(range(100))

    def reminder(delivery_id: str, state: DeliveryState) -> dict[str, Any]:
        return {
            "id": delivery_id,
            "kind": NoticeKind.REMINDER,
            "appointment_id": appointment["id"],
            "offset_key": f"old{next(offsets)}",
            "state": state,
        }

    S = DeliveryState
    _insert_deliveries(
        app,
        member.account_id,
        [
            reminder("old-cancelled-reminder", S.CANCELLED),
            {"id": "old-cancelled-alert", "state": S.CANCELLED},
            {"id": "old-sent-alert", "state": S.SENT},
            {"id": "old-failed-alert", "state": S.FAILED},
            {"id": "old-skipped-alert", "state": S.SKIPPED},
            {"id": "old-pending-alert", "state": S.PENDING},
            {"id": "old-sending-alert", "state": S.SENDING, "claimed_by": "w"},
            reminder("ancient-sent-reminder", S.SENT),
            reminder("ancient-failed-reminder", S.FAILED),
            reminder("ancient-skipped-reminder", S.SKIPPED),
            {"id": "mid-sent-alert", "state": S.SENT},
            reminder("mid-cancelled-reminder", S.CANCELLED),
            {"id": "recent-sent-alert", "state": S.SENT},
        ],
    )
    _age(
        app,
        {
            **dict.fromkeys(
                ["old-cancelled-reminder", "old-cancelled-alert", "old-sent-alert"], 31
            ),
            **dict.fromkeys(["old-failed-alert", "old-skipped-alert"], 31),
            **dict.fromkeys(["old-pending-alert", "old-sending-alert"], 400),
            **dict.fromkeys(
                ["ancient-sent-reminder", "ancient-failed-reminder", "ancient-skipped-reminder"],
                400,
            ),
            # Past REMINDER_RETENTION_DAYS, within SYNC_TOMBSTONE_DAYS: kept for now.
            **dict.fromkeys(["mid-sent-alert", "mid-cancelled-reminder"], 20),
            "recent-sent-alert": 5,
        },
    )
    kept_for_ever = planned | {
        "old-pending-alert",
        "old-sending-alert",
        "ancient-sent-reminder",
        "ancient-failed-reminder",
        "ancient-skipped-reminder",
        "recent-sent-alert",
    }

    assert purge_outbox(app) == 5
    assert {row.id for row in _rows(app)} == kept_for_ever | {
        "mid-sent-alert",
        "mid-cancelled-reminder",
    }

    # A shorter tombstone horizon and a longer retention: retention rules (15 days).
    monkeypatch.setitem(app.config, "REMINDER_RETENTION_DAYS", 15)
    monkeypatch.setitem(app.config, "SYNC_TOMBSTONE_DAYS", 10)
    result = app.test_cli_runner().invoke(args=["reminders", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "deleted 2 settled deliveries"
    assert {row.id for row in _rows(app)} == kept_for_ever

    again = app.test_cli_runner().invoke(args=["reminders", "purge"])
    assert again.output.strip() == "deleted 0 settled deliveries"
    assert {row.id for row in _rows(app)} == kept_for_ever
    # The unsettled ones were not touched either.
    assert _row(app, "old-sending-alert").state == DeliveryState.SENDING


def test_purge_works_in_batches_each_its_own_transaction_until_nothing_is_left(app, accounts):
    # PURGE_BATCH is bound as outbox.purge's default limit when the module loads, so a
    # monkeypatched constant would not change the batches: the real 2000 it is.
    member = accounts.register()
    total = 2 * outbox.PURGE_BATCH + 7
    _insert_deliveries(
        app,
        member.account_id,
        [{"id": f"old-{i:05d}", "state": DeliveryState.SENT} for i in range(total)],
    )
    with _sessions(app).begin() as db:
        db.execute(update(rd).values(updated_at=datetime.now(UTC) - timedelta(days=400)))
    _insert_deliveries(app, member.account_id, [{"id": "recent", "state": DeliveryState.SENT}])
    _age(app, {"recent": 1})

    engine = app.extensions["homeward.db"].engine
    seen: list[Any] = []

    def statement(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("DELETE FROM REMINDER_DELIVERIES"):
            seen.append(("delete", cursor.rowcount))

    def commit(conn: Any) -> None:
        seen.append("commit")

    event.listen(engine, "after_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        assert purge_outbox(app) == total
    finally:
        event.remove(engine, "after_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    batch = outbox.PURGE_BATCH
    assert seen == [
        ("delete", batch),
        "commit",
        ("delete", batch),
        "commit",
        ("delete", 7),
        "commit",
    ]
    assert [row.id for row in _rows(app)] == ["recent"]


# -- 6. the claim's plan on PostgreSQL ------------------------------------------------------


@pytest.fixture(scope="module")
def postgresql_app() -> Iterator[Flask]:
    """An app on a PostgreSQL database of its own (conftest's ``postgres_database``, as
    the other PostgreSQL-only tests use): this test runs on PostgreSQL whatever
    ``--backend`` says, and fails when PostgreSQL is away."""
    with contextlib.contextmanager(postgres_database)() as url:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        try:
            with app.app_context():
                upgrade(app)
            yield app
        finally:
            engine = app.extensions["homeward.db"].engine
            with engine.begin() as connection:
                # Dropped rows leave no dirty pages for DROP DATABASE's checkpoint to write.
                connection.execute(text("TRUNCATE reminder_deliveries"))
            engine.dispose()


def test_on_postgresql_the_claim_reads_its_partial_indexes_not_200k_settled_rows(
    postgresql_app,
):
    app = postgresql_app
    engine = app.extensions["homeward.db"].engine
    assert engine.dialect.name == "postgresql"
    limiter.reset()
    member = Accounts(app.test_client()).register()
    now = datetime(2027, 3, 10, 12, 0)  # naive UTC, as stored
    columns = (
        "id, kind, subject_id, member_id, occurrence_local, occurrence_at, offset_key, "
        "channel, due_at, state, attempts, claimed_by, lease_until, sent_at, created_at, "
        "updated_at, sync_version"
    )
    with engine.begin() as connection:

        def rows(count: int, prefix: str, state: str, channel: str, lease: str) -> None:
            connection.execute(
                text(
                    f"INSERT INTO reminder_deliveries ({columns}) "  # noqa: S608 (constants)
                    "SELECT CAST(:prefix AS text) || g, 'help_alert', CAST(:prefix AS text) || g, "
                    ":member, "
                    "ts + interval '1 day', ts + interval '1 day', 'now', :channel, ts, "
                    f":state, 1, 'someone', {lease}, NULL, ts, ts, 1 "
                    "FROM (SELECT g, CAST(:now AS timestamp) - g * interval '1 minute' AS ts "
                    "FROM generate_series(1, :count) AS g) AS series"
                ),
                {
                    "prefix": prefix,
                    "member": member.account_id,
                    "channel": channel,
                    "state": state,
                    "now": now,
                    "count": count,
                },
            )

        rows(200_000, "settled-", "sent", "push", "NULL")
        rows(100, "due-", "pending", "push", "NULL")
        rows(50, "in-app-", "pending", "app", "NULL")
        rows(10, "expired-", "sending", "sms", "ts")
        connection.execute(text("ANALYZE reminder_deliveries"))
        counted = connection.execute(select(func.count()).select_from(rd)).scalar_one()
        assert counted == 200_160

    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if sql.lstrip().upper().startswith("UPDATE REMINDER_DELIVERIES"):
            captured.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with _sessions(app)() as db:
            lease = timedelta(seconds=app.config["REMINDER_LEASE_SECONDS"])
            limit = app.config["REMINDER_BATCH_SIZE"]
            claimed = outbox.claim(db, "explainer", now.replace(tzinfo=UTC), lease, limit)
            db.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(claimed) == limit == 100
    assert sum(c.startswith("expired-") for c in claimed) == 10
    assert sum(c.startswith("due-") for c in claimed) == 90
    assert len(captured) == 2  # expired leases, then pending rows

    with engine.connect() as connection:
        plans = [
            "\n".join(line for (line,) in connection.exec_driver_sql(f"EXPLAIN {sql}", params))
            for sql, params in captured
        ]
        connection.rollback()
    expired_plan, due_plan = plans
    assert "ix_reminder_deliveries_leased" in expired_plan, expired_plan
    assert "ix_reminder_deliveries_claimable" in due_plan, due_plan
    for plan in plans:
        assert "Seq Scan on reminder_deliveries" not in plan, plan
