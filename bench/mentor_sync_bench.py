"""What it costs to take a revoked or narrowed share off a mentor's phone by id, and what
the bookkeeping behind it (``sync_held`` and the stamping hook) adds to a member's write.

    .venv/bin/python bench/mentor_sync_bench.py                   # both databases, ~1 minute
    .venv/bin/python bench/mentor_sync_bench.py --database sqlite --runs 5

A mentor holds grants (``checkins.full``, history shared) from --mentees members with
--checkins check-ins each, and has pulled them all (so ``sync_held`` holds every one).
Measured in this process through Flask's test client (gzip accepted), p50 over --runs:

1. a member's ``POST /api/v1/checkins`` when a mentor's phone holds their check-ins (the
   hook checks what left the mentor's view), against the same POST by a member no mentor
   follows (no hook work): the baseline, interleaved round by round;
2. the mentor's pull after one mentee revokes: incremental (the grant and that mentee's
   check-ins named in ``deleted``), against the first pull the phone would otherwise need,
   which is what a replacement sync sends (the design before ``sync_held``);
3. the same after one mentee narrows the grant to ``checkins.mood`` (that mentee's
   check-ins re-sent whole, the other fields null).

Each answer is checked (what is deleted or re-sent) before it counts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchkit import log
from benchkit.apps import in_process_app
from benchkit.client import Account, expect, register, share
from benchkit.run import add_backend_arguments, for_each_backend, run_main, write_json
from benchkit.timing import turns

SYNC = "/api/v1/sync"


def named(client: Any, name: str, role: str) -> Account:
    return register(client, role, username=name, password="a long walk home")


def checkin(number: int) -> dict[str, Any]:
    return {
        "mood": 1 + number % 5,
        "needs": "housing,work",
        "wins": f"Day {number}: went to the job centre",
        "note": f"Note {number}: the landlord called again",
        "help_requested": False,
        "place": "Northside Public Library",
        "recorded_at": 1_790_000_000_000 + number,
    }


def seed(client: Any, member: Account, count: int, prefix: str) -> None:
    start = expect(client.get(f"{SYNC}?last_pulled_at=0", headers=member.headers), 200, "pull")
    records = [{"id": f"{prefix}{i:05d}", **checkin(i)} for i in range(count)]
    for begin in range(0, count, 250):
        body = {"checkins": {"created": records[begin : begin + 250], "updated": [], "deleted": []}}
        expect(
            client.post(
                f"{SYNC}?last_pulled_at={start['timestamp']}", json=body, headers=member.headers
            ),
            200,
            "push",
        )


def set_scopes(client: Any, mentee: Account, grant: str, scope: str, what: str) -> None:
    expect(
        client.patch(f"/api/v1/grants/{grant}", json={"scopes": [scope]}, headers=mentee.headers),
        200,
        what,
    )


def pull(client: Any, mentor: Account, since: int) -> tuple[float, int, dict[str, Any]]:
    began = time.perf_counter()
    response = client.get(
        f"{SYNC}?last_pulled_at={since}", headers={**mentor.headers, "Accept-Encoding": "gzip"}
    )
    seconds = time.perf_counter() - began
    raw = response.get_data()
    body = json.loads(gzip.decompress(raw) if response.headers.get("Content-Encoding") else raw)
    if response.status_code != 200:
        raise RuntimeError(f"pull: {response.status_code} {body}")
    return seconds, len(raw), body


def ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.1f} ms"


def run_backend(
    backend: str, options: argparse.Namespace, workdir: Path, vapid: str
) -> dict[str, Any]:
    with in_process_app(backend, workdir, options.postgres_url, vapid, "mentor") as (app, _):
        client = app.test_client()
        mentor = named(client, "mentor", "mentor")
        mentees = [named(client, f"mentee{i}", "member") for i in range(options.mentees)]
        alone = named(client, "alone", "member")
        grants: dict[str, str] = {}
        for number, mentee in enumerate(mentees):
            seed(client, mentee, options.checkins, f"m{number}-")
            grants[mentee.id] = share(client, mentee, mentor)
        seed(client, alone, options.checkins, "alone-")
        _, first_bytes, first = pull(client, mentor, 0)
        held = len(first["changes"]["shared_checkins"]["created"])
        log(f"{backend}: a mentor holds {held} check-ins of {len(mentees)} mentees")
        cursor = first["timestamp"]

        watched: list[float] = []
        unwatched: list[float] = []
        for run in range(options.runs):
            for person, sample in turns(run, ((mentees[0], watched), (alone, unwatched))):
                began = time.perf_counter()
                written = {"mood": 3, "needs": ["work"], "note": f"Run {run}: a good day"}
                expect(
                    client.post("/api/v1/checkins", json=written, headers=person.headers),
                    201,
                    "POST check-in",
                )
                sample.append(time.perf_counter() - began)
        cursor = pull(client, mentor, cursor)[2]["timestamp"]

        revoked: list[float] = []
        full: list[float] = []
        narrowed: list[float] = []
        revoked_bytes: list[int] = []
        full_bytes: list[int] = []
        narrowed_bytes: list[int] = []
        for run in range(options.runs):
            mentee = mentees[1 + run % (len(mentees) - 1)]
            expect(
                client.delete(f"/api/v1/grants/{grants[mentee.id]}", headers=mentee.headers),
                204,
                "revoke",
            )
            seconds, size, body = pull(client, mentor, cursor)
            gone = body["changes"]["shared_checkins"]["deleted"]
            if len(gone) < options.checkins or "experimentalStrategy" in body:
                raise RuntimeError(f"revocation named {len(gone)} check-ins")
            revoked.append(seconds)
            revoked_bytes.append(size)
            cursor = body["timestamp"]
            seconds, size, _ = pull(client, mentor, 0)
            full.append(seconds)
            full_bytes.append(size)
            # Shared again, pulled, then narrowed to mood only.
            grants[mentee.id] = share(client, mentee, mentor)
            cursor = pull(client, mentor, cursor)[2]["timestamp"]
            set_scopes(client, mentee, grants[mentee.id], "checkins.mood", "narrow")
            seconds, size, body = pull(client, mentor, cursor)
            resent = body["changes"]["shared_checkins"]["updated"]
            if len(resent) < options.checkins or any(r["note"] is not None for r in resent):
                raise RuntimeError("narrowing did not re-send the check-ins without their notes")
            narrowed.append(seconds)
            narrowed_bytes.append(size)
            cursor = body["timestamp"]
            set_scopes(client, mentee, grants[mentee.id], "checkins.full", "widen again")
            cursor = pull(client, mentor, cursor)[2]["timestamp"]

        return {
            "backend": backend,
            "held": held,
            "first pull bytes": first_bytes,
            "POST check-in, mentor holds their check-ins": ms(watched),
            "POST check-in, no mentor (baseline)": ms(unwatched),
            "pull after a revocation (incremental, by id)": ms(revoked),
            "pull after a revocation, bytes": int(statistics.median(revoked_bytes)),
            "full pull (what a replacement sends; baseline)": ms(full),
            "full pull, bytes": int(statistics.median(full_bytes)),
            "pull after narrowing (re-sent whole)": ms(narrowed),
            "pull after narrowing, bytes": int(statistics.median(narrowed_bytes)),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mentees", type=int, default=10)
    parser.add_argument("--checkins", type=int, default=200, help="per mentee")
    add_backend_arguments(parser)
    options = parser.parse_args()
    results = for_each_backend(options, "mentor-sync", run_backend)
    for result in results:
        print(f"\n{result['backend']} (p50 of {options.runs} runs)")
        for name, value in result.items():
            if name != "backend":
                print(f"  {name:50} {value}")
    return 0
    write_json(options.json, results)


if __name__ == "__main__":
    run_main(main)
