"""Placeholder until its owner fills it in (issue 15, in progress)."""

from __future__ import annotations

from flask_smorest import Blueprint

templates_blp = Blueprint("plan_templates", __name__, url_prefix="/api/v1/plan/templates")
