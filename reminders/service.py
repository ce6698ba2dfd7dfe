"""Appointment operations, reminder re-planning, the calendar feed and inbound SMS.

Plain functions over a session; they only flush. Every change of an appointment re-plans
its reminder deliveries in the same transaction, so the outbox never disagrees with it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.accounts.tokens import digest
from api.core import claims
from api.core.crypto import vault_of
from api.core.db import new_id, utcnow
from api.core.errors import Problem, not_found
from api.core.pagination import paginate
from api.sync import tracking
from reminders import deliveries, planning
from reminders.models import (
    REMINDABLE,
    Appointment,
    CalendarFeed,
    DeliveryState,
    Kind,
    ReminderDelivery,
    Status,
)
from reminders.reach import Configured

# Non-recurring appointments are planned in full, however far ahead they are.
ALL_AHEAD = timedelta(days=3650)
FIELD_TO_COLUMN = {"starts_at": "starts_local", "ends_at": "ends_local"}


def _validate(appointment: Appointment) -> None:
    """Rules across fields, checked on the appointment as it would be saved."""
    zone = ZoneInfo(appointment.timezone)
    if appointment.ends_local is not None and appointment.ends_local <= appointment.starts_local:
        raise Problem(
            422,
            "The end must be after the start.",
            kind="validation-error",
            errors={"ends_at": ["Must be after starts_at."]},
        )
    if appointment.recurrence:
        try:
            appointment.recurrence = planning.normalize_rrule(appointment.recurrence, zone)
        except ValueError as error:
            raise Problem(
                422,
                f"The recurrence is not valid: {error}",
                kind="validation-error",
                errors={"recurrence": [str(error)]},
            ) from None


def check(member: Account, fields: dict[str, Any], existing: Appointment | None = None) -> None:
    """Raise the 422 that saving these fields would raise, writing nothing."""
    draft = _new(member, utcnow())
    if existing is not None:
        for name in ("starts_local", "ends_local", "timezone", "recurrence"):
            setattr(draft, name, getattr(existing, name))
    _apply(draft, fields)
    _validate(draft)


def _apply(appointment: Appointment, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(appointment, FIELD_TO_COLUMN.get(name, name), value)


def get_own(db: Session, member_id: str, appointment_id: str) -> Appointment:
    """The member's own appointment; anyone else's (or none) is 'not found'."""
    appointment = db.get(Appointment, appointment_id)
    if appointment is None or appointment.member_id != member_id:
        raise not_found("appointment")
    return appointment


def list_own(
    db: Session, member_id: str, *, status: str | None, page: int, page_size: int
) -> tuple[list[Appointment], int]:
    query = select(Appointment).where(Appointment.member_id == member_id)
    if status:
        query = query.where(Appointment.status == status)
    return paginate(db, query.order_by(Appointment.starts_local, Appointment.id), page, page_size)


def create(
    db: Session, member: Account, fields: dict[str, Any], now: datetime
) -> tuple[Appointment, bool]:
    """Create an appointment, or, when the phone retries with an id it already created,
    update that one with the fields given (nothing else reset). Returns (appointment, created).

    The id is claimed once (``api.core.claims``): a retry racing the first request waits
    for it and then updates.
    """
    appointment_id = fields.pop("id", None) or new_id()
    # Checked before anything is written: a bad body changes nothing.
    draft = _new(member, now)
    _apply(draft, fields)
    _validate(draft)
    columns = ("kind", "starts_local", "ends_local", "timezone", "recurrence")
    row = {
        **{name: getattr(draft, name) for name in columns},
        # The row goes in with its title sealed already (the column is never plain).
        "title": vault_of(db).seal(member.id, "appointments", "title", appointment_id, draft.title),
        "id": appointment_id,
        "member_id": member.id,
        "reminder_offsets": draft.reminder_offsets,
        "channels": draft.channels,
        "status": draft.status,
        "created_at": now,
        "updated_at": now,
    }
    appointment, claimed = claims.claim(db, Appointment, row, owner="member_id", owner_id=member.id)
    if not claimed:
        return update(db, appointment, member, fields, now), False
    # The other sealed fields (location, notes) go in through the ORM.
    _apply(appointment, {name: value for name, value in fields.items() if name != "title"})
    _validate(appointment)
    db.flush()
    replan(db, appointment, member, now)
    return appointment, True


def _new(member: Account, now: datetime) -> Appointment:
    """An appointment with the defaults, not added to any session."""
    return Appointment(
        member_id=member.id,
        created_at=now,
        updated_at=now,
        timezone=member.timezone,
        kind=Kind.OTHER,
        status=Status.SCHEDULED,
        reminder_offsets=list(planning.DEFAULT_OFFSETS),
        channels=list(planning.DEFAULT_CHANNELS),
    )


def update(
    db: Session, appointment: Appointment, member: Account, fields: dict[str, Any], now: datetime
) -> Appointment:
    _apply(appointment, fields)
    _validate(appointment)
    appointment.updated_at = now
    db.flush()
    replan(db, appointment, member, now)
    return appointment


def delete(db: Session, appointment: Appointment) -> None:
    """Delete an appointment; its deliveries go with it (ON DELETE CASCADE)."""
    db.delete(appointment)
    db.flush()


Plan = dict[tuple[datetime, str, str], planning.PlannedReminder]


def replan(db: Session, appointment: Appointment, member: Account, now: datetime) -> None:
    """Make the outbox match the appointment: add what is missing, move what changed,
    cancel what is no longer wanted. Idempotent (the plan key is unique)."""
    # Concurrent re-plans of one appointment queue here (a no-op lock on SQLite, whose
    # writers are serial anyway).
    db.execute(select(Appointment.id).where(Appointment.id == appointment.id).with_for_update())
    horizon = now + (
        timedelta(days=current_app.config["REMINDER_PLAN_DAYS"])
        if appointment.recurrence
        else ALL_AHEAD
    )
    wanted = _wanted(appointment, member, now, horizon)
    _move_planned(db, appointment, wanted, now)
    add_planned(db, wanted, now, appointment_id=appointment.id, member_id=appointment.member_id)
    appointment.planned_until = horizon if appointment.recurrence else None
    tracking.mark_pending(db, "reminder_deliveries")  # new rows start unstamped
    db.flush()


def _wanted(appointment: Appointment, member: Account, now: datetime, horizon: datetime) -> Plan:
    """The reminders the appointment should have up to ``horizon``, by plan key
    (occurrence, offset, channel)."""
    wanted: Plan = {}
    if appointment.status not in REMINDABLE:
        return wanted
    for planned in planning.plan(
        starts_local=appointment.starts_local,
        timezone=appointment.timezone,
        recurrence=appointment.recurrence,
        offsets=appointment.reminder_offsets,
        member_timezone=member.timezone,
        quiet=planning.QuietHours.of(member.quiet_hours_start, member.quiet_hours_end),
        now=now,
        horizon=horizon,
    ):
        for channel in appointment.channels:
            wanted[(planned.occurrence_local, planned.offset_key, channel)] = planned
    return wanted


def _move_planned(db: Session, appointment: Appointment, wanted: Plan, now: datetime) -> None:
    """The rows the appointment has: cancelled when no longer wanted, moved when their
    time changed. What is left in ``wanted`` has no row yet."""
    rd = ReminderDelivery
    current = db.scalars(
        select(rd).where(
            rd.appointment_id == appointment.id,
            or_(
                rd.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
                rd.occurrence_at >= now - timedelta(days=1),
            ),
        )
    )
    move_planned(current, wanted)


def add_planned(db: Session, wanted: Plan, now: datetime, **subject: Any) -> None:
    """A pending delivery for each planned key not yet in the outbox; ``subject`` says
    whose and about what (member_id, and appointment_id or kind and step_id)."""
    db.add_all(
        ReminderDelivery(
            **subject,
            occurrence_local=key[0],
            occurrence_at=planned.occurrence_at,
            offset_key=key[1],
            channel=key[2],
            due_at=planned.due_at,
            created_at=now,
            updated_at=now,
        )
        for key, planned in wanted.items()
    )


def move_planned(current: Iterable[ReminderDelivery], wanted: Plan) -> None:
    """Rows already planned for one subject, matched with what it should have: cancelled
    when no longer wanted, moved when their time changed, left alone once settled. What is
    left in ``wanted`` has no row yet."""
    for row in current:
        planned_row = wanted.pop((row.occurrence_local, row.offset_key, row.channel), None)
        if planned_row is None:
            if row.state in (DeliveryState.PENDING, DeliveryState.SENDING):
                row.state, row.lease_until = DeliveryState.CANCELLED, None
        elif row.state in (DeliveryState.PENDING, DeliveryState.CANCELLED):
            row.state, row.due_at = DeliveryState.PENDING, planned_row.due_at
            row.occurrence_at = planned_row.occurrence_at
        # sending, sent, failed, skipped: already settled for this key; leave as is.


def replan_member(db: Session, member: Account, now: datetime) -> int:
    """Re-plan every remindable appointment of a member (new time zone, quiet hours)."""
    appointments = db.scalars(
        select(Appointment).where(
            Appointment.member_id == member.id, Appointment.status.in_(REMINDABLE)
        )
    )
    count = 0
    for appointment in appointments:
        replan(db, appointment, member, now)
        count += 1
    deliveries.touch_member_reminders(db, member.id)  # phones re-read the moved reminder times
    return count


def extend_recurring(db: Session, now: datetime, limit: int = 500) -> int:
    """Move the rolling window of recurring appointments forward (a periodic job)."""
    soon = now + timedelta(days=current_app.config["REMINDER_PLAN_DAYS"] - 1)
    due = db.execute(
        select(Appointment, Account)
        .join(Account, Account.id == Appointment.member_id)
        .where(
            Appointment.recurrence.is_not(None),
            Appointment.status.in_(REMINDABLE),
            or_(Appointment.planned_until.is_(None), Appointment.planned_until < soon),
        )
        .limit(limit)
    ).all()
    for appointment, member in due:
        replan(db, appointment, member, now)
    return len(due)


def next_occurrence(appointment: Appointment, now: datetime) -> datetime | None:
    zone = ZoneInfo(appointment.timezone)
    found = planning.occurrences(
        appointment.starts_local, zone, appointment.recurrence, now, now + timedelta(days=400)
    )
    return found[0][1] if found else None


def reminders_page(
    db: Session,
    member: Account,
    appointment: Appointment,
    configured: Configured,
    page: int,
    page_size: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the appointment's reminders, by due time, with their delivery states."""
    found, _ = deliveries.views(db, member, [appointment.id], configured)
    chosen = found[(page - 1) * page_size : page * page_size]
    return [deliveries.as_json(view, member.locale) for view in chosen], len(found)


# --- the private calendar feed ---------------------------------------------------------


def rotate_calendar_feed(db: Session, member: Account, now: datetime) -> str:
    """Create the member's feed token, or replace it (the old URL stops working)."""
    token = "cal_" + secrets.token_urlsafe(24)
    feed = db.get(CalendarFeed, member.id)
    if feed is None:
        db.add(CalendarFeed(account_id=member.id, token_hash=digest(token), created_at=now))
    else:
        feed.token_hash, feed.created_at = digest(token), now
    db.flush()
    return token


def revoke_calendar_feed(db: Session, member: Account) -> None:
    feed = db.get(CalendarFeed, member.id)
    if feed is None:
        raise not_found("calendar feed")
    db.delete(feed)
    db.flush()


def feed_owner(db: Session, token: str) -> Account:
    feed = db.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == digest(token)))
    account = db.get(Account, feed.account_id) if feed else None
    if account is None:
        raise not_found("calendar")
    return account


def all_own(db: Session, member_id: str) -> list[Appointment]:
    return list(
        db.scalars(
            select(Appointment)
            .where(Appointment.member_id == member_id)
            .order_by(Appointment.starts_local)
        )
    )
