"""The in-app channel of the outbox: the mentors' inbox of help alerts, their synced table
``alerts`` (pull only), registered by ``reminders.notifications.init_app``.

Every call for help queues, beside its push and SMS rows, one outbox row per mentor on
the ``app`` channel (``api.mentors.alerts``). The dispatcher never claims those: the
mentor's next pull carries the alert, and the pull's after-pull step marks the row
``sent`` (``sent_at`` = the pull's timestamp) in the same request's commit. A mentor
with no device and no number is told that way.

What a mentor's phones hold follows the grant, as for ``shared_checkins``:
- alerts show only while a grant in force includes ``help_alerts``;
- a grant that ended, expired or lost ``help_alerts`` inside a pull's window names every
  alert it showed in ``deleted``; a grant made or changed again sends them again;
- an erased member's alerts leave by tombstone (what was sent is in ``sync_held``), and
  so does the alert of a check-in deleted or no longer asking for help (``withdrawn``).
A pull answer lost on the way is not lost for the phone: a row sent after the phone's
``last_pulled_at`` is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account, Role
from api.accounts.service import display_names
from api.checkins import sync as checkins_sync
from api.checkins.models import Checkin
from api.core.db import in_chunks, insert_ignoring_conflicts
from api.mentors import access
from api.mentors.models import Grant, Scope
from api.mentors.service import in_force
from api.sync import registry
from api.sync.models import HeldRecord, Tombstone
from api.sync.registry import Changes, Pull, SyncTable, from_ms, ms
from reminders import texts
from reminders.models import Channel, DeliveryState, NoticeKind, ReminderDelivery

ALERTS = "alerts"
ALERT_COLUMNS: dict[str, registry.ColumnType] = {
    "member_id": "string",
    "member_name": "string",
    "checkin_id": "string",
    "asked_at": "number",
    "body": "string",
}
rd = ReminderDelivery


@dataclass
class Delivered(Changes):
    """The alerts of one pull, and the pull's timestamp (their ``sent_at``)."""

    until: int = 0


def _in_app(mentor_id: str) -> Any:
    return and_(
        rd.kind == NoticeKind.HELP_ALERT, rd.channel == Channel.APP, rd.member_id == mentor_id
    )


def _pull_alerts(pull: Pull) -> Changes:
    db, mentor = pull.db, pull.account
    grants = {
        g.member_id: g
        for g in db.scalars(
            select(Grant).where(Grant.mentor_id == mentor.id, in_force(pull.until_time))
        )
        if Scope.HELP_ALERTS in g.scopes
    }
    found = Delivered(until=pull.until)
    names = display_names(db, grants)
    shown: dict[str, list[str]] = {}
    for row in _to_show(pull, set(grants)):
        assert row.about_member_id is not None and row.subject_id is not None
        found.add(
            {
                "id": row.subject_id,
                "member_id": row.about_member_id,
                "member_name": names.get(row.about_member_id),
                "checkin_id": row.subject_id,
                "asked_at": ms(row.created_at),
                "body": texts.help_alert(mentor.locale).body,
            },
            pull.full or row.state == DeliveryState.PENDING,
        )
        shown.setdefault(row.about_member_id, []).append(row.subject_id)
    for member_id, ids in shown.items():
        grant = grants[member_id]
        access.log(
            db, access.Access(grant, frozenset(grant.scopes)), "alerts.sync", ids, pull.until_time
        )
    gone = pull.for_deletions()
    if not gone.full:
        found.deleted = gone.tombstones(ALERTS) + _hidden(gone, set(grants))
    return found


def _to_show(pull: Pull, granted: set[str]) -> list[ReminderDelivery]:
    """The mentor's in-app alerts about these members that this pull carries: the new
    ones, and again those of a grant made or changed in the window (what it shows goes
    again, whole), or sent after the phone's last pull. Not those of a check-in that no
    longer asks for help (a phone that held one is told by ``withdrawn``)."""
    if not granted:
        return []
    db, mentor = pull.db, pull.account
    regranted = set(
        db.scalars(
            select(Grant.member_id).where(
                Grant.mentor_id == mentor.id, pull.changed(Grant.sync_version)
            )
        )
    )
    rows = list(
        db.scalars(
            select(rd)
            .where(
                _in_app(mentor.id),
                rd.state.in_([DeliveryState.PENDING, DeliveryState.SENT]),
                rd.about_member_id.in_(granted),
            )
            .order_by(rd.created_at)
        )
    )
    asking = set(
        db.scalars(
            select(Checkin.id).where(
                Checkin.id.in_({r.subject_id for r in rows}),
                Checkin.help_requested.is_(True),
            )
        )
    )
    return [
        row
        for row in rows
        if row.subject_id in asking
        and (
            row.state == DeliveryState.PENDING
            or pull.full
            or row.about_member_id in regranted
            or (row.sent_at is not None and row.sent_at > pull.since_time)
        )
    ]


def _hidden(gone: Pull, allowed: set[str]) -> list[str]:
    """Alerts sent to this mentor about members whose grant ended, expired or lost help
    alerts inside the window."""
    ended = set(
        gone.db.scalars(
            select(Grant.member_id).where(
                Grant.mentor_id == gone.account.id,
                or_(gone.changed(Grant.sync_version), gone.passed(Grant.expires_at)),
            )
        )
    )
    hidden = sorted(ended - allowed)
    if not hidden:
        return []
    return list(
        gone.db.scalars(
            select(rd.subject_id).where(
                _in_app(gone.account.id),
                rd.state == DeliveryState.SENT,
                rd.about_member_id.in_(hidden),
            )
        )
    )


def _delivered(db: Session, mentor: Account, sent: Changes) -> None:
    """After the pull (under the clock's lock, in the request's commit): the alerts it
    carried are delivered, and held by the mentor's phones."""
    raws = sent.created + sent.updated
    until = sent.until if isinstance(sent, Delivered) else 0
    for chunk in in_chunks(raws):
        db.execute(
            update(rd)
            .where(
                _in_app(mentor.id),
                rd.subject_id.in_([raw["id"] for raw in chunk]),
                rd.state == DeliveryState.PENDING,
            )
            .values(
                state=DeliveryState.SENT,
                sent_at=from_ms(until),
                attempts=rd.attempts + 1,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        )
        insert_ignoring_conflicts(
            db,
            HeldRecord,
            [
                {
                    "account_id": mentor.id,
                    "table_name": ALERTS,
                    "record_id": raw["id"],
                    "subject_id": raw["member_id"],
                }
                for raw in chunk
            ],
            ["account_id", "table_name", "record_id"],
        )


def withdrawn(db: Session, pending: set[str]) -> bool:
    """Of the check-ins changed or deleted in a transaction about to commit (a stamping
    hook, run under the clock's lock): an alert a mentor's phone holds about one that no
    longer asks for help leaves that phone by tombstone. True when any did."""
    changed = checkins_sync.changed_or_deleted(db, pending)
    if not changed:
        return False
    gone: list[tuple[str, str]] = []
    for chunk in in_chunks(changed):
        still_asking = select(Checkin.id).where(
            Checkin.id == HeldRecord.record_id, Checkin.help_requested.is_(True)
        )
        gone += db.execute(
            select(HeldRecord.account_id, HeldRecord.record_id).where(
                HeldRecord.table_name == ALERTS,
                HeldRecord.record_id.in_(chunk),
                ~still_asking.exists(),
            )
        ).all()
    for mentor_id, record_id in gone:
        db.add(Tombstone(table_name=ALERTS, record_id=record_id, account_id=mentor_id))
        db.execute(
            delete(HeldRecord).where(
                HeldRecord.account_id == mentor_id,
                HeldRecord.table_name == ALERTS,
                HeldRecord.record_id == record_id,
            )
        )
    return bool(gone)


def forget_erased(db: Session, account: Account) -> None:
    """An erased member's alerts leave every mentor's phone by id (their rows went with
    the account)."""
    if account.role != Role.MEMBER:
        return
    held = db.execute(
        select(HeldRecord.account_id, HeldRecord.record_id).where(
            HeldRecord.table_name == ALERTS, HeldRecord.subject_id == account.id
        )
    ).all()
    db.add_all(
        Tombstone(table_name=ALERTS, record_id=record_id, account_id=mentor_id)
        for mentor_id, record_id in held
    )
    db.execute(
        delete(HeldRecord).where(
            HeldRecord.table_name == ALERTS, HeldRecord.subject_id == account.id
        )
    )


def table() -> SyncTable:
    return SyncTable(ALERTS, "mentor", ALERT_COLUMNS, _pull_alerts, after_pull=_delivered)
