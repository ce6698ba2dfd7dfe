# Russian and Kazakh text on purpose: its Cyrillic letters are not typos of Latin ones.
# ruff: noqa: RUF001
"""Every member-facing text in English, Spanish, Russian and Kazakh (docs/languages.md).

Two catalogues: the notification texts (``reminders/translations``, read by
``reminders.texts``) and the API's Problem Details ``detail`` texts
(``api/core/translations``, read by ``api.core.i18n``). English is the source; every msgid has
a non-empty es, ru and kk translation with the same placeholders, and every text the code
says is in the catalogues, so a new English text without its translations fails here.
Then, end to end: a Russian member's reminder arrives in Russian through the real dispatcher
and the local push service, and a Russian member's 404 and 422 say why in Russian.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from api.accounts.schemas import LOCALES as ACCOUNT_LOCALES
from api.core import i18n
from reminders import texts
from reminders.dispatch import Dispatcher
from reminders.models import Kind, ReminderDelivery
from tests.fixtures.http import assert_problem

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("es", "ru", "kk")
CATALOGUES = {
    "reminders": ROOT / "reminders" / "translations",
    "api": ROOT / "api" / "core" / "translations",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def read(name: str, locale: str) -> dict[str, str]:
    path = CATALOGUES[name] / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    assert catalog.locale is not None and str(catalog.locale) == locale, path
    return {str(m.id): str(m.string or "") for m in catalog if m.id}


def reminders_msgids() -> set[str]:
    """What ``pybabel extract -F reminders/babel.cfg -k _:2 -k N_`` extracts."""
    found = extract_from_file(
        "python",
        str(ROOT / "reminders" / "texts.py"),
        keywords={"_": (2,), "N_": None},
    )
    return {message for _, message, _, _ in found if isinstance(message, str)}


def api_msgids() -> set[str]:
    found, _ = i18n.extract([ROOT / source for source in i18n.SOURCES])
    return set(found) | set(i18n.BY_HAND)


# -- the catalogues -----------------------------------------------------------------------------


def test_the_four_languages_are_the_same_everywhere():
    assert texts.LOCALES == i18n.LOCALES == ("en", "es", "ru", "kk")
    assert set(ACCOUNT_LOCALES) == set(texts.LOCALES)
    assert set(texts.DENIED_WORDS) == set(texts.LOCALES)


@pytest.mark.parametrize("name", sorted(CATALOGUES))
@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_msgid_has_a_translation_with_the_same_placeholders(name, locale):
    catalogue = read(name, locale)

    assert catalogue, (name, locale)
    missing = sorted(msgid for msgid, msgstr in catalogue.items() if not msgstr.strip())
    assert missing == [], f"{name}/{locale}: untranslated"
    wrong = [
        (msgid, msgstr)
        for msgid, msgstr in catalogue.items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr))
    ]
    assert wrong == [], f"{name}/{locale}: placeholders differ"


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_the_catalogues_of_all_languages_hold_the_same_msgids(name):
    msgids = {locale: set(read(name, locale)) for locale in TRANSLATED}

    assert msgids["es"] == msgids["ru"] == msgids["kk"]


@pytest.mark.parametrize("name", sorted(CATALOGUES))
@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_plural_forms_header_is_the_languages_own(name, locale):
    path = CATALOGUES[name] / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)

    plural = get_plural(locale)
    assert catalog.num_plurals == plural.num_plurals
    assert catalog.plural_expr == plural.plural_expr
    assert catalog.num_plurals == {"es": 2, "ru": 3, "kk": 2}[locale]


def test_russian_and_kazakh_are_written_in_cyrillic():
    for name in CATALOGUES:
        for locale in ("ru", "kk"):
            for msgid, msgstr in read(name, locale).items():
                # Only a name ("Homeward"), an acronym ("SMS") or bare placeholders are not.
                words = re.sub(r"[\W\d_]", "", PLACEHOLDER.sub("", msgstr))
                if words and msgstr != msgid and not re.fullmatch(r"[A-Z]+", words):
                    assert re.search(r"[\u0400-\u04ff]", msgstr), (name, locale, msgid)


# -- every text in the code is in the catalogues ----------------------------------------------


def test_every_notification_text_in_the_code_is_in_the_catalogues():
    extracted = reminders_msgids()

    assert "Reply C to confirm." in extracted and "Plan step" in extracted
    for locale in TRANSLATED:
        missing = sorted(extracted - set(read("reminders", locale)))
        assert missing == [], (
            f"reminders/{locale}: texts without a translation; run pybabel extract and "
            "update (docs/languages.md)"
        )


def test_every_problem_detail_in_the_code_is_in_the_catalogues():
    extracted = api_msgids()

    assert {"No such appointment.", "There is nothing at this address."} <= extracted
    assert "Some fields are invalid: %(fields)s." in extracted
    for locale in TRANSLATED:
        missing = sorted(extracted - set(read("api", locale)))
        assert missing == [], (
            f"api/core/{locale}: details without a translation; run python -m api.core.i18n "
            "and pybabel update (docs/languages.md)"
        )


def test_details_computed_at_run_time_are_the_known_ones():
    """A detail the extraction cannot read stays English; each one is listed, with its texts
    added by hand (i18n.BY_HAND), so a new one is a decision, not an accident."""
    _, unresolved = i18n.extract([ROOT / source for source in i18n.SOURCES])

    unknown = [
        f"{u.path.relative_to(ROOT)}:{u.line}: {u.source}"
        for u in unresolved
        if u.source not in i18n.COMPUTED.get(u.path.relative_to(ROOT).as_posix(), set())
    ]
    assert unknown == [], "make these constants, or add their texts to i18n.BY_HAND"


def test_the_extraction_reads_constants_f_strings_helpers_and_defaults(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "from api.core.i18n import N_\n"
        "GONE = 'It is gone.'\n"
        "MARKED = N_('Marked.')\n"
        "def not_here(what='thing'):\n"
        "    return Problem(404, f'Not here: {what}.')\n"
        "def refuse(detail):\n"
        "    return Problem(403, detail)\n"
        "def view(count):\n"
        "    raise Problem(409, GONE)\n"
        "    raise problem_response(503, 'Away.')\n"
        "    raise errors.Problem(422, f'You have {count} of {self.limit}.')\n"
        "    raise not_here('cat')\n"
        "    raise not_here()\n"
        "    raise refuse(detail='No.')\n"
        "    raise Problem(400, compute())\n"
    )

    found, unresolved = i18n.extract([source])

    assert set(found) == {
        "It is gone.",
        "Marked.",
        "Away.",
        "You have %(count)s of %(limit)s.",
        "Not here: cat.",
        "Not here: thing.",
        "Not here: %(what)s.",
        "No.",
    }
    assert [u.source for u in unresolved] == ["compute()"]


# -- looking a detail up -------------------------------------------------------------------------


def test_a_detail_is_translated_exactly_or_by_its_template():
    assert i18n.translate("ru", "No such appointment.") == "Такой встречи нет."
    assert i18n.translate("kk", "No such goal.") == "Мұндай мақсат жоқ."
    # A variable part is kept as it is, inside the translated fixed part.
    assert i18n.translate("ru", "Some fields are invalid: kind, starts_at.") == (
        "Некоторые поля заполнены неверно: kind, starts_at."
    )
    assert i18n.translate("es", "You have 5 unused invites; cancel one or wait for it to expire.")
    assert i18n.translate("es", "No such unicorn.") == "No existe: unicorn."
    assert i18n.translate("ru", "Use at least 12 characters.") == (
        "Используйте не менее 12 символов."
    )
    # A variable part that is itself a detail is translated too.
    inner = "There is no category 'x'; see /hsds/taxonomy_terms for the codes."
    assert i18n.translate("ru", f"This step's directory search cannot be run. {inner}") == (
        "Поиск по справочнику для этого шага выполнить нельзя. "
        "Категории 'x' нет; коды см. в /hsds/taxonomy_terms."
    )
    # Unknown texts and English stay as they are.
    assert i18n.translate("ru", "Something nobody wrote down.") == "Something nobody wrote down."
    assert i18n.translate("en", "No such appointment.") == "No such appointment."
    assert i18n.translate("fr", "No such appointment.") == "No such appointment."


# -- Russian and Kazakh notification texts -----------------------------------------------------

ALL_DENIED = sorted({word for words in texts.DENIED_WORDS.values() for word in words})
SENSITIVE_TITLES = [
    "Court date with PO",
    "drug test",
    "Заседание суда",
    "Суд",
    "встреча с инспектором по надзору",
    "тест на наркотики",
    "Судья Иванов",
    "Сот отырысы",
    "есірткі тесті",
    "қадағалау",
    "инспектормен кездесу",
]


def denied_in(text: str) -> list[str]:
    found = []
    for word in ALL_DENIED:
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, word.split())) + r"(?!\w)"
        if re.search(pattern, text, flags=re.IGNORECASE):
            found.append(word)
    return found


def test_the_russian_and_kazakh_word_lists_catch_their_words():
    assert denied_in("Заседание СУДА завтра") == ["суда"]
    assert denied_in("Встреча с инспектором") == ["инспектором"]
    assert denied_in("Есірткі тесті ертең") == ["есірткі тесті"]
    assert denied_in("Встреча: сегодня в 09:00") == []


titles = st.one_of(st.sampled_from(SENSITIVE_TITLES), st.text(min_size=1, max_size=80)).filter(
    lambda t: t.strip() != ""
)
nows = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2035, 12, 31))
deltas = st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=400))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(list(Kind)),
    title=titles,
    locale=st.sampled_from(("ru", "kk")),
    sms=st.booleans(),
    now=nows,
    delta=deltas,
)
def test_russian_and_kazakh_discreet_text_never_names_the_appointment(
    kind, title, locale, sms, now, delta
):
    starts = now + delta
    discreet = texts.reminder(
        locale=locale, detailed=False, kind=kind, title=title, starts=starts, now=now, sms=sms
    )
    text = f"{discreet.title}\n{discreet.body}"

    assert denied_in(text) == [], text
    neutral = texts.reminder(
        locale=locale, detailed=False, kind=Kind.OTHER, title="~", starts=starts, now=now, sms=sms
    )
    assert discreet == neutral
    assert re.search(r"[\u0400-\u04ff]", text)
    assert discreet.title == {"ru": "Напоминание", "kk": "Еске салу"}[locale]


@settings(max_examples=200, deadline=None)
@given(
    title=titles,
    locale=st.sampled_from(("ru", "kk")),
    today=st.dates(min_value=date(2024, 1, 1), max_value=date(2035, 12, 31)),
    days=st.integers(min_value=-2, max_value=60),
    due_time=st.one_of(st.none(), st.times()),
)
def test_russian_and_kazakh_discreet_step_reminders_name_no_step(
    title, locale, today, days, due_time
):
    discreet = texts.step_reminder(
        locale=locale,
        detailed=False,
        title=title,
        bring=["справка"],
        due=today + timedelta(days=days),
        due_time=due_time,
        today=today,
    )
    text = f"{discreet.title}\n{discreet.body}"

    assert denied_in(text) == [], text
    assert "справка" not in text
    if title.strip() not in text:
        assert title.strip() not in discreet.body


@pytest.mark.parametrize("locale", ("ru", "kk"))
def test_russian_and_kazakh_sms_replies_calendar_and_alerts_are_translated_and_discreet(locale):
    for which in ("help", "stopped", "started", "confirmed", "nothing_to_confirm", "unknown"):
        reply = texts.sms_reply(locale, which)
        assert reply != texts.sms_reply("en", which)
        assert denied_in(reply) == [] and len(reply) <= 160, reply
    assert "START" in texts.sms_reply(locale, "stopped")
    assert "STOP" in texts.sms_reply(locale, "started")
    help_text = texts.sms_reply(locale, "help")
    assert "STOP" in help_text and "START" in help_text and "Homeward" in help_text
    summary = texts.calendar_summary(locale, False, Kind.COURT, "Суд")
    assert summary == {"ru": "Встреча", "kk": "Кездесу"}[locale] and denied_in(summary) == []
    alert = texts.help_alert(locale)
    assert denied_in(f"{alert.title} {alert.body}") == []
    for kind in Kind:
        assert (
            texts.translations(locale).gettext(texts.KIND_LABELS[kind]) != (texts.KIND_LABELS[kind])
        )
    for reason in texts.REASON_DETAILS:
        assert texts.reason_detail(locale, reason) != texts.reason_detail("en", reason)


def test_a_kazakh_members_detailed_and_step_texts_are_kazakh():
    now = datetime(2026, 12, 1, 8, 0)
    detailed = texts.reminder(
        locale="kk",
        detailed=True,
        kind=Kind.JOB_INTERVIEW,
        title="Сұхбат",
        starts=datetime(2026, 12, 2, 10, 0),
        now=now,
        sms=True,
        bring=["түйіндеме"],
    )
    assert detailed.title == "Жұмыс сұхбаты"
    assert detailed.body == (
        "Сұхбат, ертең, сағат 10:00. Өзіңізбен алыңыз: түйіндеме. Растау үшін C деп жауап беріңіз."
    )
    step = texts.step_reminder(
        locale="kk",
        detailed=False,
        title="x",
        bring=[],
        due=date(2026, 12, 2),
        due_time=time(9, 30),
        today=date(2026, 12, 1),
    )
    assert step == texts.Notification(
        "Еске салу", "Еске салу: жоспарыңыз қадамының мерзімі — ертең, сағат 09:30"
    )
    assert texts.calendar_description("kk", ["төлқұжат"]) == "Өзіңізбен алыңыз: төлқұжат."
    assert texts.step_reminder(
        locale="ru",
        detailed=True,
        title="Получить паспорт",
        bring=["фото"],
        due=date(2026, 12, 1),
        due_time=None,
        today=date(2026, 12, 1),
    ) == texts.Notification("Шаг плана", "Получить паспорт, срок: сегодня. Взять с собой: фото")


# -- end to end: a Russian member -------------------------------------------------------------


def _member_with_device(client, accounts, push, **profile):
    person = accounts.register(**profile)
    response = client.post(
        "/api/v1/devices", headers=person.headers, json={**push.new_subscription(), "name": "x"}
    )
    assert response.status_code == 201, response.get_json()
    return person


def _appointment(client, person, **fields):
    body = {
        "title": "Заседание суда, инспектор",
        "kind": "court",
        "starts_at": "2027-03-10T09:00",
        "timezone": "Europe/Moscow",
        "channels": ["push"],
        **fields,
    }
    response = client.post("/api/v1/appointments", headers=person.headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _due_at(app, appointment_id):
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        [row] = db.scalars(
            select(ReminderDelivery).where(ReminderDelivery.appointment_id == appointment_id)
        )
        return row.due_at


def test_a_russian_members_reminder_arrives_in_russian(app, client, accounts, push):
    person = _member_with_device(client, accounts, push, timezone="Europe/Moscow", locale="ru")
    appointment = _appointment(client, person, reminder_offsets=["2h"])
    due = _due_at(app, appointment["id"])

    assert Dispatcher.for_app(app, clock=lambda: due).run_until_idle() == 1

    [message] = push.wait_for(1)
    assert message.json["title"] == "Напоминание"
    assert message.json["body"] == "Встреча: сегодня в 09:00"
    assert denied_in(message.text) == [] and "Заседание" not in message.text


def test_a_russian_members_detailed_reminder_is_russian(app, client, accounts, push):
    person = _member_with_device(client, accounts, push, timezone="Europe/Moscow", locale="ru")
    client.patch("/api/v1/me", headers=person.headers, json={"notification_detail": "detailed"})
    appointment = _appointment(
        client, person, title="Собеседование в кафе", kind="job_interview",
        reminder_offsets=["1d@10:00"],
    )  # fmt: skip
    due = _due_at(app, appointment["id"])

    Dispatcher.for_app(app, clock=lambda: due).run_until_idle()

    [message] = push.wait_for(1)
    assert message.json["title"] == "Собеседование"
    assert message.json["body"] == "Собеседование в кафе, завтра в 09:00"


# -- end to end: Problem Details in the member's language ------------------------------------


def test_a_russian_members_404_and_422_say_why_in_russian(client, accounts):
    person = accounts.register(locale="ru")

    missing = client.get("/api/v1/appointments/0123456789abcdef", headers=person.headers)
    body = assert_problem(missing, 404)
    assert body["detail"] == "Такой встречи нет."

    invalid = client.post(
        "/api/v1/appointments",
        headers=person.headers,
        json={"title": "", "kind": "nonsense", "starts_at": "2027-03-10T09:00"},
    )
    body = assert_problem(invalid, 422)
    assert body["detail"] == "Некоторые поля заполнены неверно: kind, title."
    assert set(body["errors"]) == {"kind", "title"}  # field names and messages as they were

    # A schema-wide reason keeps its own (English) words inside the translated fixed part.
    empty = client.patch("/api/v1/me", headers=person.headers, json={})
    assert assert_problem(empty, 422)["detail"].startswith("Тело запроса неверно: ")


def test_a_kazakh_members_detail_is_kazakh_and_an_english_members_stays_english(client, accounts):
    kazakh = accounts.register(locale="kk")
    english = accounts.register(locale="en")
    url = "/api/v1/appointments/0123456789abcdef"

    assert client.get(url, headers=kazakh.headers).get_json()["detail"] == "Мұндай кездесу жоқ."
    english_body = client.get(url, headers={**english.headers, "Accept-Language": "ru"}).get_json()
    assert english_body["detail"] == "No such appointment."  # the account's locale wins


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("ru-RU", "ru"),
        ("kk-KZ, ru;q=0.5", "kk"),
        ("en-GB, ru", "en"),
        ("ru;q=0.4, es-MX;q=0.8", "es"),
        ("fr, de;q=0.9, kk;q=0.1", "kk"),
        ("fr, *;q=0.5, ru;q=0.1", "en"),
        ("ru;q=0, es;q=x", "en"),
        ("", "en"),
        (",;;=,", "en"),
    ],
)
def test_accept_language_picks_the_first_of_the_four_it_names(header, locale):
    assert i18n.accepted_locale(header) == locale


def test_without_an_account_the_detail_follows_accept_language(client):
    russian = client.get("/api/v1/appointments", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert assert_problem(russian, 401)["detail"] == (
        "Войдите, чтобы сделать это: отправьте 'Authorization: Bearer <token>'."
    )
    spanish = client.get("/api/v1/nowhere", headers={"Accept-Language": "fr, es;q=0.5"})
    assert assert_problem(spanish, 404)["detail"] == "No hay nada en esta dirección."
    other = client.get("/api/v1/nowhere", headers={"Accept-Language": "de"})
    assert assert_problem(other, 404)["detail"] == "There is nothing at this address."
    plain = client.get("/api/v1/nowhere")
    assert assert_problem(plain, 404)["detail"] == "There is nothing at this address."
