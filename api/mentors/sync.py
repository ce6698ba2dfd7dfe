"""The mentors domain's synced tables: ``grants`` (pull only, for members and for
mentors) and, for mentors, ``shared_checkins`` and ``shared_plan_steps`` (pull only, only
the granted fields).

Every pull is incremental, and leaves the phone in the state the grants allow whether or
not it honours ``experimentalStrategy``:
- a grant made or changed re-sends every check-in it shows, whole (ungranted fields null);
- a check-in that leaves a mentor's view (grant revoked, narrowed, expired; help withdrawn;
  check-in deleted; member erased) is named in that mentor's ``deleted``, as is a plan
  step (no plan scope any more, step or goal deleted). Only ids sent to the mentor's
  phones are named (``HeldRecord``, ``api.mentors.held``), never one they did not see.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.accounts.service import display_names
from api.mentors import access, held
from api.mentors.held import SHARED, SHARED_PLAN
from api.mentors.models import Grant
from api.mentors.service import in_force
from api.sync import registry
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
# One record per step a grant with a plan scope shows, with its goal's area, title and
# status. notes and bring travel only under plan.full; null under plan.progress.
SHARED_PLAN_COLUMNS: dict[str, registry.ColumnType] = {
    "member_id": "string",
    "member_name": "string",
    "goal_id": "string",
    "goal_area": "string",
    "goal_title": "string",
    "goal_status": "string",
    "title": "string",
    "status": "string",
    "due_date": "string",
    "position": "number",
    "notes": "string",
    "bring": "string",
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


def _regranted(pull: Pull) -> set[str]:
    """The mentor's grants made or changed in the window: their views are new."""
    return set(
        pull.db.scalars(
            select(Grant.id).where(
                Grant.mentor_id == pull.account.id, pull.changed(Grant.sync_version)
            )
        )
    )


def _pull_shared(pull: Pull) -> Changes:
    """Check-ins changed in the window, and every check-in of a grant made or changed in
    it (its scopes are new: each record goes out whole, ungranted fields null, so a
    narrowed grant leaves no field behind); what left the view, in ``deleted``."""
    regranted = _regranted(pull)
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
        changes.deleted = gone.tombstones(SHARED) + held.expired_views(held.CHECKINS, gone)
    return changes


def _pull_shared_plan(pull: Pull) -> Changes:
    """Steps changed in the window (or whose goal changed), and every step of a grant made
    or changed in it, whole (notes and bring null unless plan.full, so a narrowed grant
    leaves neither behind); what left the view, in ``deleted``."""
    regranted = _regranted(pull)
    shown = access.synced_plan_steps(
        pull.db, pull.account, pull.changed, pull.until_time, lambda g: g.id in regranted
    )
    names = display_names(pull.db, {step.member_id for _, step, _ in shown})
    changes = Changes()
    for fields, step, grant in shown:
        goal = fields["goal"]
        bring = fields.get("bring")
        raw: registry.Raw = {
            "id": step.id,
            "member_id": step.member_id,
            "member_name": names.get(step.member_id),
            "goal_id": step.goal_id,
            "goal_area": goal["area"],
            "goal_title": goal["title"],
            "goal_status": goal["status"],
            "title": fields["title"],
            "status": str(fields["status"]),
            "due_date": fields["due_date"].isoformat() if fields["due_date"] else None,
            "position": fields["position"],
            "notes": fields.get("notes"),
            "bring": json.dumps(bring) if bring is not None else None,
        }
        new = pull.is_new(step.sync_created) or pull.is_new(grant.sync_created)
        changes.add(raw, new)
    gone = pull.for_deletions()
    if not gone.full:
        changes.deleted = gone.tombstones(SHARED_PLAN) + held.expired_views(held.PLAN_STEPS, gone)
    return changes


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
    SyncTable(
        SHARED,
        "mentor",
        SHARED_COLUMNS,
        _pull_shared,
        after_pull=held.remember_sent(held.CHECKINS),
    ),
    SyncTable(
        SHARED_PLAN,
        "mentor",
        SHARED_PLAN_COLUMNS,
        _pull_shared_plan,
        after_pull=held.remember_sent(held.PLAN_STEPS),
    ),
)
