"""Periodic jobs: what a domain needs done on a schedule (extend plans, purge what is past
its horizon), registered in its ``init_app`` and run by the one scheduler process
(``flask reminders run``), beside the dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask

STATE = "homeward.periodic_jobs"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[Flask], object]  # called with the app; opens its own transactions
    every: timedelta
    start_now: bool = False  # run once at start, or wait one interval first


def add_periodic_job(app: Flask, job: PeriodicJob) -> None:
    jobs: dict[str, PeriodicJob] = app.extensions.setdefault(STATE, {})
    if job.name in jobs:
        raise ValueError(f"the periodic job {job.name!r} is registered twice")
    jobs[job.name] = job


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    jobs: dict[str, PeriodicJob] = app.extensions.get(STATE, {})
    return list(jobs.values())
