"""The member's suggestion paths: the steps mentors suggested, to accept or decline.
(A mentor suggests through ``/api/v1/mentees/{member_id}/plan/suggestions``.) Thin."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.pagination import envelope
from api.plans import suggestion_schemas as schemas
from api.plans import suggestions

suggestions_blp = Blueprint(
    "plan_suggestions",
    __name__,
    url_prefix="/api/v1/plan/suggestions",
    description="Steps mentors suggested; nothing changes until the member accepts one.",
)


@suggestions_blp.route("", methods=["GET"])
@login_required(Role.MEMBER)
@suggestions_blp.arguments(schemas.SuggestionListArgs, location="query")
@suggestions_blp.response(200, schemas.SuggestionPageSchema)
def list_suggestions(args: dict[str, Any]) -> dict[str, Any]:
    """The member's suggestions, newest first, with who suggested each."""
    items, total = suggestions.list_for_member(get_session(), current_account().id, **args)
    return envelope(items, total, args)


@suggestions_blp.route("/<id:suggestion_id>/accept", methods=["POST"])
@login_required(Role.MEMBER)
@suggestions_blp.arguments(schemas.AcceptSchema)
@suggestions_blp.response(200, schemas.SuggestionSchema)
def accept_suggestion(body: dict[str, Any], suggestion_id: str) -> Any:
    """It becomes a step of the member's goal ``goal_id``. Again: the same answer; a
    declined suggestion: 409."""
    db, member = get_session(), current_account()
    suggestion = suggestions.get(db, member.id, suggestion_id)
    suggestion = suggestions.accept(db, member, suggestion, body["goal_id"], utcnow())
    return suggestions.views(db, [suggestion])[0]


@suggestions_blp.route("/<id:suggestion_id>/decline", methods=["POST"])
@login_required(Role.MEMBER)
@suggestions_blp.response(200, schemas.SuggestionSchema)
def decline_suggestion(suggestion_id: str) -> Any:
    """It stays declined. Again: the same answer; an accepted suggestion: 409."""
    db = get_session()
    suggestion = suggestions.get(db, current_account().id, suggestion_id)
    return suggestions.views(db, [suggestions.decline(db, suggestion, utcnow())])[0]
