"""What each kind of notice in the outbox says: a describer per kind, asked by the
dispatcher for a batch of claimed rows. Reminders are described here; other domains
register their own kinds (api.mentors.alerts: help alerts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account, NotificationDetail
from api.core.crypto import vault_of
from reminders import reach, texts
from reminders.models import REMINDABLE, Appointment, Channel, NoticeKind, ReminderDelivery
from reminders.planning import to_local


@dataclass(frozen=True)
class Described:
    """What a claimed notice says, worked out by its kind's describer."""

    notification: texts.Notification
    payload: dict[str, Any]
    # Why a notice that reached its deadline (occurrence_at) is skipped, and that deadline.
    too_late: str = reach.TOO_LATE
    deadline: str = "the appointment"


# (db, rows of one kind, recipients by id, now) -> per row id: what to send, or why not.
Describer = Callable[
    [Session, list[ReminderDelivery], dict[str, Account], datetime], dict[str, "Described | str"]
]
DESCRIBERS: dict[NoticeKind, Describer] = {}


def register_describer(kind: NoticeKind, describer: Describer) -> None:
    """A domain that queues notices of its own kind says here what they read."""
    DESCRIBERS[kind] = describer


def describe_reminders(
    db: Session, rows: list[ReminderDelivery], accounts: dict[str, Account], now: datetime
) -> dict[str, Described | str]:
    appointments = {
        a.id: a
        for a in db.scalars(
            select(Appointment).where(Appointment.id.in_({r.appointment_id for r in rows}))
        )
    }
    detailed_members = {
        a.member_id
        for a in appointments.values()
        if (member := accounts.get(a.member_id)) is not None
        and member.notification_detail == NotificationDetail.DETAILED
    }
    vault_of(db).preload(detailed_members)  # one query for the batch's keys
    described: dict[str, Described | str] = {}
    for row in rows:
        appointment, account = appointments.get(row.appointment_id or ""), accounts[row.member_id]
        if appointment is None or appointment.status not in REMINDABLE:
            described[row.id] = "the appointment is no longer scheduled"
            continue
        # The time shown is the appointment's own wall-clock time, where it happens.
        place_zone = ZoneInfo(appointment.timezone)
        detailed = account.notification_detail == NotificationDetail.DETAILED
        notification = texts.reminder(
            locale=account.locale,
            detailed=detailed,
            kind=appointment.kind,
            # The sealed title is opened only for a member who chose detailed text.
            title=appointment.title if detailed else "",
            starts=row.occurrence_local,
            now=to_local(now, place_zone),
            sms=row.channel == Channel.SMS,
        )
        described[row.id] = Described(
            notification,
            {
                "title": notification.title,
                "body": notification.body,
                "tag": f"appointment-{appointment.id}",
                "appointment_id": appointment.id,
                "starts_at": row.occurrence_at.isoformat(),
            },
        )
    return described


register_describer(NoticeKind.REMINDER, describe_reminders)
