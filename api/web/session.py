"""Web sessions, CSRF and the headers of every page.

A signed-in browser holds one cookie naming a row of the same ``auth_sessions`` table the
phones use (signed with the app's secret, so it cannot be forged or pointed at another
row). Every request reads that row, with its account, by primary key: sign-out, sign-out
everywhere (from the API or a page), a disabled account or the session's end refuse the
very next page. The cookie is HttpOnly, SameSite=Lax, and Secure outside development.

Every form carries a CSRF token bound to the browser (a random value in its own
SameSite=Strict cookie, and its HMAC in the form); a POST without it is refused and
changes nothing. Every page answers ``Cache-Control: no-store`` and a strict
Content-Security-Policy: no inline script, no other host.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from api.accounts.models import Account, AuthSession, Role
from api.core.db import get_session, utcnow

F = TypeVar("F", bound=Callable[..., Any])

COOKIE = "homeward_web"
CSRF_COOKIE = "homeward_csrf"
CSRF_FIELD = "csrf_token"
# last_used_at is written at most this often, not on every page.
TOUCH_EVERY = timedelta(minutes=5)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class CsrfRefused(Exception):
    """A form posted without its token (or with another browser's)."""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="homeward-web-session")


def _secure() -> bool:
    """Secure cookies outside development (a development server speaks plain HTTP)."""
    return current_app.config.get("HOMEWARD_ENV", "development") not in ("development", "test")


def set_session_cookie(response: Response, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        _serializer().dumps(session_id),
        httponly=True,
        samesite="Lax",
        secure=_secure(),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax", secure=_secure())


def load_session(now: datetime) -> tuple[Account, AuthSession] | None:
    """The account and session the cookie names, if the session is still open."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        session_id = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(session_id, str):
        return None
    row = (
        get_session()
        .execute(
            select(AuthSession, Account)
            .join(Account, Account.id == AuthSession.account_id)
            .where(AuthSession.id == session_id)
        )
        .first()
    )
    if row is None or not row[0].is_active(now) or row[1].disabled_at is not None:
        return None
    auth, account = row[0], row[1]
    if now - auth.last_used_at > TOUCH_EVERY:
        auth.last_used_at = now
    return account, auth


def page_login_required(role: Role, sign_in_endpoint: str) -> Callable[[F], F]:
    """A page for ``role``: without an open web session, the sign-in page (and back);
    signed in with another role, the 404 page (the page does not exist for them)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            found = load_session(utcnow())
            if found is None:
                return redirect(url_for(sign_in_endpoint, next=request.full_path.rstrip("?")))
            g.account, g.auth_session = found
            if g.account.role != role:
                from werkzeug.exceptions import NotFound

                raise NotFound()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # same signature

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only a path of this site, never another host (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


# -- CSRF -------------------------------------------------------------------------------------


def _csrf_secret() -> bytes:
    return hashlib.sha256(b"homeward-csrf:" + current_app.config["SECRET_KEY"].encode()).digest()


def _browser_value() -> str:
    value = request.cookies.get(CSRF_COOKIE) or g.get("new_csrf_value")
    if not value:
        value = g.new_csrf_value = secrets.token_urlsafe(32)
    return str(value)


def csrf_token() -> str:
    """The token of this browser, for a form's hidden field."""
    value = _browser_value()
    return hmac.new(_csrf_secret(), value.encode(), hashlib.sha256).hexdigest()


def check_csrf() -> None:
    """Refuse a POST whose form token is not this browser's."""
    value = request.cookies.get(CSRF_COOKIE)
    sent = request.form.get(CSRF_FIELD, "")
    if not value or not sent:
        raise CsrfRefused()
    expected = hmac.new(_csrf_secret(), value.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sent):
        raise CsrfRefused()


def page_headers(response: Response) -> Response:
    """What every page answers with; a new browser's CSRF cookie too."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    new_value = g.get("new_csrf_value")
    if new_value and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, new_value, httponly=True, samesite="Strict", secure=_secure(), path="/"
        )
    return response
