"""The plan over sync (issue 15, part 5; docs/sync.md): the mentor's ``shared_plan_steps``
(pull only, one record per step a grant with a plan scope shows; notes and bring only
under plan.full, null under plan.progress), taken off the phone by id in ``deleted`` when
the grant is revoked, narrowed away from the plan, expires, or the step or its goal is
deleted; and the member's ``plan_suggestions`` (pull only)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.sync.helpers import (
    ACCESS_LOG,
    ME,
    NOW,
    Phone,
    assert_gone,
    change_grant,
    check_columns,
    connect,
    later,
    nothing_in,
    ok,
    pull,
    push,
    records,
    revoke,
    table_changes,
)

GOALS = "/api/v1/plan/goals"
SHARED_PLAN = "shared_plan_steps"
WHY = "So my daughter can stay over on weekends"
NOTES = "Ask Dana whether the record matters for this one"
BRING = ["Release papers", "Two pay stubs"]


def _h(person: Any) -> dict[str, Any]:
    return {"headers": person.headers}


def a_plan(client: Any, member: Any) -> dict[str, str]:
    goal = ok(
        client.post(
            GOALS, json={"area": "housing", "title": "A room of my own", "why": WHY}, **_h(member)
        ),
        201,
    )
    steps = f"{GOALS}/{goal['id']}/steps"
    private = ok(
        client.post(
            steps,
            json={
                "title": "View the room",
                "notes": NOTES,
                "bring": BRING,
                "due_date": "2026-10-20",
            },
            **_h(member),
        ),
        201,
    )
    done = ok(client.post(steps, json={"title": "Call", "status": "done"}, **_h(member)), 201)
    return {"goal": goal["id"], "private": private["id"], "done": done["id"]}


def shared(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return records(body, SHARED_PLAN)


def assert_nothing_private(body: dict[str, Any]) -> None:
    text = json.dumps(body, ensure_ascii=False)
    for words in (WHY, NOTES, *BRING):
        assert words not in text, words


def test_plan_progress_syncs_titles_statuses_and_dates_never_why_notes_or_bring(
    client, member, mentor
):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.progress"])

    body = pull(client, mentor)

    rows = shared(body)
    assert set(rows) == {plan["private"], plan["done"]}
    raw = rows[plan["private"]]
    check_columns(SHARED_PLAN, raw)
    assert raw == {
        "id": plan["private"],
        "member_id": member.account_id,
        "member_name": "Rosa Díaz",
        "goal_id": plan["goal"],
        "goal_area": "housing",
        "goal_title": "A room of my own",
        "goal_status": "active",
        "title": "View the room",
        "status": "todo",
        "due_date": "2026-10-20",
        "position": 0,
        "notes": None,
        "bring": None,
    }
    assert rows[plan["done"]]["status"] == "done"
    assert_nothing_private(body)


def test_plan_full_syncs_notes_and_bring_too(client, member, mentor):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.full"])

    raw = shared(pull(client, mentor))[plan["private"]]

    check_columns(SHARED_PLAN, raw)
    assert (raw["notes"], json.loads(raw["bring"])) == (NOTES, BRING)


@pytest.mark.parametrize("scopes", [["checkins.full", "help_alerts"], ["appointments.times"]])
def test_a_grant_without_a_plan_scope_syncs_no_plan(client, member, mentor, scopes):
    a_plan(client, member)
    connect(client, member, mentor, scopes)

    body = pull(client, mentor)

    assert shared(body) == {}
    assert_nothing_private(body)
    assert "A room of my own" not in json.dumps(body)


def test_a_step_the_member_adds_or_changes_and_a_renamed_goal_reach_the_phone(
    client, member, mentor, clock
):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.progress"])
    phone = Phone(client, mentor)
    phone.sync()

    clock.shift(timedelta(minutes=1))
    added = ok(
        client.post(f"{GOALS}/{plan['goal']}/steps", json={"title": "Sign"}, **_h(member)), 201
    )
    ok(client.patch(f"/api/v1/plan/steps/{plan['private']}", json={"status": "done"}, **_h(member)))
    ok(client.patch(f"{GOALS}/{plan['goal']}", json={"title": "My own room"}, **_h(member)))
    second = phone.sync()

    assert set(shared(second)) == {plan["private"], plan["done"], added["id"]}
    assert phone.record(SHARED_PLAN, plan["private"])["status"] == "done"
    assert {r["goal_title"] for r in phone.data[SHARED_PLAN].values()} == {"My own room"}
    phone.assert_matches_server()
    clock.shift(timedelta(minutes=1))
    assert nothing_in(pull(client, mentor, second["timestamp"])) == {}


def test_a_deleted_step_or_goal_leaves_the_mentors_phone(client, member, mentor, clock):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.progress"])
    phone = Phone(client, mentor)
    phone.sync()

    clock.shift(timedelta(minutes=1))
    assert client.delete(f"/api/v1/plan/steps/{plan['done']}", **_h(member)).status_code == 204
    assert_gone(phone.sync(), SHARED_PLAN, plan["done"])

    clock.shift(timedelta(minutes=1))
    assert client.delete(f"{GOALS}/{plan['goal']}", **_h(member)).status_code == 204
    assert_gone(phone.sync(), SHARED_PLAN, plan["private"])
    assert phone.ids(SHARED_PLAN) == set()
    phone.assert_matches_server()


@pytest.mark.parametrize("ender", ["member", "mentor"])
def test_a_revoked_grant_takes_every_plan_row_off_the_mentors_phone(
    client, accounts, member, mentor, clock, ender
):
    plan = a_plan(client, member)
    grant = connect(client, member, mentor, ["plan.full"])
    other = accounts.register(display_name="Other mentee")
    a_plan(client, other)
    other_grant = connect(client, other, mentor, ["plan.progress"])
    phone = Phone(client, mentor)
    phone.sync()
    others = {
        i for i, raw in phone.data[SHARED_PLAN].items() if raw["member_id"] == other.account_id
    }
    assert len(others) == 2

    clock.shift(timedelta(minutes=1))
    revoke(client, member if ender == "member" else mentor, grant["id"])
    second = phone.sync()

    for step_id in (plan["private"], plan["done"]):
        assert_gone(second, SHARED_PLAN, step_id)
    assert phone.ids(SHARED_PLAN) == others
    assert phone.ids("grants") == {other_grant["id"]}
    phone.assert_matches_server()
    # Nothing of the member reaches the mentor afterwards.
    clock.shift(timedelta(minutes=1))
    ok(client.post(f"{GOALS}/{plan['goal']}/steps", json={"title": "New"}, **_h(member)), 201)
    third = phone.sync()
    assert member.account_id not in {r["member_id"] for r in shared(third).values()}
    assert phone.ids(SHARED_PLAN) == others


def test_narrowing_full_to_progress_strips_notes_and_bring_and_to_none_removes_the_plan(
    client, member, mentor, clock
):
    plan = a_plan(client, member)
    grant = connect(client, member, mentor, ["plan.full", "checkins.mood"])
    phone = Phone(client, mentor)
    phone.sync()
    assert phone.record(SHARED_PLAN, plan["private"])["notes"] == NOTES

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["plan.progress", "checkins.mood"])
    second = phone.sync()
    raw = phone.record(SHARED_PLAN, plan["private"])
    assert (raw["notes"], raw["bring"]) == (None, None)
    assert_nothing_private(second)

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["checkins.mood"])
    third = phone.sync()
    for step_id in (plan["private"], plan["done"]):
        assert_gone(third, SHARED_PLAN, step_id)
    assert phone.ids(SHARED_PLAN) == set()
    phone.assert_matches_server()


def test_a_grant_that_runs_out_takes_the_plan_off_the_phone(
    client, accounts, member, mentor, clock
):
    plan = a_plan(client, member)
    connect(
        client,
        member,
        mentor,
        ["plan.progress"],
        expires_at=(NOW + timedelta(hours=1)).isoformat(),
    )
    first = pull(client, mentor)
    assert set(shared(first)) == {plan["private"], plan["done"]}

    later(clock, accounts, timedelta(hours=2), mentor)
    second = pull(client, mentor, first["timestamp"])

    assert_gone(second, SHARED_PLAN, plan["private"])
    assert_gone(second, SHARED_PLAN, plan["done"])


def test_an_erased_member_leaves_no_plan_row_on_the_mentors_phone(client, member, mentor, clock):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.progress"])
    phone = Phone(client, mentor)
    phone.sync()

    clock.shift(timedelta(minutes=1))
    erased = client.delete(ME, json={"password": member.password}, **_h(member))
    assert erased.status_code == 204, erased.get_data(as_text=True)
    second = phone.sync()

    for step_id in (plan["private"], plan["done"]):
        assert_gone(second, SHARED_PLAN, step_id)
    assert phone.ids(SHARED_PLAN) == set()


def test_a_mentors_plan_sync_is_in_the_members_access_log(client, member, mentor):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.progress"])

    pull(client, mentor)

    log = ok(client.get(ACCESS_LOG, **_h(member)))["items"]
    synced = [e for e in log if e["action"] == "plan.sync"]
    assert [sorted(e["record_ids"]) for e in synced] == [sorted([plan["private"], plan["done"]])]


def test_a_mentor_cannot_push_to_the_shared_plan(client, member, mentor):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.full"])
    first = pull(client, mentor)

    rejected = push(
        client,
        mentor,
        {SHARED_PLAN: table_changes(updated=[{"id": plan["private"], "title": "Forged"}])},
        first["timestamp"],
    )

    assert rejected == {SHARED_PLAN: [plan["private"]]}
    step = ok(client.get(f"/api/v1/plan/steps/{plan['private']}", **_h(member)))
    assert step["title"] == "View the room"


def test_the_members_phone_pulls_her_suggestions_and_their_answers(client, member, mentor, clock):
    plan = a_plan(client, member)
    connect(client, member, mentor, ["plan.progress"])
    phone = Phone(client, member)
    phone.sync()
    suggestions = f"/api/v1/mentees/{member.account_id}/plan/suggestions"

    clock.shift(timedelta(minutes=1))
    made = ok(client.post(suggestions, json={"title": "Ask", "notes": "Tue"}, **_h(mentor)), 201)
    second = phone.sync()
    raw = records(second, "plan_suggestions")[made["id"]]
    check_columns("plan_suggestions", raw)
    assert (raw["title"], raw["notes"], raw["status"], raw["mentor_name"]) == (
        "Ask",
        "Tue",
        "pending",
        "Mae",
    )

    clock.shift(timedelta(minutes=1))
    accepted = ok(
        client.post(
            f"/api/v1/plan/suggestions/{made['id']}/accept",
            json={"goal_id": plan["goal"]},
            **_h(member),
        )
    )
    phone.sync()
    raw = phone.record("plan_suggestions", made["id"])
    assert (raw["status"], raw["step_id"]) == ("accepted", accepted["step_id"])
    assert phone.record("plan_steps", accepted["step_id"])["title"] == "Ask"
    phone.assert_matches_server()

    rejected = push(
        client,
        member,
        {"plan_suggestions": table_changes(updated=[{"id": made["id"], "status": "pending"}])},
        phone.last_pulled_at,
    )
    assert rejected == {"plan_suggestions": [made["id"]]}
