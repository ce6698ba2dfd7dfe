"""Notification text: short, plain, translated, and discreet unless the member opted in.

Discreet text never names the kind of appointment or its title: a lock screen, an SMS or
a shared calendar must not say "court", "probation", "parole", "PO", "warrant" or
"drug test" (in any of LOCALES: English, Spanish, Russian, Kazakh). Catalogs are gettext .po
files under translations/, read with Babel; translations/messages.pot is extracted with
``pybabel extract -F reminders/babel.cfg`` (see that file) and docs/languages.md says how to
add a text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.support import NullTranslations

from api.core.i18n import package_translations
from reminders.models import Kind

LOCALES = ("en", "es", "ru", "kk")
# Words that must never appear in discreet text (product.md, principle 4), in each language.
DENIED_WORDS = {
    "en": ("court", "probation", "parole", "po", "warrant", "drug test", "supervision", "judge"),
    "es": (
        "tribunal",
        "corte",
        "juzgado",
        "libertad condicional",
        "orden de arresto",
        "prueba de drogas",
        "supervisión",
        "juez",
        "oficial",
    ),
    # Whole words, so the usual inflected forms are listed too.
    "ru": (
        "суд",
        "суда",
        "суде",
        "суду",
        "судом",
        "судебное заседание",
        "пробация",
        "пробации",
        "условный срок",
        "условно-досрочное",
        "удо",
        "ордер",
        "ордер на арест",
        "тест на наркотики",
        "надзор",
        "надзора",
        "надзоре",
        "судья",
        "судьи",
        "судье",
        "судью",
        "офицер",
        "инспектор",
        "инспектора",
        "инспектором",
    ),
    "kk": (
        "сот",
        "сотқа",
        "сотта",
        "соттың",
        "пробация",
        "шартты түрде мерзімінен бұрын босату",
        "ордер",
        "қамауға алу ордері",
        "есірткі тесті",
        "есірткіге тест",
        "қадағалау",
        "судья",
        "судьяға",
        "офицер",
        "инспектор",
        "инспекторға",
        "инспектормен",
    ),
}


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog for ``locale``; English is the source language."""
    return package_translations("reminders", locale)


def _(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


# Marked for extraction (pybabel extract -k N_); translated where used.
def N_(message: str) -> str:
    return message


KIND_LABELS = {
    Kind.SUPERVISION: N_("Supervision meeting"),
    Kind.COURT: N_("Court date"),
    Kind.TREATMENT: N_("Treatment"),
    Kind.MEDICAL: N_("Medical appointment"),
    Kind.BENEFITS: N_("Benefits office"),
    Kind.ID_DOCUMENTS: N_("ID documents"),
    Kind.JOB_INTERVIEW: N_("Job interview"),
    Kind.HOUSING: N_("Housing viewing"),
    Kind.OTHER: N_("Appointment"),
}


@dataclass(frozen=True)
class Notification:
    title: str
    body: str


def when_phrase(locale: str, starts: datetime, now: datetime) -> str:
    """'today at 10:00', 'tomorrow at 10:00', 'on Friday at 10:00' or 'on 4 Dec at 10:00',
    both datetimes in the member's local time."""
    babel_locale = Locale.parse(locale)
    clock = format_time(starts.time(), "HH:mm", locale=babel_locale)
    days = (starts.date() - now.date()).days
    if days <= 0:
        return _(locale, "today at %(time)s") % {"time": clock}
    if days == 1:
        return _(locale, "tomorrow at %(time)s") % {"time": clock}
    if days < 7:
        day = format_date(starts.date(), "EEEE", locale=babel_locale)
    else:
        day = format_skeleton("MMMMd", starts, locale=babel_locale)
    return _(locale, "on %(day)s at %(time)s") % {"day": day, "time": clock}


def day_phrase(locale: str, due: date, today: date) -> str:
    """'today', 'tomorrow', 'on Friday' or 'on 4 Dec' (a date with no time)."""
    babel_locale = Locale.parse(locale)
    days = (due - today).days
    if days <= 0:
        return _(locale, "today")
    if days == 1:
        return _(locale, "tomorrow")
    if days < 7:
        return _(locale, "on %(day)s") % {"day": format_date(due, "EEEE", locale=babel_locale)}
    day = format_skeleton("MMMMd", datetime.combine(due, time()), locale=babel_locale)
    return _(locale, "on %(day)s") % {"day": day}


def bring_phrase(locale: str, bring: list[str]) -> str:
    """'Bring: birth certificate, release papers.' (empty when there is nothing to bring)"""
    if not bring:
        return ""
    return _(locale, "Bring: %(items)s.") % {"items": ", ".join(bring)}


def reminder(
    *,
    locale: str,
    detailed: bool,
    kind: Kind,
    title: str,
    starts: datetime,
    now: datetime,
    sms: bool = False,
    bring: list[str] | None = None,
) -> Notification:
    """The text of one reminder. ``starts`` and ``now`` are the member's local times.
    ``bring`` (what to take along) is said in detailed text only."""
    when = when_phrase(locale, starts, now)
    if detailed:
        heading = _(locale, KIND_LABELS[kind])
        body = _(locale, "%(title)s, %(when)s") % {"title": title, "when": when}
        if bring:
            body = f"{body}. {bring_phrase(locale, bring)}".removesuffix(".")
    else:
        heading = _(locale, "Reminder")
        body = _(locale, "Appointment %(when)s") % {"when": when}
    if sms:
        confirm = _(locale, "Reply C to confirm.")  # outside the f-string, for extraction
        body = f"{body}. {confirm}"
    return Notification(heading, body)


def step_reminder(
    *,
    locale: str,
    detailed: bool,
    title: str,
    bring: list[str],
    due: date,
    due_time: time | None,
    today: date,
) -> Notification:
    """The text of a reminder of a plan step that is due. Discreet text says only that a
    step of the plan is due, and when; detailed text names the step and what to bring.
    ``today`` is the member's local date."""
    when = day_phrase(locale, due, today)
    if due_time is not None:
        clock = format_time(due_time, "HH:mm", locale=Locale.parse(locale))
        when = _(locale, "%(day)s at %(time)s") % {"day": when, "time": clock}
    if not detailed:
        return Notification(
            _(locale, "Reminder"),
            _(locale, "Reminder: a step of your plan is due %(when)s") % {"when": when},
        )
    body = _(locale, "%(title)s, due %(when)s") % {"title": title, "when": when}
    if bring:
        body = f"{body}. {bring_phrase(locale, bring)}".removesuffix(".")
    return Notification(_(locale, "Plan step"), body)


def calendar_description(locale: str, bring: list[str]) -> str | None:
    """An appointment's .ics DESCRIPTION: what to take along, if anything."""
    return bring_phrase(locale, bring) or None


def sms_reply(locale: str, which: str) -> str:
    texts = {
        "help": N_(
            "Homeward reminders. Reply C to confirm your next appointment, STOP to "
            "stop texts, START to get them again."
        ),
        "stopped": N_("You will get no more texts from Homeward. Reply START to get them again."),
        "started": N_("Texts from Homeward are on again. Reply STOP to stop them."),
        "confirmed": N_("Thanks, your next appointment is confirmed."),
        "nothing_to_confirm": N_("There is no upcoming appointment to confirm."),
        "unknown": N_("Reply C to confirm your next appointment, HELP for help, STOP to stop."),
    }
    return _(locale, texts[which])


def calendar_summary(locale: str, detailed: bool, kind: Kind, title: str) -> str:
    return title if detailed else _(locale, "Appointment")


def help_alert(locale: str) -> Notification:
    """To a mentor: someone they support asked for help. No name, no reason: the lock
    screen of a mentor's phone is as public as anyone's."""
    return Notification(
        _(locale, "Homeward"),
        _(locale, "Someone you support asked for help. Open Homeward to see."),
    )


# Why a reminder or an alert did not (or will not) reach someone, in plain words.
REASON_DETAILS = {
    "no_device": N_("No phone is set up to get notifications from Homeward."),
    "push_not_configured": N_("Notifications are switched off on this server."),
    "no_phone": N_("There is no phone number on the account."),
    "sms_not_configured": N_("Texts are switched off on this server."),
    "opted_out": N_("The number asked for no texts (STOP). Reply START to get them again."),
    "service_error": N_("The message service did not answer."),
    "refused": N_("The message service refused the message."),
    "too_late": N_("It was too late: the appointment had started."),
    "quiet_hours": N_("Quiet hours lasted until the appointment."),
}
CHANNEL_LABELS = {"push": N_("Notification"), "sms": N_("Text"), "app": N_("In the app")}


def reason_detail(locale: str, reason: str) -> str:
    return _(locale, REASON_DETAILS[reason])


def channel_issue(locale: str, channel: str, detail: str) -> str:
    """'Text: There is no phone number on the account.'"""
    return f"{_(locale, CHANNEL_LABELS[channel])}: {detail}"


def in_app_detail(locale: str) -> str:
    return _(locale, "In the app, the next time their phone syncs.")


def help_summary(locale: str, told_now: list[str], told_later: list[str]) -> str:
    """What the member is told after asking for help: who gets it now, who later."""
    if not told_now and not told_later:
        return _(
            locale,
            "Nobody was told: none of your mentors has help alerts. Call someone you trust.",
        )
    parts = []
    if told_now:
        parts.append(_(locale, "Told now: %(names)s.") % {"names": ", ".join(told_now)})
    if told_later:
        parts.append(
            _(locale, "They will see it when their phone next syncs: %(names)s.")
            % {"names": ", ".join(told_later)}
        )
    return " ".join(parts)
