"""Placeholder (issue 15, in progress)."""

from __future__ import annotations

from flask.cli import AppGroup

plans_cli = AppGroup("plans", help="The reentry plan: templates.")
