"""Nothing fails silently (issue 11, item 3), for calls for help: the member is answered
which mentors with help alerts are reached now and how (names only, never devices or
numbers); a mentor with no device and no number gets the alert in the app, on the next
sync of their phone (the mentors' ``alerts`` table), and the delivery is then 'sent'; an
ended grant takes the alerts off the mentor's phone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reminders.dispatch import Dispatcher
from reminders.models import Channel, DeliveryState, NoticeKind, ReminderDelivery, SmsOptOut
from tests.sync.helpers import (
    CHECKINS,
    Phone,
    check_columns,
    connect,
    nothing_in,
    pull,
    raw_checkin,
    records,
    revoke,
    table_changes,
)
from tests.sync.helpers import push as sync_push

# member and mentor register at the real time (the dispatcher has its own clock).
pytestmark = pytest.mark.real_clock

ALERT_EN = "Someone you support asked for help. Open Homeward to see."
MAE_PHONE = "+14155550101"


@pytest.fixture
def mae(client, accounts, push):
    """A mentor with a push device and a phone number."""
    mentor = accounts.register(role="mentor", display_name="Mae", phone=MAE_PHONE)
    subscription = push.new_subscription()
    response = client.post("/api/v1/devices", headers=mentor.headers, json=subscription)
    assert response.status_code == 201, response.get_json()
    mentor.extra["subscription"] = subscription
    return mentor


@pytest.fixture
def sam(accounts):
    """A mentor with no device and no number."""
    return accounts.register(role="mentor", display_name="Sam")


def ask(client, member, status=201, **fields):
    body = {"mood": 1, "help_requested": True, **fields}
    response = client.post(CHECKINS, json=body, headers=member.headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def in_app_rows(app, checkin_id):
    rd = ReminderDelivery
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(rd).where(
            rd.kind == NoticeKind.HELP_ALERT, rd.channel == Channel.APP, rd.subject_id == checkin_id
        )
        return list(db.scalars(query.order_by(rd.member_id)))


def dispatch(app):
    at = datetime.now(UTC) + timedelta(seconds=1)
    return Dispatcher.for_app(app, clock=lambda: at).run_until_idle()


# -- what the member is answered -------------------------------------------------------------


def test_a_call_for_help_answers_which_mentors_are_reached_now_and_how(
    client, accounts, member, mae, sam, twilio
):
    lee = accounts.register(role="mentor", display_name="Lee")
    connect(client, member, mae, ["help_alerts"])
    connect(client, member, sam, ["help_alerts", "checkins.mood"])
    connect(client, member, lee, ["checkins.full"])  # no help alerts: not told

    asked = ask(client, member)
    help_answer = asked["help"]
    by_name = {m["name"]: m for m in help_answer["mentors"]}
    assert set(by_name) == {"Mae", "Sam"}
    assert by_name["Mae"]["reachable_now"] is True
    assert by_name["Mae"]["channels"]["push"]["reachable"] is True
    assert by_name["Mae"]["channels"]["sms"]["reachable"] is True
    assert by_name["Sam"]["reachable_now"] is False
    assert by_name["Sam"]["channels"]["push"]["reason"] == "no_device"
    assert by_name["Sam"]["channels"]["sms"]["reason"] == "no_phone"
    assert by_name["Sam"]["channels"]["app"]["reachable"] is True
    assert "Told now: Mae." in help_answer["detail"]
    assert "Sam" in help_answer["detail"]
    # Names only: never a device, a number or an account id.
    text = json.dumps(help_answer)
    assert MAE_PHONE not in text and mae.extra["subscription"]["endpoint"] not in text
    assert mae.account_id not in text and sam.account_id not in text

    # The same answer when the phone reads the check-in later (a sync push cannot carry it).
    again = client.get(f"{CHECKINS}/{asked['id']}", headers=member.headers).get_json()
    assert again["help"] == help_answer


def test_a_call_for_help_that_reaches_nobody_says_so(client, member):
    asked = ask(client, member)
    assert asked["help"]["mentors"] == []
    assert asked["help"]["detail"].startswith("Nobody was told")


def test_sms_off_on_the_server_and_stop_are_named_for_mentors(
    app, client, accounts, member, monkeypatch
):
    lee = accounts.register(role="mentor", display_name="Lee", phone="+14155550109")
    connect(client, member, lee, ["help_alerts"])
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.setitem(app.config, key, None)
    [told] = ask(client, member)["help"]["mentors"]
    assert told["channels"]["sms"]["reason"] == "sms_not_configured"

    monkeypatch.setitem(app.config, "TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "token")
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        db.add(SmsOptOut(phone="+14155550109", opted_out_at=datetime.now(UTC)))
    [told] = ask(client, member)["help"]["mentors"]
    assert told["channels"]["sms"]["reason"] == "opted_out"
    assert told["reachable_now"] is False


def test_a_checkin_without_a_call_for_help_has_no_help_answer(client, member, mae):
    connect(client, member, mae, ["help_alerts"])
    calm = client.post(CHECKINS, json={"mood": 4}, headers=member.headers).get_json()
    assert "help" not in calm
    changed = client.patch(
        f"{CHECKINS}/{calm['id']}", json={"help_requested": True}, headers=member.headers
    )
    assert changed.status_code == 200
    assert [m["name"] for m in changed.get_json()["help"]["mentors"]] == ["Mae"]


# -- in the app, on the mentor's next sync ---------------------------------------------------


def test_a_mentor_with_no_device_gets_the_alert_on_their_next_sync_and_it_counts_as_sent(
    app, client, member, sam
):
    connect(client, member, sam, ["help_alerts"])
    phone = Phone(client, sam)
    phone.sync()
    asked = ask(client, member)
    [row] = in_app_rows(app, asked["id"])
    assert row.state == DeliveryState.PENDING

    dispatch(app)  # the dispatcher never claims in-app alerts
    [row] = in_app_rows(app, asked["id"])
    assert row.state == DeliveryState.PENDING and row.attempts == 0

    body = phone.sync()
    [alert] = body["changes"]["alerts"]["created"]
    check_columns("alerts", alert)
    assert alert["id"] == asked["id"] == alert["checkin_id"]
    assert alert["member_name"] == "Rosa Díaz"
    assert alert["member_id"] == member.account_id
    assert alert["body"] == ALERT_EN
    assert alert["asked_at"] > 0
    [row] = in_app_rows(app, asked["id"])
    assert row.state == DeliveryState.SENT and row.sent_at is not None

    assert nothing_in(phone.sync()) == {}
    phone.assert_matches_server()
    # The member's access log names the alert the mentor's phone was shown.
    log = client.get("/api/v1/me/access-log", headers=member.headers).get_json()["items"]
    assert any(e["action"] == "alerts.sync" and asked["id"] in e["record_ids"] for e in log)


def test_a_call_for_help_pushed_by_sync_reaches_the_mentor_in_the_app(app, client, member, sam):
    connect(client, member, sam, ["help_alerts"])
    start = pull(client, member)
    sos = raw_checkin(mood=1, help_requested=True)
    changes = {"checkins": table_changes(created=[sos])}
    assert sync_push(client, member, changes, start["timestamp"]) == {}
    assert set(records(pull(client, sam), "alerts")) == {sos["id"]}
    assert in_app_rows(app, sos["id"])[0].state == DeliveryState.SENT


def test_a_second_phone_of_the_mentor_gets_the_alert_too(client, member, sam):
    connect(client, member, sam, ["help_alerts"])
    first, second = Phone(client, sam), Phone(client, sam)
    first.sync()
    second.sync()
    asked = ask(client, member)
    first.sync()
    second.sync()
    assert first.ids("alerts") == second.ids("alerts") == {asked["id"]}


def test_a_withdrawn_call_is_not_delivered_in_the_app(app, client, member, sam):
    connect(client, member, sam, ["help_alerts"])
    asked = ask(client, member)
    client.patch(
        f"{CHECKINS}/{asked['id']}", json={"help_requested": False}, headers=member.headers
    )
    assert records(pull(client, sam), "alerts") == {}
    assert in_app_rows(app, asked["id"])[0].state == DeliveryState.PENDING


# -- when the grant ends -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "mentor"])
def test_a_revoked_grant_takes_the_alerts_off_the_mentors_phone(client, member, sam, who):
    grant = connect(client, member, sam, ["help_alerts"])
    phone = Phone(client, sam)
    asked = ask(client, member)
    phone.sync()
    assert phone.ids("alerts") == {asked["id"]}

    revoke(client, member if who == "member" else sam, grant["id"])
    body = phone.sync()
    assert asked["id"] in body["changes"]["alerts"]["deleted"]
    assert phone.ids("alerts") == set()
    phone.assert_matches_server()


def test_removing_help_alerts_from_the_grant_takes_the_alerts_off(client, member, sam):
    grant = connect(client, member, sam, ["help_alerts", "checkins.mood"])
    phone = Phone(client, sam)
    asked = ask(client, member)
    phone.sync()
    response = client.patch(
        f"/api/v1/grants/{grant['id']}", json={"scopes": ["checkins.mood"]}, headers=member.headers
    )
    assert response.status_code == 200, response.get_json()
    phone.sync()
    assert asked["id"] not in phone.ids("alerts")
    phone.assert_matches_server()


def test_an_erased_member_leaves_no_alert_on_the_mentors_phone(client, member, sam):
    connect(client, member, sam, ["help_alerts"])
    phone = Phone(client, sam)
    asked = ask(client, member)
    phone.sync()
    erased = client.delete("/api/v1/me", json={"password": member.password}, headers=member.headers)
    assert erased.status_code == 204, erased.get_data(as_text=True)
    body = phone.sync()
    assert asked["id"] in body["changes"]["alerts"]["deleted"]
    assert phone.ids("alerts") == set()


@pytest.mark.parametrize("how", ["withdrawn", "deleted"])
def test_an_alert_already_on_the_mentors_phone_leaves_when_the_call_is_withdrawn(
    client, member, sam, how
):
    connect(client, member, sam, ["help_alerts"])
    phone = Phone(client, sam)
    asked = ask(client, member)
    phone.sync()
    assert phone.ids("alerts") == {asked["id"]}

    if how == "withdrawn":
        response = client.patch(
            f"{CHECKINS}/{asked['id']}", json={"help_requested": False}, headers=member.headers
        )
        assert response.status_code == 200, response.get_json()
    else:
        response = client.delete(f"{CHECKINS}/{asked['id']}", headers=member.headers)
        assert response.status_code == 204
    body = phone.sync()

    assert asked["id"] in body["changes"]["alerts"]["deleted"]
    assert phone.ids("alerts") == set()
    phone.assert_matches_server()
