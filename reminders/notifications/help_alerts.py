"""What a help alert says when it is sent: the describer of ``NoticeKind.HELP_ALERT``.
Help alerts are queued by ``api.mentors.alerts`` (a check-in that asks for help, to each
mentor whose grant includes ``help_alerts``) through ``api.core.notify``."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.checkins.models import Checkin
from api.mentors.alerts import helpers
from reminders import texts
from reminders.models import ReminderDelivery
from reminders.notifications.kinds import Described


def _tag(checkin_id: str) -> str:
    """The notification tag (and push Topic, at most 32 characters): the check-in's id
    when it fits, else a digest of it, so two calls for help never replace each other."""
    tag = f"help-{checkin_id}"
    if len(tag) <= 32:
        return tag
    return "help-" + hashlib.sha256(checkin_id.encode()).hexdigest()[:27]


def describe_help_alerts(
    db: Session, rows: list[ReminderDelivery], accounts: dict[str, Account], now: datetime
) -> dict[str, Described | str]:
    """At send time, check again: the check-in still asks for help and the grant still
    includes help alerts. A revoked grant or a withdrawn request sends nothing."""
    checkins = {
        c.id: c
        for c in db.scalars(select(Checkin).where(Checkin.id.in_({r.subject_id for r in rows})))
    }
    helpers_of: dict[str, set[str]] = {}  # member -> mentors they let know, read once
    described: dict[str, Described | str] = {}
    for row in rows:
        checkin = checkins.get(row.subject_id or "")
        if checkin is None or not checkin.help_requested:
            described[row.id] = "the call for help was withdrawn"
            continue
        if checkin.member_id not in helpers_of:
            helpers_of[checkin.member_id] = {m.id for m in helpers(db, checkin.member_id, now)}
        if row.member_id not in helpers_of[checkin.member_id]:
            described[row.id] = "the member no longer shares help alerts with this mentor"
            continue
        notification = texts.help_alert(accounts[row.member_id].locale)
        described[row.id] = Described(
            notification,
            {
                "title": notification.title,
                "body": notification.body,
                "tag": _tag(checkin.id),
                "member_id": checkin.member_id,
                "checkin_id": checkin.id,
            },
            too_late="the call for help is more than a day old",
            deadline="the call for help is a day old",
        )
    return described
