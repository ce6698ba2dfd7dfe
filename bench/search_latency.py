"""Directory search latency on PostgreSQL with a metropolitan-sized directory.

    .venv/bin/python bench/search_latency.py [--services 100000] [--requests 200]

What it does, in order:

1. makes a throwaway PostgreSQL database (``homeward_bench_search_<random>`` on
   ``--postgres-url`` / ``BENCH_POSTGRES_URL``), migrates it, and loads ``--services``
   listings spread over the San Francisco Bay Area: organizations, services with reentry
   facts, locations (one in ten services has two), addresses, service_at_location,
   categories (attributes over a two-level taxonomy), languages, the derived weekly
   ``opening_hours`` and ``search_documents``, all with ``COPY`` (what
   ``indexing.refresh`` would have derived, computed here in bulk); then ``ANALYZE``;
2. for each query shape (text; radius; text + radius + open at + facet) runs ``--requests``
   requests through Flask's test client (``GET /api/v1/resources?...``), cycling over 20
   different parameter sets, after a short warm-up;
3. for the same parameter sets, captures the SQL the app sends (with SQLAlchemy's
   ``before_cursor_execute``) and replays it on a plain psycopg connection: once the
   statements of ``resources.search.queries.search_services`` alone (the search), once every
   statement of the request (search + loading the page's hits);
4. prints median and p95 per shape for the API and both replays, the ratios, the average
   number of matches, and the size of a page of hits (20 and 100) with and without gzip.

The database is dropped however the run ends. Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from benchkit import log
from benchkit.apps import fresh_postgres_database, postgres_settings
from benchkit.machine import load_average
from benchkit.report import percentile, print_table
from benchkit.run import add_postgres_argument, run_main
from benchkit.timing import cycle, repeat

# City centres of the Bay Area; most listings cluster around them.
CITIES = [
    ("San Francisco", 37.7793, -122.4193, 0.25),
    ("Oakland", 37.8044, -122.2712, 0.18),
    ("San Jose", 37.3382, -121.8863, 0.2),
    ("Berkeley", 37.8715, -122.2730, 0.06),
    ("Fremont", 37.5485, -121.9886, 0.07),
    ("Hayward", 37.6688, -122.0808, 0.06),
    ("Richmond", 37.9358, -122.3477, 0.05),
    ("Daly City", 37.6879, -122.4702, 0.05),
    ("San Mateo", 37.5630, -122.3255, 0.04),
    ("Palo Alto", 37.4419, -122.1430, 0.04),
]
BOX = (37.2, 38.0, -122.6, -121.75)  # min lat, max lat, min lng, max lng
SERVICE_WORDS = [
    "job", "jobs", "training", "housing", "shelter", "legal", "clinic", "food", "pantry",
    "recovery", "reentry", "resume", "welding", "kitchen", "culinary", "warehouse",
    "forklift", "counseling", "mentoring", "transit", "benefits", "expungement", "record",
    "clearance", "employment", "apprenticeship", "construction", "childcare", "health",
    "dental", "mental", "substance", "detox", "veterans", "youth", "women", "family",
    "literacy", "computer", "coding", "driving", "license", "identification", "parole",
    "probation", "support", "peer", "transitional", "sober", "living",
]  # fmt: skip
SUFFIXES = ["Center", "Program", "Services", "Project", "Network", "Works", "House", "Hub"]
PATTERNS = [  # (share, ranges as (days, opens minute, closes minute))
    (0.45, [(range(5), 540, 1020)]),  # weekdays 09:00-17:00
    (0.2, [(range(5), 480, 720), (range(5), 780, 1020)]),  # with a lunch break
    (0.1, [(range(7), 0, 1440)]),  # round the clock
    (0.1, [(range(7), 1320, 1440), (range(1, 8), 0, 120)]),  # nightly 22:00-02:00
    (0.15, []),  # no hours published
]
AT = "2024-06-10T10:00:00-07:00"  # a Monday morning
NOW = datetime(2024, 6, 10, 17, 0, tzinfo=UTC)
STAMP = "2024-06-01 12:00:00"


# --------------------------------------------------------------------------- the data


def filler_words(rng: random.Random, count: int) -> list[str]:
    syllables = ["ba", "ce", "di", "fo", "gu", "ha", "ki", "lo", "mu", "na", "pe", "ri", "so"]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def a_point(rng: random.Random) -> tuple[float, float]:
    if rng.random() < 0.25:
        return rng.uniform(BOX[0], BOX[1]), rng.uniform(BOX[2], BOX[3])
    _, lat, lng, _ = rng.choices(CITIES, weights=[c[3] for c in CITIES])[0]
    return (
        min(max(rng.gauss(lat, 0.04), BOX[0]), BOX[1]),
        min(max(rng.gauss(lng, 0.05), BOX[2]), BOX[3]),
    )


def an_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(services: int, seed: int = 20240610) -> dict[str, list[tuple[Any, ...]]]:
    """Rows per table, as COPY takes them."""
    from resources.search.indexing import normalize

    rng = random.Random(seed)
    filler = filler_words(rng, 3000)
    zipf = [1 / (rank + 1) for rank in range(len(filler))]
    rows: dict[str, list[tuple[Any, ...]]] = {
        name: []
        for name in (
            "organizations",
            "taxonomy_terms",
            "services",
            "locations",
            "addresses",
            "service_at_location",
            "attributes",
            "languages",
            "opening_hours",
            "search_documents",
        )
    }
    terms: list[tuple[str, str]] = []  # (id, name)
    for p in range(10):
        parent_id, parent_code = an_id(rng), f"{101 + p}"
        parent_name = f"{SERVICE_WORDS[p * 3].title()} services"
        rows["taxonomy_terms"].append(
            (parent_id, parent_code, parent_name, "", f"/{parent_code}/", "homeward", STAMP, STAMP)
        )
        for c in range(5):
            child_id, code = an_id(rng), f"{parent_code}-{c + 1:02d}"
            name = f"{SERVICE_WORDS[(p * 5 + c) % len(SERVICE_WORDS)].title()} help"
            rows["taxonomy_terms"].append(
                (child_id, code, name, "", f"/{parent_code}/{code}/", "homeward", STAMP, STAMP)
            )
            terms.append((child_id, name))
    organizations = []
    for o in range(max(services // 50, 1)):
        city = rng.choice(CITIES)[0]
        name = f"{city} {rng.choice(SERVICE_WORDS).title()} {rng.choice(SUFFIXES)} {o}"
        organization_id = an_id(rng)
        organizations.append((organization_id, name))
        rows["organizations"].append((organization_id, name, "", STAMP, STAMP))
    pattern_weights = [p[0] for p in PATTERNS]
    for _ in range(services):
        service_id = an_id(rng)
        organization_id, organization_name = rng.choice(organizations)
        city = rng.choice(CITIES)[0]
        words = rng.sample(SERVICE_WORDS, 2)
        name = f"{city} {words[0].title()} {words[1].title()} {rng.choice(SUFFIXES)}"
        description = " ".join(
            rng.sample(SERVICE_WORDS, 4) + rng.choices(filler, weights=zipf, k=rng.randint(8, 20))
        )
        rows["services"].append(
            (
                service_id,
                organization_id,
                name,
                description,
                "active" if rng.random() < 0.97 else "inactive",
                rng.choice([True, True, False, None]),
                rng.choice(["none", "after_conditional_offer", "required", None]),
                rng.choice(["yes", "no", "unknown"]),
                rng.choice(["yes", "no", "unknown", "unknown"]),
                rng.random() < 0.1,
                rng.random() < 0.1,
                rng.random() < 0.05,
                rng.random() < 0.1,
                rng.random() < 0.3,
                STAMP,
                STAMP,
                STAMP,
            )
        )
        chosen_terms = rng.sample(terms, rng.choice([1, 1, 2]))
        for term_id, _ in chosen_terms:
            rows["attributes"].append((an_id(rng), service_id, term_id, "service", STAMP, STAMP))
        for code in ["en"] + (["es"] if rng.random() < 0.4 else []):
            rows["languages"].append((an_id(rng), service_id, code, STAMP, STAMP))
        place_names = []
        for k in range(2 if rng.random() < 0.1 else 1):
            location_id = an_id(rng)
            lat, lng = a_point(rng)
            place_name = f"{city} site {k + 1}"
            place_names.append(place_name)
            rows["locations"].append(
                (
                    location_id,
                    organization_id,
                    "physical",
                    place_name,
                    lat,
                    lng,
                    "America/Los_Angeles",
                    STAMP,
                    STAMP,
                )
            )
            rows["addresses"].append(
                (
                    an_id(rng),
                    location_id,
                    f"{rng.randint(1, 9999)} Main St",
                    city,
                    "CA",
                    "94103",
                    "US",
                    "physical",
                    STAMP,
                    STAMP,
                )
            )
            rows["service_at_location"].append((an_id(rng), service_id, location_id, STAMP, STAMP))
            pattern = rng.choices(PATTERNS, weights=pattern_weights)[0][1]
            for days, opens, closes in pattern:
                for day in days:
                    rows["opening_hours"].append(
                        (service_id, location_id, "America/Los_Angeles", day % 7, opens, closes)
                    )
        body = normalize(
            " ".join(
                [name, description, organization_name, *(t for _, t in chosen_terms), *place_names]
            )
        )
        rows["search_documents"].append(("service", service_id, body))
    return rows


COLUMNS = {
    "organizations": "id, name, description, created_at, updated_at",
    "taxonomy_terms": "id, code, name, description, path, taxonomy, created_at, updated_at",
    "services": (
        "id, organization_id, name, description, status, fair_chance, background_check, "
        "accepts_records, accepts_registrants, recovery_housing, transitional, "
        "sobriety_required, federally_assisted, requires_id, last_verified_at, created_at, "
        "updated_at"
    ),
    "locations": (
        "id, organization_id, location_type, name, latitude, longitude, timezone, created_at, "
        "updated_at"
    ),
    "addresses": (
        "id, location_id, address_1, city, state_province, postal_code, country, address_type, "
        "created_at, updated_at"
    ),
    "service_at_location": "id, service_id, location_id, created_at, updated_at",
    "attributes": "id, link_id, taxonomy_term_id, link_entity, created_at, updated_at",
    "languages": "id, service_id, code, created_at, updated_at",
    "opening_hours": "service_id, location_id, timezone, weekday, opens_minute, closes_minute",
    "search_documents": "kind, record_id, body",
}


def load(database_url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    import psycopg

    with psycopg.connect(database_url) as conn:
        for table, columns in COLUMNS.items():
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows[table]:
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")


# --------------------------------------------------------------------------- the queries


def query_sets(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    pairs = [
        "job train", "housing", "legal exp", "food pant", "recov", "welding", "resume help",
        "sober living", "peer support", "forklift", "culinary kitchen", "parole", "dental",
        "childcare", "computer coding", "veterans housing", "women shelter", "youth mentor",
        "reentry employment", "driving license",
    ]  # fmt: skip
    points = []
    for _ in range(20):
        _, lat, lng, _ = rng.choice(CITIES)
        points.append(
            (round(lat + rng.uniform(-0.02, 0.02), 5), round(lng + rng.uniform(-0.02, 0.02), 5))
        )
    return {
        "text": [{"q": q} for q in pairs],
        "radius": [{"lat": lat, "lng": lng, "radius_m": 2000} for lat, lng in points],
        "combined": [
            {
                "q": q.split()[0],
                "lat": lat,
                "lng": lng,
                "radius_m": 5000,
                "at": AT,
                "fair_chance": "true",
            }
            for q, (lat, lng) in zip(pairs, points, strict=True)
        ],
    }


class Capture:
    """The statements an engine sends while ``active``."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.active = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.active:
            self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


def timed(function: Callable[[], Any], count: int, budget_s: float) -> list[float]:
    """Milliseconds of ``count`` calls, or of as many as fit in ``budget_s`` (at least 20)."""
    return [
        1000 * s for s in repeat(function, count=count, seconds=budget_s, at_least=20).latencies
    ]


def p95(values: list[float]) -> float:
    return percentile(sorted(values), 95)


def replayer(raw: Any, statements: list[tuple[str, Any]]) -> Callable[[], None]:
    """Runs captured statements on a plain psycopg connection, fetching every row (the
    request's own stamping UPDATE, if any, returns none)."""

    def replay() -> None:
        for statement, parameters in statements:
            cursor = raw.execute(statement, parameters)
            if cursor.description is not None:  # a statement that returns rows
                cursor.fetchall()

    return replay


def check(response: Any) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)


def run(args: argparse.Namespace) -> None:
    import psycopg

    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="homeward-bench-search-") as folder,
        fresh_postgres_database(args.postgres_url, "homeward_bench_search") as url,
    ):
        from api import create_app
        from api.core.db import get_session
        from api.core.migrate import upgrade
        from resources.listings import schemas
        from resources.search import queries

        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                "RATELIMIT_ENABLED": False,
                "LOG_LEVEL": "WARNING",
                "INSTANCE_PATH": folder,
            }
        )
        engine = app.extensions["homeward.db"].engine
        try:
            with app.app_context():
                upgrade(app)
            t0 = time.perf_counter()
            rows = generate(args.services)
            t1 = time.perf_counter()
            load(url, rows)
            t2 = time.perf_counter()
            counts = ", ".join(f"{name} {len(r):,}" for name, r in rows.items())
            log(f"generated in {t1 - t0:.1f}s, loaded with COPY + ANALYZE in {t2 - t1:.1f}s")
            settings = postgres_settings(url)
            print(f"PostgreSQL {settings.get('server_version')}, shared_buffers "
                  f"{settings.get('shared_buffers')}; {os.cpu_count()} CPUs; load average "
                  f"{load_average():.2f}")  # fmt: skip
            print(f"rows: {counts}")
            print(f"data generated in {t1 - t0:.1f}s, COPY + ANALYZE {t2 - t1:.1f}s")

            client = app.test_client()
            capture = Capture(engine)
            shapes = query_sets()
            raw = psycopg.connect(url, autocommit=True)
            results = []
            for shape, sets in shapes.items():
                # The statements of each parameter set: the whole request, and search alone.
                request_sql, search_sql, totals = [], [], []
                for params in sets:
                    with capture.recording() as statements:
                        response = client.get("/api/v1/resources", query_string=params)
                    assert response.status_code == 200, response.get_data(as_text=True)
                    totals.append(response.get_json()["total"])
                    request_sql.append(list(statements))
                    with app.test_request_context(), capture.recording() as statements:
                        loaded = schemas.ResourceSearchArgs().load(
                            {k: str(v) for k, v in params.items()}
                        )
                        found = queries.search_services(get_session(), loaded, NOW)
                    assert found[1] == totals[-1], (shape, params)
                    search_sql.append(list(statements))

                def api_call(sets: list[dict[str, Any]] = sets) -> Callable[[], None]:
                    def one(query: dict[str, Any]) -> None:
                        check(client.get("/api/v1/resources", query_string=query))

                    return cycle([functools.partial(one, p) for p in sets])

                budget = args.budget
                timed(api_call(), 10, budget / 5)
                api = timed(api_call(), args.requests, budget)
                timed(cycle([replayer(raw, b) for b in search_sql]), 10, budget / 5)
                raw_search = timed(
                    cycle([replayer(raw, b) for b in search_sql]), args.requests, budget
                )
                raw_all = timed(
                    cycle([replayer(raw, b) for b in request_sql]), args.requests, budget
                )
                results.append(
                    (
                        shape,
                        statistics.median(api),
                        p95(api),
                        statistics.median(raw_search),
                        p95(raw_search),
                        statistics.median(raw_all),
                        p95(raw_all),
                        statistics.mean(totals),
                        len(search_sql[0]),
                        len(request_sql[0]),
                        (len(api), len(raw_search), len(raw_all)),
                    )
                )
            raw.close()

            print()
            print(
                f"{args.requests} requests per shape (20 parameter sets, cycled), Flask test "
                "client in this process; raw = the same SQL replayed on a psycopg connection"
            )
            print_table(
                [
                    "shape",
                    "API p50",
                    "API p95",
                    "search p50",
                    "search p95",
                    "all-SQL p50",
                    "all-SQL p95",
                    "API/search",
                    "API/all-SQL",
                    "matches",
                    "stmts",
                    "n (API/search/all)",
                ],
                [
                    [
                        shape,
                        *(f"{ms:.1f}" for ms in (a50, a95, s50, s95, r50, r95)),
                        f"{a50 / s50:.2f}",
                        f"{a50 / r50:.2f}",
                        f"{matches:.0f}",
                        f"{n_search}/{n_all}",
                        "/".join(map(str, ns)),
                    ]
                    for shape, a50, a95, s50, s95, r50, r95, matches, n_search, n_all, ns in results
                ],
            )
            print(
                "(milliseconds; ratios of medians; stmts = search statements / all of the request)"
            )

            print()
            print("size of one page of hits (q=job, lat/lng in San Francisco, sort=distance):")
            for page_size in (20, 100):
                params = {
                    "q": "job",
                    "lat": 37.7793,
                    "lng": -122.4193,
                    "sort": "distance",
                    "page_size": page_size,
                }
                plain = client.get("/api/v1/resources", query_string=params)
                zipped = client.get(
                    "/api/v1/resources", query_string=params, headers={"Accept-Encoding": "gzip"}
                )
                assert zipped.headers.get("Content-Encoding") == "gzip"
                print(
                    f"  page_size {page_size:>3}: {len(plain.data):>7,} bytes plain, "
                    f"{len(zipped.data):>6,} bytes gzip ({len(plain.data) / len(zipped.data):.1f}x)"
                )
        finally:
            engine.dispose()
    print(f"\ntotal run time {time.perf_counter() - started:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--budget",
        type=float,
        default=15.0,
        help="seconds per measured series; a slow shape stops early (n is printed)",
    )
    add_postgres_argument(parser)
    run(parser.parse_args())
    return 0


if __name__ == "__main__":
    run_main(main)
