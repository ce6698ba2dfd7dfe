"""The reminders domain's synced tables: ``appointments`` (the member's, pushable) and
``reminders`` (pull only: the planned reminder times, so the phone schedules its own local
notifications even with no signal)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import devices
from api.accounts.models import Account
from api.core.errors import Problem
from api.sync import registry
from api.sync.models import Tombstone
from api.sync.registry import Changes, Pull, Pusher, Rejected, SyncTable, joined, ms
from reminders import deliveries, schemas, service
from reminders.models import (
    APPOINTMENT_CHANNELS,
    Appointment,
    NoticeKind,
    ReminderDelivery,
    SmsOptOut,
)
from reminders.reach import Configured

APPOINTMENT_COLUMNS: dict[str, registry.ColumnType] = {
    "title": "string",
    "kind": "string",
    "starts_at": "string",
    "ends_at": "string",
    "timezone": "string",
    "location": "string",
    "notes": "string",
    "bring": "string",
    "recurrence": "string",
    "reminder_offsets": "string",
    "channels": "string",
    "status": "string",
    "created_at": "number",
    "updated_at": "number",
}
PUSHED = tuple(c for c in APPOINTMENT_COLUMNS if c not in ("created_at", "updated_at"))
LISTS = ("reminder_offsets", "channels")
OPTIONAL = ("ends_at", "location", "notes", "recurrence")
LOCAL = "%Y-%m-%dT%H:%M"

_create_schema = schemas.AppointmentCreateSchema()
_change_schema = schemas.AppointmentFields()


def appointment_raw(appointment: Appointment) -> registry.Raw:
    ends = appointment.ends_local
    return {
        "id": appointment.id,
        "title": appointment.title,
        "kind": str(appointment.kind),
        "starts_at": appointment.starts_local.strftime(LOCAL),
        "ends_at": ends.strftime(LOCAL) if ends else None,
        "timezone": appointment.timezone,
        "location": appointment.location,
        "notes": appointment.notes,
        # A JSON array in a string column: WatermelonDB columns hold no lists.
        "bring": json.dumps(appointment.bring, ensure_ascii=False),
        "recurrence": appointment.recurrence,
        "reminder_offsets": joined(appointment.reminder_offsets),
        "channels": joined(appointment.channels),
        "status": str(appointment.status),
        "created_at": ms(appointment.created_at),
        "updated_at": ms(appointment.updated_at),
    }


def _pull_appointments(pull: Pull) -> Changes:
    return registry.owned(
        pull,
        "appointments",
        Appointment,
        "member_id",
        lambda _db, rows: [appointment_raw(row) for row in rows],
    )


def _fields(raw: registry.Raw) -> dict[str, Any]:
    """Raw columns to the REST fields; empty optional text means none, empty required
    text keeps what the server has."""
    fields: dict[str, Any] = {}
    for name in PUSHED:
        if name not in raw:
            continue
        value = raw[name]
        if name in LISTS:
            value = registry.split(value)
            if value is None:
                continue
        elif name == "bring":
            value = _bring(value)
        elif name in OPTIONAL:
            value = None if value == "" else value
        elif value is None or value == "":
            continue
        fields[name] = value
    return fields


def _bring(value: Any) -> list[str]:
    """The pushed ``bring`` column (a JSON array of texts, or empty) as a list."""
    if value is None or value == "":
        return []
    try:
        items = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        items = None
    if not isinstance(items, list):
        raise ma.ValidationError("bring must be a JSON array of texts", "bring")
    return items


def _prepare(
    db: Session, member: Account, record_id: str, raw: registry.Raw, exists: bool
) -> dict[str, Any]:
    try:
        fields = (_change_schema if exists else _create_schema).load(_fields(raw))
        existing = db.get(Appointment, record_id) if exists else None
        service.check(member, fields, existing)
    except (ma.ValidationError, Problem):
        raise Rejected(record_id) from None
    return fields  # type: ignore[no-any-return]  # validated dict


def _save(
    db: Session,
    member: Account,
    record_id: str,
    fields: dict[str, Any],
    exists: bool,
    now: datetime,
) -> None:
    if exists:
        service.update(db, service.get_own(db, member.id, record_id), member, fields, now)
    else:
        service.create(db, member, {**fields, "id": record_id}, now)


def _delete(db: Session, member: Account, record_id: str, now: datetime) -> None:
    service.delete(db, service.get_own(db, member.id, record_id))


REMINDER_COLUMNS: dict[str, registry.ColumnType] = {
    "appointment_id": "string",
    "occurrence_at": "number",
    "remind_at": "number",
    "offset": "string",
    "state": "string",
    "push_state": "string",
    "push_reason": "string",
    "sms_state": "string",
    "sms_reason": "string",
    "detail": "string",
}


def _reminder_raw(view: deliveries.ReminderView, locale: str) -> registry.Raw:
    raw: registry.Raw = {
        "id": view.id,
        "appointment_id": view.appointment_id,
        "occurrence_at": ms(view.occurrence_at),
        "remind_at": ms(view.remind_at),
        "offset": view.offset,
        "state": view.state,
        "detail": view.detail(locale),
    }
    for channel in APPOINTMENT_CHANNELS:
        of = view.of(channel)
        raw[f"{channel}_state"] = None if of is None else of.state
        raw[f"{channel}_reason"] = None if of is None or of.reason is None else str(of.reason)
    return raw


def _reminders_of(
    pull: Pull, appointment_ids: Sequence[str]
) -> tuple[list[registry.Raw], list[str]]:
    """Planned reminders of these appointments, and the ids of those now cancelled."""
    member = pull.account
    found, cancelled = deliveries.views(
        pull.db, member, appointment_ids, Configured.from_config(current_app.config)
    )
    return [_reminder_raw(view, member.locale) for view in found], cancelled


def _moved(pull: Pull) -> list[str]:
    """Appointments whose reminders changed in this pull's window: the appointment itself
    changed (replanned), or one of its deliveries was settled or touched (a new state, a
    change in what reaches the member) with its own ``sync_version``."""
    member_id = pull.account.id
    rd = ReminderDelivery
    appointments = select(Appointment.id).where(
        Appointment.member_id == member_id, pull.changed(Appointment.sync_version)
    )
    deliveries_moved = select(rd.appointment_id).where(
        rd.member_id == member_id,
        rd.kind == NoticeKind.REMINDER,
        rd.appointment_id.is_not(None),
        pull.changed(rd.sync_version),
    )
    return sorted(set(pull.db.scalars(appointments)) | set(pull.db.scalars(deliveries_moved)))


def _pull_reminders(pull: Pull) -> Changes:
    """Reminders move when their appointment changes (replanning), when a delivery gets a
    new state, and when what reaches the member changes (a device, a number, STOP)."""
    planned, cancelled = _reminders_of(pull, _moved(pull))
    gone = pull.for_deletions()
    if gone is not pull:
        # A replacement: what was cancelled since the phone's own last pull, not ever.
        cancelled = [] if gone.full else deliveries.cancelled_ids(pull.db, _moved(gone))
    changes = Changes(deleted=cancelled + pull.tombstones("reminders"))
    for raw in planned:
        changes.add(raw, pull.full)
    return changes


def tombstone_reminders(db: Session, _context: Any, _instances: Any) -> None:
    """An appointment's deliveries go by cascade, unseen by triggers of their own: tell the
    phone which reminders went with it. A device or an opt-out added or removed changes
    what reaches the member: their reminders are sent again with the news."""
    gone = [obj for obj in db.deleted if isinstance(obj, Appointment)]
    if gone:
        owner = {a.id: a.member_id for a in gone}
        db.add_all(
            Tombstone(table_name="reminders", record_id=key, account_id=owner[appointment_id])
            for key, appointment_id in deliveries.reminder_ids(db, list(owner))
        )
    members = devices.accounts_with_devices_changing(db)
    phones = {obj.phone for obj in [*db.new, *db.deleted] if isinstance(obj, SmsOptOut)}
    if phones:
        members.update(db.scalars(select(Account.id).where(Account.phone.in_(phones))))
    for member_id in sorted(members):
        deliveries.touch_member_reminders(db, member_id)


# The tables this domain's phones sync, registered by the domain's init_app.
TABLES = (
    SyncTable(
        "appointments",
        "member",
        APPOINTMENT_COLUMNS,
        _pull_appointments,
        Pusher(Appointment, "member_id", _prepare, _save, _delete),
    ),
    SyncTable(
        "reminders",
        "member",
        REMINDER_COLUMNS,
        _pull_reminders,
    ),
)
