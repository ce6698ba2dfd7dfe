"""Whether a notice can reach someone now, per channel, and why not; and what a stored
delivery error means, as a reason code the phone can act on.

The senders (``reminders.channels``) and the dispatcher write their errors with the
phrases below; ``reason_of`` reads them back, so the code a member sees and the words an
operator reads in ``last_error`` never disagree.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import devices
from api.accounts.models import Account
from reminders import texts
from reminders.models import Channel, SmsOptOut


class Reason(enum.StrEnum):
    NO_DEVICE = "no_device"  # no push subscription (or every one is gone)
    PUSH_NOT_CONFIGURED = "push_not_configured"
    NO_PHONE = "no_phone"
    SMS_NOT_CONFIGURED = "sms_not_configured"
    OPTED_OUT = "opted_out"  # the number sent STOP (to us or to the carrier)
    SERVICE_ERROR = "service_error"  # the push service or Twilio failed; retried
    REFUSED = "refused"  # Twilio refused the message for good
    TOO_LATE = "too_late"
    QUIET_HOURS = "quiet_hours"


# Reasons that mean "nowhere to send on this channel": another channel may reach them.
UNREACHABLE = frozenset(
    {
        Reason.NO_DEVICE,
        Reason.PUSH_NOT_CONFIGURED,
        Reason.NO_PHONE,
        Reason.SMS_NOT_CONFIGURED,
        Reason.OPTED_OUT,
    }
)

# The words senders and the dispatcher store in last_error.
NO_DEVICE = "no push device registered"
ALL_DEVICES_GONE = "every push subscription is gone"
PUSH_OFF = "Web Push is not configured"
SMS_OFF = "SMS is not configured"
NO_PHONE = "no phone number"
SENT_STOP = "the number sent STOP"
UNSUBSCRIBED = "the number unsubscribed"
TOO_LATE = "the appointment had started"
NO_TIME_LEFT = "no time left to retry before the start"
QUIET = "quiet hours last until"
OUT_OF_TIME = "the dispatcher's claim ran short before this send"

_PHRASES: tuple[tuple[str, Reason], ...] = (
    (NO_DEVICE, Reason.NO_DEVICE),
    (ALL_DEVICES_GONE, Reason.NO_DEVICE),
    (PUSH_OFF, Reason.PUSH_NOT_CONFIGURED),
    (SMS_OFF, Reason.SMS_NOT_CONFIGURED),
    (NO_PHONE, Reason.NO_PHONE),
    (SENT_STOP, Reason.OPTED_OUT),
    (UNSUBSCRIBED, Reason.OPTED_OUT),
    (NO_TIME_LEFT, Reason.TOO_LATE),
    (TOO_LATE, Reason.TOO_LATE),
    (QUIET, Reason.QUIET_HOURS),
    ("Twilio refused", Reason.REFUSED),
)


def reason_of(error: str | None) -> Reason | None:
    """The reason code of a stored delivery error (None: no error)."""
    if not error:
        return None
    for phrase, reason in _PHRASES:
        if phrase in error:
            return reason
    return Reason.SERVICE_ERROR


@dataclass(frozen=True)
class Reach:
    """Whether a channel reaches someone now; when not, why."""

    reachable: bool
    reason: Reason | None = None

    def as_json(self, locale: str) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "reason": None if self.reason is None else str(self.reason),
            "detail": None if self.reason is None else texts.reason_detail(locale, self.reason),
        }


REACHABLE = Reach(True)


@dataclass(frozen=True)
class Configured:
    """Which channels this server can send on at all."""

    push: bool
    sms: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Configured:
        return cls(
            push=bool(config.get("VAPID_PRIVATE_KEY")),
            sms=bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN")),
        )


def reach(
    db: Session, people: Sequence[Account], configured: Configured
) -> dict[str, dict[Channel, Reach]]:
    """{account id: {push: Reach, sms: Reach}} for these accounts, in two queries."""
    ids = [person.id for person in people]
    with_device = devices.accounts_with_devices(db, ids)
    phones = {person.phone for person in people if person.phone}
    opted_out = (
        set(db.scalars(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones))))
        if phones
        else set()
    )
    found: dict[str, dict[Channel, Reach]] = {}
    for person in people:
        if not configured.push:
            push = Reach(False, Reason.PUSH_NOT_CONFIGURED)
        elif person.id not in with_device:
            push = Reach(False, Reason.NO_DEVICE)
        else:
            push = REACHABLE
        if not configured.sms:
            sms = Reach(False, Reason.SMS_NOT_CONFIGURED)
        elif not person.phone:
            sms = Reach(False, Reason.NO_PHONE)
        elif person.phone in opted_out:
            sms = Reach(False, Reason.OPTED_OUT)
        else:
            sms = REACHABLE
        found[person.id] = {Channel.PUSH: push, Channel.SMS: sms}
    return found
