"""Requests per second of Homeward's auth paths under gunicorn, against a bare Flask app.

    .venv/bin/python bench/auth_throughput.py [--seconds N] [--database sqlite|postgresql]

What it does, in order:

1. makes a fresh database (a SQLite file in a temporary folder, or a throwaway
   PostgreSQL database that is dropped at the end) and migrates it with
   ``flask --app wsgi db upgrade``;
2. starts two gunicorns with the project's gunicorn.conf.py and GUNICORN_WORKERS=2 on free
   localhost ports: Homeward (``wsgi:app``, RATELIMIT_ENABLED=0 so the limiter does not turn
   the load into 429s) and the bare app (``bench/bare_app.py``, one route returning ``{}``);
3. registers one account through the API and checks each endpoint answers 200 with the
   expected body;
4. for each of bare ``GET /``, ``GET /api/v1/me`` (bearer token) and
   ``POST /api/v1/auth/token`` (JSON username/password) runs a short warm-up and then
   ``--seconds`` of load at ``--concurrency`` connections, with ``wrk`` when it is on PATH
   (``apt-get install wrk``) and otherwise a Python load generator (processes, http.client);
5. prints req/s (200 responses only), p50/p99 latency, how many responses were not 200,
   and the ratio to the bare endpoint, plus the argon2id parameters the stored hash uses.

The gunicorns are stopped (their whole process groups) and the database dropped however
the run ends. Nothing outside a temporary folder is written unless ``--json`` is given.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchkit import BENCH, ROOT, log
from benchkit.apps import app_environment, bench_database
from benchkit.children import stop_process_group
from benchkit.machine import load_average
from benchkit.report import fmt, percentile, print_context, print_table
from benchkit.run import add_backend_arguments, run_main, temporary_folder, write_json

VENV_BIN = Path(sys.executable).parent
USERNAME = "bench.user"


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], Any]:
    """One request; returns status, headers and the decoded JSON body (or the raw text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = dict(headers or {})
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, decoded
    finally:
        conn.close()


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def _gunicorn_has_control_socket() -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket" for setting in KNOWN_SETTINGS)


def start_gunicorn(
    name: str, app: str, port: int, env: dict[str, str], workdir: Path, extra_args: list[str]
) -> Server:
    log_path = workdir / f"gunicorn-{name}.log"
    server_env = dict(
        env,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        PROMETHEUS_MULTIPROC_DIR=str(workdir / f"metrics-{name}"),
    )
    Path(server_env["PROMETHEUS_MULTIPROC_DIR"]).mkdir()
    args = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    if _gunicorn_has_control_socket():
        # gunicorn 27's control socket defaults to one path per user ($HOME/.gunicorn/
        # gunicorn.ctl), shared by every gunicorn on the machine: give each its own.
        args += ["--control-socket", str(workdir / f"{name}.ctl")]
    args += [*extra_args, app]
    with open(log_path, "wb") as log_file:
        # Own session (process group): stopping it stops master and workers, nothing else.
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=server_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    log(f"started gunicorn '{name}' (pid {process.pid}) on 127.0.0.1:{port}")
    return Server(name, port, process, log_path)


def stop_gunicorn(server: Server) -> None:
    if server.process.poll() is not None:
        return
    stop_process_group(server.process, grace=15)
    log(f"stopped gunicorn '{server.name}' (pid {server.process.pid})")


def wait_until_answers(server: Server, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn '{server.name}' exited with {server.process.returncode}"
                f":\n{server.tail()}"
            )
        try:
            status, _, body = request(server.port, "GET", path, timeout=2)
            if status == 200:
                return
            last = f"{status} {body}"
        except OSError as error:
            last = repr(error)
        time.sleep(0.2)
    raise RuntimeError(
        f"gunicorn '{server.name}' did not answer 200 on {path} within "
        f"{timeout:.0f}s (last: {last}):\n{server.tail()}"
    )


# --------------------------------------------------------------------------- database


def run_checked(args: list[str], env: dict[str, str], failure: str) -> str:
    """Run a command in the project's root; its stdout, or an error with its output."""
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{failure}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def migrate(env: dict[str, str]) -> None:
    run_checked(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env, "migration failed"
    )


APP_FACTS = """
import json
from api import create_app
from api.core.extensions import limiter
app = create_app()
c = app.config
print(json.dumps({
    "RATELIMIT_ENABLED": c["RATELIMIT_ENABLED"],
    "limiter_enabled": bool(limiter.enabled),
    "ARGON2_TIME_COST": c["ARGON2_TIME_COST"],
    "ARGON2_MEMORY_COST": c["ARGON2_MEMORY_COST"],
    "ARGON2_PARALLELISM": c["ARGON2_PARALLELISM"],
    "engine": app.extensions["homeward.db"].engine.dialect.name,
    "pool": type(app.extensions["homeward.db"].engine.pool).__name__,
    "api_package": __import__("api").__file__,
}))
"""


def app_facts(env: dict[str, str]) -> dict[str, Any]:
    """The configuration the gunicorn workers will see, read from a real create_app()."""
    output = run_checked([sys.executable, "-c", APP_FACTS], env, "could not build the app")
    return dict(json.loads(output.strip().splitlines()[-1]))


def stored_password_hash(database_url: str) -> str:
    from sqlalchemy import text

    from api.core.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT password_hash FROM accounts WHERE username = :u"), {"u": USERNAME}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def argon2_params(password_hash: str) -> dict[str, int]:
    match = re.match(r"^\$argon2id\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$", password_hash)
    if not match:
        raise RuntimeError(f"the stored hash is not argon2id: {password_hash[:20]}...")
    m, t, p = (int(x) for x in match.groups())
    return {"memory_cost_kib": m, "time_cost": t, "parallelism": p}


def argon2_verify_cost(params: dict[str, int], rounds: int = 5) -> tuple[float, float]:
    """Wall and CPU seconds of one verify with ``params``, in this process, on an idle machine."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(
        time_cost=params["time_cost"],
        memory_cost=params["memory_cost_kib"],
        parallelism=params["parallelism"],
    )
    hashed = hasher.hash("correct horse battery")
    hasher.verify(hashed, "correct horse battery")
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        hasher.verify(hashed, "correct horse battery")
    return ((time.perf_counter() - wall) / rounds, (time.process_time() - cpu) / rounds)


# --------------------------------------------------------------------------- load


@dataclass
class Target:
    name: str
    port: int
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class Result:
    endpoint: str
    client: str
    seconds: float
    concurrency: int
    responses: int
    ok: int
    not_ok: int
    socket_errors: int
    statuses: dict[str, int]
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    worker_restarts: int = 0
    ratio: float | None = None


WRK_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {{}} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counts = {{}}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {{}}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {{"duration_us": %d, "requests": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}, ' ..
    '"statuses": {{%s}}}}\\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def run_wrk(target: Target, seconds: float, concurrency: int, workdir: Path) -> Result:
    headers = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in target.headers.items()
    )
    script = workdir / f"wrk-{re.sub(r'[^a-z0-9]+', '-', target.name.lower())}.lua"
    script.write_text(
        WRK_SCRIPT.format(
            method=_lua_string(target.method),
            body=_lua_string(target.body.decode()) if target.body is not None else "nil",
            headers=headers,
        )
    )
    threads = max(1, min(concurrency, os.cpu_count() or 1))
    args = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(concurrency),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://127.0.0.1:{target.port}{target.path}",
    ]
    result = subprocess.run(
        args, capture_output=True, text=True, check=False, timeout=seconds + 120
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    duration = data["duration_us"] / 1e6
    statuses = {str(k): int(v) for k, v in data["statuses"].items()}
    ok = statuses.get("200", 0)
    responses = sum(statuses.values())
    socket_errors = sum(data["errors"][k] for k in ("connect", "read", "write", "timeout"))
    return Result(
        target.name,
        "wrk",
        duration,
        concurrency,
        responses,
        ok,
        responses - ok,
        socket_errors,
        statuses,
        ok / duration if duration else 0.0,
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
    )


def _python_client(
    args: tuple[Target, float, float],
) -> tuple[Counter[str], list[float], int, float]:
    """One connection's loop: requests until ``deadline``; returns statuses and latencies."""
    target, start_at, deadline = args
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    errors = 0
    time.sleep(max(0.0, start_at - time.time()))
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    last = time.time()
    while time.time() < deadline:
        began = time.perf_counter()
        try:
            conn.request(target.method, target.path, body=target.body, headers=target.headers)
            response = conn.getresponse()
            response.read()  # a "Connection: close" answer closes; request() reopens
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
            continue
        latencies.append(time.perf_counter() - began)
        statuses[str(response.status)] += 1
        last = time.time()
    conn.close()
    return statuses, latencies, errors, last


def _client_signals() -> None:
    # Forked clients must not inherit main()'s SIGTERM handler: Pool.terminate() stops
    # them with SIGTERM, and a KeyboardInterrupt raised in a pool worker can hang it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_python(target: Target, seconds: float, concurrency: int) -> Result:
    start_at = time.time() + 0.5
    deadline = start_at + seconds
    context = multiprocessing.get_context("fork")
    pool = context.Pool(concurrency, initializer=_client_signals)
    try:
        parts = pool.map(_python_client, [(target, start_at, deadline)] * concurrency)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    errors, ended = 0, start_at
    for part_statuses, part_latencies, part_errors, part_last in parts:
        statuses.update(part_statuses)
        latencies.extend(part_latencies)
        errors += part_errors
        ended = max(ended, part_last)
    duration = max(ended - start_at, 1e-9)
    latencies.sort()

    def pct(q: float) -> float | None:
        return percentile(latencies, q) * 1000 if latencies else None

    ok = statuses.get("200", 0)
    responses = sum(statuses.values())
    return Result(
        target.name,
        "python",
        duration,
        concurrency,
        responses,
        ok,
        responses - ok,
        errors,
        dict(statuses),
        ok / duration,
        pct(50),
        pct(99),
    )


def drain(server: Server, probe_path: str, concurrency: int) -> None:
    """Wait until the requests a load generator left in flight have been answered.

    wrk stops at its deadline with ``concurrency`` requests sent and unanswered; a sync
    gunicorn worker still answers each of them (for the token endpoint that is seconds of
    argon2), which would eat into the next measurement. Probes sent now queue behind them,
    so once ``concurrency`` probes have come back, the backlog is gone.
    """
    threads = [
        threading.Thread(
            target=request, args=(server.port, "GET", probe_path), kwargs={"timeout": 120}
        )
        for _ in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure(
    target: Target,
    seconds: float,
    concurrency: int,
    client: str,
    workdir: Path,
    server: Server,
    probe_path: str,
) -> Result:
    drain(server, probe_path, concurrency)
    before = server.log_text().count("Autorestarting worker")
    if client == "wrk":
        result = run_wrk(target, seconds, concurrency, workdir)
    else:
        result = run_python(target, seconds, concurrency)
    result.worker_restarts = server.log_text().count("Autorestarting worker") - before
    drain(server, probe_path, concurrency)
    return result


# --------------------------------------------------------------------------- report


HEADERS = [
    "endpoint",
    "req/s",
    "p50 ms",
    "p99 ms",
    "ratio",
    "200s",
    "non-200",
    "sock err",
    "recycles",
]


def print_results(results: list[Result]) -> None:
    print_table(
        HEADERS,
        [
            [
                r.endpoint,
                f"{r.rps:.1f}",
                fmt(r.p50_ms, ".2f"),
                fmt(r.p99_ms, ".2f"),
                fmt(r.ratio, ".3f"),
                r.ok,
                r.not_ok,
                r.socket_errors,
                r.worker_restarts,
            ]
            for r in results
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="open connections")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (auto: wrk when on PATH)",
    )
    add_backend_arguments(parser, choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the temporary folder (gunicorn logs) and print its path",
    )
    parser.add_argument(
        "--gunicorn-arg",
        action="append",
        default=[],
        help="extra gunicorn argument for both servers, e.g. "
        "--gunicorn-arg=--max-requests=0 (repeatable)",
    )
    options = parser.parse_args()

    client = options.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    elif client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on PATH (apt-get install wrk), use --client python")

    # Other work on the machine skews every figure; say how busy it was before we started.
    options.load_before = load_average()
    servers: list[Server] = []
    results: list[Result] = []
    with (
        temporary_folder("auth", keep=options.keep_logs) as workdir,
        bench_database(options.database, workdir, options.postgres_url, "homeward-bench") as url,
    ):
        env = app_environment(
            url,
            None,
            {
                "RATELIMIT_ENABLED": "0",
                # Nothing is written into the project's instance folder.
                "HOMEWARD_INSTANCE_PATH": str(workdir / "instance"),
                "GUNICORN_WORKERS": str(options.workers),
            },
            # ARGON2_* from the caller's environment are passed on on purpose: they are the
            # knob this benchmark is about.
            replaced=("GUNICORN_", "ARGON2_", "RATELIMIT_"),
            passed=("ARGON2_",),
        )
        try:
            migrate(env)
            facts = app_facts(env)
            if facts["RATELIMIT_ENABLED"] or facts["limiter_enabled"]:
                raise RuntimeError(f"RATELIMIT_ENABLED=0 is not honoured by the app: {facts}")

            homeward = start_gunicorn(
                "homeward", "wsgi:app", free_port(), env, workdir, options.gunicorn_arg
            )
            servers.append(homeward)
            bare = start_gunicorn(
                "bare",
                "bare_app:app",
                free_port(),
                env,
                workdir,
                ["--pythonpath", str(BENCH), *options.gunicorn_arg],
            )
            servers.append(bare)
            wait_until_answers(homeward, "/readyz")
            wait_until_answers(bare, "/")

            results = run_benchmark(options, client, workdir, homeward, bare, url, facts)
        finally:
            for server in servers:
                stop_gunicorn(server)
    write_json(options.json, [asdict(r) for r in results])
    bad = [r for r in results if r.not_ok or r.ok == 0]
    return 1 if bad else 0


def run_benchmark(
    options: argparse.Namespace,
    client: str,
    workdir: Path,
    homeward: Server,
    bare: Server,
    database_url: str,
    facts: dict[str, Any],
) -> list[Result]:
    password = "bench-" + uuid.uuid4().hex[:16]
    status, headers, body = request(
        homeward.port,
        "POST",
        "/api/v1/auth/register",
        {
            "username": USERNAME,
            "password": password,
            "role": "member",
            "device_name": "bench",
        },
    )
    if status != 201:
        raise RuntimeError(f"registering the bench account answered {status}: {body}")
    if any(h.startswith("x-ratelimit") for h in headers):
        raise RuntimeError("the rate limiter is active (X-RateLimit-* headers on register)")
    access_token = body["tokens"]["access_token"]
    credentials = json.dumps({"username": USERNAME, "password": password}).encode()

    targets = [
        (Target("bare GET /", bare.port, "GET", "/"), bare, "/"),
        (
            Target(
                "GET /api/v1/me",
                homeward.port,
                "GET",
                "/api/v1/me",
                {"Authorization": f"Bearer {access_token}"},
            ),
            homeward,
            "/healthz",
        ),
        (
            Target(
                "POST /api/v1/auth/token",
                homeward.port,
                "POST",
                "/api/v1/auth/token",
                {"Content-Type": "application/json"},
                credentials,
            ),
            homeward,
            "/healthz",
        ),
    ]
    # Each answers 200 with the body it should, before any load.
    checks: dict[str, Callable[[Any], bool]] = {
        "bare GET /": lambda b: b == {},
        "GET /api/v1/me": lambda b: isinstance(b, dict) and b.get("username") == USERNAME,
        "POST /api/v1/auth/token": lambda b: (
            isinstance(b, dict)
            and b.get("account", {}).get("username") == USERNAME
            and "access_token" in b.get("tokens", {})
        ),
    }
    for target, _server, _probe in targets:
        status, headers, body = request(
            target.port,
            target.method,
            target.path,
            json.loads(target.body) if target.body else None,
            {k: v for k, v in target.headers.items() if k != "Content-Type"},
        )
        if status != 200 or not checks[target.name](body):
            raise RuntimeError(f"{target.name} answered {status} before the load: {body}")
        if any(h.startswith("x-ratelimit") for h in headers):
            raise RuntimeError(f"the rate limiter is active on {target.name}")

    params = argon2_params(stored_password_hash(database_url))
    wall, cpu = argon2_verify_cost(params)
    cores = os.cpu_count() or 1

    print()
    print(
        f"Homeward auth throughput: database={options.database}, "
        f"gunicorn workers={options.workers} (sync), concurrency={options.concurrency}, "
        f"{options.seconds:g}s per endpoint after {options.warmup:g}s warm-up, client={client}, "
        f"{cores} CPUs, Python {platform.python_version()}"
    )
    print(
        f"argon2id in use (stored hash): time_cost={params['time_cost']}, "
        f"memory_cost={params['memory_cost_kib']} KiB ({params['memory_cost_kib'] / 1024:g} MiB), "
        f"parallelism={params['parallelism']}; config: time_cost={facts['ARGON2_TIME_COST']}, "
        f"memory_cost={facts['ARGON2_MEMORY_COST']} KiB, "
        f"parallelism={facts['ARGON2_PARALLELISM']}"
    )
    print(
        f"one verify in this process (servers idle): {wall * 1000:.0f} ms wall, "
        f"{cpu * 1000:.0f} ms CPU "
        f"-> at most ~{cores / cpu:.1f} sign-ins/s on {cores} CPUs from hashing alone"
    )
    print(
        f"rate limiting: RATELIMIT_ENABLED={facts['RATELIMIT_ENABLED']} "
        f"(limiter.enabled={facts['limiter_enabled']}); "
        f"engine={facts['engine']} pool={facts['pool']}"
    )
    print_context(options.load_before, Path(facts["api_package"]).parent.parent)
    print(flush=True)

    results = []
    for target, server, probe in targets:
        if options.warmup > 0:
            log(f"warm-up {target.name} ({options.warmup:g}s)")
            measure(target, options.warmup, options.concurrency, client, workdir, server, probe)
        log(f"measuring {target.name} ({options.seconds:g}s)")
        result = measure(
            target, options.seconds, options.concurrency, client, workdir, server, probe
        )
        results.append(result)
        if result.not_ok or result.socket_errors:
            log(
                f"WARNING {target.name}: {result.not_ok} responses were not 200 "
                f"({result.statuses}), {result.socket_errors} socket errors"
            )
        for s in (homeward, bare):
            if s.process.poll() is not None:
                raise RuntimeError(f"gunicorn '{s.name}' died during the run:\n{s.tail()}")

    base = results[0].rps
    for result in results:
        result.ratio = result.rps / base if base else None
    print_results(results)
    print()
    print(
        "req/s counts 200 responses only; ratio = req/s / bare req/s; "
        "recycles = workers restarted by gunicorn's max_requests during the measurement."
    )
    if any(r.not_ok for r in results):
        print("SOME RESPONSES WERE NOT 200: the figures above are not trustworthy.")
    return results


if __name__ == "__main__":
    run_main(main, "servers stopped, database dropped")
