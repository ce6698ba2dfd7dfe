"""Help alerts: a check-in that asks for help tells each mentor whose grant includes
``help_alerts``, through the reminder outbox and its channels, once: push and SMS from the
dispatcher, and in the app (``api.mentors.inbox``) on the mentor's next sync, so a mentor
with no device and no number is still told. The member is answered who can be reached
now, and how."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.accounts.service import display_names
from api.checkins.models import Checkin
from api.mentors.models import Grant, Scope
from api.mentors.service import in_force
from reminders import texts
from reminders.models import Channel, NoticeKind, ReminderDelivery
from reminders.notices import Described, register_describer
from reminders.reach import Configured, reach
from reminders.service import enqueue_notices

# A call for help not delivered within a day is no longer news; it is skipped.
USEFUL_FOR = timedelta(hours=24)


def _grants(db: Session, member_id: str, now: datetime) -> list[Grant]:
    return list(db.scalars(select(Grant).where(Grant.member_id == member_id, in_force(now))))


def _helpers(db: Session, member_id: str, now: datetime) -> list[Account]:
    grants = _grants(db, member_id, now)
    mentor_ids = [g.mentor_id for g in grants if Scope.HELP_ALERTS in g.scopes]
    if not mentor_ids:
        return []
    return list(db.scalars(select(Account).where(Account.id.in_(mentor_ids))))


def help_requested(db: Session, checkin: Checkin, now: datetime) -> None:
    """Queue an alert to every mentor the member lets know; sent after the commit."""
    for mentor in _helpers(db, checkin.member_id, now):
        enqueue_notices(
            db,
            kind=NoticeKind.HELP_ALERT,
            subject_id=checkin.id,
            recipient=mentor,
            about_member_id=checkin.member_id,
            channels=[Channel.PUSH, Channel.SMS, Channel.APP],
            now=now,
            useful_until=now + USEFUL_FOR,
        )


def help_answer(
    db: Session, member: Account, checkin: Checkin, now: datetime, configured: Configured
) -> dict[str, Any] | None:
    """Who of the member's mentors with help alerts the call reaches now, and how: push,
    SMS, and in the app on their next sync. Names as the member knows them; never a
    device or a number. None when the check-in does not ask for help."""
    if not checkin.help_requested:
        return None
    grants = [g for g in _grants(db, member.id, now) if Scope.HELP_ALERTS in g.scopes]
    mentors = list(db.scalars(select(Account).where(Account.id.in_({g.mentor_id for g in grants}))))
    names = display_names(db, {m.id for m in mentors})
    now_reach = reach(db, mentors, configured)
    locale = member.locale
    told_now: list[str] = []
    told_later: list[str] = []
    answer: list[dict[str, Any]] = []
    for grant in sorted(grants, key=lambda g: names.get(g.mentor_id, "")):
        if grant.mentor_id not in now_reach:
            continue
        channels = now_reach[grant.mentor_id]
        reached = [str(c) for c, r in channels.items() if r.reachable]
        name = names[grant.mentor_id]
        (told_now if reached else told_later).append(name)
        answer.append(
            {
                "grant_id": grant.id,
                "name": name,
                "reachable_now": bool(reached),
                "channels": {
                    **{str(c): r.as_json(locale) for c, r in channels.items()},
                    "app": {
                        "reachable": True,
                        "reason": None,
                        "detail": texts.in_app_detail(locale),
                    },
                },
            }
        )
    return {"mentors": answer, "detail": texts.help_summary(locale, told_now, told_later)}


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
    helpers: dict[str, set[str]] = {}  # member -> mentors they let know, read once
    described: dict[str, Described | str] = {}
    for row in rows:
        checkin = checkins.get(row.subject_id or "")
        if checkin is None or not checkin.help_requested:
            described[row.id] = "the call for help was withdrawn"
            continue
        if checkin.member_id not in helpers:
            helpers[checkin.member_id] = {m.id for m in _helpers(db, checkin.member_id, now)}
        if row.member_id not in helpers[checkin.member_id]:
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


register_describer(NoticeKind.HELP_ALERT, describe_help_alerts)
