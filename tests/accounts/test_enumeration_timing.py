"""No user enumeration by timing (issue 10, item 4).

``POST /auth/token`` and ``POST /auth/recover`` must do the same work for an unknown
username as for a known one with a wrong secret: the same argon2 calls, the same SQL
statements, the same rate-limit bookkeeping, and so the same time. Two kinds of test:
a structural one (count the real work) and a timing one (interleaved tries, medians and
a Mann-Whitney U test, printed so ``pytest -s`` shows the figures).
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event

from tests.fixtures.http import assert_problem

TOKEN = "/api/v1/auth/token"
RECOVER = "/api/v1/auth/recover"
WRONG_CODE = "AAAA-BBBB-CCCC-DDDD"
UNKNOWN = "nobody-at-all"

# Each case: the path, and the body of a refused attempt for a username.
CASES: dict[str, tuple[str, Callable[[str], dict[str, str]]]] = {
    "token": (TOKEN, lambda username: {"username": username, "password": "not the password"}),
    "recover": (
        RECOVER,
        lambda username: {
            "username": username,
            "recovery_code": WRONG_CODE,
            "new_password": "a brand new long walk",
        },
    ),
}

TRIES = 60  # per username and round, alternating
ROUNDS = 3
ALPHA = 0.001  # "no significant difference" at this strict level
MEDIAN_TOLERANCE = 0.15  # relative difference of the medians allowed


@pytest.fixture
def generous_limits(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The limiter stays on (its bookkeeping is part of the work) but lets every try through.
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_USERNAME", "100000/minute")
    monkeypatch.setitem(app.config, "RATELIMIT_CREDENTIALS_PER_IP", "100000/minute")


class Work:
    """Counts calls into the real argon2 PasswordHasher and the SQL statements sent."""

    def __init__(self) -> None:
        self.argon2: Counter[str] = Counter()
        self.statements: list[str] = []


@pytest.fixture
def work(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    counted = Work()
    for name in ("hash", "verify", "check_needs_rehash"):
        real = getattr(PasswordHasher, name)

        def wrapper(self: Any, *args: Any, _real: Any = real, _name: str = name) -> Any:
            counted.argon2[_name] += 1
            return _real(self, *args)

        monkeypatch.setattr(PasswordHasher, name, wrapper)

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted.statements.append(" ".join(statement.split()))

    engine = app.extensions["homeward.db"].engine
    event.listen(engine, "before_cursor_execute", on_statement)
    yield counted
    event.remove(engine, "before_cursor_execute", on_statement)


def _attempt(client: Any, work: Work, case: str, username: str) -> tuple[Counter[str], list[str]]:
    path, body = CASES[case]
    work.argon2.clear()
    work.statements.clear()
    assert_problem(client.post(path, json=body(username)), 401)
    return Counter(work.argon2), list(work.statements)


@pytest.mark.parametrize("case", sorted(CASES))
def test_unknown_and_known_usernames_do_the_same_work(client, accounts, work, case):
    person = accounts.register()

    known_argon2, known_sql = _attempt(client, work, case, person.username)
    unknown_argon2, unknown_sql = _attempt(client, work, case, UNKNOWN)

    assert unknown_argon2 == known_argon2
    assert unknown_sql == known_sql
    if case == "token":
        # The refusal of a wrong password is an argon2 verification, so is the unknown one.
        assert known_argon2["verify"] == 1


# --- timing ---------------------------------------------------------------------------


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test, normal approximation with tie
    correction (fine for 40 against 40)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    rank_sum_a = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum_a - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance == 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)  # continuity correction
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def test_the_u_test_tells_equal_from_shifted_samples():
    same = [float(x % 7) for x in range(40)]
    assert mann_whitney_p(same, list(reversed(same))) > 0.9
    assert mann_whitney_p(same, [x + 10 for x in same]) < 1e-10


@dataclass(frozen=True)
class Round:
    known_median: float
    unknown_median: float
    p: float

    @property
    def relative_gap(self) -> float:
        return abs(self.known_median - self.unknown_median) / max(
            self.known_median, self.unknown_median
        )

    @property
    def alike(self) -> bool:
        return self.p > ALPHA and self.relative_gap < MEDIAN_TOLERANCE

    def __str__(self) -> str:
        return (
            f"median known {self.known_median * 1000:.2f} ms, "
            f"unknown {self.unknown_median * 1000:.2f} ms, Mann-Whitney p = {self.p:.3g}"
        )


def _measure(once: Callable[[str], float], known: str, unknown: str) -> Round:
    timings: dict[str, list[float]] = {known: [], unknown: []}
    gc.collect()
    gc.disable()  # a collection inside one try would land on one side only
    try:
        for i in range(TRIES):
            # Interleaved, and the order flips each round, so drift in load hits both alike.
            for username in (known, unknown) if i % 2 else (unknown, known):
                timings[username].append(once(username))
    finally:
        gc.enable()
    return Round(
        statistics.median(timings[known]),
        statistics.median(timings[unknown]),
        mann_whitney_p(timings[known], timings[unknown]),
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_unknown_and_known_usernames_take_the_same_time(client, accounts, generous_limits, case):
    person = accounts.register()
    path, body = CASES[case]

    def once(username: str) -> float:
        start = time.perf_counter()
        response = client.post(path, json=body(username))
        elapsed = time.perf_counter() - start
        assert response.status_code == 401, response.get_json()
        return elapsed

    for _ in range(5):  # warm caches and connections for both
        once(person.username)
        once(UNKNOWN)
    backend = client.application.extensions["homeward.db"].engine.dialect.name
    rounds: list[Round] = []
    # A burst of load from elsewhere can spoil one round, so a failed round is measured
    # again; a real difference (the one this guards against gave p < 1e-9) fails every one.
    while len(rounds) < ROUNDS and not (rounds and rounds[-1].alike):
        rounds.append(_measure(once, person.username, UNKNOWN))
        print(f"\n{case} ({backend}), {TRIES} interleaved tries each: {rounds[-1]}")

    assert rounds[-1].alike, "; ".join(map(str, rounds))
