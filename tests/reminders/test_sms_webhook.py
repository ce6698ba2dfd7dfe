"""Inbound SMS: POST /api/v1/webhooks/sms, Twilio's form-encoded webhook, signature-checked.

STOP records an opt-out, START removes it, HELP explains, "C" confirms the member's next
scheduled appointment. Replies are TwiML in the member's language. A request without a
valid X-Twilio-Signature changes nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import select

from reminders.models import SmsOptOut
from tests.fakes.twilio_api import signed_webhook
from tests.fixtures.http import assert_problem

WEBHOOK = "/api/v1/webhooks/sms"
PUBLIC_URL = "https://homeward.example/api/v1/webhooks/sms"
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
APPOINTMENTS = "/api/v1/appointments"
PHONE = "+16502530000"
SPANISH_PHONE = "+16502530001"
UNKNOWN_PHONE = "+16502530002"

STOPPED_EN = "You will get no more texts from Homeward. Reply START to get them again."
STARTED_EN = "Texts from Homeward are on again. Reply STOP to stop them."
CONFIRMED_EN = "Thanks, your next appointment is confirmed."
NOTHING_EN = "There is no upcoming appointment to confirm."


@pytest.fixture
def twilio(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "TWILIO_WEBHOOK_URL", PUBLIC_URL)


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"timezone": "America/Chicago", "phone": PHONE}


def params(body: str, phone: str = PHONE) -> dict[str, str]:
    """The fields Twilio posts for an inbound message."""
    return {
        "MessageSid": "SM" + "0" * 31 + "1",
        "AccountSid": "AC" + "a" * 32,
        "From": phone,
        "To": "+14155550100",
        "Body": body,
        "NumMedia": "0",
        "FromCountry": "US",
    }


def send(
    client: Any, body: str, phone: str = PHONE, token: str = AUTH_TOKEN, url: str = PUBLIC_URL
) -> Any:
    form = params(body, phone)
    return client.post(WEBHOOK, data=form, headers=signed_webhook(url, form, token))


def reply_of(response: Any) -> str:
    """The text of the one <Message> in a TwiML reply."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())  # noqa: S314 (our own app's TwiML)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) == 1
    return "".join(messages[0].itertext())


def opted_out(app: Any) -> set[str]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return set(db.scalars(select(SmsOptOut.phone)))


def create(client: Any, person: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "See Dana", "starts_at": "2026-10-20T09:00", **fields}
    response = client.post(APPOINTMENTS, json=body, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def status_of(client: Any, person: Any, appointment_id: str) -> str:
    response = client.get(f"{APPOINTMENTS}/{appointment_id}", headers=person.headers)
    assert response.status_code == 200, response.get_json()
    status: str = response.get_json()["status"]
    return status


# --- the signature ------------------------------------------------------------------------


def test_a_wrong_signature_is_403_and_changes_nothing(client, app, twilio, member):
    appointment = create(client, member)

    for response in (
        send(client, "STOP", token="someone-elses-token"),
        send(client, "C", token="someone-elses-token"),
        send(client, "STOP", url="https://homeward.example/other/path"),
    ):
        body = assert_problem(response, 403)
        assert "signature" in body["detail"].lower()

    assert opted_out(app) == set()
    assert status_of(client, member, appointment["id"]) == "scheduled"


def test_a_missing_signature_is_403_and_changes_nothing(client, app, twilio, member):
    appointment = create(client, member)

    stop = client.post(WEBHOOK, data=params("STOP"))
    confirm = client.post(WEBHOOK, data=params("C"))

    assert_problem(stop, 403)
    assert_problem(confirm, 403)
    assert opted_out(app) == set()
    assert status_of(client, member, appointment["id"]) == "scheduled"


def test_a_signature_for_other_fields_is_403(client, app, twilio, member):
    appointment = create(client, member)
    signed_for = params("HELP")
    headers = signed_webhook(PUBLIC_URL, signed_for, AUTH_TOKEN)

    tampered_body = client.post(WEBHOOK, data={**signed_for, "Body": "STOP"}, headers=headers)
    tampered_from = client.post(
        WEBHOOK,
        data={**params("C"), "From": PHONE},
        headers=signed_webhook(PUBLIC_URL, params("C", UNKNOWN_PHONE), AUTH_TOKEN),
    )

    assert_problem(tampered_body, 403)
    assert_problem(tampered_from, 403)
    assert opted_out(app) == set()
    assert status_of(client, member, appointment["id"]) == "scheduled"


def test_without_an_auth_token_configured_the_webhook_is_404(client, app, monkeypatch, member):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", None)
    monkeypatch.setitem(app.config, "TWILIO_WEBHOOK_URL", PUBLIC_URL)
    appointment = create(client, member)

    # Even a request signed with an empty token must not get through.
    for token in ("", AUTH_TOKEN):
        assert_problem(send(client, "STOP", token=token), 404)
        assert_problem(send(client, "C", token=token), 404)

    assert opted_out(app) == set()
    assert status_of(client, member, appointment["id"]) == "scheduled"


def test_without_a_public_url_the_signature_covers_the_request_url(
    client, app, monkeypatch, member
):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "TWILIO_WEBHOOK_URL", None)

    refused = send(client, "STOP")  # signed for the public URL, which is not configured
    assert_problem(refused, 403)
    assert opted_out(app) == set()

    accepted = send(client, "STOP", url="http://localhost/api/v1/webhooks/sms")
    assert reply_of(accepted) == STOPPED_EN
    assert opted_out(app) == {PHONE}


# --- STOP, START, HELP ---------------------------------------------------------------------


def test_stop_records_an_opt_out_for_the_sender(client, app, twilio, member):
    response = send(client, "STOP")

    assert reply_of(response) == STOPPED_EN
    assert opted_out(app) == {PHONE}


@pytest.mark.parametrize(
    "word",
    [
        *("stop", " Stop ", "STOP.", "unsubscribe", "Cancel", "QUIT", "end", "stopall"),
        # Twilio's defaults that were missed, and punctuation inside the word.
        *("REVOKE", "revoke!", "OPTOUT", "Opt-out", "opt out"),
        *("parar", "PARAR!", "Detener", "cancelar", "baja"),
    ],
)
def test_every_stop_word_in_any_case_opts_out(client, app, twilio, member, word):
    assert reply_of(send(client, word)) == STOPPED_EN
    assert opted_out(app) == {PHONE}


def test_stop_twice_keeps_one_opt_out(client, app, twilio, member):
    reply_of(send(client, "STOP"))

    assert reply_of(send(client, "STOP")) == STOPPED_EN
    assert opted_out(app) == {PHONE}


def test_stop_from_a_number_without_an_account_is_still_honoured(client, app, twilio, clock):
    assert reply_of(send(client, "STOP", phone=UNKNOWN_PHONE)) == STOPPED_EN
    assert opted_out(app) == {UNKNOWN_PHONE}


def test_start_removes_the_opt_out(client, app, twilio, member):
    reply_of(send(client, "STOP"))
    reply_of(send(client, "STOP", phone=UNKNOWN_PHONE))

    response = send(client, "start")

    assert reply_of(response) == STARTED_EN
    assert opted_out(app) == {UNKNOWN_PHONE}


@pytest.mark.parametrize("word", ["UNSTOP", "unstop.", "Yes", "YES!", "comenzar", "Iniciar"])
def test_every_start_word_removes_the_opt_out(client, app, twilio, member, word):
    reply_of(send(client, "STOP"))

    assert reply_of(send(client, word)) == STARTED_EN
    assert opted_out(app) == set()


@pytest.mark.parametrize("word", ["INFO", "info?", "Ayuda", "HELP!"])
def test_every_help_word_replies_with_help_text(client, app, twilio, member, word):
    assert reply_of(send(client, word)).startswith("Homeward reminders.")
    assert opted_out(app) == set()


def test_start_without_an_opt_out_is_harmless(client, app, twilio, member):
    assert reply_of(send(client, "START")) == STARTED_EN
    assert opted_out(app) == set()


def test_help_replies_with_help_text(client, app, twilio, member):
    reply = reply_of(send(client, "help"))

    assert reply.startswith("Homeward reminders.")
    assert "Reply C to confirm" in reply and "STOP" in reply and "START" in reply
    assert opted_out(app) == set()


def test_anything_else_gets_the_list_of_commands_and_changes_nothing(client, app, twilio, member):
    appointment = create(client, member)

    reply = reply_of(send(client, "what is this?"))

    assert reply == "Reply C to confirm your next appointment, HELP for help, STOP to stop."
    assert opted_out(app) == set()
    assert status_of(client, member, appointment["id"]) == "scheduled"


# --- C to confirm ---------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["C", "c", "  c  ", " C\n", "confirm", "Confirmar"])
def test_c_confirms_the_next_scheduled_appointment_only(client, twilio, member, word):
    later = create(client, member, title="Later", starts_at="2026-11-20T09:00")
    past = create(client, member, title="Past", starts_at="2026-09-20T09:00")
    sooner = create(client, member, title="Sooner", starts_at="2026-10-05T09:00")

    reply = reply_of(send(client, word))

    assert reply == CONFIRMED_EN
    assert status_of(client, member, sooner["id"]) == "confirmed"
    assert status_of(client, member, later["id"]) == "scheduled"
    assert status_of(client, member, past["id"]) == "scheduled"


def test_c_again_confirms_the_one_after(client, twilio, member):
    first = create(client, member, starts_at="2026-10-05T09:00")
    second = create(client, member, starts_at="2026-10-12T09:00")

    reply_of(send(client, "C"))
    reply_of(send(client, "C"))

    assert status_of(client, member, first["id"]) == "confirmed"
    assert status_of(client, member, second["id"]) == "confirmed"
    assert reply_of(send(client, "C")) == NOTHING_EN


def test_c_skips_cancelled_appointments(client, twilio, member):
    cancelled = create(client, member, starts_at="2026-10-05T09:00")
    client.patch(
        f"{APPOINTMENTS}/{cancelled['id']}", json={"status": "cancelled"}, headers=member.headers
    )
    next_one = create(client, member, starts_at="2026-10-06T09:00")

    assert reply_of(send(client, "c")) == CONFIRMED_EN
    assert status_of(client, member, cancelled["id"]) == "cancelled"
    assert status_of(client, member, next_one["id"]) == "confirmed"


def test_c_confirms_only_the_senders_appointments(client, accounts, twilio, member):
    other = accounts.register(timezone="America/Chicago", phone=SPANISH_PHONE)
    theirs = create(client, other, starts_at="2026-10-02T09:00")
    mine = create(client, member, starts_at="2026-10-10T09:00")

    assert reply_of(send(client, "C")) == CONFIRMED_EN

    assert status_of(client, member, mine["id"]) == "confirmed"
    assert status_of(client, other, theirs["id"]) == "scheduled"


def test_c_with_nothing_upcoming_says_so(client, twilio, member):
    past = create(client, member, starts_at="2026-09-20T09:00")

    assert reply_of(send(client, "C")) == NOTHING_EN
    assert status_of(client, member, past["id"]) == "scheduled"


def test_c_from_an_unknown_number_says_nothing_to_confirm(client, accounts, twilio, member):
    mine = create(client, member)

    assert reply_of(send(client, "C", phone=UNKNOWN_PHONE)) == NOTHING_EN
    assert status_of(client, member, mine["id"]) == "scheduled"


def test_c_confirms_the_next_occurrence_of_a_recurring_appointment(client, twilio, member):
    weekly = create(client, member, starts_at="2026-09-01T09:00", recurrence="FREQ=WEEKLY")
    single = create(client, member, starts_at="2026-10-07T09:00")

    assert reply_of(send(client, "C")) == CONFIRMED_EN

    # The weekly one next happens on 2026-10-06, before the single one.
    assert status_of(client, member, weekly["id"]) == "confirmed"
    assert status_of(client, member, single["id"]) == "scheduled"


# --- Spanish ---------------------------------------------------------------------------------


def test_replies_are_spanish_for_a_spanish_speaking_member(client, app, accounts, twilio, clock):
    member = accounts.register(timezone="America/Chicago", locale="es", phone=SPANISH_PHONE)
    appointment = create(client, member)

    stopped = reply_of(send(client, "PARAR", phone=SPANISH_PHONE))
    started = reply_of(send(client, "START", phone=SPANISH_PHONE))
    helped = reply_of(send(client, "AYUDA", phone=SPANISH_PHONE))
    confirmed = reply_of(send(client, "c", phone=SPANISH_PHONE))
    nothing = reply_of(send(client, "c", phone=SPANISH_PHONE))
    unknown = reply_of(send(client, "hola", phone=SPANISH_PHONE))

    assert stopped == (
        "No recibirá más mensajes de Homeward. Responda START para recibirlos de nuevo."
    )
    assert started == (
        "Los mensajes de Homeward están activados de nuevo. Responda STOP para detenerlos."
    )
    assert helped.startswith("Recordatorios de Homeward.")
    assert confirmed == "Gracias, su próxima cita está confirmada."
    assert nothing == "No hay ninguna cita próxima que confirmar."
    assert unknown.startswith("Responda C para confirmar")
    assert status_of(client, member, appointment["id"]) == "confirmed"
    assert opted_out(app) == set()


def test_the_language_follows_a_later_profile_change(client, twilio, member):
    response = client.patch("/api/v1/me", json={"locale": "es"}, headers=member.headers)
    assert response.status_code == 200

    assert reply_of(send(client, "HELP")).startswith("Recordatorios de Homeward.")
