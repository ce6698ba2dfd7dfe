"""The contract's invite, grant and mentee paths, and the member's access log. Thin."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.claims import created_or_retried
from api.core.db import get_session, utcnow
from api.core.errors import not_found
from api.core.extensions import limiter
from api.core.pagination import PageArgs, envelope
from api.mentors import access, schemas, service
from api.plans import suggestion_schemas, suggestions

invites_blp = Blueprint(
    "invites", __name__, url_prefix="/api/v1/invites", description="A member invites a mentor."
)
grants_blp = Blueprint(
    "grants",
    __name__,
    url_prefix="/api/v1/grants",
    description="What a member shares with a mentor; either side can end it.",
)
mentees_blp = Blueprint(
    "mentees",
    __name__,
    url_prefix="/api/v1/mentees",
    description="A mentor's view of what members share with them. Every read is logged.",
)
access_log_blp = Blueprint(
    "access_log",
    __name__,
    url_prefix="/api/v1/me",
    description="Every read of the member's data by a mentor.",
)


def _account_key() -> str:
    account = g.get("account")
    return f"account:{account.id}" if account is not None else "anonymous"


def _not_found(response: Any) -> bool:
    return bool(response.status_code == 404)


@invites_blp.route("", methods=["POST"])
@login_required(Role.MEMBER)
@invites_blp.arguments(schemas.InviteCreateSchema)
@invites_blp.response(201, schemas.InviteSchema)
def create_invite(body: dict[str, Any]) -> Any:
    """A code to read to a mentor: single use, valid 48 hours, carrying the grant's terms."""
    invite, code = service.create_invite(get_session(), current_account(), body, utcnow())
    return {**service.invite_view(invite), "code": code}


@invites_blp.route("", methods=["GET"])
@login_required(Role.MEMBER)
@invites_blp.arguments(PageArgs, location="query")
@invites_blp.response(200, schemas.InvitePageSchema)
def list_invites(args: dict[str, Any]) -> dict[str, Any]:
    """The member's invites still open (codes are never shown again)."""
    items, total = service.list_invites(get_session(), current_account().id, utcnow(), **args)
    return envelope(items, total, args)


@invites_blp.route("/<id:invite_id>", methods=["DELETE"])
@login_required(Role.MEMBER)
@invites_blp.response(204)
def cancel_invite(invite_id: str) -> None:
    """Cancel an open invite (read to the wrong person, or not needed)."""
    service.cancel_invite(get_session(), current_account().id, invite_id)


@invites_blp.route("/redeem", methods=["POST"])
@login_required(Role.MENTOR)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_INVITE_REDEEM"],
    key_func=_account_key,
    deduct_when=_not_found,
    scope="invite-redeem",
)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_INVITE_REDEEM_PER_IP"],
    deduct_when=_not_found,
    scope="invite-redeem-ip",
)
@invites_blp.arguments(schemas.RedeemSchema)
@invites_blp.response(201, schemas.GrantSchema)
def redeem_invite(body: dict[str, Any]) -> Any:
    """A mentor uses a code; the member's grant begins. Wrong codes are rate-limited."""
    db, now = get_session(), utcnow()
    grant = service.redeem(db, current_account(), body["code"], now)
    return service.grant_view(grant, **service.names(db, grant), now=now)


@grants_blp.route("", methods=["GET"])
@login_required(Role.MEMBER, Role.MENTOR)
@grants_blp.arguments(schemas.GrantListArgs, location="query")
@grants_blp.response(200, schemas.GrantPageSchema)
def list_grants(args: dict[str, Any]) -> dict[str, Any]:
    """Grants the member gave, or the mentor holds, newest first."""
    items, total = service.list_grants(get_session(), current_account().id, utcnow(), **args)
    return envelope(items, total, args)


@grants_blp.route("/<id:grant_id>", methods=["PATCH"])
@login_required(Role.MEMBER)
@grants_blp.arguments(schemas.GrantUpdateSchema)
@grants_blp.response(200, schemas.GrantSchema)
def change_grant(changes: dict[str, Any], grant_id: str) -> Any:
    """The member changes what the mentor sees; it applies on the mentor's next request."""
    db, member, now = get_session(), current_account(), utcnow()
    grant = service.grant_for_party(db, member.id, grant_id)
    if grant.member_id != member.id:
        raise not_found("grant")
    grant = service.change_grant(db, grant, changes, now)
    return service.grant_view(grant, **service.names(db, grant), now=now)


@grants_blp.route("/<id:grant_id>", methods=["DELETE"])
@login_required(Role.MEMBER, Role.MENTOR)
@grants_blp.response(204)
def end_grant(grant_id: str) -> None:
    """Either side ends the grant, at once."""
    db, account = get_session(), current_account()
    service.end_grant(db, service.grant_for_party(db, account.id, grant_id), account.id, utcnow())


@mentees_blp.route("", methods=["GET"])
@login_required(Role.MENTOR)
@mentees_blp.arguments(PageArgs, location="query")
@mentees_blp.response(200, schemas.MenteePageSchema)
def list_mentees(args: dict[str, Any]) -> dict[str, Any]:
    """Members whose grants this mentor holds in force."""
    items, total = access.mentees(get_session(), current_account(), utcnow(), **args)
    return envelope(items, total, args)


@mentees_blp.route("/<id:member_id>/checkins", methods=["GET"])
@login_required(Role.MENTOR)
@mentees_blp.arguments(PageArgs, location="query")
@mentees_blp.response(200, schemas.SharedCheckinPageSchema)
def mentee_checkins(args: dict[str, Any], member_id: str) -> dict[str, Any]:
    """A mentee's check-ins as the grant shows them: only the fields its scopes name."""
    items, total = access.shared_checkins(
        get_session(), current_account(), member_id, utcnow(), **args
    )
    return envelope(items, total, args)


@mentees_blp.route("/<id:member_id>/appointments", methods=["GET"])
@login_required(Role.MENTOR)
@mentees_blp.arguments(PageArgs, location="query")
@mentees_blp.response(200, schemas.SharedAppointmentPageSchema)
def mentee_appointments(args: dict[str, Any], member_id: str) -> dict[str, Any]:
    """A mentee's appointment times and status (with the appointments.times scope only)."""
    items, total = access.shared_appointments(
        get_session(), current_account(), member_id, utcnow(), **args
    )
    return envelope(items, total, args)


@mentees_blp.route("/<id:member_id>/plan", methods=["GET"])
@login_required(Role.MENTOR)
@mentees_blp.response(200, schemas.SharedPlanSchema)
def mentee_plan(member_id: str) -> Any:
    """A mentee's plan (with plan.progress or plan.full only): plan.progress shows goals,
    step titles, statuses, dates and the count of steps done, never why, notes or bring."""
    return access.shared_plan(get_session(), current_account(), member_id, utcnow())


@mentees_blp.route("/<id:member_id>/plan/suggestions", methods=["POST"])
@login_required(Role.MENTOR)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_PLAN_SUGGESTIONS"],
    key_func=_account_key,
    scope="plan-suggestions",
)
@mentees_blp.arguments(suggestion_schemas.SuggestionCreateSchema)
@created_or_retried(mentees_blp, suggestion_schemas.SuggestionSchema)
def suggest_step(body: dict[str, Any], member_id: str) -> Any:
    """Suggest a step (with either plan scope). It changes nothing in the plan until the
    member accepts it. A retry with the same client id answers the same suggestion."""
    db, mentor, now = get_session(), current_account(), utcnow()
    # Not a read (the member sees every suggestion, and who made it): not logged.
    allowed = access.may_suggest(db, mentor, member_id, now)
    suggestion, created = suggestions.suggest(db, member_id, mentor.id, allowed.grant.id, body, now)
    return suggestions.views(db, [suggestion])[0], created


@access_log_blp.route("/access-log", methods=["GET"])
@login_required()
@access_log_blp.arguments(PageArgs, location="query")
@access_log_blp.response(200, schemas.AccessLogPageSchema)
def my_access_log(args: dict[str, Any]) -> dict[str, Any]:
    """Every time a mentor read the member's data: who, what, which records, when."""
    items, total = access.access_log(get_session(), current_account().id, **args)
    return envelope(items, total, args)
