"""Notification text is discreet by default (product.md, principle 4) and translated.

Discreet text never names the kind of appointment or its title: no "court", "probation",
"parole", "PO", "warrant", "drug test" (nor their Spanish counterparts) on a lock screen,
in an SMS or in a calendar title, unless the member opted in to detailed text.
Pure functions of reminders.texts; no app needed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reminders import texts
from reminders.models import Kind

LOCALES = texts.LOCALES  # en, es, ru, kk
ALL_DENIED = sorted({word for words in texts.DENIED_WORDS.values() for word in words})
SENSITIVE_TITLES = [
    "court",
    "Court date",
    "Probation",
    "PO meeting",
    "drug test",
    "Drug Test at 9",
    "Meet my PO",
    "parole officer",
    "warrant hearing",
    "Judge Smith",
    "Supervision check-in",
    "Tribunal",
    "Cita en el juzgado",
    "prueba de drogas",
    "oficial de libertad condicional",
    "juez",
    "Corte",
    "supervisión",
]


def denied_in(text: str) -> list[str]:
    """Every denied word (of any language) found in ``text`` as a whole word, any case."""
    found = []
    for word in ALL_DENIED:
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, word.split())) + r"(?!\w)"
        if re.search(pattern, text, flags=re.IGNORECASE):
            found.append(word)
    return found


def test_the_word_check_itself_finds_whole_words_only():
    assert denied_in("See your PO today") == ["po"]
    assert denied_in("Drug  Test tomorrow") == ["drug test"]
    assert denied_in("Supervisión a las 9") == ["supervisión"]
    assert denied_in("Appointment on Friday at 09:00. Reply C to confirm.") == []
    assert denied_in("Pool party, important report") == []


titles = st.one_of(
    st.sampled_from(SENSITIVE_TITLES),
    st.builds(
        lambda a, w, b: f"{a}{w}{b}",
        st.text(max_size=20),
        st.sampled_from(SENSITIVE_TITLES),
        st.text(max_size=20),
    ),
    st.text(min_size=1, max_size=200),
).filter(lambda t: t.strip() != "")

nows = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2035, 12, 31))
deltas = st.one_of(
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=2)),
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=400)),
)


def render(notification: texts.Notification) -> str:
    return f"{notification.title}\n{notification.body}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(list(Kind)),
    title=titles,
    locale=st.sampled_from(LOCALES),
    sms=st.booleans(),
    now=nows,
    delta=deltas,
)
@example(
    kind=Kind.COURT,
    title="Court date with PO",
    locale="en",
    sms=True,
    now=datetime(2026, 12, 1, 8, 0),
    delta=timedelta(days=3, hours=1),
)
@example(
    kind=Kind.SUPERVISION,
    title="Probation - drug test",
    locale="es",
    sms=False,
    now=datetime(2026, 12, 1, 8, 0),
    delta=timedelta(days=20),
)
def test_discreet_text_never_names_the_appointment(kind, title, locale, sms, now, delta):
    starts = now + delta
    discreet = texts.reminder(
        locale=locale, detailed=False, kind=kind, title=title, starts=starts, now=now, sms=sms
    )
    text = render(discreet)

    assert denied_in(text) == [], text
    # It does not depend on the title or the kind at all...
    neutral = texts.reminder(
        locale=locale, detailed=False, kind=Kind.OTHER, title="~", starts=starts, now=now, sms=sms
    )
    assert discreet == neutral
    # ...so the title never shows (unless it is a piece of the neutral text itself).
    if title.strip().casefold() not in render(neutral).casefold():
        assert title.strip().casefold() not in text.casefold()
    assert discreet.title and discreet.body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=titles,
    bring=st.lists(titles, max_size=3),
    locale=st.sampled_from(LOCALES),
    now=nows,
    delta=deltas,
    timed=st.booleans(),
)
@example(
    title="Drug test at probation",
    bring=["Court papers"],
    locale="ru",
    now=datetime(2026, 12, 1, 8, 0),
    delta=timedelta(days=1),
    timed=True,
)
def test_discreet_step_reminders_never_name_the_step_or_what_to_bring(
    title, bring, locale, now, delta, timed
):
    due = (now + delta).date()
    due_time = (now + delta).time().replace(second=0, microsecond=0) if timed else None
    say = dict(locale=locale, detailed=False, due=due, due_time=due_time, today=now.date())
    discreet = texts.step_reminder(title=title, bring=bring, **say)
    assert discreet == texts.step_reminder(title="~", bring=[], **say)  # says nothing of them
    assert denied_in(render(discreet)) == [], render(discreet)
    assert discreet.title and discreet.body


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(list(Kind)),
    title=titles,
    locale=st.sampled_from(LOCALES),
    sms=st.booleans(),
    now=nows,
    delta=deltas,
)
def test_detailed_text_shows_the_title(kind, title, locale, sms, now, delta):
    detailed = texts.reminder(
        locale=locale, detailed=True, kind=kind, title=title, starts=now + delta, now=now, sms=sms
    )

    assert title in detailed.body
    assert detailed.title == texts.translations(locale).gettext(texts.KIND_LABELS[kind])


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(list(Kind)), title=titles, sms=st.booleans(), now=nows, delta=deltas)
def test_spanish_discreet_text_is_translated(kind, title, sms, now, delta):
    kwargs = dict(detailed=False, kind=kind, title=title, starts=now + delta, now=now, sms=sms)
    english = texts.reminder(locale="en", **kwargs)
    spanish = texts.reminder(locale="es", **kwargs)

    assert spanish != english
    assert spanish.title != english.title
    assert spanish.body != english.body
    assert "Cita" in spanish.body
    assert spanish.title == "Recordatorio"
    if sms:
        assert spanish.body.endswith("Responda C para confirmar.")
        assert english.body.endswith("Reply C to confirm.")


@pytest.mark.parametrize(
    ("locale", "days", "expected"),
    [
        ("en", 0, "Appointment today at 09:00"),
        ("en", 1, "Appointment tomorrow at 09:00"),
        ("en", 3, "Appointment on Friday at 09:00"),
        ("en", 23, "Appointment on December 24 at 09:00"),
        ("es", 0, "Cita hoy a las 09:00"),
        ("es", 1, "Cita mañana a las 09:00"),
        ("es", 3, "Cita el viernes a las 09:00"),
        ("es", 23, "Cita el 24 de diciembre a las 09:00"),
        ("ru", 0, "Встреча: сегодня в 09:00"),
        ("ru", 1, "Встреча: завтра в 09:00"),
        ("ru", 3, "Встреча: пятница в 09:00"),
        ("ru", 23, "Встреча: 24 декабря в 09:00"),
        ("kk", 0, "Кездесу: бүгін, сағат 09:00"),
        ("kk", 1, "Кездесу: ертең, сағат 09:00"),
        ("kk", 3, "Кездесу: жұма, сағат 09:00"),
        ("kk", 23, "Кездесу: 24 желтоқсан, сағат 09:00"),
    ],
)
def test_discreet_text_says_when_in_the_members_language(locale, days, expected):
    now = datetime(2026, 12, 1, 8, 0)  # a Tuesday
    starts = datetime(2026, 12, 1, 9, 0) + timedelta(days=days)

    notification = texts.reminder(
        locale=locale, detailed=False, kind=Kind.COURT, title="Court", starts=starts, now=now
    )

    assert notification.body == expected
    titles = {"en": "Reminder", "es": "Recordatorio", "ru": "Напоминание", "kk": "Еске салу"}
    assert notification.title == titles[locale]


SMS_REPLIES = {
    "help": (
        "Reply C to confirm your next appointment",
        "Responda C para confirmar su próxima cita",
    ),
    "stopped": ("You will get no more texts from Homeward", "No recibirá más mensajes de Homeward"),
    "started": ("Texts from Homeward are on again", "Los mensajes de Homeward están activados"),
    "confirmed": ("your next appointment is confirmed", "su próxima cita está confirmada"),
    "nothing_to_confirm": (
        "There is no upcoming appointment to confirm",
        "No hay ninguna cita próxima que confirmar",
    ),
    "unknown": (
        "Reply C to confirm your next appointment, HELP for help",
        "Responda C para confirmar su próxima cita",
    ),
}


@pytest.mark.parametrize("which", sorted(SMS_REPLIES))
def test_sms_replies_are_translated(which):
    english_part, spanish_part = SMS_REPLIES[which]

    english = texts.sms_reply("en", which)
    spanish = texts.sms_reply("es", which)

    assert english_part in english
    assert spanish_part in spanish
    assert english != spanish
    assert denied_in(english) == [] and denied_in(spanish) == []
    assert len(english) <= 160 and len(spanish) <= 160  # one SMS segment each


def test_stop_and_start_replies_name_the_keywords_carriers_require():
    for locale in LOCALES:
        assert "START" in texts.sms_reply(locale, "stopped")
        assert "STOP" in texts.sms_reply(locale, "started")
        help_text = texts.sms_reply(locale, "help")
        assert "STOP" in help_text and "START" in help_text and "Homeward" in help_text


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(list(Kind)), title=titles, locale=st.sampled_from(LOCALES))
def test_calendar_summary_is_discreet_unless_detailed(kind, title, locale):
    discreet = texts.calendar_summary(locale, False, kind, title)
    detailed = texts.calendar_summary(locale, True, kind, title)

    assert discreet == {"en": "Appointment", "es": "Cita", "ru": "Встреча", "kk": "Кездесу"}[locale]
    assert denied_in(discreet) == []
    assert detailed == title


def test_every_kind_has_a_label_in_both_languages():
    for kind in Kind:
        english = texts.translations("en").gettext(texts.KIND_LABELS[kind])
        spanish = texts.translations("es").gettext(texts.KIND_LABELS[kind])
        assert english and spanish
        assert english != spanish, kind
