"""The data bench/dispatch_throughput.py dispatches, inserted with SQL (generate_series, COPY).

Index ``i`` (0 <= i < N) is one member ``bench-m-<i>`` with one Web Push device (the push
sink's subscription ``i``, endpoint ``.../push/<i>``), a phone number (``twilio_sink.
phone_number(i)``: ``+1555`` and 7 digits), a data key, and one appointment tomorrow
(``bench-a-<i>``, title sealed with the member's key), all stamped for sync as the app
would have (``stamp_for_sync``). ``fresh_deliveries`` then puts
exactly one pending reminder delivery per index in a truncated outbox, on one channel, so
the sink's per-index counts say which delivery arrived how often.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from datetime import UTC, datetime, timedelta
from typing import Any

ZONES = ("America/Chicago", "America/New_York", "America/Los_Angeles", "America/Denver")


def appointment_kinds() -> list[str]:
    """reminders/models.py's appointment kinds (imported late: the app is on sys.path then)."""
    from reminders.models import Kind

    return [kind.value for kind in Kind]


MEMBER_PREFIX = "bench-m-"

ACCOUNTS_SQL = """
INSERT INTO accounts (id, username, username_key, password_hash, role, timezone, locale, phone,
                      notification_detail, password_changed_at, created_at, updated_at)
SELECT 'bench-m-' || i, 'bench' || i, 'bench' || i, '!bench-no-password', 'member',
       (%(zones)s::text[])[1 + i %% 4], CASE WHEN i %% 5 = 0 THEN 'es' ELSE 'en' END,
       '+1555' || lpad(i::text, 7, '0'),
       CASE WHEN i %% 3 = 0 THEN 'detailed' ELSE 'discreet' END, %(now)s, %(now)s, %(now)s
FROM generate_series(0, %(n)s - 1) AS i
"""

APPOINTMENTS_SQL = """
INSERT INTO appointments (id, member_id, title, kind, starts_local, ends_local, timezone,
                          reminder_offsets, channels, status, created_at, updated_at)
SELECT 'bench-a-' || i, 'bench-m-' || i, 'Appointment ' || i, (%(kinds)s::text[])[1 + i %% 9],
       ((%(occurrence)s + i %% 3600 * interval '1 second') AT TIME ZONE 'UTC')
           AT TIME ZONE (%(zones)s::text[])[1 + i %% 4],
       NULL, (%(zones)s::text[])[1 + i %% 4], '["1d@10:00"]', '["push", "sms"]', 'scheduled',
       %(now)s, %(now)s
FROM generate_series(0, %(n)s - 1) AS i
"""

# One delivery per appointment on one channel, pending, never attempted, the appointment
# tomorrow; due times spread evenly over the `window` seconds that end at `due_end`.
# {stamped}: rows the app plans are stamped for sync by the commit that inserts them
# (api/sync/tracking.py), so they arrive with a sync_version; left NULL, the dispatcher's
# first commit would stamp the whole backlog, and the statistics would tell the planner
# that every row is still unstamped (a full scan at every commit's stamping).
DELIVERIES_SQL = """
INSERT INTO reminder_deliveries (id, appointment_id, member_id, occurrence_local, occurrence_at,
                                 offset_key, channel, due_at, state, attempts, created_at,
                                 updated_at{stamped_column})
SELECT gen_random_uuid()::text, a.id, a.member_id, a.starts_local,
       %(occurrence)s + i %% 3600 * interval '1 second', '1d@10:00', %(channel)s,
       %(due_end)s - (i::float8 * %(window)s / %(n)s) * interval '1 second',
       'pending', 0, %(now)s, %(now)s{stamped_value}
FROM generate_series(0, %(n)s - 1) AS i
JOIN appointments AS a ON a.id = 'bench-a-' || i
"""


def naive_utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def vacuum_analyze(database_url: str, *tables: str) -> None:
    """Autovacuum is off on the local server: statistics for the planner after a bulk load."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"VACUUM ANALYZE {table}")


def insert_members(database_url: str, subscriptions: list[list[str]], keyring: Any) -> float:
    """Members, devices, data keys and appointments for len(subscriptions) indexes.
    Returns the seconds it took."""
    import psycopg

    began = time.perf_counter()
    now = naive_utc_now()
    params = {
        "n": len(subscriptions),
        "now": now,
        "zones": list(ZONES),
        "kinds": appointment_kinds(),
        "occurrence": now + timedelta(hours=26),
    }
    with psycopg.connect(database_url) as conn:
        conn.execute(ACCOUNTS_SQL, params)
        with conn.cursor().copy(
            "COPY devices (id, account_id, kind, name, endpoint, endpoint_hash, p256dh, auth, "
            "created_at) FROM STDIN"
        ) as copy:
            for i, (endpoint, p256dh, auth) in enumerate(subscriptions):
                digest = hashlib.sha256(endpoint.encode()).hexdigest()
                copy.write_row(
                    (
                        f"bench-d-{i}",
                        f"{MEMBER_PREFIX}{i}",
                        "webpush",
                        "bench",
                        endpoint,
                        digest,
                        p256dh,
                        auth,
                        now,
                    )
                )
        conn.execute(APPOINTMENTS_SQL, params)
        seal_titles(conn, keyring, len(subscriptions), now)
    vacuum_analyze(database_url, "accounts", "devices", "appointments", "member_keys")
    return time.perf_counter() - began


def stamp_for_sync(app: Any) -> float:
    """Stamp what the fixture inserted as the app's own commits would have (its sync
    triggers left every appointment pending): with the app's ``tracking.stamp``, in one
    transaction, then fresh statistics. Left pending, the dispatcher's first commit would
    stamp all of them, and every later commit's check for pending rows would scan the
    whole appointments table (the planner, told they are all pending, picks a seq scan).
    Returns the seconds it took."""
    began = time.perf_counter()
    try:
        from api.sync import tracking
    except ImportError:  # an app without sync tracking: nothing to stamp
        return 0.0
    with app.extensions["homeward.db"].sessionmaker.begin() as db:
        tracking.stamp(db)
    vacuum_analyze(app.config["DATABASE_URL"], "appointments")
    return time.perf_counter() - began


def seal_titles(conn: Any, keyring: Any, n: int, now: datetime) -> None:
    """Appointment titles are stored sealed (migration 0006), and the dispatcher opens the
    detailed members' titles: give each member a data key and seal their title with it,
    as the app would have (the vault's own seal, its keys given instead of read)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from api.core.crypto.vault import Vault

    vault = Vault(None, keyring)  # never reads: keys are given
    with conn.cursor().copy(
        "COPY member_keys (account_id, master_key_id, wrapped_key, created_at) FROM STDIN"
    ) as copy:
        for i in range(n):
            member, key = f"{MEMBER_PREFIX}{i}", AESGCM.generate_key(256)
            vault._ciphers[member] = AESGCM(key)
            copy.write_row((member, keyring.current_id, keyring.wrap(member, key), now))
    conn.execute("CREATE TEMPORARY TABLE bench_titles (id text PRIMARY KEY, title text)")
    with conn.cursor().copy("COPY bench_titles (id, title) FROM STDIN") as copy:
        for i in range(n):
            row_id = f"bench-a-{i}"
            title = vault.seal(
                f"{MEMBER_PREFIX}{i}", "appointments", "title", row_id, f"Appointment {i}"
            )
            copy.write_row((row_id, title))
    conn.execute(
        "UPDATE appointments AS a SET title = t.title FROM bench_titles AS t WHERE a.id = t.id"
    )


def fresh_deliveries(
    database_url: str, n: int, channel: str, window: float = 600.0, due_end: datetime | None = None
) -> datetime:
    """Exactly n pending deliveries on ``channel`` (indexes 0..n-1) in a truncated, vacuumed
    outbox, due evenly over the ``window`` seconds ending at ``due_end`` (default: now).
    Returns ``due_end`` (naive UTC)."""
    import psycopg

    now = naive_utc_now()
    due_end = due_end or now
    with psycopg.connect(database_url) as conn:
        conn.execute("TRUNCATE reminder_deliveries")
        stamped = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'reminder_deliveries' "
            "AND column_name = 'sync_version'"
        ).fetchone()
        sql = DELIVERIES_SQL.format(
            stamped_column=", sync_version" if stamped else "",
            stamped_value=", (SELECT value FROM sync_clock WHERE id = 1)" if stamped else "",
        )
        conn.execute(
            sql,
            {
                "n": n,
                "now": now,
                "occurrence": now + timedelta(hours=26),
                "channel": channel,
                "window": window,
                "due_end": due_end,
            },
        )
    vacuum_analyze(database_url, "reminder_deliveries")
    return due_end


def delivery_states(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT state, count(*) FROM reminder_deliveries GROUP BY state"
        ).fetchall()
    return {state: int(count) for state, count in rows}


def due_times(database_url: str, n: int) -> array[float]:
    """due_at of each index's delivery, as time.time() seconds (0 where there is none)."""
    import psycopg

    due = array("d", bytes(8 * n))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT substr(member_id, %s)::int, extract(epoch FROM due_at)::float8 "
            "FROM reminder_deliveries",
            (len(MEMBER_PREFIX) + 1,),
        )
        for index, epoch in rows:
            if index < n:
                due[index] = epoch
    return due
