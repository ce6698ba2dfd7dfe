"""What the member and mentor pages share: rendering with the page headers, signing in and
out, and the error pages (a page never answers problem+json, and never a 500 for what a
browser can send)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException, NotFound

from api.accounts import service as accounts
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.errors import Problem
from api.core.extensions import limiter
from api.core.i18n import translate
from api.web import session
from api.web.i18n import gettext as _
from api.web.i18n import page_locale


def area(name: str, prefix: str) -> Blueprint:
    """An area's pages: its blueprint finds the templates and serves the style sheet
    (``<prefix>/assets/``), with the headers, CSRF check and error pages of every page."""
    blueprint = Blueprint(
        name,
        __name__,
        url_prefix=prefix,
        template_folder="templates",
        static_folder="static",
        static_url_path="/assets",
    )
    install(blueprint)

    # An address under the area that names no page is the area's 404 page, not problem+json.
    @blueprint.route("/<path:rest>", methods=["GET", "POST"])
    def nowhere(rest: str) -> Response:
        raise NotFound()

    return blueprint


def L_(message: str) -> str:
    """Marks a page text for extraction; it is translated where it is shown."""
    return message


SCOPE_LABELS = {
    "checkins.mood": L_("How they feel (mood only)"),
    "checkins.needs": L_("Mood and what they need"),
    "checkins.full": L_("Whole check-ins, notes included"),
    "appointments.times": L_("Appointment times"),
    "help_alerts": L_("Calls for help"),
    "plan.progress": L_("Plan progress"),
    "plan.full": L_("The whole plan"),
}
# The access log's actions, in plain words.
ACTION_LABELS = {
    "mentees.list": L_("Saw you in their list"),
    "checkins.list": L_("Read your check-ins"),
    "checkins.sync": L_("Got your check-ins on their phone"),
    "checkins.respond": L_("Replied to a check-in"),
    "appointments.list": L_("Read your appointment times"),
    "plan.read": L_("Read your plan"),
    "plan.sync": L_("Got your plan on their phone"),
}


def render(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    return response


def _form_username_key() -> str:
    """Rate-limit key for the sign-in form: the (hashed) username, as the API counts it."""
    username = request.form.get("username", "").strip().casefold()
    if not username:
        return "ip:" + get_remote_address()
    return "user:" + hashlib.sha256(username.encode("utf-8", "replace")).hexdigest()[:32]


def _failed(response: Any) -> bool:
    return bool(response.status_code == 401)


def sign_in_limits(view: Any) -> Any:
    """The API's sign-in limits, counted the same way (per address; failures per name)."""
    view = limiter.limit(
        lambda: current_app.config["RATELIMIT_LOGIN_PER_USERNAME"],
        key_func=_form_username_key,
        deduct_when=_failed,
        scope="login-username",
        methods=["POST"],
    )(view)
    return limiter.limit(
        lambda: current_app.config["RATELIMIT_CREDENTIALS_PER_IP"],
        scope="ip-ratelimit_credentials_per_ip",
        methods=["POST"],
    )(view)


def sign_in(role: Role, home: str) -> Response:
    """The sign-in form, and its answer: an open web session, or the same refusal for a
    wrong password, an unknown name and an account of the other kind."""
    target = session.safe_next(request.args.get("next"), url_for(home))
    if request.method == "GET":
        return render("sign_in.html", role=str(role), next=target)
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    refused: str | None = None
    try:
        account, pair = accounts.sign_in(get_session(), username, password, "web browser", utcnow())
        if account.role != role:  # the other kind of account hears what a wrong password hears
            refused = accounts.BAD_CREDENTIALS
    except Problem as problem:
        refused = problem.detail
    if refused is not None:
        get_session().rollback()  # no session row stays behind
        error = translate(page_locale(), refused)
        return render(
            "sign_in.html", status=401, role=str(role), next=target, error=error, username=username
        )
    response = make_response(redirect(target, code=303))
    session.set_session_cookie(response, pair.session_id)
    return response


def sign_out(endpoint: str, everywhere: bool) -> Response:
    now = utcnow()
    if everywhere:
        accounts.sign_out_everywhere(get_session(), g.account.id, now, "logout_all")
    else:
        accounts.sign_out(g.auth_session, now)
    response = make_response(redirect(url_for(endpoint), code=303))
    session.clear_session_cookie(response)
    return response


def install(blueprint: Blueprint) -> None:
    """Headers, CSRF and error pages for every page of ``blueprint``."""

    @blueprint.before_request
    def _csrf() -> None:
        if request.method == "POST":
            session.check_csrf()

    blueprint.after_request(session.page_headers)

    @blueprint.errorhandler(session.CsrfRefused)
    def _csrf_refused(error: Exception) -> Response:
        detail = _("This form has expired. Go back, reload the page and try again.")
        return session.page_headers(render("error.html", status=400, detail=detail))

    @blueprint.errorhandler(Problem)
    def _problem(error: Problem) -> Response:
        detail = translate(page_locale(), error.detail)
        return session.page_headers(render("error.html", status=error.status, detail=detail))

    @blueprint.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        detail = _("There is nothing at this address.") if status == 404 else error.name
        if status == 429:
            detail = _("Too many tries. Wait a little, then try again.")
        return session.page_headers(render("error.html", status=status, detail=detail))


# A plan step's and an appointment's status, in plain words (the mentee page).
STEP_STATUS_LABELS = {
    "todo": L_("To do"),
    "doing": L_("Doing"),
    "done": L_("Done"),
    "blocked": L_("Stuck"),
    "skipped": L_("Skipped"),
}
APPOINTMENT_STATUS_LABELS = {
    "scheduled": L_("Scheduled"),
    "confirmed": L_("Confirmed"),
    "attended": L_("Attended"),
    "missed": L_("Missed"),
    "cancelled": L_("Cancelled"),
}
# What a check-in says the member needs, in plain words.
NEED_LABELS = {
    "housing": L_("Housing"),
    "work": L_("Work"),
    "food": L_("Food"),
    "transport": L_("Getting around"),
    "health": L_("Health"),
    "legal": L_("Legal help"),
    "id": L_("ID documents"),
    "family": L_("Family"),
    "support": L_("Someone to talk to"),
}
