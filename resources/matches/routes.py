"""GET /api/v1/plan/steps/{id}/matches: the member's step's listings. Thin."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.pagination import envelope
from resources.listings.schemas import ResourcePageSchema
from resources.matches import service

matches_blp = Blueprint(
    "plan_matches",
    __name__,
    url_prefix="/api/v1/plan/steps",
    description="A plan step's matching listings, near the member's area.",
)


class MatchArgs(ma.Schema):
    """Pages as /api/v1/resources pages (20 a page unless asked)."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    page_size = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


@matches_blp.route("/<id:step_id>/matches", methods=["GET"])
@login_required(Role.MEMBER)
@matches_blp.arguments(MatchArgs, location="query", unknown=ma.RAISE)
@matches_blp.response(200, ResourcePageSchema)
def step_matches(args: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The listings the step's directory search finds near the member's area: the same
    search, and the same hits, as GET /api/v1/resources with those parameters. A step
    with no search (one the member wrote) has none."""
    items, total = service.matches(
        get_session(), current_account(), step_id, args["page"], args["page_size"], utcnow()
    )
    return envelope(items, total, args)
