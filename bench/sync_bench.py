"""Offline sync against the REST lists: what a phone pays to get and send a member's data,
on SQLite and PostgreSQL.

    .venv/bin/python bench/sync_bench.py                          # both databases, ~1-2 minutes
    .venv/bin/python bench/sync_bench.py --database sqlite --runs 3

The member of the issue: 500 appointments (a year back and three months ahead, one in
twenty weekly), 2,000 check-ins (two years of them, with wins, notes and places sealed as
usual), and an area (``PUT /api/v1/me/area``, 10 km around San Francisco's Civic Center)
holding 2,000 directory listings; 500 more listings lie outside it. Appointments and
check-ins go in through the sync push itself (batches of 250 records); the directory is
inserted with SQLAlchemy (organizations, services, locations, addresses, phones,
service_at_location) and indexed with ``resources.search.indexing.refresh``, as an import would.

Measured through Flask's test client in this process (no HTTP server: the figures are the
app's and its database's), every request with ``Accept-Encoding: gzip`` (Flask-Compress
answers gzip; the bytes on the wire are the compressed body, the plain bytes are that body
decompressed):

1. first pull (``GET /api/v1/sync?last_pulled_at=0``): p50 latency and bytes, with the
   issue's requirement checked: under 2 MB (2,000,000 bytes) on the wire;
2. incremental pull after 10 changes made over REST (5 check-ins and 5 appointments
   PATCHed), from the timestamp of the pull before;
3. push of 50 new records (25 check-ins, 25 appointments) in one ``POST /api/v1/sync``;
4. the baseline, in the same run and interleaved round by round with (1) and (3): the
   same records fetched page by page from the REST lists (``/api/v1/appointments``,
   ``/api/v1/checkins``, ``/api/v1/resources`` with lat/lng/radius_m, page_size=100), and
   the same 50 records POSTed one by one. REST has no "changed since", so the baseline of
   (2) is the full refetch of (4).

Every answer is checked (status, counts, and that sync and REST give the same records with
the same values); the run stops at the first wrong one. Apps run with
HOMEWARD_ENV=production, a random master key, rate limiting off, LOG_LEVEL=WARNING and
cheap argon2.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import statistics
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit import log
from benchkit.apps import in_process_app
from benchkit.client import Account, expect, register
from benchkit.machine import load_average
from benchkit.report import print_context, print_facts, print_table, python_and_cpus
from benchkit.run import add_backend_arguments, for_each_backend, run_main, write_json
from benchkit.timing import turns

SYNC = "/api/v1/sync"
APPOINTMENTS = "/api/v1/appointments"
CHECKINS = "/api/v1/checkins"
RESOURCES = "/api/v1/resources"
AREA = "/api/v1/me/area"

CENTER = (37.7793, -122.4193)  # San Francisco Civic Center
RADIUS_KM = 10
EARTH_RADIUS_M = 6371008.8
TIMEZONE = "America/Los_Angeles"
WIRE_LIMIT = 2_000_000  # the issue: a first pull under 2 MB on the wire
PAGE_SIZE = 100
PUSH_BATCH = 250
GZIP = {"Accept-Encoding": "gzip"}

WORDS = [
    "job", "training", "housing", "shelter", "legal", "clinic", "food", "pantry",
    "recovery", "reentry", "resume", "welding", "kitchen", "culinary", "warehouse",
    "forklift", "counseling", "mentoring", "transit", "benefits", "expungement", "record",
    "clearance", "employment", "apprenticeship", "construction", "childcare", "health",
    "dental", "mental", "substance", "veterans", "youth", "women", "family", "literacy",
    "computer", "driving", "license", "identification", "parole", "probation", "support",
    "peer", "transitional", "sober", "living", "walk-in", "appointment", "free",
    "bilingual", "evening", "weekend", "referral", "case", "management",
]  # fmt: skip
SUFFIXES = ["Center", "Program", "Services", "Project", "Network", "Works", "House", "Hub"]
STREETS = ["Market", "Mission", "Howard", "Folsom", "Valencia", "Geary", "Fillmore", "Divisadero"]
NEEDS = ["housing", "work", "food", "transport", "health", "legal", "id", "family", "support"]
WINS = [
    "Got to work on time every day this week.",
    "Called my sister, first time in a year.",
    "Finished the forklift certification class and passed the written test.",
    "Went to the meeting even though I did not feel like it.",
    "Saved forty dollars toward the deposit.",
]
NOTES = [
    "Rough night, the shelter was loud and I barely slept. Talked to my PO this morning and "
    "it went fine, she said the paperwork for the housing voucher is in.",
    "Worried about the court date next month and whether I can get the day off from the "
    "warehouse. Going to ask the supervisor tomorrow before the shift starts.",
    "Bus was late again, missed the first half of the class. The teacher let me make it up "
    "on Thursday. Need to figure out a better way to get there in the mornings.",
    "Good day. Cooked dinner for the house, everyone liked it. Thinking about the culinary "
    "program at the community college again.",
]
PEOPLE = ["Dana", "Officer Ruiz", "Dr. Patel", "the caseworker"]
PLACES = ["public library", "home", "work", "the house", "bus stop", "clinic"]
APPOINTMENT_NOTES = [
    "Bring ID, pay stubs and the letter from the housing office.",
    "Ask about the travel permit for the family visit.",
    "Second floor, room 204. Arrive 15 minutes early for security.",
]


@dataclass
class Fetched:
    seconds: float
    wire: int  # body bytes as sent (gzip when the server compressed it)
    plain: int  # body bytes decompressed
    encoding: str | None
    body: Any


@dataclass
class Sample:
    """One measured operation: a latency per run and its bytes and request counts."""

    seconds: list[float] = field(default_factory=list)
    wire: list[int] = field(default_factory=list)
    plain: list[int] = field(default_factory=list)
    up: list[int] = field(default_factory=list)  # request body bytes (pushes, POSTs)
    requests: int = 0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def spread_ms(self) -> tuple[float, float]:
        return min(self.seconds) * 1000, max(self.seconds) * 1000


@dataclass
class BackendResult:
    backend: str
    facts: dict[str, Any]
    samples: dict[str, Sample]
    tables: dict[str, dict[str, int]]  # first pull: table -> {records, bytes}


# --------------------------------------------------------------------------- requests


def compact(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def get(client: Any, path: str, headers: dict[str, str], query: dict[str, Any]) -> Fetched:
    began = time.perf_counter()
    response = client.get(path, query_string=query, headers={**headers, **GZIP})
    seconds = time.perf_counter() - began
    expect(response, 200, f"GET {path} {query}")
    data = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        plain = gzip.decompress(data)
    elif encoding is None:
        plain = data
    else:
        raise RuntimeError(f"GET {path}: unexpected Content-Encoding {encoding!r}")
    return Fetched(seconds, len(data), len(plain), encoding, json.loads(plain))


def post(client: Any, path: str, headers: dict[str, str], body: Any, **query: Any) -> Any:
    """POST ``body`` as compact JSON; (response, seconds, request bytes)."""
    data = compact(body)
    began = time.perf_counter()
    response = client.post(
        path,
        query_string=query,
        data=data,
        headers={**headers, **GZIP, "Content-Type": "application/json"},
    )
    return response, time.perf_counter() - began, len(data)


def sync_pull(client: Any, member: Account, since: int) -> Fetched:
    fetched = get(client, SYNC, member.headers, {"last_pulled_at": since})
    changes = fetched.body.get("changes")
    if not isinstance(changes, dict) or not isinstance(fetched.body.get("timestamp"), int):
        raise RuntimeError(f"pull answered no changes/timestamp: {str(fetched.body)[:300]}")
    for table, part in changes.items():
        ids = [r["id"] for r in part["created"] + part["updated"]] + part["deleted"]
        if len(ids) != len(set(ids)):
            raise RuntimeError(f"pull: an id appears twice in {table}")
    return fetched


def sync_push(client: Any, member: Account, since: int, changes: Any) -> tuple[float, int]:
    response, seconds, sent = post(client, SYNC, member.headers, changes, last_pulled_at=since)
    expect(response, 200, "POST /api/v1/sync")
    rejected = response.get_json()["experimentalRejectedIds"]
    if rejected:
        raise RuntimeError(f"push rejected records: {json.dumps(rejected)[:400]}")
    return seconds, sent


# --------------------------------------------------------------------------- the member's data


def phone_id(rng: random.Random) -> str:
    """An id as WatermelonDB makes them: 16 letters and digits."""
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def raw_checkin(rng: random.Random, recorded: datetime) -> dict[str, Any]:
    stamp = ms(recorded)
    return {
        "id": phone_id(rng),
        "mood": rng.randint(1, 5),
        "needs": ",".join(rng.sample(NEEDS, rng.choice([0, 1, 1, 2, 3]))),
        "wins": rng.choice(WINS) if rng.random() < 0.5 else None,
        "note": rng.choice(NOTES) if rng.random() < 0.4 else None,
        "help_requested": False,
        "place": rng.choice(PLACES) if rng.random() < 0.3 else None,
        "recorded_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
        "_status": "created",
        "_changed": "",
    }


def raw_appointment(rng: random.Random, starts: datetime, now: datetime) -> dict[str, Any]:
    from reminders.models import Kind

    past = starts < now
    return {
        "id": phone_id(rng),
        "title": f"{rng.choice(['See', 'Meet', 'Call'])} {rng.choice(PEOPLE)}",
        "kind": rng.choice([kind.value for kind in Kind]),
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        if rng.random() < 0.5
        else None,
        "timezone": TIMEZONE,
        "location": f"{rng.randint(1, 999)} {rng.choice(STREETS)} St"
        if rng.random() < 0.6
        else None,
        "notes": rng.choice(APPOINTMENT_NOTES) if rng.random() < 0.3 else None,
        "recurrence": "FREQ=WEEKLY" if rng.random() < 0.05 else None,
        "status": rng.choice(["attended", "attended", "missed", "cancelled"])
        if past
        else "scheduled",
        "created_at": ms(now),
        "updated_at": ms(now),
        "_status": "created",
        "_changed": "",
    }


def local_now() -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(TIMEZONE)).replace(tzinfo=None, second=0, microsecond=0)


def seed_member(
    client: Any, member: Account, rng: random.Random, appointments: int, checkins: int
) -> dict[str, dict[str, Any]]:
    """Push the member's appointments and check-ins in batches; returns what was pushed,
    {table: {id: raw}}."""
    now = datetime.now(UTC)
    local = local_now()
    records: list[tuple[str, dict[str, Any]]] = []
    for _ in range(appointments):
        starts = local + timedelta(minutes=rng.randint(-365 * 24 * 60, 90 * 24 * 60))
        starts = starts.replace(minute=rng.choice([0, 15, 30, 45]))
        records.append(("appointments", raw_appointment(rng, starts, local)))
    for _ in range(checkins):
        recorded = now - timedelta(seconds=rng.randint(60, 730 * 86400))
        records.append(("checkins", raw_checkin(rng, recorded)))
    rng.shuffle(records)
    since = sync_pull(client, member, 0).body["timestamp"]
    for start in range(0, len(records), PUSH_BATCH):
        changes: dict[str, Any] = {
            t: {"created": [], "updated": [], "deleted": []} for t in ("appointments", "checkins")
        }
        for table, raw in records[start : start + PUSH_BATCH]:
            changes[table]["created"].append(raw)
        sync_push(client, member, since, changes)
    pushed: dict[str, dict[str, Any]] = {"appointments": {}, "checkins": {}}
    for table, raw in records:
        pushed[table][raw["id"]] = raw
    return pushed


def point_at(distance_m: float, bearing: float) -> tuple[float, float]:
    lat = CENTER[0] + math.degrees(distance_m * math.cos(bearing) / EARTH_RADIUS_M)
    lng = CENTER[1] + math.degrees(
        distance_m * math.sin(bearing) / (EARTH_RADIUS_M * math.cos(math.radians(CENTER[0])))
    )
    return lat, lng


def seed_directory(app: Any, rng: random.Random, inside: int, outside: int) -> set[str]:
    """Listings: ``inside`` within 80% of the area's radius, ``outside`` 15-60 km away.
    Returns the ids of the services inside."""
    from sqlalchemy import insert

    from api.core.db import commit_session, get_session, new_id
    from resources.models import (
        Address,
        Location,
        Organization,
        Phone,
        Service,
        ServiceAtLocation,
        YesNoUnknown,
    )
    from resources.search import indexing

    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    organizations = [
        {
            "id": new_id(),
            "name": f"{rng.choice(WORDS).title()} {rng.choice(SUFFIXES)} {o}",
            "description": "",
            **stamps,
        }
        for o in range(100)
    ]
    rows: dict[Any, list[dict[str, Any]]] = {
        Organization: organizations,
        Service: [],
        Location: [],
        Address: [],
        Phone: [],
        ServiceAtLocation: [],
    }
    inside_ids: set[str] = set()
    for n in range(inside + outside):
        if n < inside:
            distance = RADIUS_KM * 800 * math.sqrt(rng.random())
        else:
            distance = rng.uniform(15_000, 60_000)
        lat, lng = point_at(distance, rng.uniform(0, 2 * math.pi))
        organization = rng.choice(organizations)["id"]
        service_id, location_id = new_id(), new_id()
        if n < inside:
            inside_ids.add(service_id)
        words = rng.sample(WORDS, 2)
        rows[Service].append(
            {
                "id": service_id,
                "organization_id": organization,
                "name": f"{words[0].title()} {words[1].title()} {rng.choice(SUFFIXES)} {n}",
                "description": " ".join(rng.choices(WORDS, k=rng.randint(20, 90))).capitalize()
                + ".",
                "fair_chance": rng.choice([True, False, None]),
                "accepts_records": rng.choice(list(YesNoUnknown)),
                "last_verified_at": now - timedelta(days=rng.randint(0, 300)),
                **stamps,
            }
        )
        rows[Location].append(
            {
                "id": location_id,
                "organization_id": organization,
                "name": f"{words[0].title()} site",
                "latitude": lat,
                "longitude": lng,
                "timezone": TIMEZONE,
                **stamps,
            }
        )
        rows[Address].append(
            {
                "id": new_id(),
                "location_id": location_id,
                "address_1": f"{rng.randint(1, 3999)} {rng.choice(STREETS)} St",
                "city": "San Francisco",
                "state_province": "CA",
                "postal_code": f"941{rng.randint(2, 34):02d}",
                "country": "US",
                **stamps,
            }
        )
        rows[Phone].append(
            {
                "id": new_id(),
                "service_id": service_id,
                "number": f"415-555-{n % 10000:04d}",
                "type": "voice",
                **stamps,
            }
        )
        rows[ServiceAtLocation].append(
            {"id": new_id(), "service_id": service_id, "location_id": location_id, **stamps}
        )
    with app.app_context():
        db = get_session()
        for model, values in rows.items():
            for start in range(0, len(values), 1000):
                db.execute(insert(model), values[start : start + 1000])
        indexing.refresh(db, service_ids=[r["id"] for r in rows[Service]])
        commit_session()
    return inside_ids


# --------------------------------------------------------------------------- REST baseline


def rest_fetch_all(
    client: Any, member: Account
) -> tuple[float, int, int, int, dict[str, dict[str, Any]]]:
    """Everything the first pull carries that REST lists: (seconds, wire bytes, plain bytes,
    requests, {list: {id: item}})."""
    lists: dict[str, tuple[str, dict[str, Any]]] = {
        "appointments": (APPOINTMENTS, {}),
        "checkins": (CHECKINS, {}),
        "resources": (
            RESOURCES,
            {"lat": CENTER[0], "lng": CENTER[1], "radius_m": RADIUS_KM * 1000},
        ),
    }
    seconds, wire, plain, requests = 0.0, 0, 0, 0
    found: dict[str, dict[str, Any]] = {}
    for name, (path, extra) in lists.items():
        items: dict[str, Any] = {}
        page, total = 1, None
        while total is None or (page - 1) * PAGE_SIZE < total:
            fetched = get(
                client, path, member.headers, {**extra, "page": page, "page_size": PAGE_SIZE}
            )
            seconds += fetched.seconds
            wire += fetched.wire
            plain += fetched.plain
            requests += 1
            total = fetched.body["total"]
            for item in fetched.body["items"]:
                items[item["id"]] = item
            page += 1
        if len(items) != total:
            raise RuntimeError(f"REST {name}: {len(items)} distinct items over {total} total")
        found[name] = items
    return seconds, wire, plain, requests, found


def rest_checkin_body(raw: dict[str, Any]) -> dict[str, Any]:
    body = {k: raw[k] for k in ("mood", "wins", "note", "place", "help_requested")}
    body["needs"] = [n for n in raw["needs"].split(",") if n]
    body["recorded_at"] = datetime.fromtimestamp(raw["recorded_at"] / 1000, UTC).isoformat()
    return body


def rest_appointment_body(raw: dict[str, Any]) -> dict[str, Any]:
    keys = ("title", "kind", "starts_at", "ends_at", "timezone", "location", "notes")
    return {k: raw[k] for k in (*keys, "recurrence", "status") if raw[k] is not None}


# --------------------------------------------------------------------------- checks


# Columns a push stores as sent (the server sets created_at and updated_at).
KEPT = {
    "appointments": (
        "title", "kind", "starts_at", "ends_at", "timezone", "location", "notes",
        "recurrence", "status",
    ),
    "checkins": ("mood", "needs", "wins", "note", "help_requested", "place", "recorded_at"),
}  # fmt: skip


def check_first_pull(
    body: dict[str, Any], seeded: dict[str, dict[str, Any]], inside: set[str]
) -> None:
    changes = body["changes"]
    if body.get("experimentalStrategy") is not None:
        raise RuntimeError("a first pull answered a replacement strategy")
    for table, part in changes.items():
        if part["updated"] or part["deleted"]:
            raise RuntimeError(f"first pull: {table} has updated or deleted records")
    counts = {t: len(p["created"]) for t, p in changes.items()}
    for table, raws in seeded.items():
        pulled = {r["id"]: r for r in changes[table]["created"]}
        if set(pulled) != set(raws):
            raise RuntimeError(
                f"first pull: {table} has {len(pulled)} records, "
                f"{len(set(raws) - set(pulled))} of the {len(raws)} pushed missing"
            )
        for record_id, raw in raws.items():
            for column in KEPT[table]:
                if pulled[record_id][column] != raw[column]:
                    raise RuntimeError(
                        f"first pull: {table} {record_id} {column} is "
                        f"{pulled[record_id][column]!r}, pushed {raw[column]!r}"
                    )
    got = {r["id"] for r in changes["resources"]["created"]}
    if got != inside:
        raise RuntimeError(
            f"first pull: resources are not the listings inside the area: {len(got)} sent, "
            f"{len(got - inside)} outside it, {len(inside - got)} inside it missing"
        )
    if not counts.get("reminders"):
        raise RuntimeError("first pull: no reminders for the upcoming appointments")
    for raw in changes["resources"]["created"]:
        if len(raw["description"]) > 280:
            raise RuntimeError(f"resource {raw['id']}: description over 280 characters")


def check_same_records(pulled: dict[str, Any], rest: dict[str, dict[str, Any]]) -> None:
    """Sync and REST give the same records with the same values."""
    changes = pulled["changes"]
    for name in ("appointments", "checkins", "resources"):
        synced = {r["id"]: r for r in changes[name]["created"] + changes[name]["updated"]}
        if set(synced) != set(rest[name]):
            raise RuntimeError(
                f"{name}: sync and REST disagree on which records exist "
                f"({len(set(synced) - set(rest[name]))} only in sync, "
                f"{len(set(rest[name]) - set(synced))} only in REST)"
            )
        for record_id, raw in synced.items():
            item = rest[name][record_id]
            if name == "checkins":
                pairs = [(raw[k], item[k]) for k in ("mood", "wins", "note", "place")]
                pairs.append((raw["needs"], ",".join(item["needs"])))
            elif name == "appointments":
                pairs = [(raw[k], item[k]) for k in ("title", "starts_at", "status", "notes")]
                pairs.append((raw["channels"], ",".join(item["channels"])))
            else:
                pairs = [(raw["name"], item["name"])]
                pairs.append((raw["organization_name"], item["organization"]["name"]))
            for mine, theirs in pairs:
                if mine != theirs:
                    raise RuntimeError(f"{name} {record_id}: sync has {mine!r}, REST {theirs!r}")


def check_incremental(
    body: dict[str, Any], appointment_ids: set[str], checkin_ids: set[str]
) -> None:
    changes = body["changes"]
    if body.get("experimentalStrategy") is not None:
        raise RuntimeError("an incremental pull after 10 edits was a replacement sync")
    for table, want in (("appointments", appointment_ids), ("checkins", checkin_ids)):
        part = changes[table]
        got = {r["id"] for r in part["created"] + part["updated"]}
        if got != want or part["created"] or part["deleted"]:
            raise RuntimeError(
                f"incremental pull: {table} sent created={len(part['created'])} "
                f"updated={len(part['updated'])} deleted={len(part['deleted'])}, expected "
                f"the {len(want)} edited records as updated"
            )
    for table in ("resources", "saved_resources", "grants", "checkin_responses"):
        if any(changes[table].values()):
            raise RuntimeError(f"incremental pull: {table} not empty: {changes[table]}")
    reminder_parents = {
        r["appointment_id"]
        for r in changes["reminders"]["created"] + changes["reminders"]["updated"]
    }
    if not reminder_parents <= appointment_ids:
        raise RuntimeError("incremental pull: reminders of appointments that did not change")


# --------------------------------------------------------------------------- one backend


def alternate(round_number: int, *steps: Callable[[], None]) -> None:
    for step in turns(round_number, steps):
        step()


def run_backend(
    backend: str, options: argparse.Namespace, workdir: Path, vapid: str
) -> BackendResult:
    rng = random.Random(20261001)
    with in_process_app(backend, workdir, options.postgres_url, vapid, "sync") as (app, facts):
        client = app.test_client()
        member = register(client, "member", timezone=TIMEZONE, display_name="Rosa Díaz")

        began = time.perf_counter()
        seeded = seed_member(client, member, rng, options.appointments, options.checkins)
        facts["seed push s"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        inside = seed_directory(app, rng, options.listings, options.listings // 4)
        facts["seed directory s"] = round(time.perf_counter() - began, 1)
        area = {"latitude": CENTER[0], "longitude": CENTER[1], "radius_km": RADIUS_KM}
        expect(client.put(AREA, json=area, headers=member.headers), 200, "PUT /me/area")
        log(
            f"{backend}: seeded {options.appointments} appointments and "
            f"{options.checkins} check-ins by push in {facts['seed push s']}s, "
            f"{len(inside)} listings in the area (+{options.listings // 4} outside) "
            f"in {facts['seed directory s']}s"
        )

        samples = {
            name: Sample() for name in ("first", "rest_all", "incremental", "push", "rest_post")
        }
        # Warm-up, and the data checks: sync and REST give the same records.
        first = sync_pull(client, member, 0)
        if first.encoding != "gzip":
            raise RuntimeError(f"first pull not gzip-compressed: {first.encoding!r}")
        check_first_pull(first.body, seeded, inside)
        *_, rest_items = rest_fetch_all(client, member)
        check_same_records(first.body, rest_items)
        tables = {
            name: {
                "records": sum(len(v) for v in part.values()),
                "bytes": len(compact(part)),
            }
            for name, part in first.body["changes"].items()
        }

        log(f"{backend}: first pull vs REST lists, {options.runs} rounds")

        def measure_first() -> None:
            fetched = sync_pull(client, member, 0)
            sample = samples["first"]
            sample.seconds.append(fetched.seconds)
            sample.wire.append(fetched.wire)
            sample.plain.append(fetched.plain)
            sample.requests = 1

        def measure_rest_all() -> None:
            seconds, wire, plain, requests, _ = rest_fetch_all(client, member)
            sample = samples["rest_all"]
            sample.seconds.append(seconds)
            sample.wire.append(wire)
            sample.plain.append(plain)
            sample.requests = requests

        for round_number in range(options.runs):
            alternate(round_number, measure_first, measure_rest_all)

        log(f"{backend}: incremental pulls after 10 REST edits, {options.runs} runs")
        cursor = int(sync_pull(client, member, 0).body["timestamp"])
        checkin_ids = sorted(rest_items["checkins"])
        appointment_ids = sorted(rest_items["appointments"])
        for run in range(options.runs):
            edited_checkins = set(rng.sample(checkin_ids, 5))
            edited_appointments = set(rng.sample(appointment_ids, 5))
            for checkin_id in edited_checkins:
                response = client.patch(
                    f"{CHECKINS}/{checkin_id}",
                    json={"mood": rng.randint(1, 5), "wins": f"Edit {run}"},
                    headers=member.headers,
                )
                expect(response, 200, "PATCH check-in")
            for appointment_id in edited_appointments:
                response = client.patch(
                    f"{APPOINTMENTS}/{appointment_id}",
                    json={"notes": f"Edited in run {run}: bring the letter."},
                    headers=member.headers,
                )
                expect(response, 200, "PATCH appointment")
            fetched = sync_pull(client, member, cursor)
            check_incremental(fetched.body, edited_appointments, edited_checkins)
            cursor = int(fetched.body["timestamp"])
            sample = samples["incremental"]
            sample.seconds.append(fetched.seconds)
            sample.wire.append(fetched.wire)
            sample.plain.append(fetched.plain)
            sample.requests = 1
            if run == 0:
                facts["incremental records"] = {
                    name: n
                    for name, part in fetched.body["changes"].items()
                    if (n := sum(len(v) for v in part.values()))
                }

        log(f"{backend}: push 50 records vs 50 REST POSTs, {options.runs} rounds")
        pushed: list[str] = []

        def fifty() -> list[tuple[str, dict[str, Any]]]:
            local = local_now()
            now = datetime.now(UTC)
            return [
                ("checkins", raw_checkin(rng, now - timedelta(minutes=rng.randint(1, 600))))
                for _ in range(25)
            ] + [
                (
                    "appointments",
                    raw_appointment(rng, local + timedelta(days=rng.randint(1, 50)), local),
                )
                for _ in range(25)
            ]

        def measure_push() -> None:
            changes: dict[str, Any] = {
                t: {"created": [], "updated": [], "deleted": []}
                for t in ("appointments", "checkins")
            }
            for table, raw in fifty():
                changes[table]["created"].append(raw)
                pushed.append(raw["id"])
            seconds, sent = sync_push(client, member, cursor, changes)
            sample = samples["push"]
            sample.seconds.append(seconds)
            sample.up.append(sent)
            sample.requests = 1

        def measure_rest_post() -> None:
            total, sent = 0.0, 0
            for table, raw in fifty():
                if table == "checkins":
                    path, body = CHECKINS, rest_checkin_body(raw)
                else:
                    path, body = APPOINTMENTS, rest_appointment_body(raw)
                response, seconds, size = post(client, path, member.headers, body)
                expect(response, 201, f"POST {path}")
                total += seconds
                sent += size
            sample = samples["rest_post"]
            sample.seconds.append(total)
            sample.up.append(sent)
            sample.requests = 50

        for round_number in range(options.runs):
            alternate(round_number, measure_push, measure_rest_post)

        # Everything pushed or posted is there, once.
        last = sync_pull(client, member, 0).body["changes"]
        held = {r["id"] for t in ("appointments", "checkins") for r in last[t]["created"]}
        added = 2 * 50 * options.runs
        expected = options.appointments + options.checkins + added
        if len(held) != expected or not set(pushed) <= held:
            raise RuntimeError(
                f"after the pushes the member holds {len(held)} records, expected {expected}"
            )
    return BackendResult(backend, facts, samples, tables)


# --------------------------------------------------------------------------- report


def print_report(results: list[BackendResult], options: argparse.Namespace) -> None:
    print()
    print("first pull (last_pulled_at=0), per table (plain JSON of the table's part):")
    rows = []
    for result in results:
        whole = sum(t["bytes"] for t in result.tables.values())
        for name, table in sorted(result.tables.items(), key=lambda kv: -kv[1]["bytes"]):
            share = table["bytes"] / whole * 100
            rows.append(
                [result.backend, name, table["records"], f"{table['bytes']:,}", f"{share:.1f}%"]
            )
    print_table(["database", "table", "records", "plain bytes", "share"], rows, left=2, indent="  ")
    print()
    for result in results:
        wire = max(result.samples["first"].wire)
        plain = max(result.samples["first"].plain)
        verdict = "PASS" if wire < WIRE_LIMIT else "FAIL"
        print(
            f"2 MB check, {result.backend}: {verdict}: first pull is {wire:,} bytes on the wire "
            f"(gzip; {wire / WIRE_LIMIT * 100:.1f}% of 2,000,000), {plain:,} bytes plain "
            f"({plain / wire:.1f}x)"
        )
    print()
    rows = []
    for result in results:
        s = result.samples
        first, rest, inc = s["first"], s["rest_all"], s["incremental"]
        push, posts = s["push"], s["rest_post"]
        figures: list[tuple[str, float, float, str, Sample | None, Sample | None]] = [
            ("first pull: p50 latency", first.p50_ms, rest.p50_ms, "ms", first, rest),
            ("first pull: requests", first.requests, rest.requests, "", None, None),
            ("first pull: bytes on wire (gzip)", first.wire[-1], rest.wire[-1], "B", None, None),
            ("first pull: bytes plain JSON", first.plain[-1], rest.plain[-1], "B", None, None),
            ("incremental (10 edits): p50 latency", inc.p50_ms, rest.p50_ms, "ms", inc, rest),
            ("incremental (10 edits): requests", inc.requests, rest.requests, "", None, None),
            ("incremental (10 edits): bytes gzip", inc.wire[0], rest.wire[-1], "B", None, None),
            ("incremental (10 edits): bytes plain", inc.plain[0], rest.plain[-1], "B", None, None),
            ("push 50 records: p50 latency", push.p50_ms, posts.p50_ms, "ms", push, posts),
            ("push 50 records: requests", push.requests, posts.requests, "", None, None),
            ("push 50 records: bytes up (plain)", push.up[-1], posts.up[-1], "B", None, None),
        ]  # fmt: skip
        for label, mine, theirs, unit, a, b in figures:
            if unit == "ms":
                cells = [f"{mine:.1f} ms", f"{theirs:.1f} ms"]
            elif unit == "B":
                cells = [f"{mine:,.0f} B", f"{theirs:,.0f} B"]
            else:
                cells = [f"{mine:,.0f}", f"{theirs:,.0f}"]
            ranges = ["", ""]
            if a is not None and b is not None:
                ranges = [f"{x.spread_ms[0]:.1f}-{x.spread_ms[1]:.1f}" for x in (a, b)]
            rows.append([result.backend, label, *cells, f"{theirs / mine:.2f}", *ranges])
    operations = ["database", "operation", "sync", "REST", "REST/sync"]
    print_table([*operations, "sync min-max ms", "REST min-max ms"], rows, left=2)
    print()
    print(
        f"REST = the same records over the REST lists, page_size={PAGE_SIZE} "
        f"(appointments, check-ins, resources with lat/lng/radius_m), or the 50 records POSTed "
        "one by one; latencies are summed over the requests, run back to back. REST has no "
        "'changed since', so the incremental rows compare with a full refetch. The first "
        "pull also carries reminders (the REST figure has no equivalent: reminders are not "
        "listed over REST). REST/sync > 1: sync is cheaper."
    )
    for result in results:
        carried = result.facts["incremental records"]
        print(
            f"  {result.backend}: the first incremental pull after 10 edits carried "
            f"{sum(carried.values())} records ("
            + ", ".join(f"{name} {n}" for name, n in carried.items())
            + "): the edited records, and every planned reminder of the edited appointments"
        )
    print(
        f"p50 over {options.runs} runs each; sync and REST alternate round by round "
        "(first pull / push); bytes are of the last run (the incremental ones: of the "
        "first run, the one itemized above); sync min-max / REST min-max: the fastest and "
        "slowest run."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per operation")
    parser.add_argument("--appointments", type=int, default=500)
    parser.add_argument("--checkins", type=int, default=2000)
    parser.add_argument(
        "--listings", type=int, default=2000, help="listings in the area (and a quarter outside)"
    )
    add_backend_arguments(parser)
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")

    load_before = load_average()
    began = time.monotonic()
    results = for_each_backend(options, "sync", run_backend)

    print()
    print(
        f"Homeward offline sync vs REST lists: Flask test client in one process; a member "
        f"with {options.appointments} appointments, {options.checkins:,} check-ins and an "
        f"area of {RADIUS_KM} km holding {options.listings:,} listings "
        f"(+{options.listings // 4} outside); {python_and_cpus()}"
    )
    for result in results:
        print_facts(result.facts, hidden=["incremental records"])
    print_context(load_before)
    print_report(results, options)
    print(f"total run time {time.monotonic() - began:.0f}s")
    write_json(
        options.json,
        [
            {
                "backend": r.backend,
                "facts": r.facts,
                "tables": r.tables,
                "samples": {k: vars(v) for k, v in r.samples.items()},
            }
            for r in results
        ],
    )
    failed = any(max(r.samples["first"].wire) >= WIRE_LIMIT for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    run_main(main)
