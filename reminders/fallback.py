"""Fallback: a reminder that could not go out on one channel goes out on the member's
other chosen channels for that appointment, if they have not had it yet.

Every channel the member chose is planned for every reminder, so the other channels
normally have their own row already, sent or on its way. What is left to do is the row
of another channel that was skipped because nothing reached the member there at its
time (no number, STOP, no device) but that reaches them now: it is queued again, due at
once. Exactly once still holds: the row per (occurrence, offset, channel) is the unit;
only a row that was never sent is queued again, by one conditional UPDATE (a row in
another dispatcher's hands is ``sending`` and is not touched), and a row that gave up
after its retries is never queued again, so two failing channels cannot ping-pong.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.sync import tracking
from reminders.models import (
    REMINDABLE,
    Appointment,
    Channel,
    DeliveryState,
    NoticeKind,
    ReminderDelivery,
)
from reminders.reach import UNREACHABLE, Configured, reach, reason_of

if TYPE_CHECKING:
    from reminders.prepare import Job

log = logging.getLogger(__name__)


def fall_back(
    db: Session, job: Job, now: datetime, max_attempts: int, configured: Configured
) -> list[str]:
    """After ``job``'s channel gave up or found nobody: queue the reminder again on the
    member's other chosen channels that never sent it and reach them now. Returns the
    ids of the rows queued again."""
    appointment = db.get(Appointment, job.appointment_id)
    if appointment is None or appointment.status not in REMINDABLE or now >= job.occurrence_at:
        return []
    member = db.get(Account, appointment.member_id)
    if member is None:
        return []
    rd = ReminderDelivery
    others = db.scalars(
        select(rd).where(
            rd.kind == NoticeKind.REMINDER,
            rd.appointment_id == appointment.id,
            rd.occurrence_local == job.occurrence_local,
            rd.offset_key == job.offset_key,
            rd.channel != job.channel,
            rd.channel.in_([Channel(c) for c in appointment.channels]),
        )
    ).all()
    candidates = [
        row
        for row in others
        if row.state == DeliveryState.SKIPPED
        and reason_of(row.last_error) in UNREACHABLE
        and row.attempts < max_attempts
    ]
    if not candidates:
        return []
    now_reach = reach(db, [member], configured)[member.id]
    queued: list[str] = []
    for row in candidates:
        if not now_reach[row.channel].reachable:
            continue
        again = db.scalars(
            update(rd)
            .where(rd.id == row.id, rd.state == DeliveryState.SKIPPED)
            .values(
                state=DeliveryState.PENDING,
                due_at=now,
                last_error=None,
                lease_until=None,
                sync_version=None,  # the member's phones see it queued again
            )
            .returning(rd.id)
            .execution_options(synchronize_session=False)
        ).all()
        queued += again
    if queued:
        tracking.mark_pending(db, "reminder_deliveries")
        log.info("reminder falls back", extra={"delivery": job.delivery_id, "queued": queued})
    return queued
