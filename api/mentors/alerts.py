"""Help alerts: a check-in that asks for help tells each mentor whose grant includes
``help_alerts``, once per channel, through the notifications outbox (``api.core.notify``):
push and SMS from the dispatcher, and in the app on the mentor's next sync, so a mentor
with no device and no number is still told. The member is answered who can be reached
now, and how. What an alert says, and its in-app inbox, are the outbox's
(``reminders.notifications``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.accounts.service import display_names
from api.checkins.models import Checkin
from api.core import notify
from api.mentors.models import Grant, Scope
from api.mentors.service import in_force

# A call for help not delivered within a day is no longer news; it is skipped.
USEFUL_FOR = timedelta(hours=24)
HELP_ALERT = "help_alert"  # the outbox's kind of notice
CHANNELS = (notify.PUSH, notify.SMS, notify.APP)


def _grants(db: Session, member_id: str, now: datetime) -> list[Grant]:
    return list(db.scalars(select(Grant).where(Grant.member_id == member_id, in_force(now))))


def helpers(db: Session, member_id: str, now: datetime) -> list[Account]:
    """The mentors this member lets know when they ask for help, now."""
    grants = _grants(db, member_id, now)
    mentor_ids = [g.mentor_id for g in grants if Scope.HELP_ALERTS in g.scopes]
    if not mentor_ids:
        return []
    return list(db.scalars(select(Account).where(Account.id.in_(mentor_ids))))


def help_requested(db: Session, checkin: Checkin, now: datetime) -> None:
    """Queue an alert to every mentor the member lets know; sent after the commit."""
    mentors = helpers(db, checkin.member_id, now)
    if not mentors:
        return
    notify.notifications(db).enqueue(
        db,
        [
            notify.Notice(
                kind=HELP_ALERT,
                subject_id=checkin.id,
                recipient_id=mentor.id,
                about_member_id=checkin.member_id,
                channels=CHANNELS,
                useful_until=now + USEFUL_FOR,
            )
            for mentor in mentors
        ],
        now,
    )


def help_answer(
    db: Session, member: Account, checkin: Checkin, now: datetime
) -> dict[str, Any] | None:
    """Who of the member's mentors with help alerts the call reaches now, and how: push,
    SMS, and in the app on their next sync. Names as the member knows them; never a
    device or a number. None when the check-in does not ask for help."""
    if not checkin.help_requested:
        return None
    outbox = notify.notifications(db)
    grants = [g for g in _grants(db, member.id, now) if Scope.HELP_ALERTS in g.scopes]
    now_reach = outbox.reach(db, sorted({g.mentor_id for g in grants}), member.locale)
    names = display_names(db, set(now_reach))
    told_now: list[str] = []
    told_later: list[str] = []
    answer: list[dict[str, Any]] = []
    for grant in sorted(grants, key=lambda g: names.get(g.mentor_id, "")):
        if grant.mentor_id not in now_reach:
            continue
        channels = now_reach[grant.mentor_id]
        reached = [c for c, r in channels.items() if r.reachable and c != notify.APP]
        name = names[grant.mentor_id]
        (told_now if reached else told_later).append(name)
        answer.append(
            {
                "grant_id": grant.id,
                "name": name,
                "reachable_now": bool(reached),
                "channels": {c: r.as_json() for c, r in channels.items()},
            }
        )
    return {"mentors": answer, "detail": outbox.summary(member.locale, told_now, told_later)}
