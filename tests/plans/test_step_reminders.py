"""Step reminders: a due step with `remind: true` gets one delivery per offset and channel
through the same outbox and dispatcher as appointments (a local push service and the local
Twilio API), with discreet text; a done, skipped or deleted step, or a dropped goal,
cancels what is pending."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from reminders.dispatch import Dispatcher
from reminders.models import DeliveryState, NoticeKind, ReminderDelivery

GOALS = "/api/v1/plan/goals"
DENIED = ("court", "probation", "parole", "warrant", "drug test", "supervision", "judge")


def _member(client, accounts, push, **profile):
    person = accounts.register(phone="+14155550123", timezone="America/Chicago", **profile)
    response = client.post(
        "/api/v1/devices", headers=person.headers, json={**push.new_subscription(), "name": "p"}
    )
    assert response.status_code == 201, response.get_json()
    return person


def _goal(client, person, **fields):
    body = {"area": "id_documents", "title": "Get my state ID", **fields}
    response = client.post(GOALS, headers=person.headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _step(client, person, goal, **fields):
    body = {"title": "Probation office: drug test form", "remind": True, **fields}
    response = client.post(f"{GOALS}/{goal['id']}/steps", headers=person.headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _patch(client, person, step, **fields):
    response = client.patch(f"/api/v1/plan/steps/{step['id']}", headers=person.headers, json=fields)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _rows(app, step_id):
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(ReminderDelivery).where(ReminderDelivery.step_id == step_id)
        return list(db.scalars(query.order_by(ReminderDelivery.due_at, ReminderDelivery.channel)))


def _dispatch(app, at):
    return Dispatcher.for_app(app, clock=lambda: at).run_until_idle()


def test_a_due_step_is_reminded_once_per_offset_and_channel(app, client, accounts, push, twilio):
    person = _member(client, accounts, push)
    step = _step(client, person, _goal(client, person), due_date="2027-03-10")

    rows = _rows(app, step["id"])
    assert {(r.offset_key, str(r.channel)) for r in rows} == {
        (offset, channel)
        for offset in ("7d@10:00", "3d@10:00", "1d@10:00")
        for channel in ("push", "sms")
    }
    assert {r.kind for r in rows} == {NoticeKind.STEP_REMINDER}
    assert {r.state for r in rows} == {DeliveryState.PENDING}
    # 10:00 in Chicago (CST, UTC-6) the day before the step is due.
    [day_before] = {r.due_at for r in rows if r.offset_key == "1d@10:00"}
    assert (day_before.date(), day_before.hour) == (date(2027, 3, 9), 16)

    # Each due time comes, and the dispatcher runs twice at it: nothing is sent twice.
    for due in sorted({r.due_at for r in rows}):
        assert _dispatch(app, due) == 2
        assert _dispatch(app, due + timedelta(minutes=1)) == 0
    assert push.count() == 3 and twilio.count() == 3
    assert {str(r.state) for r in _rows(app, step["id"])} == {"sent"}

    last_push = max(push.received, key=lambda m: m.at).json
    assert last_push["title"] == "Reminder"
    assert last_push["body"] == "Reminder: a step of your plan is due tomorrow"
    assert last_push["step_id"] == step["id"]
    bodies = [m.text.lower() for m in push.received] + [s.body.lower() for s in twilio.sent]
    assert all(word not in text for text in bodies for word in DENIED), bodies
    assert all("form" not in text for text in bodies)  # the step's own title stays private
    assert {s.body for s in twilio.sent} >= {"Reminder: a step of your plan is due tomorrow"}


def test_detailed_text_names_the_step_and_what_to_bring(app, client, accounts, push):
    person = _member(client, accounts, push)
    assert (
        client.patch(
            "/api/v1/me", headers=person.headers, json={"notification_detail": "detailed"}
        ).status_code
        == 200
    )
    step = _step(
        client,
        person,
        _goal(client, person),
        title="Apply for my state ID",
        due_date="2027-03-10",
        due_time="09:30",
        bring=["Birth certificate", "Proof of address"],
    )
    rows = _rows(app, step["id"])
    assert {r.offset_key for r in rows} == {"7d@10:00", "3d@10:00", "1d@10:00", "2h"}
    # Late as it is (two hours before), each push reminder still due goes out, once.
    [two_hours] = {r.due_at for r in rows if r.offset_key == "2h"}
    _dispatch(app, two_hours)
    messages = push.wait_for(4)
    assert {m.json["title"] for m in messages} == {"Plan step"}
    assert {m.json["body"] for m in messages} == {
        "Apply for my state ID, due today at 09:30. Bring: Birth certificate, Proof of address"
    }


def test_done_skipped_and_deleted_steps_cancel_their_pending_reminders(app, client, accounts, push):
    person = _member(client, accounts, push)
    goal = _goal(client, person)
    done = _step(client, person, goal, due_date="2027-03-10")
    skipped = _step(client, person, goal, due_date="2027-03-11")
    deleted = _step(client, person, goal, due_date="2027-03-12")
    assert all(len(_rows(app, s["id"])) == 6 for s in (done, skipped, deleted))

    _patch(client, person, done, status="done")
    _patch(client, person, skipped, status="skipped")
    response = client.delete(f"/api/v1/plan/steps/{deleted['id']}", headers=person.headers)
    assert response.status_code == 204

    assert {r.state for r in _rows(app, done["id"])} == {DeliveryState.CANCELLED}
    assert {r.state for r in _rows(app, skipped["id"])} == {DeliveryState.CANCELLED}
    assert _rows(app, deleted["id"]) == []
    assert _dispatch(app, _rows(app, done["id"])[-1].occurrence_at - timedelta(minutes=1)) == 0
    assert push.count() == 0

    # Back to "doing": the reminders still ahead are planned again (the same rows).
    _patch(client, person, done, status="doing")
    assert {r.state for r in _rows(app, done["id"])} == {DeliveryState.PENDING}
    assert len(_rows(app, done["id"])) == 6


def test_a_dropped_goal_cancels_its_steps_reminders_and_reviving_it_replans(
    app, client, accounts, push
):
    person = _member(client, accounts, push)
    goal = _goal(client, person)
    step = _step(client, person, goal, due_date="2027-03-10")
    response = client.patch(
        f"{GOALS}/{goal['id']}", headers=person.headers, json={"status": "dropped"}
    )
    assert response.status_code == 200
    assert {r.state for r in _rows(app, step["id"])} == {DeliveryState.CANCELLED}
    response = client.patch(
        f"{GOALS}/{goal['id']}", headers=person.headers, json={"status": "active"}
    )
    assert response.status_code == 200
    assert {r.state for r in _rows(app, step["id"])} == {DeliveryState.PENDING}

    response = client.delete(f"{GOALS}/{goal['id']}", headers=person.headers)
    assert response.status_code == 204
    assert _rows(app, step["id"]) == []


def test_moving_the_due_date_moves_the_reminders_and_remind_false_cancels(
    app, client, accounts, push
):
    person = _member(client, accounts, push)
    step = _step(client, person, _goal(client, person), due_date="2027-03-10")
    before = {(r.offset_key, str(r.channel)): r.id for r in _rows(app, step["id"])}

    _patch(client, person, step, due_date="2027-03-17")
    moved = _rows(app, step["id"])
    pending = [r for r in moved if r.state == DeliveryState.PENDING]
    assert len(pending) == 6
    assert {r.occurrence_local.date() for r in pending} == {date(2027, 3, 17)}
    # The old date's rows were cancelled, not sent: nothing is due for 10 March any more.
    assert all(
        r.state == DeliveryState.CANCELLED
        for r in moved
        if r.occurrence_local.date() == date(2027, 3, 10)
    )
    assert len(before) == 6

    _patch(client, person, step, remind=False)
    assert {r.state for r in _rows(app, step["id"])} == {DeliveryState.CANCELLED}


def test_a_step_without_remind_or_due_date_gets_no_reminders(app, client, accounts, push):
    person = _member(client, accounts, push)
    goal = _goal(client, person)
    quiet = _step(client, person, goal, due_date="2027-03-10", remind=False)
    undated = _step(client, person, goal, remind=False)
    assert _rows(app, quiet["id"]) == [] and _rows(app, undated["id"]) == []


def test_a_russian_member_gets_the_step_reminder_in_russian(app, client, accounts, push):
    person = _member(client, accounts, push, locale="ru")
    step = _step(client, person, _goal(client, person), due_date="2027-03-10")
    [row] = [
        r for r in _rows(app, step["id"]) if r.offset_key == "1d@10:00" and str(r.channel) == "push"
    ]
    _dispatch(app, row.due_at)  # the 7- and 3-day reminders were due too: all go out
    messages = push.wait_for(3)
    bodies = {m.json["body"] for m in messages}
    assert "Reminder: a step of your plan is due tomorrow" not in bodies
    assert all(any("\u0400" <= ch <= "\u04ff" for ch in body) for body in bodies)  # Cyrillic


def test_the_member_sees_what_became_of_each_step_reminder(app, client, accounts, push, twilio):
    person = _member(client, accounts, push)
    step = _step(client, person, _goal(client, person), due_date="2027-03-10")
    path = f"/api/v1/plan/steps/{step['id']}/reminders"
    page = client.get(path, headers=person.headers).get_json()
    assert page["total"] == 3
    assert [r["offset"] for r in page["items"]] == ["7d@10:00", "3d@10:00", "1d@10:00"]
    assert {r["state"] for r in page["items"]} == {"planned"}
    assert all(r["step_id"] == step["id"] and "appointment_id" not in r for r in page["items"])

    twilio.block("+14155550123")  # the carrier refuses this number from now on
    first = min(r.due_at for r in _rows(app, step["id"]))
    _dispatch(app, first)
    [sent, *_] = client.get(path, headers=person.headers).get_json()["items"]
    by_channel = {c["channel"]: c for c in sent["channels"]}
    assert by_channel["push"]["state"] == "sent"
    assert by_channel["sms"]["state"] in ("gave_up", "skipped", "failed")
    assert by_channel["sms"]["detail"]  # said in plain words, not left silent

    other = accounts.register()
    assert client.get(path, headers=other.headers).status_code == 404


def test_a_new_time_zone_moves_the_step_reminders(app, client, accounts, push):
    person = _member(client, accounts, push)
    step = _step(
        client, person, _goal(client, person), due_date="2027-03-10", timezone="America/Chicago"
    )
    [before] = {r.due_at for r in _rows(app, step["id"]) if r.offset_key == "1d@10:00"}
    response = client.patch(
        "/api/v1/me", headers=person.headers, json={"timezone": "America/New_York"}
    )
    assert response.status_code == 200
    pending = [r for r in _rows(app, step["id"]) if r.state == DeliveryState.PENDING]
    [after] = {r.due_at for r in pending if r.offset_key == "1d@10:00"}
    # 10:00 on the member's own clock: an hour earlier in New York than in Chicago.
    assert before - after == timedelta(hours=1)


def test_a_step_pushed_from_the_phone_is_reminded_as_one_made_over_rest(
    app, client, accounts, push
):
    from tests.sync.helpers import pull
    from tests.sync.helpers import push as sync_push

    person = _member(client, accounts, push)
    goal = _goal(client, person)
    record = {
        "id": "phone-step-1",
        "goal_id": goal["id"],
        "title": "Pick up my ID",
        "notes": "",
        "status": "todo",
        "due_date": "2027-03-10",
        "due_time": None,
        "timezone": None,
        "remind": True,
        "bring": "[]",
        "position": 0,
        "listing_id": None,
        "appointment_id": None,
        "created_at": 0,
        "updated_at": 0,
        "_status": "created",
        "_changed": "",
    }
    changes = {"plan_steps": {"created": [record], "updated": [], "deleted": []}}
    assert sync_push(client, person, changes, pull(client, person)["timestamp"]) == {}
    assert len(_rows(app, "phone-step-1")) == 6
