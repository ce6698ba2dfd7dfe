"""The mentors domain's synced tables: ``grants`` (pull only, for members and for
mentors) and, for mentors, ``shared_checkins`` (pull only, only the granted fields).

Every pull is incremental, and leaves the phone in the state the grants allow whether or
not it honours ``experimentalStrategy``:
- a grant made or changed re-sends every check-in it shows, whole (ungranted fields null);
- a check-in that leaves a mentor's view (grant revoked, narrowed, expired; help withdrawn;
  check-in deleted; member erased) is named in that mentor's ``deleted``. Only ids sent
  to the mentor's phones are named (``HeldRecord``), never a check-in they did not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account, Role
from api.accounts.service import display_names
from api.checkins.models import Checkin
from api.core.db import in_chunks, insert_ignoring_conflicts, utcnow
from api.mentors import access
from api.mentors.models import Grant
from api.mentors.service import in_force
from api.sync import registry
from api.sync.models import HeldRecord, Tombstone
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
SHARED = "shared_checkins"
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
    gone = pull.for_deletions()
    if not gone.full:
        changes.deleted = gone.tombstones("grants") + list(
            pull.db.scalars(
                select(Grant.id).where(
                    Grant.mentor_id == pull.account.id,
                    ~in_force(pull.until_time),
                    or_(gone.changed(Grant.sync_version), gone.passed(Grant.expires_at)),
                )
            )
        )
    return changes


def _pull_shared(pull: Pull) -> Changes:
    """Check-ins changed in the window, and every check-in of a grant made or changed in
    it (its scopes are new: each record goes out whole, ungranted fields null, so a
    narrowed grant leaves no field behind); what left the view, in ``deleted``."""
    regranted = set(
        pull.db.scalars(
            select(Grant.id).where(
                Grant.mentor_id == pull.account.id, pull.changed(Grant.sync_version)
            )
        )
    )
    shown = access.synced_checkins(
        pull.db, pull.account, pull.changed, pull.until_time, lambda g: g.id in regranted
    )
    names = display_names(pull.db, {checkin.member_id for _, checkin, _ in shown})
    changes = Changes()
    for fields, checkin, grant in shown:
        raw: registry.Raw = dict.fromkeys(SHARED_COLUMNS)
        raw["id"] = checkin.id
        raw.update(
            (
                name,
                joined(value) if name == "needs" else ms(value) if name.endswith("_at") else value,
            )
            for name, value in fields.items()
        )
        raw["member_id"] = checkin.member_id
        raw["member_name"] = names.get(checkin.member_id)
        new = pull.is_new(checkin.sync_created) or pull.is_new(grant.sync_created)
        changes.add(raw, new)
    gone = pull.for_deletions()
    if not gone.full:
        changes.deleted = gone.tombstones(SHARED) + _expired_views(gone)
    return changes


def _expired_views(gone: Pull) -> list[str]:
    """Held check-ins of members whose grant ended inside the window with no write (it
    expired): named in ``deleted`` of every phone whose window holds the moment."""
    members = set(
        gone.db.scalars(
            select(Grant.member_id).where(
                Grant.mentor_id == gone.account.id, gone.passed(Grant.expires_at)
            )
        )
    )
    return [
        i
        for member_id in sorted(members)
        for i in _hidden(gone.db, gone.account.id, member_id, gone.until_time)
    ]


def _hidden(
    db: Session, mentor_id: str, member_id: str, now: datetime, among: list[str] | None = None
) -> list[str]:
    """Ids this mentor's phones hold of this member (``among`` these, when given) that the
    mentor may no longer see."""
    visible = access.visible_to(db, mentor_id, member_id, now)
    held = select(HeldRecord.record_id).where(
        HeldRecord.account_id == mentor_id,
        HeldRecord.table_name == SHARED,
        HeldRecord.subject_id == member_id,
        ~exists().where(Checkin.id == HeldRecord.record_id, visible),
    )
    if among is None:
        return list(db.scalars(held))
    return [
        i
        for chunk in in_chunks(among)
        for i in db.scalars(held.where(HeldRecord.record_id.in_(chunk)))
    ]


def _tell_hidden(
    db: Session, mentor_id: str, member_id: str, among: list[str] | None = None
) -> bool:
    """Tombstones, addressed to the mentor, for what their phones hold and may no longer
    see; those records are no longer held. True when there were any."""
    hidden = _hidden(db, mentor_id, member_id, utcnow(), among)
    for chunk in in_chunks(hidden):
        db.add_all(Tombstone(table_name=SHARED, record_id=i, account_id=mentor_id) for i in chunk)
        db.execute(
            delete(HeldRecord).where(
                HeldRecord.account_id == mentor_id,
                HeldRecord.table_name == SHARED,
                HeldRecord.record_id.in_(chunk),
            )
        )
    return bool(hidden)


def _holders(db: Session, member_ids: set[str]) -> list[tuple[str, str]]:
    """(mentor, member) pairs where the mentor's phones hold some of the member's records."""
    pairs: set[tuple[str, str]] = set()
    for chunk in in_chunks(sorted(member_ids)):
        pairs.update(
            (mentor_id, member_id)
            for member_id, mentor_id in db.execute(
                select(HeldRecord.subject_id, HeldRecord.account_id)
                .where(
                    HeldRecord.table_name == SHARED,
                    HeldRecord.subject_id.in_(chunk),
                )
                .distinct()
            )
        )
    return sorted(pairs)


def _holders_of(db: Session, record_ids: list[str]) -> dict[tuple[str, str], list[str]]:
    """{(mentor, member): [held ids]} among these check-in ids."""
    found: dict[tuple[str, str], list[str]] = {}
    for chunk in in_chunks(record_ids):
        for mentor_id, member_id, record_id in db.execute(
            select(HeldRecord.account_id, HeldRecord.subject_id, HeldRecord.record_id).where(
                HeldRecord.table_name == SHARED,
                HeldRecord.record_id.in_(chunk),
            )
        ):
            found.setdefault((mentor_id, member_id), []).append(record_id)
    return found


def views_may_shrink(db: Session, pending: set[str]) -> bool:
    """Before a transaction that changed check-ins or grants commits (under the clock's
    lock): tombstones for every held check-in that left its mentor's view (the in-app help
    alerts have their own hook, ``reminders.notifications.inbox.withdrawn``). A changed or
    deleted grant checks all that its member's mentors hold; a changed or deleted
    check-in checks only itself (one indexed lookup when no mentor holds it)."""
    whole: set[str] = set()  # members whose grants changed
    checkins: list[str] = []  # check-ins changed or deleted
    if "checkins" in pending:
        checkins += db.scalars(select(Checkin.id).where(Checkin.sync_version.is_(None)))
    if "grants" in pending:
        whole.update(db.scalars(select(Grant.member_id).where(Grant.sync_version.is_(None))))
    if "sync_tombstones" in pending:
        for table, record_id, account_id in db.execute(
            select(Tombstone.table_name, Tombstone.record_id, Tombstone.account_id).where(
                Tombstone.sync_version.is_(None), Tombstone.table_name.in_(("checkins", "grants"))
            )
        ):
            if table == "grants" and account_id is not None:
                whole.add(account_id)
            elif table == "checkins":
                checkins.append(record_id)
    wrote = False
    for mentor_id, member_id in _holders(db, whole) if whole else []:
        wrote = _tell_hidden(db, mentor_id, member_id) or wrote
    for (mentor_id, member_id), held in _holders_of(db, checkins).items():
        if member_id not in whole:
            wrote = _tell_hidden(db, mentor_id, member_id, held) or wrote
    return wrote


def _remember_sent(db: Session, mentor: Account, sent: Changes) -> None:
    """What went to the mentor's phone is held; anything of it that a writer hid after
    the pull's snapshot is told at once (this runs under the clock's lock)."""
    rows = [
        {
            "account_id": mentor.id,
            "table_name": SHARED,
            "record_id": raw["id"],
            "subject_id": raw["member_id"],
        }
        for raw in sent.created + sent.updated
    ]
    for chunk in in_chunks(rows):
        insert_ignoring_conflicts(db, HeldRecord, chunk, ["account_id", "table_name", "record_id"])
    for member_id in sorted({row["subject_id"] for row in rows}):
        _tell_hidden(db, mentor.id, member_id)


def forget_erased(db: Session, account: Account) -> None:
    """An erased member's shared check-ins leave every mentor's phone by id; an erased
    mentor's record of what they held goes."""
    if account.role == Role.MEMBER:
        for mentor_id, member_id in _holders(db, {account.id}):
            _tell_hidden(db, mentor_id, member_id)
    db.execute(delete(HeldRecord).where(HeldRecord.account_id == account.id))


def renamed(account: Account, *, db: Session, changed: set[str], now: Any) -> None:
    """Grants carry both names: a new name reaches the other side's phone."""
    if "display_name" in changed:
        db.execute(
            update(Grant)
            .where(or_(Grant.member_id == account.id, Grant.mentor_id == account.id))
            .values(sync_version=None)
        )


# The tables this domain's phones sync, registered by the domain's init_app.
TABLES = (
    SyncTable("grants", "member", GRANT_COLUMNS, _pull_member_grants),
    SyncTable("grants", "mentor", GRANT_COLUMNS, _pull_mentor_grants),
    SyncTable(SHARED, "mentor", SHARED_COLUMNS, _pull_shared, after_pull=_remember_sent),
)
