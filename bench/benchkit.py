"""Plumbing shared by the bench scripts.

Throwaway PostgreSQL databases, child processes that talk JSON lines over stdin/stdout
and are always stopped, CPU accounting from /proc, the app environment every process of
a run shares, and the report helpers (``fmt``, ``print_table``, ``spread``,
``percentile``). Nothing here starts anything by itself.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import queue
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def sigterm_as_interrupt() -> None:
    """SIGTERM and SIGHUP end the run through the finally blocks, like Ctrl-C does."""

    def _terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new empty database on the server of ``admin_url``; dropped however the block ends."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    log(f"created PostgreSQL database {name}")
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped PostgreSQL database {name}")


def new_vapid_private_key() -> str:
    """A fresh VAPID private key (P-256), PEM, as VAPID_PRIVATE_KEY takes it."""
    from py_vapid import Vapid02

    vapid = Vapid02()
    vapid.generate_keys()
    return str(vapid.private_pem().decode())


def app_environment(database_url: str, vapid_pem: str, **extra: str) -> dict[str, str]:
    """The environment of every app process in a run: production mode (so nothing is written
    into instance/), this database, a random SECRET_KEY and the given VAPID key."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REMINDER_", "VAPID_", "WEBPUSH_", "TWILIO_", "DATABASE_URL"))
    }
    env.update(
        {
            "HOMEWARD_ENV": "production",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "HOMEWARD_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "VAPID_PRIVATE_KEY": vapid_pem,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    # REMINDER_* from the caller's environment are passed on on purpose (batch size, lease):
    # they are the knobs of the code under test.
    env.update({k: v for k, v in os.environ.items() if k.startswith("REMINDER_")})
    env.update(extra)
    return env


def in_process_environment(
    database_url: str, vapid_pem: str, instance: Path | str, **extra: str
) -> dict[str, str]:
    """``app_environment`` for an app driven in this process through its test client:
    quiet logs, no rate limits, cheap password hashing (the benches measure the rest)."""
    return app_environment(
        database_url,
        vapid_pem,
        LOG_LEVEL="WARNING",
        RATELIMIT_ENABLED="0",
        HOMEWARD_INSTANCE_PATH=str(instance),
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="8192",
        ARGON2_PARALLELISM="1",
        **extra,
    )


def migrated_app(env: dict[str, str]) -> Any:
    """create_app() in this process with ``env`` applied, migrated to head."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from api import create_app
    from api.core.migrate import upgrade

    app = create_app()
    with app.app_context():
        upgrade(app)
    return app


# --------------------------------------------------------------------------- CPU accounting


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class PostgresCpu:
    """CPU seconds spent by the PostgreSQL processes serving one database (its backends),
    plus the server's WAL writer, checkpointer and background writer. Backends of other
    databases (another test suite on the same server) are not counted."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.database = database_url.rsplit("/", 1)[1]

    def pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname = %s AND pid <> "
                "pg_backend_pid()) OR backend_type IN "
                "('walwriter', 'checkpointer', 'background writer')",
                (self.database,),
            ).fetchall()
        return [int(row[0]) for row in rows]

    def snapshot(self) -> dict[int, float]:
        return {pid: proc_cpu_seconds(pid) for pid in self.pids()}

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds between two snapshots (backends present in both, or new in ``after``)."""
        return sum(max(cpu - before.get(pid, 0.0), 0.0) for pid, cpu in after.items())


def postgres_settings(database_url: str) -> dict[str, str]:
    import psycopg

    names = (
        "server_version",
        "synchronous_commit",
        "fsync",
        "shared_buffers",
        "autovacuum",
        "wal_sync_method",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", (list(names),)
        ).fetchall()
    settings = {}
    for name, setting, unit in rows:
        if unit == "8kB":
            setting = f"{int(setting) * 8 // 1024}MB"
        settings[name] = setting
    return settings


def load_average() -> float:
    return os.getloadavg()[0]


# --------------------------------------------------------------------------- child processes


class Child:
    """A helper process in its own session that reads commands from stdin and answers with
    JSON lines on stdout; its stderr goes to a log file. ``stop()`` ends it (its whole
    process group) whatever state it is in."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        self.pid = self.process.pid
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout,), name=f"read-{name}", daemon=True
        )
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        """The next JSON line; raises when the child exits or stays silent for ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise RuntimeError(
                    f"{self.name} (pid {self.pid}) said nothing for {timeout:.0f}s; "
                    f"log {self.log_path}:\n{self.tail()}"
                ) from None
            if line is None:
                self.process.wait(timeout=5)
                raise RuntimeError(
                    f"{self.name} (pid {self.pid}) exited with {self.process.returncode}; "
                    f"log {self.log_path}:\n{self.tail()}"
                )
            line = line.strip()
            if line.startswith("{"):
                return dict(json.loads(line))
            # Anything else on stdout (a library printing) goes to the log, not the protocol.
            with open(self.log_path, "a") as fh:
                fh.write(f"[stdout] {line}\n")

    def ask(self, command: str, timeout: float = 60.0) -> dict[str, Any]:
        self.send(command)
        return self.receive(timeout)

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        process = self.process
        if process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                self.send("quit")
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)  # the group of the child we started
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything it left behind in its group
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()


@contextlib.contextmanager
def children() -> Iterator[list[Child]]:
    """A list to put started children in; every one is stopped when the block ends."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in reversed(started):
            child.stop()


@contextlib.contextmanager
def bench_database(backend: str, workdir: Path, admin_url: str, name: str) -> Iterator[str]:
    """A database for one run: a SQLite file in ``workdir``, or a PostgreSQL database
    created for the run and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.sqlite3'}"
    else:
        with fresh_postgres_database(admin_url, "homeward_bench") as url:
            yield url


@contextlib.contextmanager
def in_process_app(
    backend: str, workdir: Path, admin_url: str, vapid_pem: str, name: str
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A migrated app on a fresh database, driven in this process (``in_process_environment``),
    with the facts of its database for the report. Disposed of afterwards."""
    with bench_database(backend, workdir, admin_url, name) as url:
        app = migrated_app(in_process_environment(url, vapid_pem, workdir / f"instance-{backend}"))
        try:
            facts: dict[str, Any] = {"database": backend}
            if backend == "postgresql":
                facts.update(postgres_settings(url))
            yield app, facts
        finally:
            app.extensions["homeward.db"].engine.dispose()


T = TypeVar("T")


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """--database (sqlite, postgresql or both), --postgres-url and --json."""
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="admin URL of the server that gets the throwaway database",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")


def for_each_backend(
    options: argparse.Namespace, name: str, run: Callable[[str, argparse.Namespace, Path, str], T]
) -> list[T]:
    """``run(backend, options, workdir, vapid_pem)`` for each backend chosen, in a temporary folder
    that is removed afterwards (an interrupt included)."""
    sigterm_as_interrupt()
    backends = ("sqlite", "postgresql") if options.database == "both" else (options.database,)
    workdir = Path(tempfile.mkdtemp(prefix=f"homeward-{name}-bench-"))
    try:
        vapid = new_vapid_private_key()
        return [run(backend, options, workdir, vapid) for backend in backends]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- report helpers


def fmt(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or "-" when there is none."""
    return "-" if value is None else format(value, spec)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]], left: int = 1) -> None:
    """A plain-text table: each column as wide as its widest cell, the first ``left``
    columns left-aligned and the others right-aligned, a rule under the header. Cells
    are printed with ``str()``: format numbers before (``fmt``)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for k, cell in enumerate(row):
            widths[k] = max(widths[k], len(cell))

    def line(row: Sequence[str]) -> str:
        return " ".join(
            cell.ljust(widths[k]) if k < left else cell.rjust(widths[k])
            for k, cell in enumerate(row)
        ).rstrip()

    print(line(list(headers)))
    print("-" * (sum(widths) + len(widths) - 1))
    for row in cells:
        print(line(row))


def spread(values: Iterable[float]) -> tuple[float, float, float]:
    """(min, median, max) of some values (at least one)."""
    present = sorted(values)
    return present[0], statistics.median(present), present[-1]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` (0-100) percentile of already sorted values, nearest rank."""
    if not ordered:
        raise ValueError("no values")
    rank = math.ceil(q / 100 * len(ordered))  # 1-based
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def peak_rss_mb() -> float:
    """getrusage(RUSAGE_SELF).ru_maxrss in MiB (Linux reports KiB). Careful: Linux keeps
    the maximum across execve, so in a process started by a big parent it is at least
    the parent's RSS when it spawned it; ``own_peak_rss_mb`` is the process's own."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_peak_rss_mb() -> float | None:
    """The peak RSS of this process's own memory since it started (VmHWM in
    /proc/self/status, reset by execve), in MiB; None where /proc has no such line."""
    return _proc_status_mb("VmHWM:")


def rss_mb() -> float | None:
    """This process's RSS now (VmRSS), in MiB."""
    return _proc_status_mb("VmRSS:")


def _proc_status_mb(field: str) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return None
