"""Issue 13: the dispatcher delivers each reminder exactly once, even when a batch takes
longer than its lease and several dispatchers share the outbox.

Everything real but the outside world: members, devices and appointments come through the
API, the outbox is the database of the backend under test, and the push service is the local
fake that verifies VAPID and decrypts every message (``tests/fakes/push_service.py``). A
message is identified at the receiver by (subscription, payload "tag", payload "starts_at"):
one delivery row per appointment occurrence and channel, one message per device.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from reminders.dispatch import Dispatcher
from reminders.models import DeliveryState, ReminderDelivery
from tests.reminders.helpers import (
    WORKER,
    assert_exactly_once,
    dispatcher_env,
    dispatcher_processes,
    fill_outbox,
    make_all_due,
    sender,
    wait_for_processes,
    wait_until_settled,
)

# -- a batch that outlives its lease, two dispatchers at once ----------------------------------

LEASE = 3


def test_a_batch_slower_than_its_lease_is_still_delivered_exactly_once_by_two_dispatchers(
    app, client, accounts, push, monkeypatch
):
    # 2 sending threads for a batch of 8 at 1.0-1.5 s a message (two for a member with two
    # phones): one batch takes 4-10 s, longer than the 3 s lease, so it lives on renewals.
    for key, value in {
        "REMINDER_LEASE_SECONDS": LEASE,
        "REMINDER_BATCH_SIZE": 8,
        "REMINDER_SEND_THREADS": 2,
        "REMINDER_SEND_TIMEOUT_SECONDS": 10,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    outbox = fill_outbox(
        app,
        client,
        accounts,
        push,
        monkeypatch,
        members=5,
        appointments=2,
        occurrences=2,
        two_devices_every=5,
    )
    assert outbox.rows == 20 and len(outbox.expected) == 24
    push.delay = (1.0, 1.5)

    dispatchers = [Dispatcher.for_app(app), Dispatcher.for_app(app)]
    assert len({d.worker for d in dispatchers}) == 2
    assert all(WORKER.match(d.worker) for d in dispatchers), [d.worker for d in dispatchers]
    batches: list[tuple[str, int, float]] = []  # (worker, rows claimed, seconds the batch took)
    errors: list[BaseException] = []
    done = threading.Event()

    def keep_dispatching(dispatcher: Dispatcher) -> None:
        # Not run_until_idle: a dispatcher with nothing to do keeps looking, so rows whose
        # lease ran out would be taken by the other one at once.
        try:
            while not done.is_set():
                started = time.monotonic()
                claimed = dispatcher.run_once()
                if claimed:
                    batches.append((dispatcher.worker, claimed, time.monotonic() - started))
                else:
                    time.sleep(0.05)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    # What the outbox shows while the batches run: each claim (row, worker), when it was
    # first and last seen 'sending', and the lease_until values it had.
    seen: dict[tuple[str, str], dict[str, Any]] = {}

    def watch() -> None:
        sessions = app.extensions["homeward.db"].sessionmaker
        while not done.is_set():
            with app.app_context(), sessions() as db:
                held = db.execute(
                    select(
                        ReminderDelivery.id,
                        ReminderDelivery.claimed_by,
                        ReminderDelivery.lease_until,
                    ).where(ReminderDelivery.state == DeliveryState.SENDING)
                ).all()
            at = time.monotonic()
            for row_id, worker, lease_until in held:
                claim = seen.setdefault((row_id, worker), {"first": at, "leases": set()})
                claim["last"] = at
                claim["leases"].add(lease_until)
            time.sleep(0.1)

    threads = [
        threading.Thread(target=keep_dispatching, args=(d,), name=f"dispatcher-{i}")
        for i, d in enumerate(dispatchers)
    ]
    watcher = threading.Thread(target=watch, name="outbox-watcher")
    started = time.monotonic()
    for thread in [*threads, watcher]:
        thread.start()
    try:
        wait_until_settled(app, 40, lambda: f"batches {batches[-10:]}, errors {errors}")
        elapsed = time.monotonic() - started
    finally:
        done.set()
        for thread in [*threads, watcher]:
            thread.join(timeout=30)
    assert not errors, errors
    time.sleep(0.2)

    assert_exactly_once(outbox, push, app)
    # The run, and at least one single batch, outlived the lease...
    assert elapsed > LEASE, elapsed
    slowest = max(seconds for _, _, seconds in batches)
    assert slowest > LEASE, f"no batch outlived the {LEASE} s lease: {batches}"
    # ...both dispatchers took batches...
    assert {worker for worker, _, _ in batches} == {d.worker for d in dispatchers}, batches
    # ...and a claim was kept past its first lease: seen 'sending' by the same worker for
    # longer than the lease, its lease_until moved forward (renewed). (A row put back unsent
    # and claimed again by the other dispatcher is allowed; a second copy is not.)
    longest = max(claim["last"] - claim["first"] for claim in seen.values())
    assert longest > LEASE, f"no claim was seen held longer than the lease ({longest:.1f} s)"
    assert any(len(claim["leases"]) > 1 for claim in seen.values()), "no lease was renewed"


# -- two and three dispatcher processes together --------------------------------------------


@pytest.mark.parametrize("processes", [2, 3])
def test_several_dispatcher_processes_deliver_each_reminder_exactly_once(
    processes, app, client, accounts, push, database_url, tmp_path, monkeypatch
):
    env = dispatcher_env(
        app, database_url, lease_seconds=5, batch_size=20, send_threads=4, dispatch_interval=0.2
    )
    with dispatcher_processes(env, tmp_path) as dispatchers:
        # Started first, so they are all up and looking when the reminders come due.
        for _ in range(processes):
            dispatchers.start()
        outbox = fill_outbox(
            app,
            client,
            accounts,
            push,
            monkeypatch,
            members=30,
            appointments=2,
            occurrences=5,
            two_devices_every=6,
            make_due=False,
        )
        assert outbox.rows == 300
        # Slow enough that one process alone would need seconds: each gets a share.
        push.delay = (0.02, 0.06)
        started = time.monotonic()
        make_all_due(app, outbox.rows)
        wait_for_processes(app, dispatchers, push, timeout=90)
        elapsed = time.monotonic() - started
        pids = {process.pid for process in dispatchers.running()}
    assert len(pids) == processes, dispatchers.output()

    delivered = assert_exactly_once(outbox, push, app)
    shares = Counter(sender(message) for message in delivered.values())
    print(
        f"{processes} dispatcher processes: {len(delivered)} messages in {elapsed:.1f} s, {shares}"
    )
    assert {int(worker.split(":")[-2]) for worker in shares} <= pids, (shares, pids)
    assert len(shares) >= 2, f"only one dispatcher process delivered anything: {shares}"
