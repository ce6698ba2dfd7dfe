"""What a mentor's phones hold of what members share (``sync_held``), and telling those
phones, by id, what left the mentor's view: a shared check-in or a shared plan step.

A mentor is only ever told of a record their phones were sent (``HeldRecord``): whenever
a transaction changes what a grant shows (check-ins, steps, grants), ``views_may_shrink``
runs under the clock's lock before stamping and turns every held record that left its
mentor's view into a tombstone addressed to that mentor; a pull records what it sent
(``remember_sent``) and checks it against what writers committed after its snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from api.accounts.models import Account, Role
from api.checkins.models import Checkin
from api.core.db import in_chunks, insert_ignoring_conflicts, utcnow
from api.mentors import access
from api.mentors.models import Grant
from api.plans.models import PlanStep
from api.sync.models import HeldRecord, Tombstone
from api.sync.registry import Changes, Pull

SHARED = "shared_checkins"
SHARED_PLAN = "shared_plan_steps"


@dataclass(frozen=True)
class HeldView:
    """A mentor's sync table of records members share: the ``model`` whose ids it holds,
    the member table whose deletions are its deletions, and ``visible`` (db, mentor id,
    member id, now) -> the condition on ``model`` of what the mentor may see now."""

    table: str
    model: Any
    source: str
    visible: Callable[[Session, str, str, datetime], Any]


CHECKINS = HeldView(SHARED, Checkin, "checkins", access.visible_to)
PLAN_STEPS = HeldView(SHARED_PLAN, PlanStep, "plan_steps", access.plan_visible_to)
VIEWS = (CHECKINS, PLAN_STEPS)


def expired_views(view: HeldView, gone: Pull) -> list[str]:
    """Held records of members whose grant ended inside the window with no write (it
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
        for i in _hidden(view, gone.db, gone.account.id, member_id, gone.until_time)
    ]


def _hidden(
    view: HeldView,
    db: Session,
    mentor_id: str,
    member_id: str,
    now: datetime,
    among: list[str] | None = None,
) -> list[str]:
    """Ids this mentor's phones hold of this member (``among`` these, when given) that the
    mentor may no longer see."""
    visible = view.visible(db, mentor_id, member_id, now)
    held = select(HeldRecord.record_id).where(
        HeldRecord.account_id == mentor_id,
        HeldRecord.table_name == view.table,
        HeldRecord.subject_id == member_id,
        ~exists().where(view.model.id == HeldRecord.record_id, visible),
    )
    if among is None:
        return list(db.scalars(held))
    return [
        i
        for chunk in in_chunks(among)
        for i in db.scalars(held.where(HeldRecord.record_id.in_(chunk)))
    ]


def _tell_hidden(
    view: HeldView, db: Session, mentor_id: str, member_id: str, among: list[str] | None = None
) -> bool:
    """Tombstones, addressed to the mentor, for what their phones hold and may no longer
    see; those records are no longer held. True when there were any."""
    hidden = _hidden(view, db, mentor_id, member_id, utcnow(), among)
    for chunk in in_chunks(hidden):
        db.add_all(
            Tombstone(table_name=view.table, record_id=i, account_id=mentor_id) for i in chunk
        )
        db.execute(
            delete(HeldRecord).where(
                HeldRecord.account_id == mentor_id,
                HeldRecord.table_name == view.table,
                HeldRecord.record_id.in_(chunk),
            )
        )
    return bool(hidden)


def _holders(view: HeldView, db: Session, member_ids: set[str]) -> list[tuple[str, str]]:
    """(mentor, member) pairs where the mentor's phones hold some of the member's records."""
    pairs: set[tuple[str, str]] = set()
    for chunk in in_chunks(sorted(member_ids)):
        pairs.update(
            (mentor_id, member_id)
            for member_id, mentor_id in db.execute(
                select(HeldRecord.subject_id, HeldRecord.account_id)
                .where(HeldRecord.table_name == view.table, HeldRecord.subject_id.in_(chunk))
                .distinct()
            )
        )
    return sorted(pairs)


def _holders_of(
    view: HeldView, db: Session, record_ids: list[str]
) -> dict[tuple[str, str], list[str]]:
    """{(mentor, member): [held ids]} among these record ids."""
    found: dict[tuple[str, str], list[str]] = {}
    for chunk in in_chunks(record_ids):
        for mentor_id, member_id, record_id in db.execute(
            select(HeldRecord.account_id, HeldRecord.subject_id, HeldRecord.record_id).where(
                HeldRecord.table_name == view.table, HeldRecord.record_id.in_(chunk)
            )
        ):
            found.setdefault((mentor_id, member_id), []).append(record_id)
    return found


def views_may_shrink(db: Session, pending: set[str]) -> bool:
    """Before a transaction that changed check-ins, steps or grants commits (under the
    clock's lock): tombstones for every held record that left its mentor's view (the in-app
    help alerts have their own hook, ``reminders.notifications.inbox.withdrawn``). A
    changed or deleted grant checks all that its member's mentors hold; a changed or
    deleted check-in, or a deleted step, checks only itself (one indexed lookup when no
    mentor holds it)."""
    whole: set[str] = set()  # members whose grants changed
    records: dict[str, list[str]] = {view.table: [] for view in VIEWS}
    if "checkins" in pending:
        records[SHARED] += db.scalars(select(Checkin.id).where(Checkin.sync_version.is_(None)))
    if "grants" in pending:
        whole.update(db.scalars(select(Grant.member_id).where(Grant.sync_version.is_(None))))
    if "sync_tombstones" in pending:
        sources = {view.source: view.table for view in VIEWS}
        for table, record_id, account_id in db.execute(
            select(Tombstone.table_name, Tombstone.record_id, Tombstone.account_id).where(
                Tombstone.sync_version.is_(None),
                Tombstone.table_name.in_(("grants", *sources)),
            )
        ):
            if table == "grants" and account_id is not None:
                whole.add(account_id)
            elif table in sources:
                records[sources[table]].append(record_id)
    wrote = False
    for view in VIEWS:
        for mentor_id, member_id in _holders(view, db, whole) if whole else []:
            wrote = _tell_hidden(view, db, mentor_id, member_id) or wrote
        for (mentor_id, member_id), held in _holders_of(view, db, records[view.table]).items():
            if member_id not in whole:
                wrote = _tell_hidden(view, db, mentor_id, member_id, held) or wrote
    return wrote


def remember_sent(view: HeldView) -> Callable[[Session, Account, Changes], None]:
    """The ``after_pull`` of a mentor's shared table: what went to the mentor's phone is
    held; anything of it that a writer hid after the pull's snapshot is told at once (this
    runs under the clock's lock)."""

    def remember(db: Session, mentor: Account, sent: Changes) -> None:
        rows = [
            {
                "account_id": mentor.id,
                "table_name": view.table,
                "record_id": raw["id"],
                "subject_id": raw["member_id"],
            }
            for raw in sent.created + sent.updated
        ]
        for chunk in in_chunks(rows):
            insert_ignoring_conflicts(
                db, HeldRecord, chunk, ["account_id", "table_name", "record_id"]
            )
        for member_id in sorted({row["subject_id"] for row in rows}):
            _tell_hidden(view, db, mentor.id, member_id)

    return remember


def forget_erased(db: Session, account: Account) -> None:
    """An erased member's shared records leave every mentor's phone by id; an erased
    mentor's record of what they held goes."""
    if account.role == Role.MEMBER:
        for view in VIEWS:
            for mentor_id, member_id in _holders(view, db, {account.id}):
                _tell_hidden(view, db, mentor_id, member_id)
    db.execute(delete(HeldRecord).where(HeldRecord.account_id == account.id))
