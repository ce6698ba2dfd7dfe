"""Report helpers: numbers, tables, statistics, and the lines a report starts with."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchkit import ROOT

BUSY_LOAD = 0.5  # a 1-minute load average above this: something else was using the CPUs


def fmt(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or "-" when there is none."""
    return "-" if value is None else format(value, spec)


def print_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], left: int = 1, indent: str = ""
) -> None:
    """A plain-text table: each column as wide as its widest cell, the first ``left``
    columns left-aligned and the others right-aligned, a rule under the header. Cells
    are printed with ``str()``: format numbers before (``fmt``)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for k, cell in enumerate(row):
            widths[k] = max(widths[k], len(cell))

    def line(row: Sequence[str]) -> str:
        return (
            indent
            + " ".join(
                cell.ljust(widths[k]) if k < left else cell.rjust(widths[k])
                for k, cell in enumerate(row)
            ).rstrip()
        )

    print(line(list(headers)))
    print(indent + "-" * (sum(widths) + len(widths) - 1))
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


@dataclass
class Latency:
    """Mean, p50 and p99 of some durations, in milliseconds."""

    mean_ms: float
    p50_ms: float
    p99_ms: float


def latency_ms(seconds: Iterable[float]) -> Latency:
    """``Latency`` of durations given in seconds (at least one)."""
    ordered = sorted(seconds)
    return Latency(
        1000 * statistics.fmean(ordered),
        1000 * percentile(ordered, 50),
        1000 * percentile(ordered, 99),
    )


def code_version() -> str:
    """The commit under test, and whether reminders/ or api/ have uncommitted changes."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return "(not a git checkout)"
    dirty = git("status", "--porcelain", "--", "reminders", "api")
    return head + (" + uncommitted changes in reminders/ or api/" if dirty else "")


def python_and_cpus() -> str:
    """ "Python 3.x.y, N CPUs": what a title says of the machine."""
    return f"Python {platform.python_version()}, {os.cpu_count()} CPUs"


def print_context(load_before: float, code: Path | str = ROOT) -> None:
    """The lines under a report's title: the code under test, and how busy the machine was
    before the run (other work on it skews every figure)."""
    busy = (
        " (BUSY: other processes are using the CPUs; expect noisy figures)"
        if load_before > BUSY_LOAD
        else ""
    )
    print(f"code under test: {code}")
    print(f"1-minute load average before the run: {load_before:.2f}{busy}")


def print_facts(facts: Mapping[str, object], hidden: Iterable[str] = ()) -> None:
    """One indented line ``key=value, ...`` of a run's facts (those not ``hidden``)."""
    skip = set(hidden)
    print("  " + ", ".join(f"{k}={v}" for k, v in facts.items() if k not in skip))
