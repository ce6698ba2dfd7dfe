"""Invites and grants: how a member lets a mentor in, changes what they see, and ends it.

Plain functions over a session; they only flush. Nothing here is cached: every mentor
request reads the grant again (see ``access``), so a change takes effect on the next one.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from api.accounts.models import Account
from api.accounts.service import display_names
from api.accounts.tokens import digest
from api.core.errors import Problem, not_found
from api.core.pagination import paginate
from api.mentors.models import Grant, Invite

INVITE_TTL = timedelta(hours=48)
# Letters and digits that cannot be mistaken for one another when read aloud or typed:
# no 0/O, 1/I/L, U/V, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH = 8  # 23^8 ≈ 7.8e10 codes, against a few guesses per hour
OPEN_INVITES_PER_MEMBER = 10


def _new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    """What the mentor typed, as stored: case, spaces and dashes do not matter."""
    return re.sub(r"[\s-]", "", code).upper()


def _future(when: datetime | None, now: datetime, field: str) -> None:
    if when is not None and when <= now:
        raise Problem(
            422,
            "The end of the grant must be in the future.",
            kind="validation-error",
            errors={field: ["Must be in the future."]},
        )


def create_invite(
    db: Session, member: Account, fields: dict[str, Any], now: datetime
) -> tuple[Invite, str]:
    """A single-use code valid for 48 hours, carrying the terms of the grant it makes.
    Returns the invite and its code (stored only as a digest)."""
    _future(fields.get("expires_at"), now, "expires_at")
    open_count = len(
        db.scalars(
            select(Invite.id).where(
                Invite.member_id == member.id,
                Invite.redeemed_at.is_(None),
                Invite.expires_at > now,
            )
        ).all()
    )
    if open_count >= OPEN_INVITES_PER_MEMBER:
        raise Problem(
            409,
            f"You have {open_count} unused invites; cancel one or wait for it to expire.",
            kind="too-many-invites",
        )
    code = _new_code()
    invite = Invite(
        member_id=member.id,
        code_hash=digest(normalize_code(code)),
        scopes=sorted(fields["scopes"]),
        share_history=fields.get("share_history", False),
        grant_expires_at=fields.get("expires_at"),
        created_at=now,
        expires_at=now + INVITE_TTL,
    )
    db.add(invite)
    db.flush()
    return invite, code


INVITE_FIELDS = (
    "id",
    "scopes",
    "share_history",
    "grant_expires_at",
    "created_at",
    "expires_at",
    "redeemed_at",
)


def invite_view(invite: Invite) -> dict[str, Any]:
    return {name: getattr(invite, name) for name in INVITE_FIELDS}


def list_invites(
    db: Session, member_id: str, now: datetime, page: int, page_size: int
) -> tuple[list[Invite], int]:
    """The member's invites not yet used and not expired."""
    query = (
        select(Invite)
        .where(
            Invite.member_id == member_id,
            Invite.redeemed_at.is_(None),
            Invite.expires_at > now,
        )
        .order_by(Invite.created_at.desc(), Invite.id)
    )
    return paginate(db, query, page, page_size)


def cancel_invite(db: Session, member_id: str, invite_id: str) -> None:
    invite = db.get(Invite, invite_id)
    if invite is None or invite.member_id != member_id:
        raise not_found("invite")
    if invite.redeemed_at is None:
        db.delete(invite)
        db.flush()


NO_SUCH_INVITE = (
    "No open invite has this code. A code works once, for 48 hours; check it, or ask for a new one."
)


def redeem(db: Session, mentor: Account, code: str, now: datetime) -> Grant:
    """Use an invite code: the mentor gets the grant it describes. One use only, even
    when two mentors try the same code at once (one conditional UPDATE decides)."""
    code_hash = digest(normalize_code(code))
    taken = db.execute(
        update(Invite)
        .where(
            Invite.code_hash == code_hash,
            Invite.redeemed_at.is_(None),
            Invite.expires_at > now,
            Invite.member_id != mentor.id,
        )
        .values(redeemed_at=now, redeemed_by=mentor.id)
        .returning(Invite.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if taken is None:
        raise Problem(404, NO_SUCH_INVITE, kind="invite-not-found")
    invite = db.get(Invite, taken, populate_existing=True)
    assert invite is not None
    if invite.grant_expires_at is not None and invite.grant_expires_at <= now:
        raise Problem(
            409,
            "The sharing this invite offered has already ended; ask for a new invite.",
            kind="grant-expired",
            keep_changes=True,
        )
    # A second invite from the same member replaces the terms of the grant in force.
    grant = active_grant(db, invite.member_id, mentor.id, now)
    if grant is None:
        grant = Grant(member_id=invite.member_id, mentor_id=mentor.id, created_at=now)
        db.add(grant)
    grant.scopes = list(invite.scopes)
    grant.share_history = invite.share_history
    grant.expires_at = invite.grant_expires_at
    grant.updated_at = now
    db.flush()
    return grant


def in_force(now: datetime) -> Any:
    return and_(Grant.revoked_at.is_(None), or_(Grant.expires_at.is_(None), Grant.expires_at > now))


def active_grant(db: Session, member_id: str, mentor_id: str, now: datetime) -> Grant | None:
    """The grant in force between these two, read fresh (never cached)."""
    return db.scalars(
        select(Grant)
        .where(Grant.member_id == member_id, Grant.mentor_id == mentor_id, in_force(now))
        .order_by(Grant.created_at.desc())
        .limit(1)
    ).first()


def grant_for_party(db: Session, account_id: str, grant_id: str) -> Grant:
    """A grant the caller is a party to (as member or mentor); otherwise 'not found'."""
    grant = db.get(Grant, grant_id)
    if grant is None or account_id not in (grant.member_id, grant.mentor_id):
        raise not_found("grant")
    return grant


def list_grants(
    db: Session, account_id: str, now: datetime, active: bool | None, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """Grants the caller gave (member) or holds (mentor), newest first, with both names."""
    member, mentor = aliased(Account), aliased(Account)
    query = (
        select(Grant, member.display_name, member.username, mentor.display_name, mentor.username)
        .join(member, member.id == Grant.member_id)
        .join(mentor, mentor.id == Grant.mentor_id)
        .where(or_(Grant.member_id == account_id, Grant.mentor_id == account_id))
        .order_by(Grant.created_at.desc(), Grant.id)
    )
    if active is True:
        query = query.where(in_force(now))
    elif active is False:
        query = query.where(~in_force(now))
    rows, total = paginate(db, query, page, page_size, rows=True)
    return [
        grant_view(grant, member_name=md or mu, mentor_name=nd or nu, now=now)
        for grant, md, mu, nd, nu in rows
    ], total


def grant_view(
    grant: Grant, *, member_name: str | None, mentor_name: str | None, now: datetime
) -> dict[str, Any]:
    return {
        **{
            name: getattr(grant, name)
            for name in (
                "id",
                "member_id",
                "mentor_id",
                "scopes",
                "share_history",
                "created_at",
                "updated_at",
                "expires_at",
                "revoked_at",
                "revoked_by",
            )
        },
        "member_name": member_name,
        "mentor_name": mentor_name,
        "active": grant.is_active(now),
    }


def names(db: Session, grant: Grant) -> dict[str, str | None]:
    found = display_names(db, [grant.member_id, grant.mentor_id])
    return {"member_name": found.get(grant.member_id), "mentor_name": found.get(grant.mentor_id)}


def change_grant(db: Session, grant: Grant, changes: dict[str, Any], now: datetime) -> Grant:
    """The member changes scopes, history or expiry; the next mentor request sees it."""
    if not grant.is_active(now):
        raise Problem(
            409,
            "This grant has ended and cannot be changed; make a new invite instead.",
            kind="grant-ended",
        )
    if "expires_at" in changes:
        _future(changes["expires_at"], now, "expires_at")
    if "scopes" in changes:
        changes["scopes"] = sorted(changes["scopes"])
    for name, value in changes.items():
        setattr(grant, name, value)
    grant.updated_at = now
    db.flush()
    return grant


def end_grant(db: Session, grant: Grant, by_account_id: str, now: datetime) -> None:
    """Either side ends a grant, at once. Ending an ended grant changes nothing."""
    if grant.revoked_at is None:
        grant.revoked_at = now
        grant.revoked_by = "member" if by_account_id == grant.member_id else "mentor"
        grant.updated_at = now
        db.flush()
