"""What operators do to accounts from the command line (``flask users``): create staff and
admins, list them, disable and enable accounts. Plain functions over a session that only
flush; the command commits. Binding staff to the organization whose listings they edit is
the directory's (``resources.editors``), which calls these; accounts know no organization.

Members' accounts are never listed: an operator runs the service, and a list of the people
using it, even by username, is theirs to keep. Only counts are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import Account, Role
from api.accounts.service import create_account, sign_out_everywhere, username_key
from api.core.errors import Problem

# The roles an operator manages; members and mentors register themselves.
OPERATED_ROLES = (Role.STAFF, Role.ADMIN)


class OperatorError(Exception):
    """Something the operator asked for cannot be done; the message says why."""


@dataclass(frozen=True)
class StaffRow:
    id: str
    username: str
    role: str
    disabled_at: datetime | None
    created_at: datetime


def account_named(db: Session, username: str) -> Account:
    account = db.scalar(select(Account).where(Account.username_key == username_key(username)))
    if account is None:
        raise OperatorError(f"there is no account named {username!r}")
    return account


def create_staff(
    db: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None,
    now: datetime,
) -> Account:
    """A staff or admin account, with the password and username rules registration has."""
    if role not in OPERATED_ROLES:
        raise OperatorError("only staff and admin accounts are made here")
    try:
        return create_account(
            db, username=username, password=password, role=role, now=now, display_name=display_name
        )
    except Problem as problem:
        raise OperatorError(problem.detail) from None


def list_staff(db: Session, roles: tuple[Role, ...] = OPERATED_ROLES) -> list[StaffRow]:
    """Staff and admin accounts, oldest first. Never a password, token or member."""
    wanted = [r for r in roles if r in OPERATED_ROLES]
    rows = db.execute(
        select(Account.id, Account.username, Account.role, Account.disabled_at, Account.created_at)
        .where(Account.role.in_(wanted))
        .order_by(Account.created_at, Account.username_key)
    ).all()
    return [
        StaffRow(
            id=row[0],
            username=row[1],
            role=Role(row[2]).value,
            disabled_at=row[3],
            created_at=row[4],
        )
        for row in rows
    ]


def count_by_role(db: Session) -> dict[Role, int]:
    counted = dict(db.execute(select(Account.role, func.count()).group_by(Account.role)).all())
    return {role: int(counted.get(role, 0)) for role in Role}


def disable(db: Session, username: str, now: datetime) -> tuple[Account, int]:
    """Switch an account off: every session ends at once (its access tokens stop working
    at the next request, its refresh tokens are refused) and signing in answers as a
    wrong password does. Returns the account and how many sessions were ended."""
    account = account_named(db, username)
    if account.disabled_at is None:
        account.disabled_at = now
        account.updated_at = now
    ended = sign_out_everywhere(db, account.id, now, "disabled")
    db.flush()
    return account, ended


def enable(db: Session, username: str, now: datetime) -> Account:
    """Undo :func:`disable`: the account may sign in again (its old sessions stay ended)."""
    account = account_named(db, username)
    if account.disabled_at is not None:
        account.disabled_at = None
        account.updated_at = now
        db.flush()
    return account
