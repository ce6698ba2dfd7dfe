"""Nothing fails silently (issue 11, item 3), for a member's reminders: an appointment
answers which chosen channel cannot reach the member now and why; each reminder's
delivery state (planned, sent, failed, gave_up, skipped) is readable over REST and in the
synced ``reminders`` table; a channel that found nobody or gave up falls back, once, to
the member's other chosen channels.

Deliveries go through the real Dispatcher to the local Web Push service and the fake
Twilio (tests/fakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reminders.dispatch import Dispatcher
from reminders.models import DeliveryState, ReminderDelivery, SmsOptOut
from tests.fixtures.http import assert_problem
from tests.sync.helpers import Phone

APPOINTMENTS = "/api/v1/appointments"
PHONE = "+14155550123"


@pytest.fixture(autouse=True)
def no_twilio(app, monkeypatch):
    """SMS off unless a test asks for the fake Twilio (whatever the shell exports)."""
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.setitem(app.config, key, None)


def with_device(client, push, person):
    subscription = push.new_subscription()
    response = client.post("/api/v1/devices", headers=person.headers, json=subscription)
    assert response.status_code == 201, response.get_json()
    person.extra["subscription"] = subscription
    return person


def book(client, person, status=201, **fields):
    body = {"title": "See Dana", "starts_at": "2027-03-10T09:00", "timezone": "UTC", **fields}
    response = client.post(APPOINTMENTS, json=body, headers=person.headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def reminders_of(client, person, appointment_id, **query):
    response = client.get(
        f"{APPOINTMENTS}/{appointment_id}/reminders", query_string=query, headers=person.headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rows(app, appointment_id):
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(ReminderDelivery).where(ReminderDelivery.appointment_id == appointment_id)
        return list(db.scalars(query.order_by(ReminderDelivery.due_at, ReminderDelivery.channel)))


def dispatch(app, at):
    return Dispatcher.for_app(app, clock=lambda: at).run_until_idle()


def by_offset(page):
    return {item["offset"]: item for item in page["items"]}


def channel(item, name):
    [found] = [c for c in item["channels"] if c["channel"] == name]
    return found


# -- what an appointment answers -----------------------------------------------------------


def test_an_appointment_for_a_member_with_no_phone_and_no_device_says_nothing_reaches_them(
    client, accounts, twilio
):
    member = accounts.register()
    created = book(client, member, channels=["push", "sms"])

    assert created["delivery"]["push"]["reachable"] is False
    assert created["delivery"]["push"]["reason"] == "no_device"
    assert created["delivery"]["sms"]["reachable"] is False
    assert created["delivery"]["sms"]["reason"] == "no_phone"
    assert "phone number" in created["delivery"]["sms"]["detail"]
    # Saved anyway: a warning, never a refusal (offline first: nothing is lost).
    got = client.get(f"{APPOINTMENTS}/{created['id']}", headers=member.headers)
    assert got.status_code == 200
    assert got.get_json()["delivery"] == created["delivery"]


def test_a_member_who_can_be_reached_is_told_so_in_their_language(client, accounts, push, twilio):
    member = with_device(client, push, accounts.register(phone=PHONE, locale="es"))
    created = book(client, member)
    assert created["delivery"] == {
        "push": {"reachable": True, "reason": None, "detail": None},
        "sms": {"reachable": True, "reason": None, "detail": None},
    }
    lost = book(client, accounts.register(locale="es"), channels=["push"])
    assert lost["delivery"]["push"]["detail"].startswith("Ningún teléfono")


def test_sms_not_configured_on_the_server_is_named(client, accounts, push):
    member = with_device(client, push, accounts.register(phone=PHONE))
    created = book(client, member, channels=["sms", "push"])
    assert created["delivery"]["sms"] == {
        "reachable": False,
        "reason": "sms_not_configured",
        "detail": "Texts are switched off on this server.",
    }
    assert created["delivery"]["push"]["reachable"] is True


def test_a_number_that_sent_stop_is_named_when_the_appointment_changes(
    app, client, accounts, twilio
):
    member = accounts.register(phone=PHONE)
    created = book(client, member, channels=["sms"])
    assert created["delivery"]["sms"]["reachable"] is True
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        db.add(SmsOptOut(phone=PHONE, opted_out_at=datetime.now(UTC)))

    changed = client.patch(
        f"{APPOINTMENTS}/{created['id']}", json={"title": "See Dana again"}, headers=member.headers
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["delivery"]["sms"]["reason"] == "opted_out"
    assert "START" in changed.get_json()["delivery"]["sms"]["detail"]


def test_the_delivery_warning_is_documented_in_the_openapi_schema(client):
    spec = client.get("/api/openapi.json").get_json()
    appointment = spec["components"]["schemas"]["Appointment"]
    assert "delivery" in appointment["properties"]
    assert "/api/v1/appointments/{appointment_id}/reminders" in spec["paths"]


# -- the member reads each reminder's state -------------------------------------------------


def test_reminders_show_planned_sent_failed_gave_up_and_skipped(
    app, client, accounts, push, monkeypatch
):
    monkeypatch.setitem(app.config, "REMINDER_MAX_ATTEMPTS", 2)
    member = with_device(client, push, accounts.register())
    subscription = member.extra["subscription"]
    created = book(client, member, channels=["push"])  # 7d@10:00, 3d@10:00, 1d@10:00, 2h
    phone = Phone(client, member)
    phone.sync()
    assert {r["state"] for r in phone.data["reminders"].values()} == {"planned"}
    page = reminders_of(client, member, created["id"])
    assert page["total"] == 4 and [i["offset"] for i in page["items"]] == [
        "7d@10:00",
        "3d@10:00",
        "1d@10:00",
        "2h",
    ]
    due = {r.offset_key: r.due_at for r in rows(app, created["id"])}

    dispatch(app, due["7d@10:00"])
    push.wait_for(1)
    push.fail_next(subscription, 500, times=1)
    dispatch(app, due["3d@10:00"])
    page = by_offset(reminders_of(client, member, created["id"]))
    assert page["7d@10:00"]["state"] == "sent" and page["7d@10:00"]["detail"] is None
    assert channel(page["7d@10:00"], "push")["sent_at"] is not None
    failed = channel(page["3d@10:00"], "push")
    assert page["3d@10:00"]["state"] == "failed"
    assert failed["reason"] == "service_error" and "500" in failed["error"]
    assert failed["detail"] == "The message service did not answer."
    assert failed["retry_at"] is not None and failed["attempts"] == 1
    assert page["1d@10:00"]["state"] == "planned"

    # The phone is told by its next pull: the delivery state changed the record.
    body = phone.sync()
    pulled = {r["offset"]: r for r in body["changes"]["reminders"]["updated"]}
    assert pulled["7d@10:00"]["state"] == "sent" and pulled["7d@10:00"]["push_state"] == "sent"
    assert pulled["3d@10:00"]["push_state"] == "failed"
    assert pulled["3d@10:00"]["push_reason"] == "service_error"
    assert pulled["3d@10:00"]["sms_state"] is None

    push.fail_next(subscription, 503, times=2)
    dispatch(app, due["1d@10:00"])  # the 3d retry hits the cap; the 1d one fails once
    push.gone(subscription)
    dispatch(app, due["2h"])  # the 1d retry and the 2h reminder find the device gone

    page = by_offset(reminders_of(client, member, created["id"]))
    assert page["3d@10:00"]["state"] == "gave_up"
    assert "503" in channel(page["3d@10:00"], "push")["error"]
    assert page["3d@10:00"]["detail"] == "Notification: The message service did not answer."
    for offset in ("1d@10:00", "2h"):
        assert page[offset]["state"] == "skipped"
        assert channel(page[offset], "push")["reason"] == "no_device"
    assert push.count() == 1

    phone.sync()
    held = {r["offset"]: r for r in phone.data["reminders"].values()}
    assert {o: r["state"] for o, r in held.items()} == {
        o: item["state"] for o, item in page.items()
    }
    assert held["2h"]["push_reason"] == "no_device" and held["2h"]["detail"]
    phone.assert_matches_server()


def test_the_reminders_list_is_paginated_and_only_for_the_owner(client, accounts):
    member, other = accounts.register(), accounts.register()
    created = book(client, member)
    first = reminders_of(client, member, created["id"], page=1, page_size=3)
    second = reminders_of(client, member, created["id"], page=2, page_size=3)
    assert (first["total"], len(first["items"]), len(second["items"])) == (4, 3, 1)
    assert [len(i["channels"]) for i in first["items"]] == [2, 2, 2]
    assert {i["state"] for i in first["items"]} == {"planned"}
    # Planned, but nothing reaches the member now: the reason is there already.
    assert {c["reason"] for c in first["items"][0]["channels"]} == {
        "no_device",
        "sms_not_configured",
    }

    hidden = client.get(f"{APPOINTMENTS}/{created['id']}/reminders", headers=other.headers)
    assert_problem(hidden, 404)
    mentor = accounts.register(role="mentor")
    assert client.get(
        f"{APPOINTMENTS}/{created['id']}/reminders", headers=mentor.headers
    ).status_code in (403, 404)


def test_registering_a_device_resends_the_reminders_with_the_news(client, accounts, push):
    member = accounts.register()
    book(client, member, channels=["push"])
    phone = Phone(client, member)
    phone.sync()
    assert {r["push_reason"] for r in phone.data["reminders"].values()} == {"no_device"}
    with_device(client, push, member)
    phone.sync()
    assert {r["push_reason"] for r in phone.data["reminders"].values()} == {None}


# -- fallback ------------------------------------------------------------------------------


def test_a_push_that_gives_up_falls_back_to_sms_exactly_once(
    app, client, accounts, push, twilio, monkeypatch
):
    monkeypatch.setitem(app.config, "REMINDER_MAX_ATTEMPTS", 2)
    member = with_device(client, push, accounts.register(timezone="UTC"))
    created = book(client, member, channels=["push", "sms"], reminder_offsets=["2h"])
    push.fail_next(member.extra["subscription"], 500, times=10)
    due = rows(app, created["id"])[0].due_at

    dispatch(app, due)  # SMS: no number yet (skipped); push: failed, retried later
    assert twilio.count() == 0
    by_channel = {str(r.channel): r for r in rows(app, created["id"])}
    assert by_channel["sms"].state == DeliveryState.SKIPPED
    assert by_channel["push"].state == DeliveryState.PENDING

    added = client.patch("/api/v1/me", json={"phone": PHONE}, headers=member.headers)
    assert added.status_code == 200, added.get_json()
    dispatch(app, due + timedelta(minutes=30))  # push gives up -> SMS once, at once
    [sms] = twilio.wait_for(1)
    assert sms.to == PHONE
    for later in (40, 60, 90):
        dispatch(app, due + timedelta(minutes=later))
    assert twilio.count() == 1 and push.count() == 0

    by_channel = {str(r.channel): r for r in rows(app, created["id"])}
    assert by_channel["push"].state == DeliveryState.FAILED
    assert by_channel["sms"].state == DeliveryState.SENT
    [item] = reminders_of(client, member, created["id"])["items"]
    assert item["state"] == "sent"
    assert channel(item, "push")["state"] == "gave_up"
    assert channel(item, "sms")["state"] == "sent"


def test_no_fallback_to_a_channel_that_still_reaches_nobody(
    app, client, accounts, push, twilio, monkeypatch
):
    monkeypatch.setitem(app.config, "REMINDER_MAX_ATTEMPTS", 1)
    member = with_device(client, push, accounts.register(timezone="UTC"))
    created = book(client, member, channels=["push", "sms"], reminder_offsets=["2h"])
    push.fail_next(member.extra["subscription"], 500, times=10)
    due = rows(app, created["id"])[0].due_at
    dispatch(app, due)
    dispatch(app, due + timedelta(minutes=30))
    assert twilio.count() == 0
    [item] = reminders_of(client, member, created["id"])["items"]
    assert item["state"] == "gave_up"
    assert channel(item, "sms")["reason"] == "no_phone"
    assert "Text: There is no phone number" in item["detail"]


def test_a_channel_not_chosen_is_never_a_fallback(app, client, accounts, push, twilio):
    member = accounts.register(timezone="UTC", phone=PHONE)
    created = book(client, member, channels=["push"], reminder_offsets=["2h"])
    dispatch(app, rows(app, created["id"])[0].due_at)
    assert twilio.count() == 0
    assert [str(r.channel) for r in rows(app, created["id"])] == ["push"]
