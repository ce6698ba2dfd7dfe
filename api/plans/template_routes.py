"""The starter plan templates, read in the caller's locale (English where a text has no
translation). Adopting one is POST /api/v1/plan/goals with ``template_id``."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session
from api.core.pagination import PageArgs, envelope
from api.plans import template_schemas, templates

templates_blp = Blueprint(
    "plan_templates",
    __name__,
    url_prefix="/api/v1/plan/templates",
    description="Starter plans a member may adopt as their own goal and steps.",
)


@templates_blp.route("", methods=["GET"])
@login_required(Role.MEMBER, Role.MENTOR)
@templates_blp.arguments(PageArgs, location="query")
@templates_blp.response(200, template_schemas.TemplatePageSchema)
def list_templates(args: dict[str, Any]) -> dict[str, Any]:
    """The starter templates, in order, with their step titles."""
    rows, total = templates.list_all(get_session(), args["page"], args["page_size"])
    locale = current_account().locale
    return envelope([templates.view(r, locale, whole=False) for r in rows], total, args)


@templates_blp.route("/<id:template_id>", methods=["GET"])
@login_required(Role.MEMBER, Role.MENTOR)
@templates_blp.response(200, template_schemas.TemplateSchema)
def get_template(template_id: str) -> dict[str, Any]:
    """One template whole: each step's title, notes, what to bring, directory search."""
    row = templates.get(get_session(), template_id)
    return templates.view(row, current_account().locale, whole=True)
