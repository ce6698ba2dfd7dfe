"""Inbound SMS (Twilio's webhook): STOP, START, HELP, and C to confirm. Only flushes."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import Account, Role
from reminders import texts
from reminders.models import Appointment, SmsOptOut, Status
from reminders.service import next_occurrence

# Twilio's default opt-out, opt-in and help keywords in full, and their Spanish ones
# (a member who wrote "Parar" must be as stopped as one who wrote STOP).
STOP_WORDS = {
    *("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
    *("PARAR", "DETENER", "CANCELAR", "BAJA"),
}
START_WORDS = {"START", "UNSTOP", "YES", "COMENZAR", "INICIAR", "REANUDAR"}
HELP_WORDS = {"HELP", "INFO", "AYUDA"}
CONFIRM_WORDS = {"C", "CONFIRM", "CONFIRMAR"}


def keyword(body: str) -> str:
    """The one word a text is, as Twilio matches it: case, accents, spaces and punctuation
    ignored ("Opt-out!", " stop. ", "Párar" are OPTOUT, STOP, PARAR)."""
    plain = unicodedata.normalize("NFKD", body)
    return "".join(c for c in plain if c.isascii() and c.isalpha()).upper()


def handle_inbound_sms(db: Session, phone: str, body: str, now: datetime) -> str:
    """Act on a text a member sent and return the reply."""
    word = keyword(body)
    members = list(
        db.scalars(select(Account).where(Account.phone == phone, Account.role == Role.MEMBER))
    )
    locale = members[0].locale if members else "en"
    if word in STOP_WORDS:
        if db.get(SmsOptOut, phone) is None:
            db.add(SmsOptOut(phone=phone, opted_out_at=now))
        return texts.sms_reply(locale, "stopped")
    if word in START_WORDS:
        opt_out = db.get(SmsOptOut, phone)
        if opt_out is not None:
            db.delete(opt_out)
        return texts.sms_reply(locale, "started")
    if word in HELP_WORDS:
        return texts.sms_reply(locale, "help")
    if word in CONFIRM_WORDS:
        upcoming = [
            (when, appointment)
            for appointment in db.scalars(
                select(Appointment).where(
                    Appointment.member_id.in_([m.id for m in members]),
                    Appointment.status == Status.SCHEDULED,
                )
            )
            if (when := next_occurrence(appointment, now)) is not None
        ]
        if not upcoming:
            return texts.sms_reply(locale, "nothing_to_confirm")
        _, appointment = min(upcoming, key=lambda pair: pair[0])
        appointment.status, appointment.updated_at = Status.CONFIRMED, now
        db.flush()
        return texts.sms_reply(locale, "confirmed")
    return texts.sms_reply(locale, "unknown")
