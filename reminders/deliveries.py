"""What a member sees of their planned reminders: one reminder per (occurrence, offset),
whatever the channels, with the state of each channel's delivery and why it did not
reach them, in plain words. Read by ``GET /appointments/{id}/reminders`` and by the
synced ``reminders`` table, so both say the same; a plan step's reminders (kind
``step_reminder``) by ``GET /plan/steps/{id}/reminders``.

Member-facing states: ``planned`` (waiting for its time), ``sending``, ``sent``,
``failed`` (an attempt failed; it is retried), ``gave_up`` (no more retries), ``skipped``
(nowhere to send, or too late). Cancelled rows (the plan changed) are not reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import in_chunks
from api.sync import tracking
from reminders import texts
from reminders.models import Channel, DeliveryState, NoticeKind, ReminderDelivery
from reminders.reach import Configured, Reach, Reason, reach, reason_of

# The reminder's own state is that of its best channel, in this order.
PRECEDENCE = ("sent", "sending", "failed", "planned", "gave_up", "skipped")


def channel_state(row: ReminderDelivery) -> str:
    if row.state == DeliveryState.PENDING:
        return "failed" if row.last_error else "planned"
    return {
        DeliveryState.SENDING: "sending",
        DeliveryState.SENT: "sent",
        DeliveryState.FAILED: "gave_up",
        DeliveryState.SKIPPED: "skipped",
    }[row.state]


@dataclass
class ChannelView:
    channel: str
    state: str
    reason: Reason | None
    detail: str | None  # plain words, the member's language
    error: str | None  # the stored error (the operator's words)
    attempts: int
    sent_at: datetime | None
    retry_at: datetime | None


@dataclass
class ReminderView:
    id: str
    appointment_id: str | None
    occurrence_at: datetime
    occurrence_local: datetime
    offset: str
    remind_at: datetime
    channels: list[ChannelView] = field(default_factory=list)
    step_id: str | None = None

    @property
    def subject(self) -> str:
        """The appointment's or the step's id."""
        return self.appointment_id or self.step_id or ""

    @property
    def state(self) -> str:
        return min((c.state for c in self.channels), key=PRECEDENCE.index)

    def detail(self, locale: str) -> str | None:
        """What kept channels from reaching the member; none once it was sent."""
        if self.state == "sent":
            return None
        issues = [
            texts.channel_issue(locale, c.channel, c.detail)
            for c in self.channels
            if c.detail and c.state != "sent"
        ]
        return " ".join(issues) or None

    def of(self, channel: Channel) -> ChannelView | None:
        return next((c for c in self.channels if c.channel == channel), None)


def reminder_id(delivery: ReminderDelivery) -> str:
    """One reminder per (appointment or step, occurrence, offset), whatever the channels."""
    offset = delivery.offset_key.replace("@", "_").replace(":", "")  # ids keep to [\w.-]
    subject = delivery.appointment_id or delivery.step_id
    return f"{subject}.{delivery.occurrence_local:%Y%m%dT%H%M}.{offset}"


def _rows(
    db: Session, subject_ids: Sequence[str], kind: NoticeKind = NoticeKind.REMINDER
) -> list[ReminderDelivery]:
    """The deliveries of these appointments (or, with ``STEP_REMINDER``, plan steps)."""
    rd = ReminderDelivery
    column = rd.step_id if kind == NoticeKind.STEP_REMINDER else rd.appointment_id
    found: list[ReminderDelivery] = []
    for chunk in in_chunks(subject_ids):
        found += db.scalars(
            select(rd)
            .where(column.in_(chunk), rd.kind == kind)
            .order_by(column, rd.due_at, rd.channel)
        )
    return found


def _channel_view(row: ReminderDelivery, now_reach: Reach | None, locale: str) -> ChannelView:
    state = channel_state(row)
    reason: Reason | None = None
    if state in ("failed", "gave_up", "skipped"):
        reason = reason_of(row.last_error)
    elif state == "planned" and now_reach is not None and not now_reach.reachable:
        reason = now_reach.reason  # planned, but nothing would reach them now
    return ChannelView(
        channel=str(row.channel),
        state=state,
        reason=reason,
        detail=None if reason is None else texts.reason_detail(locale, reason),
        error=row.last_error if state != "sent" else None,
        attempts=row.attempts,
        sent_at=row.sent_at,
        retry_at=row.due_at if state == "failed" else None,
    )


def views(
    db: Session,
    member: Account,
    subject_ids: Sequence[str],
    configured: Configured,
    kind: NoticeKind = NoticeKind.REMINDER,
) -> tuple[list[ReminderView], list[str]]:
    """The member's reminders of these appointments (or plan steps), by due time, and the
    ids of those that were cancelled (every channel's row cancelled)."""
    now_reach = reach(db, [member], configured)[member.id]
    planned: dict[str, ReminderView] = {}
    cancelled: set[str] = set()
    for row in _rows(db, subject_ids, kind):
        key = reminder_id(row)
        if row.state == DeliveryState.CANCELLED:
            cancelled.add(key)
            continue
        view = planned.setdefault(
            key,
            ReminderView(
                id=key,
                appointment_id=row.appointment_id,
                step_id=row.step_id,
                occurrence_at=row.occurrence_at,
                occurrence_local=row.occurrence_local,
                offset=row.offset_key,
                remind_at=row.due_at,
            ),
        )
        view.remind_at = min(view.remind_at, row.due_at)
        view.channels.append(_channel_view(row, now_reach.get(row.channel), member.locale))
    ordered = sorted(planned.values(), key=lambda v: (v.subject, v.remind_at, v.id))
    return ordered, sorted(cancelled - planned.keys())


def cancelled_ids(db: Session, appointment_ids: Sequence[str]) -> list[str]:
    """Ids of the reminders of these appointments that were cancelled (no channel left)."""
    planned: set[str] = set()
    cancelled: set[str] = set()
    for row in _rows(db, appointment_ids):
        (cancelled if row.state == DeliveryState.CANCELLED else planned).add(reminder_id(row))
    return sorted(cancelled - planned)


def reminder_ids(db: Session, appointment_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(reminder id, appointment id) of every reminder these appointments have planned."""
    seen: dict[str, str] = {}
    for row in _rows(db, appointment_ids):
        if row.state != DeliveryState.CANCELLED and row.appointment_id is not None:
            seen.setdefault(reminder_id(row), row.appointment_id)
    return list(seen.items())


def touch_member_reminders(db: Session, member_id: str) -> None:
    """Reminder times or what reaches the member changed without the appointments
    changing (new zone, quiet hours, a device): mark the member's reminder deliveries
    changed so phones re-read their reminders. The appointments themselves stay as they
    are, so a phone pushing an edit it made meanwhile is not refused as stale."""
    db.execute(
        update(ReminderDelivery)
        .where(
            ReminderDelivery.member_id == member_id,
            ReminderDelivery.kind == NoticeKind.REMINDER,
        )
        .values(sync_version=None)
        .execution_options(synchronize_session=False)
    )
    tracking.mark_pending(db, "reminder_deliveries")


def as_json(view: ReminderView, locale: str) -> dict[str, Any]:
    """The REST shape of one reminder."""
    subject = {"step_id": view.step_id} if view.step_id else {"appointment_id": view.appointment_id}
    return {
        "id": view.id,
        **subject,
        "occurrence_at": view.occurrence_at,
        "remind_at": view.remind_at,
        "offset": view.offset,
        "state": view.state,
        "detail": view.detail(locale),
        "channels": [
            {
                "channel": c.channel,
                "state": c.state,
                "reason": None if c.reason is None else str(c.reason),
                "detail": c.detail,
                "error": c.error,
                "attempts": c.attempts,
                "sent_at": c.sent_at,
                "retry_at": c.retry_at,
            }
            for c in view.channels
        ],
    }
