"""What field encryption costs a check-in request: requests per second with AES-GCM sealing
and opening, against the same requests with the sealing bypassed, on SQLite and PostgreSQL.

    .venv/bin/python bench/checkin_encryption.py                      # both databases, ~1 minute
    .venv/bin/python bench/checkin_encryption.py --database sqlite --seconds 1 --rounds 2

Two operations, through Flask's test client in this process (no HTTP server, so what is
measured is the app and its database, not a load generator or a socket):

* ``create``: ``POST /api/v1/checkins`` by a member, with wins (~80 characters), a note
  (~300) and a place label: three fields sealed, plus the member's data key read and
  unwrapped once per request;
* ``list 50``: ``GET /api/v1/mentees/{member}/checkins?page_size=50`` by a mentor whose grant
  has ``checkins.full``, over 50 shared check-ins: 150 fields opened, the data key read and
  unwrapped once, and one access-log row written (both variants write it).

Each with two variants, interleaved round by round (the order alternating) so that both see
the same machine:

* ``sealed``: Homeward as it is;
* ``bypassed``: ``api.core.crypto.vault.Vault.seal``/``open`` replaced, in this process only and
  only during that variant's turns, by identity functions keeping the ``hw1:`` prefix. No
  AES-GCM and no ``member_keys`` lookup; the ``SealedText`` attribute machinery still runs.
  The bypassed variant has its own member and mentor (their rows hold ``hw1:`` + plaintext,
  which the real vault would refuse), checked before and after the run.

Every response is checked (status, and for the listing 50 items with the expected text); a
single unexpected status stops the run. Apps run with HOMEWARD_ENV=production, a random
master key, rate limiting off and LOG_LEVEL=WARNING (no per-request log line); argon2 is
made cheap, which only speeds up registering the four accounts.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchkit import log
from benchkit.apps import in_process_app
from benchkit.client import Account, register, share
from benchkit.machine import load_average
from benchkit.report import (
    latency_ms,
    print_context,
    print_facts,
    print_table,
    python_and_cpus,
    spread,
)
from benchkit.run import add_backend_arguments, for_each_backend, merged, run_main, write_json
from benchkit.timing import repeat, turns

WINS = "Went to the job fair at the community college and got two callbacks for Monday."
NOTE = (
    "Rough night, the shelter was loud and I barely slept. Talked to my PO this morning and "
    "it went fine, she said the paperwork for the housing voucher is in. Still worried about "
    "the court date next month and whether I can get the day off from the warehouse. My "
    "sister called, first time in a year. Going to the library after this to print the form."
)
PLACE = "public library"
SHARED_CHECKINS = 50


@dataclass
class Result:
    backend: str
    operation: str
    variant: str
    requests: int
    seconds: float
    rps: float
    mean_ms: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # CPU of this process per request (for SQLite: the database too)
    ratio: float | None = None  # rps / bypassed rps of the same operation
    extra_ms: float | None = None  # mean ms - bypassed mean ms
    extra_cpu_ms: float | None = None  # CPU ms - bypassed CPU ms
    round_ratios: list[float] | None = None  # per round: rps / bypassed rps of that round


# --------------------------------------------------------------------------- the bypass


@contextlib.contextmanager
def sealing_bypassed() -> Iterator[None]:
    """Vault.seal/open as identity (keeping the prefix), for as long as the block runs."""
    from api.core.crypto.vault import PREFIX, Vault

    real_seal, real_open = Vault.seal, Vault.open

    def seal(self: Any, member_id: str, table: str, column: str, row_id: str, text: str) -> str:
        return PREFIX + text

    def open_(self: Any, member_id: str, table: str, column: str, row_id: str, sealed: str) -> str:
        return sealed[len(PREFIX) :]

    Vault.seal, Vault.open = seal, open_  # type: ignore[method-assign]
    try:
        yield
    finally:
        Vault.seal, Vault.open = real_seal, real_open  # type: ignore[method-assign]


def variant_context(variant: str) -> contextlib.AbstractContextManager[None]:
    return sealing_bypassed() if variant == "bypassed" else contextlib.nullcontext()


# --------------------------------------------------------------------------- setup


CHECKIN_BODY = {"mood": 3, "needs": ["housing", "work"], "wins": WINS, "note": NOTE, "place": PLACE}


def create_checkin(client: Any, member: Account) -> None:
    response = client.post("/api/v1/checkins", json=CHECKIN_BODY, headers=member.headers)
    if response.status_code != 201:
        raise RuntimeError(f"create answered {response.status_code}: {response.get_data()!r}")


def list_shared(client: Any, mentor: Account, member: Account) -> None:
    response = client.get(
        f"/api/v1/mentees/{member.account_id}/checkins",
        query_string={"page_size": SHARED_CHECKINS},
        headers=mentor.headers,
    )
    if response.status_code != 200:
        raise RuntimeError(f"list answered {response.status_code}: {response.get_data()!r}")
    items = response.get_json()["items"]
    if len(items) != SHARED_CHECKINS or items[0]["note"] != NOTE or items[-1]["wins"] != WINS:
        raise RuntimeError("the shared listing did not show the 50 check-ins in full")


def stored(app: Any, member: Account) -> list[tuple[str, str, str]]:
    from sqlalchemy import text

    with app.extensions["homeward.db"].engine.connect() as connection:
        rows = connection.execute(
            text("SELECT wins, note, place FROM checkins WHERE member_id = :m"),
            {"m": member.account_id},
        ).all()
    return [tuple(row) for row in rows]


def check_storage(app: Any, people: dict[str, dict[str, Account]]) -> dict[str, int]:
    """Sealed members' rows hold ciphertext only; bypassed members' rows hold hw1:+plaintext.
    Returns the number of rows checked per variant."""
    plain = ("hw1:" + WINS, "hw1:" + NOTE, "hw1:" + PLACE)
    counts = {}
    for variant, group in people.items():
        rows = stored(app, group["writer"]) + stored(app, group["reader"])
        for row in rows:
            if variant == "sealed":
                if any(not v.startswith("hw1:") or v in plain or WINS in v for v in row):
                    raise RuntimeError(f"a sealed member's row is not ciphertext: {row[0][:40]}")
            elif row != plain:
                raise RuntimeError(f"a bypassed member's row is not hw1:+plaintext: {row[0][:40]}")
        counts[variant] = len(rows)
    return counts


# --------------------------------------------------------------------------- measuring


def measure_operation(
    backend: str,
    operation: str,
    requests: dict[str, Callable[[], None]],
    options: argparse.Namespace,
) -> list[Result]:
    latencies: dict[str, list[float]] = {v: [] for v in requests}
    wall: dict[str, float] = dict.fromkeys(requests, 0.0)
    cpu: dict[str, float] = dict.fromkeys(requests, 0.0)
    round_rps: dict[str, list[float]] = {v: [] for v in requests}
    for variant, request in requests.items():
        with variant_context(variant):
            repeat(request, seconds=options.warmup)
    order = list(requests)
    for round_number in range(options.rounds):
        for variant in turns(round_number, order):
            with variant_context(variant):
                turn = repeat(requests[variant], seconds=options.seconds)
            latencies[variant] += turn.latencies
            wall[variant] += turn.wall
            cpu[variant] += turn.cpu
            round_rps[variant].append(turn.per_second)
    results = []
    for variant in order:
        n = len(latencies[variant])
        summary = latency_ms(latencies[variant])
        results.append(
            Result(
                backend,
                operation,
                variant,
                n,
                wall[variant],
                n / wall[variant],
                summary.mean_ms,
                summary.p50_ms,
                summary.p99_ms,
                cpu[variant] / n * 1000,
            )
        )
    base = next(r for r in results if r.variant == "bypassed")
    for result in results:
        result.ratio = result.rps / base.rps
        result.extra_ms = result.mean_ms - base.mean_ms
        result.extra_cpu_ms = result.cpu_ms - base.cpu_ms
        result.round_ratios = [
            mine / theirs
            for mine, theirs in zip(round_rps[result.variant], round_rps["bypassed"], strict=True)
        ]
    return results


def vault_micro(app: Any, member: Account, n: int = 2000) -> dict[str, float]:
    """Microseconds per seal and per open of the note alone, and per data-key fetch (one
    SELECT of member_keys plus the unwrap), in one session: no request around them."""
    from api.core.crypto import vault_of

    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        vault = vault_of(db)
        vault.cipher(member.account_id)
        began = time.perf_counter()
        sealed = [
            vault.seal(member.account_id, "checkins", "note", f"row{i}", NOTE) for i in range(n)
        ]
        seal_us = (time.perf_counter() - began) / n * 1e6
        began = time.perf_counter()
        for i, value in enumerate(sealed):
            vault.open(member.account_id, "checkins", "note", f"row{i}", value)
        open_us = (time.perf_counter() - began) / n * 1e6
        fetches = 200
        began = time.perf_counter()
        for _ in range(fetches):
            vault.forget(member.account_id)
            vault.cipher(member.account_id)
        fetch_us = (time.perf_counter() - began) / fetches * 1e6
        db.rollback()
    return {"seal_us": seal_us, "open_us": open_us, "key_fetch_us": fetch_us}


def run_backend(
    backend: str, options: argparse.Namespace, workdir: Path, vapid: str
) -> tuple[list[Result], dict[str, Any]]:
    with in_process_app(backend, workdir, options.postgres_url, vapid, "checkins") as (app, facts):
        client = app.test_client()
        people: dict[str, dict[str, Account]] = {}
        for variant in ("sealed", "bypassed"):
            with variant_context(variant):
                group = {
                    "writer": register(client, "member"),
                    "reader": register(client, "member"),
                    "mentor": register(client, "mentor"),
                }
                share(client, group["reader"], group["mentor"])
                for _ in range(SHARED_CHECKINS):
                    create_checkin(client, group["reader"])
                # Both checks before any load: the right answer, and the right storage.
                create_checkin(client, group["writer"])
                list_shared(client, group["mentor"], group["reader"])
            people[variant] = group
        check_storage(app, people)

        log(f"{backend}: create, {options.rounds} rounds of {options.seconds:g}s per variant")
        results = measure_operation(
            backend,
            "create",
            {v: functools.partial(create_checkin, client, g["writer"]) for v, g in people.items()},
            options,
        )
        log(f"{backend}: list 50, {options.rounds} rounds of {options.seconds:g}s per variant")
        results += measure_operation(
            backend,
            "list 50",
            {
                v: functools.partial(list_shared, client, g["mentor"], g["reader"])
                for v, g in people.items()
            },
            options,
        )
        # No turn of one variant leaked into the other's rows.
        facts["rows checked"] = check_storage(app, people)
        facts.update(vault_micro(app, people["sealed"]["reader"]))
    return results, facts


# --------------------------------------------------------------------------- report


def print_results(results: list[Result]) -> None:
    print_table(
        [
            "database",
            "operation",
            "variant",
            "requests",
            "req/s",
            "mean ms",
            "p50 ms",
            "p99 ms",
            "CPU ms",
            "ratio",
            "+ms",
        ],
        [
            [
                r.backend,
                r.operation,
                r.variant,
                r.requests,
                f"{r.rps:.1f}",
                f"{r.mean_ms:.3f}",
                f"{r.p50_ms:.3f}",
                f"{r.p99_ms:.3f}",
                f"{r.cpu_ms:.3f}",
                f"{r.ratio or 0:.3f}",
                f"{r.extra_ms or 0:.3f}",
            ]
            for r in results
        ],
        left=3,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=0.75, help="measured seconds per variant per round"
    )
    parser.add_argument("--rounds", type=int, default=8, help="rounds (variants alternate)")
    parser.add_argument("--warmup", type=float, default=0.5, help="untimed seconds per variant")
    add_backend_arguments(parser)
    options = parser.parse_args()

    load_before, began = load_average(), time.monotonic()
    results, all_facts = merged(for_each_backend(options, "checkin", run_backend))

    print()
    print(
        f"Homeward check-in field encryption: Flask test client in one process, "
        f"{options.rounds} rounds x {options.seconds:g}s per variant and operation "
        f"(+{options.warmup:g}s warm-up), variants alternating; {python_and_cpus()}"
    )
    for facts in all_facts:
        print_facts(facts, hidden=[k for k in facts if k.endswith("_us")])
        print(
            f"  {facts['database']}: one note ({len(NOTE)} chars) sealed in "
            f"{facts['seal_us']:.1f} us, opened in {facts['open_us']:.1f} us; one data-key "
            f"fetch (SELECT member_keys + unwrap) {facts['key_fetch_us']:.0f} us"
        )
    print_context(load_before)
    print()
    print_results(results)
    print()
    print(
        "ratio = req/s / bypassed req/s of the same database and operation; "
        "+ms = mean ms - bypassed mean ms"
    )
    for r in results:
        if r.variant == "sealed":
            print(
                f"  {r.backend} {r.operation}: encryption costs {(1 - (r.ratio or 0)) * 100:.1f}% "
                f"of throughput ({r.extra_ms or 0:+.3f} ms wall, {r.extra_cpu_ms or 0:+.3f} ms "
                f"CPU of this process per request)"
            )
            ratios = r.round_ratios or [0.0]
            low, median, high = spread(ratios)
            print(
                f"    per-round ratio: median {median:.3f}, "
                f"range {low:.3f}-{high:.3f} over {len(ratios)} rounds"
            )
    print(f"total run time {time.monotonic() - began:.0f}s")
    write_json(options.json, {"results": [asdict(r) for r in results], "facts": all_facts})
    return 0


if __name__ == "__main__":
    run_main(main)
