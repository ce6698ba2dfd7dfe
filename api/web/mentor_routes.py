"""The mentor's pages under /mentor/: the people they support and what each shared, and
redeeming an invite code. Every read goes through api/mentors/access.py, as the API's do.
Thin."""

from __future__ import annotations

from flask import Response, current_app, g, redirect, request, url_for

from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.errors import Problem
from api.core.extensions import limiter
from api.core.i18n import translate
from api.mentors import access
from api.mentors import service as mentors
from api.web import pages, session
from api.web.i18n import page_locale

mentor_pages = pages.area("mentor_pages", "/mentor")
mentor_page = session.page_login_required(Role.MENTOR, "mentor_pages.sign_in")
PAGE_SIZE = 20


def _mentor_key() -> str:
    return "account:" + str(g.account.id) if g.get("account") is not None else "anonymous"


def _not_found(response: Response) -> bool:
    return response.status_code == 404


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
