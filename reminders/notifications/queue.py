"""The outbox as other domains see it (the port ``api.core.notify``): the one way to queue
a notice that is not a reminder, who a notice reaches now, and what each kind of notice
says (its describer), all held by one ``Outbox`` installed on the app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core import notify
from api.core.db import insert_ignoring_conflicts, new_id
from api.sync import tracking
from reminders import planning, texts
from reminders.models import Channel, DeliveryState, NoticeKind, ReminderDelivery
from reminders.notifications.kinds import Describer
from reminders.reach import Configured, reach


def enqueue(db: Session, notices: Sequence[notify.Notice], now: datetime) -> None:
    """Queue each notice on each of its channels, once: the same subject and recipient
    never get a second row per channel. A recipient who is gone gets nothing."""
    rows: list[dict[str, Any]] = []
    for notice in notices:
        recipient = db.get(Account, notice.recipient_id)
        if recipient is None:
            continue
        zone = ZoneInfo(recipient.timezone)
        rows += [
            {
                "id": new_id(),
                "kind": NoticeKind(notice.kind),
                "appointment_id": None,
                "subject_id": notice.subject_id,
                "member_id": recipient.id,
                "about_member_id": notice.about_member_id,
                "occurrence_local": planning.to_local(notice.useful_until, zone),
                "occurrence_at": notice.useful_until,
                "offset_key": "now",
                "channel": Channel(channel),
                "due_at": now,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for channel in notice.channels
        ]
    if not rows:
        return
    insert_ignoring_conflicts(db, ReminderDelivery, rows, ["subject_id", "member_id", "channel"])
    tracking.mark_pending(db, "reminder_deliveries")


class Outbox:
    """The app's notifications outbox (``api.core.notify.Notifications``) and the
    describers of its kinds of notice."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._config = config  # read at each call: which channels are configured
        self._describers: dict[NoticeKind, Describer] = {}

    def describe(self, kind: NoticeKind, describer: Describer) -> None:
        """Say what notices of ``kind`` read when they are sent."""
        self._describers[kind] = describer

    def describer(self, kind: NoticeKind) -> Describer | None:
        return self._describers.get(kind)

    def enqueue(self, db: Session, notices: Sequence[notify.Notice], now: datetime) -> None:
        enqueue(db, notices, now)

    def reach(
        self, db: Session, recipient_ids: Sequence[str], locale: str
    ) -> dict[str, dict[str, notify.ChannelReach]]:
        """Per recipient who exists: push and SMS as they stand now, and the app (always,
        on their next sync). Details in ``locale``."""
        ids = set(recipient_ids)
        people = list(db.scalars(select(Account).where(Account.id.in_(ids)))) if ids else []
        in_app = notify.ChannelReach(True, None, texts.in_app_detail(locale))
        found: dict[str, dict[str, notify.ChannelReach]] = {}
        for person_id, channels in reach(db, people, Configured.from_config(self._config)).items():
            found[person_id] = {
                str(channel): notify.ChannelReach(**now.as_json(locale))
                for channel, now in channels.items()
            }
            found[person_id][notify.APP] = in_app
        return found

    def summary(self, locale: str, told_now: list[str], told_later: list[str]) -> str:
        return texts.help_summary(locale, told_now, told_later)


def outbox_of(db: Session) -> Outbox:
    """The outbox installed on this session's app (an error when there is none)."""
    outbox = notify.notifications(db)
    if not isinstance(outbox, Outbox):
        raise RuntimeError(f"the installed notifications are not reminders' outbox: {outbox!r}")
    return outbox
