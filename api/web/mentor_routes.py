"""The mentor's pages under /mentor/: the people they support and what each shared, one
mentee's page (check-ins, appointment times, plan), replying, suggesting a step, ending a
grant, and redeeming an invite code. Every read goes through api/mentors/access.py, with
the functions the API's routes call, so the scopes, the 404s and the access log are the
API's. Thin."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app, g, redirect, request, url_for
from sqlalchemy import select

from api.accounts.models import Account, Role
from api.checkins import schemas as checkin_schemas
from api.checkins import service as checkins
from api.checkins.models import Checkin
from api.core.db import get_session, utcnow
from api.core.errors import Problem, not_found
from api.core.extensions import limiter
from api.core.i18n import translate
from api.mentors import access
from api.mentors import service as mentors
from api.mentors.models import CHECKIN_SCOPES, PLAN_SCOPES, Scope
from api.plans import suggestion_schemas, suggestions
from api.web import pages, session
from api.web.i18n import page_locale

mentor_pages = pages.area("mentor_pages", "/mentor")
mentor_page = session.page_login_required(Role.MENTOR, "mentor_pages.sign_in")
PAGE_SIZE = 20


def _mentor_key() -> str:
    return "account:" + str(g.account.id) if g.get("account") is not None else "anonymous"


def _not_found(response: Response) -> bool:
    return response.status_code == 404


def _page() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) <= 10_000 else 1


@mentor_pages.route("/sign-in", methods=["GET", "POST"])
@pages.sign_in_limits
def sign_in() -> Response:
    return pages.sign_in(Role.MENTOR, "mentor_pages.home")


@mentor_pages.route("/sign-out", methods=["POST"])
@mentor_page
def sign_out() -> Response:
    return pages.sign_out("mentor_pages.sign_in", everywhere=False)


@mentor_pages.route("/sign-out-everywhere", methods=["POST"])
@mentor_page
def sign_out_everywhere() -> Response:
    return pages.sign_out("mentor_pages.sign_in", everywhere=True)


@mentor_pages.route("/", methods=["GET"])
@mentor_page
def home() -> Response:
    """The people the mentor supports, with what each shared, since when and until when."""
    items, total = access.mentees(get_session(), g.account, utcnow(), 1, 100)
    return pages.render("mentor/home.html", mentees=items, total=total, labels=pages.SCOPE_LABELS)


@mentor_pages.route("/redeem", methods=["GET", "POST"])
@mentor_page
@limiter.limit(
    lambda: current_app.config["RATELIMIT_INVITE_REDEEM"],
    key_func=_mentor_key,
    deduct_when=_not_found,
    scope="invite-redeem",
    methods=["POST"],
)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_INVITE_REDEEM_PER_IP"],
    deduct_when=_not_found,
    scope="invite-redeem-ip",
    methods=["POST"],
)
def redeem() -> Response:
    """Use the code a member gave; their grant begins. Wrong codes count against a limit."""
    if request.method == "GET":
        return pages.render("mentor/redeem.html")
    try:
        mentors.redeem(get_session(), g.account, request.form.get("code", ""), utcnow())
    except Problem as refused:
        get_session().rollback()
        detail = translate(page_locale(), refused.detail)
        return pages.render("mentor/redeem.html", status=refused.status, error=detail)
    return redirect(url_for("mentor_pages.home"), code=303)  # type: ignore[return-value]


def _mentee_page(member_id: str, status: int = 200, **errors: Any) -> Response:
    """One mentee's page: each part read with the function the API's route for it calls
    (each authorizes and logs); a part the grant has no scope for is not read at all."""
    db, mentor, now, page = get_session(), g.account, utcnow(), _page()
    grant = mentors.active_grant(db, member_id, mentor.id, now)
    if grant is None:
        raise not_found("mentee")
    scopes = set(grant.scopes)
    context: dict[str, Any] = {"checkins": None, "appointments": None, "plan": None}
    if scopes & (CHECKIN_SCOPES | {Scope.HELP_ALERTS}):
        items, total = access.shared_checkins(db, mentor, member_id, now, page, PAGE_SIZE)
        context.update(checkins=items, total=total)
    if Scope.APPOINTMENT_TIMES in scopes:
        context["appointments"], _total = access.shared_appointments(
            db, mentor, member_id, now, 1, PAGE_SIZE
        )
    if scopes & PLAN_SCOPES:
        context["plan"] = access.shared_plan(db, mentor, member_id, now)
    member = db.get(Account, member_id)
    name = (member.display_name or member.username) if member is not None else ""
    return pages.render(
        "mentor/mentee.html",
        status=status,
        member_id=member_id,
        name=name,
        grant=grant,
        labels=pages.SCOPE_LABELS,
        step_labels=pages.STEP_STATUS_LABELS,
        appointment_labels=pages.APPOINTMENT_STATUS_LABELS,
        need_labels=pages.NEED_LABELS,
        page=page,
        size=PAGE_SIZE,
        form=request.form if request.method == "POST" else {},
        **context,
        **errors,
    )


def _first_error(error: ma.ValidationError) -> str:
    """The schema's first message (the API's own words, translated where it is shown)."""
    messages: Any = error.messages
    values = list(messages.values()) if isinstance(messages, dict) else [messages]
    for value in values:
        text = value[0] if isinstance(value, list) and value else value
        if isinstance(text, str):
            return text
    return str(messages)


@mentor_pages.route("/mentees/<id:member_id>/", methods=["GET"])
@mentor_page
def mentee(member_id: str) -> Response:
    """What this mentee shares, shaped by the grant's scopes as the API shapes it."""
    return _mentee_page(member_id)


@mentor_pages.route("/checkins/<id:checkin_id>/reply", methods=["POST"])
@mentor_page
def reply(checkin_id: str) -> Response:
    """A short reply to a check-in the grant shows (the API's POST .../responses)."""
    db, mentor, now = get_session(), g.account, utcnow()
    try:
        body = checkin_schemas.ResponseCreateSchema().load({"body": request.form.get("body", "")})
    except ma.ValidationError as invalid:
        # Nothing is written; the page again, if the check-in is one this mentor sees.
        found = db.get(Checkin, checkin_id)
        visible = found is not None and db.scalar(
            select(Checkin.id).where(
                Checkin.id == checkin_id, access.visible_to(db, mentor.id, found.member_id, now)
            )
        )
        if found is None or not visible:
            raise not_found("check-in") from None
        error = translate(page_locale(), _first_error(invalid))
        return _mentee_page(found.member_id, 422, reply_error=error, reply_to=checkin_id)
    checkin = access.checkin_to_respond_to(db, mentor, checkin_id, now)
    checkins.respond(db, checkin, mentor, body["body"], now)
    target = url_for("mentor_pages.mentee", member_id=checkin.member_id)
    return redirect(target, code=303)  # type: ignore[return-value]


@mentor_pages.route("/mentees/<id:member_id>/suggestions", methods=["POST"])
@mentor_page
@limiter.limit(
    lambda: current_app.config["RATELIMIT_PLAN_SUGGESTIONS"],
    key_func=_mentor_key,
    scope="plan-suggestions",
    methods=["POST"],
)
def suggest(member_id: str) -> Response:
    """Suggest a step (either plan scope); the plan changes only if the member accepts."""
    db, mentor, now = get_session(), g.account, utcnow()
    allowed = access.may_suggest(db, mentor, member_id, now)
    fields = {"title": request.form.get("title", ""), "notes": request.form.get("notes", "")}
    try:
        body = suggestion_schemas.SuggestionCreateSchema().load(fields)
    except ma.ValidationError as invalid:
        error = translate(page_locale(), _first_error(invalid))
        return _mentee_page(member_id, 422, suggest_error=error)
    suggestions.suggest(db, member_id, mentor.id, allowed.grant.id, body, now)
    target = url_for("mentor_pages.mentee", member_id=member_id)
    return redirect(target, code=303)  # type: ignore[return-value]


@mentor_pages.route("/grants/<id:grant_id>/end", methods=["POST"])
@mentor_page
def end_grant(grant_id: str) -> Response:
    """The mentor stops receiving what this member shares, at once (the API's DELETE)."""
    db = get_session()
    grant = mentors.grant_for_party(db, g.account.id, grant_id)
    if grant.mentor_id != g.account.id:
        raise not_found("grant")
    mentors.end_grant(db, grant, g.account.id, utcnow())
    return redirect(url_for("mentor_pages.home"), code=303)  # type: ignore[return-value]
