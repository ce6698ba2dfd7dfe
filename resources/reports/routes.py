"""Reports of wrong listings, for the staff of the listing's organization: page through
them, resolve them. (Members file them at ``/resources/<id>/reports``.) Thin."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.pagination import PageArgs, envelope
from resources.reports import schemas, service

reports_blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Members' reports of wrong listings, for the organization's staff.",
)


@reports_blp.route("", methods=["GET"])
@login_required(Role.STAFF)
@reports_blp.arguments(PageArgs, location="query")
@reports_blp.response(200, schemas.ReportPageSchema)
def list_reports(args: dict[str, Any]) -> dict[str, Any]:
    """Reports about the staff member's organization, open ones first."""
    items, total = service.organization_reports(get_session(), current_account(), **args)
    return envelope(items, total, args)


@reports_blp.route("/<id:report_id>", methods=["PATCH"])
@login_required(Role.STAFF)
@reports_blp.arguments(schemas.ReportUpdateSchema)
@reports_blp.response(200, schemas.ReportSchema)
def resolve_report(body: dict[str, Any], report_id: str) -> dict[str, Any]:
    return service.resolve_report(
        get_session(), current_account(), report_id, body["resolved"], utcnow()
    )
