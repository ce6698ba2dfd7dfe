"""Reminder deliveries per second on PostgreSQL: Homeward's dispatcher in 1 and 2 processes
against the naive design (one APScheduler job per reminder) and against the ceiling (the
same sending with no database), for Web Push and for SMS; then a 100,000-delivery peak.

    .venv/bin/python bench/dispatch_throughput.py [--rounds 3] [--peak 100000] [--no-sms]

What one run does:

1. makes a throwaway PostgreSQL database (dropped at the end), migrates it, generates a
   VAPID key and Twilio credentials; starts the push sink (``bench/push_sink.py``) and the
   Twilio sink (``bench/twilio_sink.py``), each in its own process, answering at once over
   keep-alive HTTP; inserts one member, device, phone number and appointment per index
   (``bench/dispatch_fixture.py``);
2. for Web Push, then SMS, ``--rounds`` rounds of: the naive design
   (``bench/dispatch_naive.py``), Homeward with 1 and 2 processes, the ceiling with 1 and 2
   processes (``bench/dispatch_workers.py`` has every role); prints each round and the
   min/median/max of the ratios the issue sets goals for;
3. the peak: ``--peak`` push deliveries due within one minute that has just ended, drained
   by 2 Homeward processes: the time until the last one, lateness p50/p99, peak RSS;
4. checks every run: each delivery arrived exactly once, every outbox row is 'sent';
   exits 1 when one did not.

Every process it starts runs in its own session and is stopped however the run ends
(Ctrl-C and SIGTERM included); the database is dropped and the temporary folder removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchkit import BENCH, ROOT, log
from benchkit.apps import (
    app_environment,
    fresh_postgres_database,
    migrated_app,
    new_vapid_private_key,
    postgres_settings,
)
from benchkit.children import Child, children
from benchkit.machine import PostgresCpu, load_average, machine_cpu
from benchkit.report import code_version, fmt, percentile, print_context, print_table, spread
from benchkit.run import (
    add_json_argument,
    add_postgres_argument,
    run_main,
    temporary_folder,
    write_json,
)
from dispatch_fixture import (
    delivery_states,
    due_times,
    fresh_deliveries,
    insert_members,
    stamp_for_sync,
)
from dispatch_naive import run_naive
from twilio_sink import FROM_NUMBER

WORKERS = str(BENCH / "dispatch_workers.py")
CHANNEL_NAMES = {"push": "Web Push", "sms": "SMS (twilio client)"}
# (numerator, denominator, goal, label): the issue's acceptance goals for 2 processes.
GOALS = (
    (("homeward", 2), ("naive", 1), 15.0, "Homeward x2 / naive"),
    (("homeward", 2), ("ceiling", 2), 0.60, "Homeward x2 / ceiling x2"),
    (("homeward", 2), ("homeward", 1), 1.80, "Homeward x2 / Homeward x1"),
)
RSS_GOAL_MB = 100.0


@dataclass
class Run:
    """One measured run: one design, one channel, some processes."""

    channel: str  # "push" or "sms"
    design: str  # "naive", "homeward", "ceiling" (or a naive variant)
    label: str
    processes: int
    deliveries: int  # what should arrive
    round: int = 0
    checked: bool = True  # its problems fail the run (the naive variants' are the point)
    seconds: float = 0.0
    accepted: int = 0  # messages the sink accepted
    distinct: int = 0  # deliveries that arrived at least once
    duplicates: int = 0  # accepted beyond the first for one delivery
    refused: int = 0  # requests the sink refused
    worker_cpu: float = 0.0  # CPU seconds of the measured processes
    postgres_cpu: float | None = None  # CPU seconds of this database's PostgreSQL processes
    sink_cpu: float = 0.0
    machine_busy: float = 0.0  # share of all CPUs busy during the run, anyone's
    others_busy: float | None = None  # share of all CPUs busy with anything but this run
    rss_mb: list[float] = field(default_factory=list)  # own peak RSS (VmHWM) per process
    maxrss_mb: list[float] = field(default_factory=list)  # ru_maxrss per process
    states: dict[str, int] = field(default_factory=dict)  # outbox rows by state at the end
    stats: dict[str, float] = field(default_factory=dict)  # the dispatchers' own, summed
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.distinct / self.seconds if self.seconds > 0 else 0.0

    @property
    def key(self) -> tuple[str, int]:
        return self.design, self.processes


class Bench:
    """What every run of one bench shares: options, environment, database, sinks, the
    children started so far and the dispatcher's batch size and threads."""

    def __init__(
        self,
        options: argparse.Namespace,
        env: dict[str, str],
        kids: list[Child],
        workdir: Path,
        sinks: dict[str, Child],
        subscriptions: list[list[str]],
        settings: dict[str, Any],
    ) -> None:
        self.options = options
        self.env = env
        self.database_url = env["DATABASE_URL"]
        self.kids = kids
        self.workdir = workdir
        self.sinks = sinks
        self.subscriptions = subscriptions
        self.subscriptions_file = workdir / "subscriptions.json"
        self.settings = settings
        self.ready: dict[int, dict[str, Any]] = {}  # each worker's ready line, by pid

    # ----------------------------------------------------------------- processes

    def start_workers(self, role: str, args: list[list[str]], log_name: str) -> list[Child]:
        """len(args) processes of ``role``, started together; returns when all are ready."""
        workers = []
        for k, arguments in enumerate(args):
            child = Child(
                f"{role}-{k}",
                [sys.executable, WORKERS, role, *arguments],
                self.env,
                self.workdir / f"{log_name}-{k}.log",
            )
            self.kids.append(child)
            workers.append(child)
        for child in workers:
            self.ready[child.pid] = child.receive(timeout=180)
        return workers

    def stop_workers(self, workers: list[Child]) -> None:
        for child in workers:
            child.stop()
            self.kids.remove(child)

    @contextlib.contextmanager
    def measured(self) -> Iterator[dict[str, float]]:
        """CPU of this database's PostgreSQL processes and of the whole machine over a block."""
        pg = PostgresCpu(self.database_url)
        box: dict[str, float] = {}
        pg_before, (busy_before, total_before) = pg.snapshot(), machine_cpu()
        try:
            yield box
        finally:
            pg_after, (busy_after, total_after) = pg.snapshot(), machine_cpu()
            box["postgres_cpu"] = PostgresCpu.used(pg_before, pg_after)
            box["busy_cpu"] = busy_after - busy_before
            box["total_cpu"] = max(total_after - total_before, 1e-9)
            box["machine_busy"] = box["busy_cpu"] / box["total_cpu"]

    @staticmethod
    def others(run: Run, box: dict[str, float]) -> None:
        """The share of all CPUs that was busy with anything but this run's processes (the
        measured ones, this database's PostgreSQL processes, the sink): other work on the
        machine. The load average cannot say that: it counts the send threads too."""
        ours = run.worker_cpu + (run.postgres_cpu or 0.0) + run.sink_cpu
        run.others_busy = max(box["busy_cpu"] - ours, 0.0) / box["total_cpu"]

    def apply_sink(self, run: Run, sink_cpu_before: float) -> dict[str, Any]:
        """What the channel's sink counted since its reset, checked against the run."""
        stats = self.sinks[run.channel].ask("stats")
        run.accepted, run.distinct = stats["accepted"], stats["distinct"]
        run.duplicates, run.refused = stats["duplicates"], stats["refused"]
        run.sink_cpu = stats["cpu"] - sink_cpu_before
        if run.distinct != run.deliveries:
            run.problems.append(f"{run.deliveries - run.distinct} deliveries never arrived")
        if run.duplicates:
            run.problems.append(f"{run.duplicates} arrived more than once")
        if run.refused:
            run.problems.append(f"the sink refused {run.refused} requests")
        return stats

    def go(
        self, run: Run, workers: list[Child], timeout: float, before: Any = None
    ) -> list[dict[str, Any]]:
        """Reset the sink, run ``before`` (inserting the deliveries), say go to every worker at
        once and collect their reports; fills the run's timing, CPU and sink counts."""
        if before is not None:
            before()
        sink = self.sinks[run.channel]
        sink.ask("reset")
        sink_cpu = sink.ask("stats")["cpu"]
        with self.measured() as box:
            for child in workers:
                child.send("go")
            reports = [child.receive(timeout=timeout) for child in workers]
        self.stop_workers(workers)
        run.seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
        run.worker_cpu = sum(r["cpu"] for r in reports)
        run.rss_mb = [r["peak_rss_mb"] for r in reports]
        run.maxrss_mb = [r["ru_maxrss_mb"] for r in reports]
        run.postgres_cpu, run.machine_busy = box["postgres_cpu"], box["machine_busy"]
        run.extra["go"] = min(r["started"] for r in reports)
        run.extra["sink"] = self.apply_sink(run, sink_cpu)
        self.others(run, box)
        return reports

    # ----------------------------------------------------------------- the designs

    def homeward(
        self, channel: str, processes: int, n: int, round_: int, window: float = 600.0
    ) -> Run:
        """``processes`` dispatchers draining n deliveries due over the last ``window`` s."""
        run = Run(channel, "homeward", f"Homeward x{processes}", processes, n, round_)
        log(f"{CHANNEL_NAMES[channel]}, round {round_}: {run.label} draining {n}")
        workers = self.start_workers("dispatcher", [[]] * processes, f"dispatcher-{channel}")
        run.extra["rss_ready_mb"] = [self.ready[child.pid].get("rss_mb") for child in workers]
        run.extra["due_end"] = None

        def insert() -> None:
            run.extra["due_end"] = fresh_deliveries(self.database_url, n, channel, window)

        reports = self.go(run, workers, timeout=n / 20 + 120, before=insert)
        stats: Counter[str] = Counter()
        for report in reports:
            stats.update(report.get("stats") or {})
        run.stats = dict(stats)
        run.extra["per_process"] = [
            {"claimed": r["claimed"], "wall": r["wall"], "cpu": r["cpu"]} for r in reports
        ]
        run.extra["walls"] = sum(r["wall"] for r in reports)
        run.states = delivery_states(self.database_url)
        not_sent = sum(count for state, count in run.states.items() if state != "sent")
        if not_sent:
            run.problems.append(f"{not_sent} outbox rows not 'sent': {run.states}")
        return run

    def ceiling(self, channel: str, processes: int, n: int, round_: int) -> Run:
        run = Run(channel, "ceiling", f"ceiling x{processes}", processes, n, round_)
        log(f"{CHANNEL_NAMES[channel]}, round {round_}: {run.label}, {n} sends, no database")
        batch, threads = self.settings["batch_size"], self.settings["threads"]
        args = [
            [
                channel,
                str(self.subscriptions_file),
                str(k),
                str(processes),
                str(n),
                str(batch),
                str(threads),
            ]
            for k in range(processes)
        ]
        workers = self.start_workers("ceiling", args, f"ceiling-{channel}")
        reports = self.go(run, workers, timeout=n / 20 + 120)
        outcomes: Counter[str] = Counter()
        for report in reports:
            outcomes.update(report["outcomes"])
        if set(outcomes) != {"sent"}:
            run.problems.append(f"outcomes {dict(outcomes)}")
        return run

    def naive(
        self, channel: str, n: int, round_: int, grace: str = "none", schedulers: int = 1
    ) -> Run:
        label = {
            ("none", 1): "naive (APScheduler, grace=None)",
            ("default", 1): "naive, default grace 1s",
            ("none", 2): "naive x2 sharing the store",
        }[(grace, schedulers)]
        headline = (grace, schedulers) == ("none", 1)
        design = "naive" if headline else label
        run = Run(channel, design, label, schedulers, n, round_, checked=headline)
        return run_naive(self, run, grace, schedulers)  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- the peak

    def peak(self, n: int) -> Run:
        """n push deliveries due evenly over the minute that has just ended, 2 dispatchers."""
        run = self.homeward("push", 2, n, 0, window=60.0)
        run.label = f"peak: {n:,} due in one minute, Homeward x2"
        path = self.workdir / "first-accepted.bin"
        self.sinks["push"].ask(f"times {path}")
        accepted = array("d")
        accepted.frombytes(path.read_bytes())
        due = due_times(self.database_url, n)
        go, last = run.extra["go"], run.extra["sink"]["last"] or 0.0
        arrived = [i for i in range(n) if accepted[i] and due[i]]
        lateness = sorted(accepted[i] - due[i] for i in arrived)
        after_go = sorted(accepted[i] - go for i in arrived)
        latest_due = max(due[:n]) if n else 0.0

        def cut(values: list[float], q: float) -> float | None:
            return percentile(values, q) if values else None

        run.extra["peak"] = {
            "due_window_s": 60.0,
            "last_due_before_go_s": go - latest_due,
            "last_after_go_s": last - go,
            "last_after_last_due_s": last - latest_due,
            "lateness_p50_s": cut(lateness, 50),
            "lateness_p99_s": cut(lateness, 99),
            "lateness_max_s": cut(lateness, 100),
            "after_go_p50_s": cut(after_go, 50),
            "after_go_p99_s": cut(after_go, 99),
        }
        return run


# --------------------------------------------------------------------------- one channel


def run_channel(bench: Bench, channel: str, n: int, naive_n: int) -> list[Run]:
    runs: list[Run] = []
    for round_ in range(1, bench.options.rounds + 1):
        if naive_n:
            runs.append(bench.naive(channel, naive_n, round_))
        for processes in (1, 2):
            runs.append(bench.homeward(channel, processes, n, round_))
        for processes in (1, 2):
            runs.append(bench.ceiling(channel, processes, n, round_))
        print_round([r for r in runs if r.round == round_], channel, round_)
    return runs


def ratios(runs: list[Run]) -> list[dict[str, Any]]:
    """Per goal: the ratio in each round where both sides ran, min/median/max, verdicts."""
    rounds = sorted({r.round for r in runs})
    out = []
    for numerator, denominator, goal, label in GOALS:
        values = []
        for round_ in rounds:
            of_round = {r.key: r for r in runs if r.round == round_}
            top, bottom = of_round.get(numerator), of_round.get(denominator)
            if top and bottom and bottom.per_second:
                values.append(top.per_second / bottom.per_second)
        if not values:
            continue
        low, median, high = spread(values)
        out.append(
            {
                "ratio": label,
                "values": values,
                "min": low,
                "median": median,
                "max": high,
                "goal": goal,
                "met": sum(1 for v in values if v >= goal),
                "verdict": "PASS" if median >= goal else "MISS",
            }
        )
    return out


# --------------------------------------------------------------------------- report


def per_delivery_ms(seconds: float | None, run: Run) -> str:
    return fmt(None if seconds is None else 1000 * seconds / max(run.distinct, 1), ".2f")


def print_round(runs: list[Run], channel: str, round_: int) -> None:
    print()
    print(f"-- {CHANNEL_NAMES[channel]}, round {round_} --")
    print_table(
        [
            "run",
            "procs",
            "deliveries",
            "seconds",
            "deliv/s",
            "CPU ms/d",
            "pg ms/d",
            "sink ms/d",
            "busy%",
            "others%",
            "peak RSS MB",
            "check",
        ],
        [
            [
                r.label,
                r.processes,
                r.deliveries,
                f"{r.seconds:.2f}",
                f"{r.per_second:.0f}",
                per_delivery_ms(r.worker_cpu, r),
                per_delivery_ms(r.postgres_cpu, r),
                per_delivery_ms(r.sink_cpu, r),
                f"{100 * r.machine_busy:.0f}",
                fmt(None if r.others_busy is None else 100 * r.others_busy, ".0f"),
                "/".join(fmt(mb, ".0f") for mb in r.rss_mb),
                "ok" if not r.problems else "; ".join(r.problems),
            ]
            for r in runs
        ],
    )
    sys.stdout.flush()


def print_ratios(summary: list[dict[str, Any]], rounds: int) -> None:
    print_table(
        [
            "ratio",
            *(f"round {k}" for k in range(1, rounds + 1)),
            "min",
            "median",
            "max",
            "goal",
            "verdict (median)",
            "rounds meeting it",
        ],
        [
            [
                s["ratio"],
                *(f"{v:.2f}" for v in s["values"]),
                *([""] * (rounds - len(s["values"]))),
                f"{s['min']:.2f}",
                f"{s['median']:.2f}",
                f"{s['max']:.2f}",
                f">= {s['goal']:.2f}",
                s["verdict"],
                f"{s['met']}/{len(s['values'])}",
            ]
            for s in summary
        ],
    )


def print_phases(runs: list[Run]) -> None:
    """The dispatchers' own phase timers, per delivery and as a share of their sum. With
    REMINDER_LANES > 1 a process has batches in flight in several lanes at once, so the
    phases add up to more than its wall time: 'lane-s / wall' says how much more."""
    timed = [r for r in runs if r.design == "homeward" and r.stats]
    if not timed:
        print("(this dispatcher keeps no phase stats: Dispatcher.stats is missing)")
        return
    phases = ("claim", "send", "settle")
    rows = []
    for r in timed:
        per = max(r.stats.get("claimed", 0), 1)
        spent = [r.stats.get(p, 0.0) for p in phases]
        busy = max(sum(spent), 1e-9)
        batches = r.stats.get("batches", 0)
        rows.append(
            [
                r.label if r.round <= 1 else f"{r.label} (round {r.round})",
                *(f"{1000 * seconds / per:.3f} ({100 * seconds / busy:.0f}%)" for seconds in spent),
                f"{busy / max(r.extra.get('walls', 0.0), 1e-9):.2f}",
                int(batches),
                fmt(r.stats.get("claimed", 0) / batches if batches else None, ".0f"),
                *(
                    fmt(1000 * r.stats.get(p, 0.0) / batches if batches else None, ".1f")
                    for p in phases
                ),
            ]
        )
    print_table(
        [
            "dispatcher run",
            "claim+prepare ms/d",
            "send ms/d",
            "settle ms/d",
            "lane-s / wall",
            "batches",
            "rows/batch",
            "claim+prepare ms/batch",
            "send ms/batch",
            "settle ms/batch",
        ],
        rows,
    )


def print_channel(runs: list[Run], channel: str, options: argparse.Namespace) -> None:
    summary = ratios(runs)
    print()
    print(f"== {CHANNEL_NAMES[channel]}: ratios over {options.rounds} round(s) ==")
    print_ratios(summary, options.rounds)
    print()
    print(
        f"Phases of the Homeward runs ({CHANNEL_NAMES[channel]}), from Dispatcher.stats: wall "
        "seconds a batch spent in 'claim' (the claim\nstatement, loading and rendering the "
        "batch, one transaction), 'send' (waiting for its sends on the thread pool), 'settle'"
        "\n(the batched result statements); summed over batches, lanes and processes, per "
        "delivery and as a share of their sum;\n'lane-s / wall' = that sum / the processes' "
        "summed wall time (above 1 when lanes overlap):"
    )
    print_phases(runs)


def print_peak(run: Run) -> None:
    peak = run.extra["peak"]
    print()
    print(f"== Peak: {run.deliveries:,} Web Push deliveries due in one minute, Homeward x2 ==")
    print(
        f"due evenly over {peak['due_window_s']:.0f} s, the last one "
        f"{peak['last_due_before_go_s']:.1f} s before the dispatchers started"
    )
    print(
        f"time until the last one: {peak['last_after_go_s']:.1f} s after the start "
        f"({peak['last_after_last_due_s']:.1f} s after the last due time); "
        f"{run.per_second:.0f} deliveries/s over {run.seconds:.1f} s; CPU per delivery: "
        f"dispatchers {per_delivery_ms(run.worker_cpu, run)} ms, PostgreSQL "
        f"{per_delivery_ms(run.postgres_cpu, run)} ms; busy {100 * run.machine_busy:.0f}%, "
        f"others {fmt(None if run.others_busy is None else 100 * run.others_busy, '.0f')}%"
    )
    print(
        f"lateness (first accepted - due_at): p50 {fmt(peak['lateness_p50_s'], '.1f')} s, "
        f"p99 {fmt(peak['lateness_p99_s'], '.1f')} s, max {fmt(peak['lateness_max_s'], '.1f')} s"
        f"; of which after the start: p50 {fmt(peak['after_go_p50_s'], '.1f')} s, "
        f"p99 {fmt(peak['after_go_p99_s'], '.1f')} s"
    )
    ready = run.extra.get("rss_ready_mb", [])
    for k, (own, maxrss) in enumerate(zip(run.rss_mb, run.maxrss_mb, strict=True)):
        print(
            f"dispatcher {k}: peak RSS {fmt(own, '.1f')} MB (VmHWM, goal < {RSS_GOAL_MB:.0f} MB: "
            f"{verdict(own)}); {fmt(ready[k] if k < len(ready) else None, '.1f')} MB when "
            f"ready, before any work; ru_maxrss {maxrss:.1f} MB"
        )
    print(
        "  (ru_maxrss is at least the bench process's RSS when it started the dispatcher: Linux "
        "keeps the maximum across execve;\n   VmHWM is the dispatcher's own peak since its exec)"
    )
    print(f"check: {'all sent, each exactly once' if not run.problems else run.problems}")
    print_phases([run])


def verdict(rss_mb: float | None) -> str:
    return "-" if rss_mb is None else "PASS" if rss_mb < RSS_GOAL_MB else "MISS"


def print_header(
    options: argparse.Namespace, pg: dict[str, str], settings: dict[str, Any], load: float
) -> None:
    print()
    print(
        f"Homeward reminder dispatch: batch size {settings['batch_size']}, send threads "
        f"{fmt(settings['threads'], 'd')}, lanes {settings['lanes']}, lease "
        f"{settings['lease_seconds']:.0f}s; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"PostgreSQL {pg.get('server_version')}: synchronous_commit="
        f"{pg.get('synchronous_commit')}, fsync={pg.get('fsync')}, "
        f"shared_buffers={pg.get('shared_buffers')}, autovacuum={pg.get('autovacuum')} "
        "(VACUUM ANALYZE after each bulk insert)"
    )
    print(
        "sinks: push (asyncio HTTP/1.1 keep-alive, 201 at once, no decryption), Twilio "
        "Messages API (same server, 201 + message JSON); each its own process"
    )
    print(
        f"runs: Web Push {options.deliveries:,} deliveries (naive {options.naive_deliveries:,}),"
        f" SMS {options.sms_deliveries if options.sms else 0:,} (naive "
        f"{options.sms_naive_deliveries if options.sms else 0:,}), {options.rounds} round(s); "
        f"peak {options.peak:,}; naive = APScheduler 3 SQLAlchemyJobStore, "
        f"ThreadPoolExecutor({options.naive_threads}), misfire_grace_time=None"
    )
    print_context(load, f"{ROOT} at {code_version()}")
    sys.stdout.flush()


def print_goals(all_runs: list[Run], peak: Run | None) -> None:
    print()
    print("== Goals ==")
    for channel in ("push", "sms"):
        for s in ratios([r for r in all_runs if r.channel == channel]):
            print(
                f"{s['verdict']}: {CHANNEL_NAMES[channel]} {s['ratio']} median {s['median']:.2f} "
                f"(min {s['min']:.2f}, max {s['max']:.2f}; goal >= {s['goal']:.2f}, "
                f"{s['met']}/{len(s['values'])} rounds)"
            )
    if peak is not None:
        sent = not peak.problems
        print(f"{'PASS' if sent else 'MISS'}: peak of {peak.deliveries:,} all sent exactly once")
        for k, mb in enumerate(peak.rss_mb):
            print(
                f"{verdict(mb)}: dispatcher {k} peak RSS {fmt(mb, '.1f')} MB through the peak "
                f"(VmHWM; goal < {RSS_GOAL_MB:.0f} MB)"
            )
    bad = [r for r in all_runs if r.checked and r.problems]
    print(
        f"{'PASS' if not bad else 'FAIL'}: correctness, {len(all_runs)} runs checked"
        + "".join(f"\n    {r.channel} round {r.round} {r.label}: {r.problems}" for r in bad)
    )


# --------------------------------------------------------------------------- main


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rounds", type=int, default=3, help="rounds of every design (default 3; 0: peak only)")
    add("--deliveries", type=int, default=10_000, help="push deliveries per Homeward/ceiling run")
    add("--naive-deliveries", type=int, default=3_000, help="push jobs per naive run (0 skips)")
    add("--sms", action=argparse.BooleanOptionalAction, default=True, help="the SMS part")
    add("--sms-deliveries", type=int, default=3_000, help="SMS per Homeward/ceiling run")
    add("--sms-naive-deliveries", type=int, default=1_000, help="SMS jobs per naive run")
    add("--peak", type=int, default=100_000, help="deliveries due in one minute (0 skips)")
    add(
        "--naive-extras",
        action="store_true",
        help="also the naive design with the default "
        "misfire grace (1 s) and with two schedulers sharing one store, once, push",
    )
    add("--naive-threads", type=int, default=10, help="each naive scheduler's thread pool")
    add("--naive-timeout", type=float, default=600.0, help="seconds to wait for one naive run")
    add("--naive-lead", type=float, default=6.0, help="seconds from writing the jobs to their run")
    add("--batch-size", type=int, help="REMINDER_BATCH_SIZE (default: the app's)")
    add("--threads", type=int, help="REMINDER_SEND_THREADS (default: the app's)")
    add("--lanes", type=int, help="REMINDER_LANES (default: the app's)")
    add_postgres_argument(parser)
    add_json_argument(parser)
    add("--keep-logs", action="store_true", help="keep the temporary folder (process logs)")
    options = parser.parse_args()
    if not options.sms:
        options.sms_deliveries = options.sms_naive_deliveries = 0
    return options


def dispatcher_settings(app: Any) -> dict[str, Any]:
    """Batch size, send threads and lease as Homeward's dispatcher reads them."""
    from reminders.dispatch import Dispatcher

    dispatcher = Dispatcher.for_app(app)
    settings = dispatcher.settings
    with contextlib.suppress(AttributeError):
        dispatcher.close()
    threads = getattr(settings, "threads", None)
    return {
        "batch_size": settings.batch_size,
        "threads": threads if threads else 1,  # before the rewrite: one send at a time
        "lanes": getattr(settings, "lanes", 1),  # batches in flight per process
        "lease_seconds": settings.lease.total_seconds(),
    }


def start_sinks(
    kids: list[Child], env: dict[str, str], workdir: Path, n: int, twilio: dict[str, str]
) -> tuple[dict[str, Child], int]:
    """The push and Twilio sinks, ready; returns them by channel and the Twilio sink's port."""
    log(f"starting the sinks for {n:,} indexes")
    push = Child(
        "push-sink",
        [
            sys.executable,
            str(BENCH / "push_sink.py"),
            "--subscriptions",
            str(n),
            "--subscriptions-file",
            str(workdir / "subscriptions.json"),
        ],
        env,
        workdir / "push-sink.log",
    )
    sms = Child(
        "twilio-sink",
        [
            sys.executable,
            str(BENCH / "twilio_sink.py"),
            "--numbers",
            str(n),
            "--account-sid",
            twilio["sid"],
            "--auth-token",
            twilio["token"],
        ],
        env,
        workdir / "twilio-sink.log",
    )
    kids += [push, sms]
    push.receive(timeout=max(120, n / 500))  # ready, subscriptions written
    port = int(sms.receive(timeout=60)["port"])
    return {"push": push, "sms": sms}, port


def main() -> int:
    options = parse_arguments()
    load_before = load_average()
    began = time.monotonic()
    runs: list[Run] = []
    peak: Run | None = None
    with temporary_folder("dispatch", keep=options.keep_logs) as workdir:
        with (
            fresh_postgres_database(options.postgres_url, "homeward_bench") as database_url,
            children() as kids,
        ):
            n = max(
                options.deliveries,
                options.naive_deliveries,
                options.sms_deliveries,
                options.sms_naive_deliveries,
                options.peak,
            )
            twilio = {"sid": "AC" + secrets.token_hex(16), "token": secrets.token_hex(16)}
            extra = {"LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
            if options.batch_size:
                extra["REMINDER_BATCH_SIZE"] = str(options.batch_size)
            if options.threads:
                extra["REMINDER_SEND_THREADS"] = str(options.threads)
            if options.lanes:
                extra["REMINDER_LANES"] = str(options.lanes)
            env = app_environment(database_url, new_vapid_private_key(), extra)
            sinks, twilio_port = start_sinks(kids, env, workdir, n, twilio)
            env.update(
                {
                    "TWILIO_ACCOUNT_SID": twilio["sid"],
                    "TWILIO_AUTH_TOKEN": twilio["token"],
                    "TWILIO_FROM_NUMBER": FROM_NUMBER,
                    "TWILIO_API_BASE_URL": f"http://127.0.0.1:{twilio_port}",
                }
            )
            app = migrated_app({**env, "LOG_LEVEL": "WARNING"})
            settings = dispatcher_settings(app)
            subscriptions = json.loads((workdir / "subscriptions.json").read_text())
            seconds = insert_members(
                database_url, subscriptions, app.extensions["homeward.keyring"]
            )
            log(f"inserted {n:,} members, devices, phones and appointments in {seconds:.1f}s")
            log(f"stamped them for sync in {stamp_for_sync(app):.1f}s")
            app.extensions["homeward.db"].engine.dispose()
            print_header(options, postgres_settings(database_url), settings, load_before)

            bench = Bench(options, env, kids, workdir, sinks, subscriptions, settings)
            if options.rounds:
                push_runs = run_channel(bench, "push", options.deliveries, options.naive_deliveries)
                runs += push_runs
                print_channel(push_runs, "push", options)
            if options.naive_extras and options.naive_deliveries:
                extras = [
                    bench.naive("push", options.naive_deliveries, 0, grace="default"),
                    bench.naive("push", options.naive_deliveries, 0, schedulers=2),
                ]
                runs += extras
                print_naive_extras(extras)
            if options.sms and options.rounds:
                sms_runs = run_channel(
                    bench, "sms", options.sms_deliveries, options.sms_naive_deliveries
                )
                runs += sms_runs
                print_channel(sms_runs, "sms", options)
            if options.peak:
                peak = bench.peak(options.peak)
                print_peak(peak)
        print_goals(runs, peak)
        print(
            "others% in each table is the share of all CPUs busy with anything but the run "
            "itself (other work on the machine)"
        )
        log(f"whole run: {time.monotonic() - began:.0f}s")
        everything = runs + ([peak] if peak else [])
        write_json(options.json, [asdict(r) for r in everything])
        bad = [r for r in everything if r.checked and r.problems]
        return 1 if bad else 0


def print_naive_extras(extras: list[Run]) -> None:
    print()
    print("== The naive design's other set-ups (Web Push, once; not checked: losing or ")
    print("   doubling reminders is what they show) ==")
    print_table(
        [
            "design",
            "scheds",
            "jobs",
            "seconds",
            "deliv/s",
            "sent",
            "missed",
            "dup",
            "missing",
            "errors",
            "left",
            "threads died",
            "JobLookupError",
        ],
        [
            [
                r.label,
                r.processes,
                r.deliveries,
                f"{r.seconds:.1f}",
                f"{r.per_second:.0f}",
                r.accepted,
                r.extra["events"].get("missed", 0),
                r.duplicates,
                r.deliveries - r.distinct,
                r.extra["events"].get("error", 0),
                r.extra["left_in_store"],
                r.extra["scheduler_threads_died"],
                r.extra["lookup_errors"],
            ]
            for r in extras
        ],
    )


if __name__ == "__main__":
    run_main(main, "processes stopped, database dropped")
