"""What the reminders domain holds about a person, for their export (decrypted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from reminders.models import Appointment, CalendarFeed, NoticeKind, ReminderDelivery

APPOINTMENT_FIELDS = (
    "id",
    "title",
    "kind",
    "starts_local",
    "ends_local",
    "timezone",
    "location",
    "notes",
    "bring",
    "recurrence",
    "reminder_offsets",
    "channels",
    "status",
    "created_at",
    "updated_at",
)


def export_reminders(db: Session, account: Account) -> dict[str, Any]:
    appointments = db.scalars(
        select(Appointment)
        .where(Appointment.member_id == account.id)
        .order_by(Appointment.starts_local, Appointment.id)
    )
    deliveries = db.scalars(
        select(ReminderDelivery)
        .where(ReminderDelivery.member_id == account.id)
        .order_by(ReminderDelivery.due_at, ReminderDelivery.id)
    )
    feed = db.get(CalendarFeed, account.id)
    return {
        "appointments": [
            {
                **{name: getattr(a, name) for name in APPOINTMENT_FIELDS},
                "starts_local": a.starts_local.strftime("%Y-%m-%dT%H:%M"),
                "ends_local": a.ends_local.strftime("%Y-%m-%dT%H:%M") if a.ends_local else None,
            }
            for a in appointments
        ],
        "notifications": [
            {
                "id": d.id,
                "kind": d.kind,
                "appointment_id": d.appointment_id if d.kind == NoticeKind.REMINDER else None,
                "channel": d.channel,
                "due_at": d.due_at,
                "state": d.state,
                "sent_at": d.sent_at,
            }
            for d in deliveries
        ],
        "calendar_feed": {"enabled": feed is not None, "created_at": feed and feed.created_at},
    }
