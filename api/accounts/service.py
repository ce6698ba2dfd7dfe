"""Account and session operations. Plain functions over a SQLAlchemy session; they only flush.

The caller (a route or a CLI command) commits once at its boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.accounts import passwords, tokens
from api.accounts.models import Account, AuthSession, RecoveryCode, RefreshToken, Role
from api.core import signals
from api.core.errors import Problem, not_found

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "The username or password is not right."
BAD_RECOVERY = "The username or recovery code is not right."
# Stands in for the account of an unknown username; ids are UUIDs, so this one is nobody's.
NO_ACCOUNT_ID = "no-such-account"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: str
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)


def _rows_changed(db: Session, statement: Any) -> int:
    """Run an UPDATE and say how many rows it changed (the basis of atomic claims)."""
    return cast(CursorResult[Any], db.execute(statement)).rowcount


def username_key(username: str) -> str:
    return username.strip().casefold()


def _password_or_422(password: str, username: str | None, field: str = "password") -> None:
    problems = passwords.policy_problems(password, username)
    if problems:
        raise Problem(422, problems[0], kind="validation-error", errors={field: problems})


def _ttl(name: str) -> timedelta:
    return timedelta(seconds=current_app.config[name])


def start_session(
    db: Session, account: Account, device_name: str | None, now: datetime
) -> TokenPair:
    """Open a new signed-in session for ``account`` and return its first token pair."""
    absolute = now + _ttl("REFRESH_TOKEN_ABSOLUTE_TTL")
    auth = AuthSession(
        account_id=account.id,
        device_name=device_name,
        created_at=now,
        last_used_at=now,
        refresh_expires_at=min(now + _ttl("REFRESH_TOKEN_IDLE_TTL"), absolute),
        absolute_expires_at=absolute,
    )
    db.add(auth)
    db.flush()
    return _issue_pair(db, account.id, auth, now)


def _issue_pair(db: Session, account_id: str, auth: AuthSession, now: datetime) -> TokenPair:
    refresh = tokens.new_refresh_token()
    db.add(RefreshToken(session_id=auth.id, token_hash=tokens.digest(refresh), created_at=now))
    db.flush()
    return TokenPair(
        access_token=tokens.issue_access_token(account_id, auth.id),
        refresh_token=refresh,
        expires_in=current_app.config["ACCESS_TOKEN_TTL"],
        refresh_expires_in=int((auth.refresh_expires_at - now).total_seconds()),
        session_id=auth.id,
    )


def _new_recovery_codes(db: Session, account: Account, now: datetime) -> list[str]:
    db.execute(
        update(RecoveryCode)
        .where(RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    codes = tokens.new_recovery_codes()
    db.add_all(
        RecoveryCode(
            account_id=account.id,
            code_hash=tokens.recovery_digest(account.id, code),
            created_at=now,
        )
        for code in codes
    )
    return codes


def create_account(
    db: Session, *, username: str, password: str, role: Role, now: datetime, **profile: Any
) -> Account:
    """Create an account (any role; routes only let members and mentors in)."""
    username = username.strip()
    _password_or_422(password, username)
    key = username_key(username)
    if db.scalar(select(Account.id).where(Account.username_key == key)) is not None:
        raise Problem(
            409,
            "That username is taken; choose another.",
            kind="username-taken",
            errors={"username": ["That username is taken."]},
        )
    account = Account(
        username=username,
        username_key=key,
        role=role,
        password_hash=passwords.hash_password(password),
        created_at=now,
        updated_at=now,
        password_changed_at=now,
    )
    for name, value in profile.items():
        setattr(account, name, value)
    db.add(account)
    try:
        db.flush()
    except IntegrityError:
        # Two registrations raced for the same name; the loser hears the same answer.
        raise Problem(
            409,
            "That username is taken; choose another.",
            kind="username-taken",
            errors={"username": ["That username is taken."]},
        ) from None
    return account


def register(
    db: Session,
    *,
    username: str,
    password: str,
    role: Role,
    now: datetime,
    device_name: str | None = None,
    **profile: Any,
) -> tuple[Account, TokenPair, list[str]]:
    """Create a member or mentor account, sign it in, and hand out its recovery codes."""
    account = create_account(
        db, username=username, password=password, role=role, now=now, **profile
    )
    codes = _new_recovery_codes(db, account, now)
    pair = start_session(db, account, device_name, now)
    return account, pair, codes


def sign_in(
    db: Session, username: str, password: str, device_name: str | None, now: datetime
) -> tuple[Account, TokenPair]:
    """Exchange a username and password for a new session. Unknown user and wrong
    password are refused alike, in the same time."""
    # Only the three columns a refusal needs: a whole Account (its encrypted profile
    # decrypted) would cost a known username measurably more than an unknown one.
    found = db.execute(
        select(Account.id, Account.password_hash, Account.disabled_at).where(
            Account.username_key == username_key(username)
        )
    ).first()
    verified = passwords.verify_password(found.password_hash if found else None, password)
    # A disabled account hears what a wrong password hears, after the same work.
    if not verified or found is None or found.disabled_at is not None:
        raise Problem(401, BAD_CREDENTIALS, kind="invalid-credentials")
    account = db.get_one(Account, found.id)
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return account, start_session(db, account, device_name, now)


def _revoke(auth: AuthSession, now: datetime, reason: str) -> None:
    if auth.revoked_at is None:
        auth.revoked_at = now
        auth.revoked_reason = reason


def refresh(db: Session, refresh_token: str, now: datetime) -> TokenPair:
    """Rotate a refresh token. A token that was already exchanged is a replay: it ends
    the whole session, because either the phone or a thief holds a copy."""
    refused = Problem(
        401, "This refresh token is not valid. Sign in again.", kind="invalid-refresh-token"
    )
    stored = db.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh_token))
    )
    if stored is None:
        raise refused
    auth = db.get(AuthSession, stored.session_id)
    if auth is None or auth.revoked_at is not None:
        raise refused
    if stored.used_at is None:
        # Atomic: of two concurrent refreshes with one token, exactly one wins.
        claimed = _rows_changed(
            db,
            update(RefreshToken)
            .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False),
        )
    else:
        claimed = 0
    if claimed != 1:
        _revoke(auth, now, "refresh_reuse")
        db.flush()
        log.warning("refresh token replayed; session revoked", extra={"session_id": auth.id})
        raise Problem(
            401,
            "This refresh token was already used, so this session has been "
            "ended to keep the account safe. Sign in again.",
            kind="refresh-token-reused",
            keep_changes=True,
        )
    if now >= auth.refresh_expires_at or now >= auth.absolute_expires_at:
        raise Problem(401, "This session has expired. Sign in again.", kind="session-expired")
    auth.last_used_at = now
    auth.refresh_expires_at = min(now + _ttl("REFRESH_TOKEN_IDLE_TTL"), auth.absolute_expires_at)
    return _issue_pair(db, auth.account_id, auth, now)


def authenticate(
    db: Session, access_token: str, now: datetime
) -> tuple[Account, AuthSession] | None:
    """The account and session behind a bearer token, if the session is still open."""
    claims = tokens.read_access_token(access_token)
    if claims is None:
        return None
    row = db.execute(
        select(AuthSession, Account)
        .join(Account, Account.id == AuthSession.account_id)
        .where(AuthSession.id == claims.session_id, Account.id == claims.account_id)
    ).first()
    if row is None or not row[0].is_active(now) or row[1].disabled_at is not None:
        return None
    return row[1], row[0]


def sign_out(auth: AuthSession, now: datetime) -> None:
    _revoke(auth, now, "logout")


def sign_out_everywhere(db: Session, account_id: str, now: datetime, reason: str) -> int:
    """End every open session of the account (a lost phone). Returns how many ended."""
    return _rows_changed(
        db,
        update(AuthSession)
        .where(AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session="fetch"),
    )


def recover(
    db: Session,
    username: str,
    recovery_code: str,
    new_password: str,
    device_name: str | None,
    now: datetime,
) -> tuple[Account, TokenPair, int]:
    """Set a new password with a one-time recovery code; every other session ends."""
    # Only the id until a code is claimed, and an unknown username runs the same claim on
    # an id no account has: both refusals cost the same (no enumeration by timing).
    # A disabled account is refused like an unknown one: its codes are not even tried.
    found = db.scalar(
        select(Account.id).where(
            Account.username_key == username_key(username), Account.disabled_at.is_(None)
        )
    )
    account_id = found or NO_ACCOUNT_ID
    used = _rows_changed(
        db,
        update(RecoveryCode)
        .where(
            RecoveryCode.account_id == account_id,
            RecoveryCode.code_hash == tokens.recovery_digest(account_id, recovery_code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    account = db.get(Account, found) if found is not None and used == 1 else None
    if account is None:
        raise Problem(401, BAD_RECOVERY, kind="invalid-recovery-code")
    _password_or_422(new_password, account.username, field="new_password")
    account.password_hash = passwords.hash_password(new_password)
    account.password_changed_at = now
    sign_out_everywhere(db, account.id, now, "recovery")
    remaining = len(
        db.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
    return account, start_session(db, account, device_name, now), remaining


def display_names(db: Session, account_ids: Iterable[str]) -> dict[str, str]:
    """What each account is called in other people's views: its display name, else its
    username."""
    return {
        row.id: row.display_name or row.username
        for row in db.execute(
            select(Account.id, Account.display_name, Account.username).where(
                Account.id.in_(set(account_ids))
            )
        )
    }


def update_profile(
    db: Session, account: Account, changes: dict[str, Any], now: datetime
) -> Account:
    """Apply the already-validated profile fields in ``changes``. Other domains hear of
    it (reminders re-plan on a new time zone, quiet hours or phone) in this transaction."""
    changed = set(changes)
    quiet = changes.pop("quiet_hours", ...)
    if quiet is not ...:
        account.quiet_hours_start = quiet["start"] if quiet else None
        account.quiet_hours_end = quiet["end"] if quiet else None
    for name, value in changes.items():
        setattr(account, name, value)
    account.updated_at = now
    db.flush()
    signals.profile_changed.send(account, db=db, changed=changed, now=now)
    return account


def list_sessions(db: Session, account_id: str, now: datetime) -> list[AuthSession]:
    return list(
        db.scalars(
            select(AuthSession)
            .where(
                AuthSession.account_id == account_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.absolute_expires_at > now,
            )
            .order_by(AuthSession.last_used_at.desc())
        )
    )


def revoke_session(db: Session, account_id: str, session_id: str, now: datetime) -> None:
    """End one of the caller's own sessions; anyone else's is 'not found'."""
    auth = db.get(AuthSession, session_id)
    if auth is None or auth.account_id != account_id or auth.revoked_at is not None:
        raise not_found("session")
    _revoke(auth, now, "revoked_by_member")
