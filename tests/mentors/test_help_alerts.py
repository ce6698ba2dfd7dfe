"""Help alerts (docs/checkins.md, "Help alerts"): a check-in that asks for help tells each
mentor whose grant includes ``help_alerts``, once per channel, through the reminder outbox,
the Dispatcher, the local Web Push service and the fake Twilio.

At send time the dispatcher checks again: a withdrawn request or a grant that no longer
includes help alerts sends nothing (the row is cancelled). An alert not sent within a day
is skipped. The text names nobody and says nothing of why.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.checkins.models import Checkin
from reminders.dispatch import Dispatcher
from reminders.models import Channel, DeliveryState, NoticeKind, ReminderDelivery

# member and mentor register at the real time (the dispatcher has its own clock).
pytestmark = pytest.mark.real_clock

CHECKINS = "/api/v1/checkins"
INVITES = "/api/v1/invites"
GRANTS = "/api/v1/grants"
ALERT_EN = "Someone you support asked for help. Open Homeward to see."
ALERT_ES = "Alguien a quien apoya pidió ayuda. Abra Homeward para verlo."
NOTE = "Evicted tonight, sleeping at the bus station"
PLACE = "Greyhound station on Harrison"


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa Díaz", "username": "rosa.diaz"}


def reachable_mentor(client, accounts, push, phone, **profile):
    """A mentor with a phone number and one push device."""
    mentor = accounts.register(role="mentor", phone=phone, **profile)
    subscription = push.new_subscription()
    response = client.post(
        "/api/v1/devices", headers=mentor.headers, json={**subscription, "name": "phone"}
    )
    assert response.status_code == 201, response.get_json()
    mentor.extra["subscription"] = subscription
    mentor.extra["phone"] = phone
    return mentor


def connect(client, member, mentor, scopes):
    invite = client.post(INVITES, json={"scopes": scopes}, headers=member.headers)
    assert invite.status_code == 201, invite.get_json()
    grant = client.post(
        f"{INVITES}/redeem", json={"code": invite.get_json()["code"]}, headers=mentor.headers
    )
    assert grant.status_code == 201, grant.get_json()
    return grant.get_json()


def post_checkin(client, member, status=201, **fields):
    response = client.post(CHECKINS, json={"mood": 1, **fields}, headers=member.headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def patch_checkin(client, member, checkin_id, **fields):
    response = client.patch(f"{CHECKINS}/{checkin_id}", json=fields, headers=member.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ask_for_help(client, member, **fields):
    return post_checkin(client, member, help_requested=True, note=NOTE, place=PLACE, **fields)


def alerts(app, **where):
    """Help-alert rows of the outbox that the dispatcher sends (push and SMS), as plain
    dicts. The in-app rows, delivered by the mentor's pull, are tested in
    tests/mentors/test_help_reach.py."""
    rd = ReminderDelivery
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(rd).where(rd.kind == NoticeKind.HELP_ALERT, rd.channel != Channel.APP)
        for name, value in where.items():
            query = query.where(getattr(rd, name) == value)
        return [
            {
                "id": row.id,
                "subject_id": row.subject_id,
                "member_id": row.member_id,
                "about_member_id": row.about_member_id,
                "channel": str(row.channel),
                "state": row.state,
                "due_at": row.due_at,
                "occurrence_at": row.occurrence_at,
                "last_error": row.last_error,
                "created_at": row.created_at,
            }
            for row in db.scalars(query.order_by(rd.member_id, rd.channel))
        ]


def all_outbox_rows(app):
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return list(db.scalars(select(ReminderDelivery.id)))


def dispatch(app, at=None):
    when = at or datetime.now(UTC) + timedelta(seconds=1)
    return Dispatcher.for_app(app, clock=lambda: when).run_until_idle()


def sms_to(twilio, phone):
    return [sms for sms in twilio.sent if sms.to == phone]


# -- who is told, and how often ------------------------------------------------------------


def test_a_call_for_help_reaches_each_mentor_with_help_alerts_once_per_channel(
    app, client, accounts, member, push, twilio
):
    mae = reachable_mentor(client, accounts, push, "+14155550101", display_name="Mae")
    sam = reachable_mentor(client, accounts, push, "+14155550102")
    connect(client, member, mae, ["help_alerts"])
    connect(client, member, sam, ["checkins.full", "help_alerts"])
    asked = ask_for_help(client, member)

    rows = alerts(app)
    assert len(rows) == 4
    assert {(r["member_id"], r["channel"]) for r in rows} == {
        (mae.account_id, "push"),
        (mae.account_id, "sms"),
        (sam.account_id, "push"),
        (sam.account_id, "sms"),
    }
    assert all(r["subject_id"] == asked["id"] for r in rows)
    assert all(r["about_member_id"] == member.account_id for r in rows)
    assert all(r["state"] == DeliveryState.PENDING for r in rows)

    assert dispatch(app) == 4
    assert dispatch(app, datetime.now(UTC) + timedelta(hours=1)) == 0
    push.wait_for(2)
    twilio.wait_for(2)
    for mentor in (mae, sam):
        [message] = push.received_for(mentor.extra["subscription"])
        assert message.json["title"] == "Homeward"
        assert message.json["body"] == ALERT_EN
        assert message.json["checkin_id"] == asked["id"]
        assert message.json["member_id"] == member.account_id
        assert message.json["tag"].startswith("help-")
        [sms] = sms_to(twilio, mentor.extra["phone"])
        assert sms.body == ALERT_EN
    assert push.count() == 2 and twilio.count() == 2
    assert {r["state"] for r in alerts(app)} == {DeliveryState.SENT}


def test_the_push_tag_names_the_checkin(app, client, accounts, member, push, twilio):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    ask_for_help(client, member, id="sos-1")
    dispatch(app)
    [message] = push.wait_for(1)
    assert message.json["tag"] == "help-sos-1"


def test_two_calls_for_help_never_share_a_push_tag_or_topic(
    app, client, accounts, member, push, twilio
):
    """The tag (and Web Push Topic) decides which notification replaces which: two calls
    for help must not collapse into one, whatever ids the phone chose."""
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    prefix = "homeward-android-checkin-000000"
    ask_for_help(client, member, id=f"{prefix}1")
    ask_for_help(client, member, id=f"{prefix}2")
    dispatch(app)
    messages = push.wait_for(2)
    assert {m.json["checkin_id"] for m in messages} == {f"{prefix}1", f"{prefix}2"}
    assert len({m.json["tag"] for m in messages}) == 2
    assert len({m.headers.get("topic") for m in messages}) == 2


def test_a_mentor_without_help_alerts_gets_nothing(app, client, accounts, member, push, twilio):
    told = reachable_mentor(client, accounts, push, "+14155550101")
    untold = reachable_mentor(client, accounts, push, "+14155550102")
    connect(client, member, told, ["help_alerts"])
    connect(client, member, untold, ["checkins.full", "appointments.times"])
    ask_for_help(client, member)

    assert alerts(app, member_id=untold.account_id) == []
    dispatch(app)
    push.wait_for(1)
    twilio.wait_for(1)
    assert push.received_for(untold.extra["subscription"]) == []
    assert sms_to(twilio, "+14155550102") == []
    assert push.count() == 1 and twilio.count() == 1


def test_a_mentor_with_no_grant_at_all_gets_nothing(app, client, accounts, member, push, twilio):
    reachable_mentor(client, accounts, push, "+14155550101")
    ask_for_help(client, member)
    assert alerts(app) == []
    assert dispatch(app) == 0
    assert push.count() == 0 and twilio.count() == 0


def test_retrying_the_post_and_toggling_help_still_alerts_once_per_channel(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    ask_for_help(client, member, id="sos-retry")
    post_checkin(client, member, status=200, id="sos-retry", help_requested=True, note=NOTE)
    for flag in (False, True, False, True):
        patch_checkin(client, member, "sos-retry", help_requested=flag)

    rows = alerts(app)
    assert sorted(r["channel"] for r in rows) == ["push", "sms"]
    assert dispatch(app) == 2
    dispatch(app, datetime.now(UTC) + timedelta(minutes=10))
    push.wait_for(1)
    twilio.wait_for(1)
    assert push.count() == 1 and twilio.count() == 1


def test_asking_again_after_the_alert_was_sent_sends_nothing_more(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    asked = ask_for_help(client, member)
    dispatch(app)
    push.wait_for(1)
    twilio.wait_for(1)

    patch_checkin(client, member, asked["id"], help_requested=False)
    patch_checkin(client, member, asked["id"], help_requested=True)
    post_checkin(client, member, status=200, id=asked["id"], help_requested=True)
    assert dispatch(app, datetime.now(UTC) + timedelta(minutes=5)) == 0
    assert push.count() == 1 and twilio.count() == 1
    assert len(alerts(app)) == 2


def test_changing_help_from_false_to_true_queues_the_alert(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    calm = post_checkin(client, member, note=NOTE)
    assert alerts(app) == []
    patch_checkin(client, member, calm["id"], help_requested=True)
    assert {r["subject_id"] for r in alerts(app)} == {calm["id"]}
    dispatch(app)
    [message] = push.wait_for(1)
    assert message.json["checkin_id"] == calm["id"]
    assert twilio.wait_for(1)[0].body == ALERT_EN


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({}, id="help-not-mentioned"),
        pytest.param({"help_requested": False}, id="help-false"),
        pytest.param({"needs": ["support"], "note": "could use a call"}, id="needs-support"),
    ],
)
def test_a_checkin_without_help_requested_queues_nothing(
    app, client, accounts, member, push, twilio, fields
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["checkins.full", "help_alerts"])
    made = post_checkin(client, member, **fields)
    patch_checkin(client, member, made["id"], mood=2, note="still ok")
    assert alerts(app) == []
    assert all_outbox_rows(app) == []
    assert dispatch(app) == 0
    assert push.count() == 0 and twilio.count() == 0


# -- checked again at send time --------------------------------------------------------------


@pytest.mark.parametrize("how", ["member-revokes", "mentor-ends", "scope-removed"])
def test_ending_the_sharing_before_the_dispatcher_runs_cancels_the_alert(
    app, client, accounts, member, push, twilio, how
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    grant = connect(client, member, mentor, ["checkins.mood", "help_alerts"])
    ask_for_help(client, member)
    assert len(alerts(app)) == 2

    if how == "member-revokes":
        response = client.delete(f"{GRANTS}/{grant['id']}", headers=member.headers)
        assert response.status_code == 204
    elif how == "mentor-ends":
        response = client.delete(f"{GRANTS}/{grant['id']}", headers=mentor.headers)
        assert response.status_code == 204
    else:
        response = client.patch(
            f"{GRANTS}/{grant['id']}", json={"scopes": ["checkins.mood"]}, headers=member.headers
        )
        assert response.status_code == 200

    assert dispatch(app) == 2
    assert push.count() == 0 and twilio.count() == 0
    rows = alerts(app)
    assert {r["state"] for r in rows} == {DeliveryState.CANCELLED}
    assert all(r["last_error"] for r in rows)


def test_withdrawing_the_call_for_help_before_the_dispatcher_runs_cancels_it(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    asked = ask_for_help(client, member)
    patch_checkin(client, member, asked["id"], help_requested=False)

    assert dispatch(app) == 2
    assert push.count() == 0 and twilio.count() == 0
    assert {r["state"] for r in alerts(app)} == {DeliveryState.CANCELLED}


def test_deleting_the_checkin_before_the_dispatcher_runs_cancels_the_alert(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    asked = ask_for_help(client, member)
    assert client.delete(f"{CHECKINS}/{asked['id']}", headers=member.headers).status_code == 204

    dispatch(app)
    assert push.count() == 0 and twilio.count() == 0
    assert {r["state"] for r in alerts(app)} == {DeliveryState.CANCELLED}


def test_a_grant_that_runs_out_before_the_dispatcher_runs_cancels_the_alert(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    ends = datetime.now(UTC) + timedelta(hours=1)
    invite = client.post(
        INVITES,
        json={"scopes": ["help_alerts"], "expires_at": ends.isoformat()},
        headers=member.headers,
    )
    code = invite.get_json()["code"]
    assert (
        client.post(f"{INVITES}/redeem", json={"code": code}, headers=mentor.headers).status_code
        == 201
    )
    ask_for_help(client, member)
    assert len(alerts(app)) == 2

    dispatch(app, ends + timedelta(minutes=1))
    assert push.count() == 0 and twilio.count() == 0
    assert {r["state"] for r in alerts(app)} == {DeliveryState.CANCELLED}


def test_an_alert_not_sent_within_24_hours_is_skipped(app, client, accounts, member, push, twilio):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    ask_for_help(client, member)
    [row, _] = alerts(app)
    assert row["occurrence_at"] == row["created_at"] + timedelta(hours=24)

    assert dispatch(app, row["created_at"] + timedelta(hours=24, minutes=1)) == 2
    assert push.count() == 0 and twilio.count() == 0
    rows = alerts(app)
    assert {r["state"] for r in rows} == {DeliveryState.SKIPPED}
    assert all("day" in r["last_error"] for r in rows)


def test_an_alert_a_little_under_24_hours_old_is_still_sent(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    ask_for_help(client, member)
    [row, _] = alerts(app)
    dispatch(app, row["created_at"] + timedelta(hours=23, minutes=50))
    push.wait_for(1)
    twilio.wait_for(1)
    assert {r["state"] for r in alerts(app)} == {DeliveryState.SENT}


def test_an_alert_waits_for_the_end_of_the_mentors_quiet_hours(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101", timezone="UTC")
    now = datetime.now(UTC) + timedelta(seconds=1)
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    response = client.patch("/api/v1/me", json={"quiet_hours": quiet}, headers=mentor.headers)
    assert response.status_code == 200, response.get_json()
    connect(client, member, mentor, ["help_alerts"])
    ask_for_help(client, member)

    dispatch(app, now)
    assert push.count() == 0 and twilio.count() == 0
    rows = alerts(app)
    assert {r["state"] for r in rows} == {DeliveryState.PENDING}
    [due] = {r["due_at"] for r in rows}
    assert now < due <= now + timedelta(hours=1)
    dispatch(app, due)
    push.wait_for(1)
    twilio.wait_for(1)
    assert {r["state"] for r in alerts(app)} == {DeliveryState.SENT}


# -- what it says ---------------------------------------------------------------------------


def test_the_alert_names_nobody_and_says_nothing_of_why(
    app, client, accounts, member, push, twilio
):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["checkins.full", "help_alerts"])
    ask_for_help(client, member, wins="kept my job", needs=["housing"])
    dispatch(app)
    [message] = push.wait_for(1)
    [sms] = twilio.wait_for(1)
    assert sms.body == ALERT_EN
    for text in (message.text, sms.body):
        lowered = text.lower()
        for secret in ("Rosa", "Díaz", "Diaz", "rosa.diaz", NOTE, PLACE, "kept my job", "housing"):
            assert secret.lower() not in lowered, secret
        for word in ("evict", "station", "mood", "note"):
            assert word not in lowered, word


def test_a_spanish_speaking_mentor_gets_the_alert_in_spanish(
    app, client, accounts, member, push, twilio
):
    english = reachable_mentor(client, accounts, push, "+14155550101")
    spanish = reachable_mentor(client, accounts, push, "+14155550102", locale="es")
    connect(client, member, english, ["help_alerts"])
    connect(client, member, spanish, ["help_alerts"])
    ask_for_help(client, member)
    dispatch(app)
    push.wait_for(2)
    twilio.wait_for(2)
    [es_push] = push.received_for(spanish.extra["subscription"])
    [en_push] = push.received_for(english.extra["subscription"])
    assert es_push.json["body"] == ALERT_ES and es_push.json["title"] == "Homeward"
    assert en_push.json["body"] == ALERT_EN
    assert [s.body for s in sms_to(twilio, "+14155550102")] == [ALERT_ES]
    assert [s.body for s in sms_to(twilio, "+14155550101")] == [ALERT_EN]


def test_the_call_for_help_itself_is_stored_as_asked(app, client, accounts, member, push, twilio):
    mentor = reachable_mentor(client, accounts, push, "+14155550101")
    connect(client, member, mentor, ["help_alerts"])
    asked = ask_for_help(client, member)
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        stored = db.get(Checkin, asked["id"])
        assert stored is not None and stored.help_requested is True
    assert asked["help_requested"] is True and asked["note"] == NOTE
