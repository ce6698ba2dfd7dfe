"""What an appointment's reminder says when it is sent: the describer of
``NoticeKind.REMINDER``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account, NotificationDetail
from api.core.crypto import vault_of
from reminders import texts
from reminders.models import REMINDABLE, Appointment, Channel, ReminderDelivery
from reminders.notifications.kinds import Described
from reminders.planning import to_local


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
            bring=appointment.bring if detailed else None,
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
