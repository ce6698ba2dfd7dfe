"""What a notice of the outbox says is worked out by its kind's describer, at send time,
for a batch of claimed rows: each kind is registered on the app's outbox
(``reminders.notifications.init_app``), and the dispatcher asks it (``reminders.prepare``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.accounts.models import Account
from reminders import reach, texts
from reminders.models import ReminderDelivery


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
