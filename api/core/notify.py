"""The notifications port: how a domain of ``api/`` queues a notice for someone and asks who
a notice reaches now, without importing ``reminders/``, which holds the outbox.

``reminders.init_app`` installs the outbox (``install``); every domain then reaches it from
a session of the app (``notifications(db)``), in a request, a CLI job or the dispatcher
alike. Nothing installed is an error, never a notice dropped in silence.

- ``enqueue(db, notices, now)`` is the one way to queue a notice that is not a reminder
  (help alerts): one outbox row per channel, once per (subject, recipient, channel).
- ``reach(db, recipient_ids, locale)`` says, per recipient and channel, whether a notice
  sent now reaches them, and why not, in the recipient's words (``locale``).
- ``summary(locale, told_now, told_later)`` is the sentence that tells the sender whom a
  notice reached now and who will see it in the app later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask import Flask
from sqlalchemy.orm import Session

EXTENSION = "homeward.notifications"

# The channels a notice may go on: pushed, texted, or shown in the app on the next sync.
PUSH, SMS, APP = "push", "sms", "app"


@dataclass(frozen=True)
class Notice:
    """One notice to queue: of ``kind`` (a kind the outbox describes), about ``subject_id``
    (a check-in, for a help alert), to ``recipient_id``, on each of ``channels``. Not sent
    after ``useful_until``."""

    kind: str
    subject_id: str
    recipient_id: str
    about_member_id: str
    channels: tuple[str, ...]
    useful_until: datetime


@dataclass(frozen=True)
class ChannelReach:
    """Whether a channel reaches someone now; when not, why (a code) and in their words."""

    reachable: bool
    reason: str | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "reason": self.reason, "detail": self.detail}


class Notifications(Protocol):
    """What the outbox offers the domains below it."""

    def enqueue(self, db: Session, notices: Sequence[Notice], now: datetime) -> None: ...

    def reach(
        self, db: Session, recipient_ids: Sequence[str], locale: str
    ) -> Mapping[str, Mapping[str, ChannelReach]]: ...

    def summary(self, locale: str, told_now: list[str], told_later: list[str]) -> str: ...


def install(app: Flask, outbox: Notifications) -> None:
    """Make ``outbox`` this app's notifications: on the app, and on every session it opens
    (as the keyring is), so code holding only a session finds it."""
    app.extensions[EXTENSION] = outbox
    app.extensions["homeward.db"].share(EXTENSION, outbox)


def notifications(db: Session) -> Notifications:
    """The outbox installed on this session's app; an error when there is none."""
    outbox: Notifications | None = db.info.get(EXTENSION)
    if outbox is None:
        raise RuntimeError(
            "no notifications outbox is installed on this session's app "
            "(reminders.init_app installs it)"
        )
    return outbox
