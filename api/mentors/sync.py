"""The mentors domain's synced tables: ``grants`` (pull only, for members and for
mentors) and, for mentors, ``shared_checkins`` (pull only, only the granted fields).

A change to a mentor's grants (made, scopes changed, revoked, expired, or the member
erased) changes which check-ins and fields the mentor may hold in ways an incremental
answer cannot tell without naming check-ins the mentor never saw. Such a pull is a
replacement sync instead: the phone keeps exactly what is sent and drops the rest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from api import signals
from api.accounts.models import Account
from api.accounts.service import display_names
from api.mentors import access
from api.mentors.models import Grant
from api.mentors.service import in_force
from api.sync import registry
from api.sync.models import Tombstone
from api.sync.registry import Changes, Pull, SyncTable, joined, ms

GRANT_COLUMNS: dict[str, registry.ColumnType] = {
    "member_name": "string",
    "mentor_name": "string",
    "scopes": "string",
    "share_history": "boolean",
    "created_at": "number",
    "expires_at": "number",
    "revoked_at": "number",
    "in_force": "boolean",
}
SHARED_COLUMNS: dict[str, registry.ColumnType] = {
    "member_id": "string",
    "member_name": "string",
    "recorded_at": "number",
    "created_at": "number",
    "mood": "number",
    "needs": "string",
    "help_requested": "boolean",
    "wins": "string",
    "note": "string",
    "place": "string",
}


def _grant_raws(pull: Pull, grants: list[Grant]) -> list[registry.Raw]:
    names = display_names(pull.db, {g.member_id for g in grants} | {g.mentor_id for g in grants})
    return [
        {
            "id": grant.id,
            "member_name": names.get(grant.member_id),
            "mentor_name": names.get(grant.mentor_id),
            "scopes": joined(grant.scopes),
            "share_history": bool(grant.share_history),
            "created_at": ms(grant.created_at),
            "expires_at": ms(grant.expires_at),
            "revoked_at": ms(grant.revoked_at),
            "in_force": grant.is_active(pull.until_time),
        }
        for grant in grants
    ]


def _pull_member_grants(pull: Pull) -> Changes:
    """All the member's grants, ended ones too (their history is theirs to see)."""
    grants = list(
        pull.db.scalars(
            select(Grant).where(
                Grant.member_id == pull.account.id,
                or_(pull.changed(Grant.sync_version), pull.passed(Grant.expires_at))
                if not pull.full
                else pull.changed(Grant.sync_version),
            )
        )
    )
    changes = Changes()
    for grant, raw in zip(grants, _grant_raws(pull, grants), strict=True):
        changes.add(raw, pull.is_new(grant.sync_created))
    changes.deleted = pull.tombstones("grants")
    return changes


def _pull_mentor_grants(pull: Pull) -> Changes:
    """Only the grants in force; one that ended leaves the mentor's phone."""
    grants = list(
        pull.db.scalars(
            select(Grant).where(
                Grant.mentor_id == pull.account.id,
                in_force(pull.until_time),
                pull.changed(Grant.sync_version),
            )
        )
    )
    changes = Changes()
    for grant, raw in zip(grants, _grant_raws(pull, grants), strict=True):
        changes.add(raw, pull.is_new(grant.sync_created))
    if not pull.full:
        changes.deleted = pull.tombstones("grants") + list(
            pull.db.scalars(
                select(Grant.id).where(
                    Grant.mentor_id == pull.account.id,
                    ~in_force(pull.until_time),
                    or_(pull.changed(Grant.sync_version), pull.passed(Grant.expires_at)),
                )
            )
        )
    return changes


def _pull_shared(pull: Pull) -> Changes:
    shown = access.synced_checkins(pull.db, pull.account, pull.changed, pull.until_time)
    names = display_names(pull.db, {checkin.member_id for _, checkin in shown})
    changes = Changes()
    for fields, checkin in shown:
        raw = {
            name: (
                joined(value) if name == "needs" else ms(value) if name.endswith("_at") else value
            )
            for name, value in fields.items()
        }
        raw["member_id"] = checkin.member_id
        raw["member_name"] = names.get(checkin.member_id)
        changes.add(raw, pull.is_new(checkin.sync_created))
    return changes


def _mentor_view_changed(pull: Pull) -> bool:
    """Did what this mentor may see change in a way only a replacement can tell?"""
    me = pull.account.id
    mentees = select(Grant.member_id).where(Grant.mentor_id == me)
    return bool(
        pull.db.scalar(
            select(
                exists().where(
                    Grant.mentor_id == me,
                    or_(pull.changed(Grant.sync_version), pull.passed(Grant.expires_at)),
                )
            )
        )
        or pull.tombstones("grants")
        or pull.db.scalar(
            select(
                exists().where(
                    Tombstone.table_name == "checkins",
                    Tombstone.account_id.in_(mentees),
                    pull.changed(Tombstone.sync_version),
                )
            )
        )
        or access.unseen_changes(pull.db, pull.account, pull.changed, pull.until_time)
    )


def _renamed(account: Account, *, db: Session, changed: set[str], now: Any) -> None:
    """Grants carry both names: a new name reaches the other side's phone."""
    if "display_name" in changed:
        db.execute(
            update(Grant)
            .where(or_(Grant.member_id == account.id, Grant.mentor_id == account.id))
            .values(sync_version=None)
        )


def register() -> None:
    signals.profile_changed.connect(_renamed, weak=False)
    registry.register(SyncTable("grants", "member", GRANT_COLUMNS, _pull_member_grants))
    registry.register(
        SyncTable(
            "grants",
            "mentor",
            GRANT_COLUMNS,
            _pull_mentor_grants,
            needs_replacement=_mentor_view_changed,
        )
    )
    registry.register(SyncTable("shared_checkins", "mentor", SHARED_COLUMNS, _pull_shared))
