"""The one place that decides what a mentor may read of a member, shapes it by scope,
and writes the access log.

Every mentor read goes through ``authorize``: it reads the grant fresh (no cache), so a
revoked or expired grant shows nothing on the very next request, and anything the caller
may not see is 'not found', so existence does not leak. Reads then go through the
functions below, which query only what the grant covers, return only the fields its
scopes name, and log which records were shown.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.checkins.models import Checkin
from api.core.errors import Problem, not_found
from api.core.pagination import paginate
from api.mentors.models import CHECKIN_SCOPES, PLAN_SCOPES, AccessLogEntry, Grant, Scope
from api.mentors.service import active_grant, in_force
from api.plans import sharing
from api.plans.models import PlanStep


class Purpose(enum.StrEnum):
    """What a mentor wants to do; each needs a scope."""

    READ_CHECKINS = "checkins.read"
    READ_APPOINTMENTS = "appointments.read"
    RESPOND = "checkins.respond"
    READ_PLAN = "plan.read"
    SUGGEST = "plan.suggest"


# Fields each scope reveals. Identity and timing of a visible check-in are always shown.
ALWAYS = ("id", "recorded_at", "created_at")
SCOPE_FIELDS: dict[str, tuple[str, ...]] = {
    Scope.CHECKIN_MOOD: ("mood",),
    Scope.CHECKIN_NEEDS: ("needs",),
    Scope.CHECKIN_FULL: ("mood", "needs", "wins", "note", "place", "help_requested"),
    Scope.HELP_ALERTS: ("help_requested",),
}


@dataclass(frozen=True)
class Access:
    """A decision: this mentor may read this member's data, under this grant, this much."""

    grant: Grant
    scopes: frozenset[str]

    @property
    def checkin_fields(self) -> tuple[str, ...]:
        fields = list(ALWAYS)
        for scope in sorted(self.scopes):
            for name in SCOPE_FIELDS.get(scope, ()):
                if name not in fields:
                    fields.append(name)
        return tuple(fields)

    @property
    def only_help_requests(self) -> bool:
        """A help-alerts-only grant shows the check-ins that asked for help, nothing else."""
        return not (self.scopes & CHECKIN_SCOPES)

    @property
    def shows_plan(self) -> bool:
        return bool(self.scopes & PLAN_SCOPES)

    @property
    def whole_plan(self) -> bool:
        """plan.full: why, notes, bring and links too; plan.progress never shows them."""
        return Scope.PLAN_FULL in self.scopes

    @property
    def since(self) -> datetime | None:
        return None if self.grant.share_history else self.grant.created_at


def authorize(
    db: Session, mentor: Account, member_id: str, purpose: Purpose, now: datetime
) -> Access:
    """Decide a mentor's read of a member's data. Not allowed: 404 ('mentee not found')."""
    grant = active_grant(db, member_id, mentor.id, now)
    if grant is None:
        raise not_found("mentee")
    scopes = frozenset(grant.scopes)
    if purpose is Purpose.READ_APPOINTMENTS:
        allowed = Scope.APPOINTMENT_TIMES in scopes
    elif purpose in (Purpose.READ_PLAN, Purpose.SUGGEST):
        allowed = bool(scopes & PLAN_SCOPES)
    else:
        allowed = bool(scopes & (CHECKIN_SCOPES | {Scope.HELP_ALERTS}))
    if not allowed:
        raise not_found("mentee")
    return Access(grant, scopes)


def log(db: Session, access: Access, action: str, record_ids: list[str], now: datetime) -> None:
    db.add(
        AccessLogEntry(
            member_id=access.grant.member_id,
            mentor_id=access.grant.mentor_id,
            grant_id=access.grant.id,
            action=action,
            record_ids=record_ids,
            at=now,
        )
    )


def _visible_checkins(access: Access) -> Any:
    conditions = [Checkin.member_id == access.grant.member_id]
    since = access.since
    if since is not None:
        # Neither the server's arrival time nor the phone's own time may be before the
        # grant: a check-in made offline before the grant stays private when synced later.
        conditions += [Checkin.created_at >= since, Checkin.recorded_at >= since]
    if access.only_help_requests:
        conditions.append(Checkin.help_requested.is_(True))
    return and_(*conditions)


def shape_checkin(checkin: Checkin, access: Access) -> dict[str, Any]:
    """Only the fields the grant's scopes name; the rest are absent, not null."""
    return {name: getattr(checkin, name) for name in access.checkin_fields}


def shared_checkins(
    db: Session, mentor: Account, member_id: str, now: datetime, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    access = authorize(db, mentor, member_id, Purpose.READ_CHECKINS, now)
    query = (
        select(Checkin)
        .where(_visible_checkins(access))
        .order_by(Checkin.created_at.desc(), Checkin.id)
    )
    checkins, total = paginate(db, query, page, page_size)
    log(db, access, "checkins.list", [c.id for c in checkins], now)
    return [shape_checkin(c, access) for c in checkins], total


# (db, member id, page, page_size) -> (that page of the member's appointments, shaped for
# a mentor: times and status only; the total). Installed by reminders, which holds them.
AppointmentTimes = Callable[[Session, str, int, int], tuple[list[dict[str, Any]], int]]
APPOINTMENT_TIMES = "homeward.mentee_appointment_times"


def install_appointment_times(app: Flask, reader: AppointmentTimes) -> None:
    """Say where a mentee's appointment times are read (reminders' init_app does)."""
    app.extensions[APPOINTMENT_TIMES] = reader


def shared_appointments(
    db: Session, mentor: Account, member_id: str, now: datetime, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """Times and status only; never title, kind, notes or location."""
    access = authorize(db, mentor, member_id, Purpose.READ_APPOINTMENTS, now)
    reader: AppointmentTimes | None = current_app.extensions.get(APPOINTMENT_TIMES)
    if reader is None:
        raise RuntimeError("nothing reads appointment times (reminders.init_app installs it)")
    appointments, total = reader(db, member_id, page, page_size)
    log(db, access, "appointments.list", [a["id"] for a in appointments], now)
    return appointments, total


def shared_plan(db: Session, mentor: Account, member_id: str, now: datetime) -> dict[str, Any]:
    """The mentee's plan as the grant's plan scope shows it (plan.progress: never why,
    notes or bring); every read is logged with the goals and steps shown."""
    access = authorize(db, mentor, member_id, Purpose.READ_PLAN, now)
    plan, shown = sharing.shared_plan(db, member_id, access.whole_plan)
    log(db, access, "plan.read", shown, now)
    return {"member_id": member_id, "scope": _plan_scope(access), **plan}


def _plan_scope(access: Access) -> str:
    return Scope.PLAN_FULL.value if access.whole_plan else Scope.PLAN_PROGRESS.value


def may_suggest(db: Session, mentor: Account, member_id: str, now: datetime) -> Access:
    """A mentor with either plan scope may suggest a step. Not logged: a suggestion is a
    write the member reads in full, with who made it, in her own list."""
    return authorize(db, mentor, member_id, Purpose.SUGGEST, now)


def synced_plan_steps(
    db: Session,
    mentor: Account,
    changed: Callable[[Any], Any],
    now: datetime,
    whole: Callable[[Grant], bool],
) -> list[tuple[dict[str, Any], PlanStep, Grant]]:
    """For a mentor's sync: the steps each grant in force with a plan scope shows, changed
    (the step or its goal) inside the sync window, or all of them for a grant ``whole``
    names; shaped by scope and logged like every mentor read. Each step comes with its
    goal's shared fields (``goal``)."""
    shown: list[tuple[dict[str, Any], PlanStep, Grant]] = []
    grants = db.scalars(
        select(Grant).where(Grant.mentor_id == mentor.id, in_force(now)).order_by(Grant.id)
    )
    for grant in grants:
        access = Access(grant, frozenset(grant.scopes))
        if not access.shows_plan:
            continue
        steps = sharing.steps_changed(db, grant.member_id, None if whole(grant) else changed)
        if steps:
            log(db, access, "plan.sync", [s.id for s in steps], now)
        goals = sharing.goal_fields(db, steps)
        for step in steps:
            fields = sharing.shape_step(step, access.whole_plan)
            shown.append(({**fields, "goal": goals[step.goal_id]}, step, grant))
    return shown


def checkin_to_respond_to(db: Session, mentor: Account, checkin_id: str, now: datetime) -> Checkin:
    """A check-in the mentor may reply to: one their grant lets them see."""
    checkin = db.get(Checkin, checkin_id)
    if checkin is None:
        raise not_found("check-in")
    try:
        access = authorize(db, mentor, checkin.member_id, Purpose.RESPOND, now)
    except Problem:
        raise not_found("check-in") from None
    visible = db.scalar(
        select(Checkin.id).where(Checkin.id == checkin.id, _visible_checkins(access))
    )
    if visible is None:
        raise not_found("check-in")
    log(db, access, "checkins.respond", [checkin.id], now)
    return checkin


def mentees(
    db: Session, mentor: Account, now: datetime, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """The members whose grants this mentor holds in force; each listing is logged."""
    query = (
        select(Grant, Account.display_name, Account.username)
        .join(Account, Account.id == Grant.member_id)
        .where(Grant.mentor_id == mentor.id, in_force(now))
        .order_by(Grant.created_at.desc(), Grant.id)
    )
    rows, total = paginate(db, query, page, page_size, rows=True)
    items = []
    for grant, display_name, username in rows:
        log(db, Access(grant, frozenset(grant.scopes)), "mentees.list", [], now)
        items.append(
            {
                "member_id": grant.member_id,
                "display_name": display_name or username,
                "grant_id": grant.id,
                "scopes": grant.scopes,
                "share_history": grant.share_history,
                "granted_at": grant.created_at,
                "expires_at": grant.expires_at,
            }
        )
    return items, total


def access_log(
    db: Session, member_id: str, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """The member's own log: every read of their data by a mentor, newest first."""
    query = (
        select(AccessLogEntry, Account.display_name, Account.username)
        .outerjoin(Account, Account.id == AccessLogEntry.mentor_id)
        .where(AccessLogEntry.member_id == member_id)
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id)
    )
    rows, total = paginate(db, query, page, page_size, rows=True)
    return [
        {
            "id": entry.id,
            "mentor_id": entry.mentor_id,
            "mentor_name": display_name or username,
            "grant_id": entry.grant_id,
            "action": entry.action,
            "record_ids": entry.record_ids,
            "at": entry.at,
        }
        for entry, display_name, username in rows
    ], total


def _shows_checkins(access: Access) -> bool:
    return bool(access.scopes & (CHECKIN_SCOPES | {Scope.HELP_ALERTS}))


def synced_checkins(
    db: Session,
    mentor: Account,
    changed: Callable[[Any], Any],
    now: datetime,
    whole: Callable[[Grant], bool],
) -> list[tuple[dict[str, Any], Checkin, Grant]]:
    """For a mentor's sync: the check-ins each grant in force shows, changed inside the
    sync window (``changed`` is its condition on a version column), or all of them for a
    grant that ``whole`` names (made or changed since: its view is new); shaped by scope
    and logged like every mentor read."""
    shown: list[tuple[dict[str, Any], Checkin, Grant]] = []
    grants = db.scalars(
        select(Grant).where(Grant.mentor_id == mentor.id, in_force(now)).order_by(Grant.id)
    )
    for grant in grants:
        access = Access(grant, frozenset(grant.scopes))
        if not _shows_checkins(access):
            continue
        window = [] if whole(grant) else [changed(Checkin.sync_version)]
        checkins = list(db.scalars(select(Checkin).where(_visible_checkins(access), *window)))
        if checkins:
            log(db, access, "checkins.sync", [c.id for c in checkins], now)
        shown += [(shape_checkin(c, access), c, grant) for c in checkins]
    return shown


def _grants_in_force(db: Session, mentor_id: str, member_id: str, now: datetime) -> list[Access]:
    grants = db.scalars(
        select(Grant).where(
            Grant.member_id == member_id, Grant.mentor_id == mentor_id, in_force(now)
        )
    )
    return [Access(g, frozenset(g.scopes)) for g in grants]


def plan_visible_to(db: Session, mentor_id: str, member_id: str, now: datetime) -> Any:
    """The condition on ``PlanStep`` of what this mentor may see of this member's plan now
    (false when no grant in force has a plan scope)."""
    if any(a.shows_plan for a in _grants_in_force(db, mentor_id, member_id, now)):
        return PlanStep.member_id == member_id
    return false()


def visible_to(db: Session, mentor_id: str, member_id: str, now: datetime) -> Any:
    """The condition on ``Checkin`` of what this mentor may see of this member now (false
    when no grant in force shows check-ins)."""
    grants = db.scalars(
        select(Grant).where(
            Grant.member_id == member_id, Grant.mentor_id == mentor_id, in_force(now)
        )
    )
    shows = [
        _visible_checkins(access)
        for access in (Access(g, frozenset(g.scopes)) for g in grants)
        if _shows_checkins(access)
    ]
    return or_(*shows) if shows else false()
