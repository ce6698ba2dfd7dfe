"""Who is calling: bearer-token authentication for every protected route.

``login_required`` checks the token against its session on every request (no cache), so
a revoked session or a logged-out phone is refused at once, well within the token's life.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_smorest import Blueprint

from api.accounts import service
from api.accounts.models import Account, AuthSession, Role
from api.core.db import get_session, utcnow
from api.core.errors import Problem
from api.core.extensions import BEARER

F = TypeVar("F", bound=Callable[..., Any])


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, detail, kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="homeward"'}
    )


def login_required(*roles: Role) -> Callable[[F], F]:
    """Require a valid access token (and, when given, one of ``roles``).

    A caller of the wrong role gets 404: the route does not exist for them.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _bearer_token()
            if token is None:
                raise _unauthorized("Sign in to do this: send 'Authorization: Bearer <token>'.")
            found = service.authenticate(get_session(), token, utcnow())
            if found is None:
                raise _unauthorized(
                    "The access token is not valid or has expired. Refresh it or sign in again."
                )
            g.account, g.auth_session = found
            if roles and g.account.role not in roles:
                raise Problem(404, "There is nothing at this address.", kind="not-found")
            return view(*args, **kwargs)

        return Blueprint.doc(security=BEARER)(wrapper)  # type: ignore[no-any-return]  # smorest untyped

    return decorator


def current_account() -> Account:
    account: Account = g.account
    return account


def current_auth_session() -> AuthSession:
    auth_session: AuthSession = g.auth_session
    return auth_session
