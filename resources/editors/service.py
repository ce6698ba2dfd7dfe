"""Who edits which organization's listings. Staff edits ask :func:`staff_organization`;
operators bind accounts from the command line (``flask users``). Plain functions over a
session that only flush; the request or the command commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import operators
from api.accounts.models import Account, Role
from api.core.errors import Problem
from resources.editors.models import DirectoryEditor
from resources.models import Organization


def organization_of(db: Session, account: Account) -> str | None:
    """The organization whose listings ``account`` edits; None when it is bound to none
    (never bound, or its organization has left the directory)."""
    editor = db.get(DirectoryEditor, account.id)
    return None if editor is None else editor.organization_id


def staff_organization(db: Session, staff: Account) -> str:
    """As :func:`organization_of`, for an edit that cannot be made without one."""
    organization_id = organization_of(db, staff)
    if organization_id is None:
        raise Problem(
            409,
            "This staff account is not bound to an organization; ask an operator to set it.",
            kind="no-organization",
        )
    return organization_id


def organization_name(db: Session, organization_id: str) -> str:
    organization = db.get(Organization, organization_id)
    if organization is None:
        raise operators.OperatorError(
            f"there is no organization {organization_id!r} in the directory "
            "(its ids are in /hsds/organizations)"
        )
    return organization.name


def _bind(db: Session, account: Account, organization_id: str, now: datetime) -> None:
    editor = db.get(DirectoryEditor, account.id)
    if editor is None:
        editor = DirectoryEditor(account_id=account.id)
        db.add(editor)
    editor.organization_id = organization_id
    editor.bound_at = now
    db.flush()


def create_staff(
    db: Session,
    *,
    username: str,
    password: str,
    role: Role,
    organization_id: str | None,
    display_name: str | None,
    now: datetime,
) -> Account:
    """A staff account must be bound to an organization: without one it can do nothing.
    An admin may be made without one. The account and its binding are one transaction."""
    if role is Role.STAFF and organization_id is None:
        raise operators.OperatorError(
            "a staff account edits one organization's listings: give --organization ID "
            "(the organization's id in the directory)"
        )
    if organization_id is not None:
        organization_name(db, organization_id)
    account = operators.create_staff(
        db,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        now=now,
    )
    if organization_id is not None:
        _bind(db, account, organization_id, now)
    return account


def bind(db: Session, username: str, organization_id: str, now: datetime) -> tuple[Account, str]:
    """Bind a staff (or admin) account to the organization whose listings it edits,
    replacing any. Returns the account and the organization's name."""
    account = operators.account_named(db, username)
    if account.role not in operators.OPERATED_ROLES:
        raise operators.OperatorError(
            f"{account.username!r} is a {account.role.value} account; only staff and admin "
            "accounts are bound to an organization"
        )
    name = organization_name(db, organization_id)
    _bind(db, account, organization_id, now)
    return account, name


def organizations_by_account(db: Session) -> dict[str, tuple[str, str]]:
    """Every binding, account id -> (organization id, name). As many as there are staff
    and admins, so all of them are read at once for ``flask users list``."""
    rows = db.execute(
        select(DirectoryEditor.account_id, Organization.id, Organization.name).join(
            Organization, Organization.id == DirectoryEditor.organization_id
        )
    ).all()
    return {account_id: (organization_id, name) for account_id, organization_id, name in rows}


def export(db: Session, account: Account) -> dict[str, Any] | None:
    """The account's binding, for its export (None for members and mentors)."""
    editor = db.get(DirectoryEditor, account.id)
    if editor is None:
        return None
    return {"organization_id": editor.organization_id, "bound_at": editor.bound_at}
