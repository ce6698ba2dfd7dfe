"""A member's reentry plan: goals and steps they write or adopt from templates, linked to
listings and appointments, shared with mentors only by grant (docs/plans.md)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Register this domain's routes, CLI, exporter and sync tables."""
