"""CPU and memory accounting from /proc, and how busy the machine is."""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) so far."""
    times = os.times()
    return times.user + times.system


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


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


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
