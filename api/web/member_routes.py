"""The member's pages under /me/: who can see what (and ending it), the access log, signing
out. For a member without the app: a lost phone, a library computer. Thin."""

from __future__ import annotations

from flask import Response, g, redirect, request, url_for

from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.errors import not_found
from api.mentors import access
from api.mentors import service as mentors
from api.web import pages, session

member_pages = pages.area("member_pages", "/me")
member_page = session.page_login_required(Role.MEMBER, "member_pages.sign_in")
PAGE_SIZE = 20


def _page() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) <= 10_000 else 1


@member_pages.route("/sign-in", methods=["GET", "POST"])
@pages.sign_in_limits
def sign_in() -> Response:
    return pages.sign_in(Role.MEMBER, "member_pages.home")


@member_pages.route("/sign-out", methods=["POST"])
@member_page
def sign_out() -> Response:
    return pages.sign_out("member_pages.sign_in", everywhere=False)


@member_pages.route("/sign-out-everywhere", methods=["POST"])
@member_page
def sign_out_everywhere() -> Response:
    return pages.sign_out("member_pages.sign_in", everywhere=True)


@member_pages.route("/", methods=["GET"])
@member_page
def home() -> Response:
    """Who can see what: every grant the member gave, in force first."""
    now = utcnow()
    grants, total = mentors.list_grants(get_session(), g.account.id, now, None, _page(), PAGE_SIZE)
    return pages.render(
        "me/home.html", grants=grants, total=total, page=_page(), labels=pages.SCOPE_LABELS
    )


@member_pages.route("/grants/<id:grant_id>/end", methods=["POST"])
@member_page
def end_grant(grant_id: str) -> Response:
    """End a grant at once: the mentor's next page or sync shows nothing of the member."""
    db = get_session()
    grant = mentors.grant_for_party(db, g.account.id, grant_id)
    if grant.member_id != g.account.id:
        raise not_found("grant")
    mentors.end_grant(db, grant, g.account.id, utcnow())
    return redirect(url_for("member_pages.home"), code=303)  # type: ignore[return-value]


@member_pages.route("/access-log", methods=["GET"])
@member_page
def access_log() -> Response:
    """Every read of the member's data by a mentor, newest first."""
    entries, total = access.access_log(get_session(), g.account.id, _page(), PAGE_SIZE)
    return pages.render(
        "me/access_log.html",
        entries=entries,
        total=total,
        page=_page(),
        size=PAGE_SIZE,
        actions=pages.ACTION_LABELS,
    )
