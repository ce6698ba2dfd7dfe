"""The plan over sync (docs/plans.md, "Sync"): ``plan_goals`` and ``plan_steps`` pull the
member's own records with WatermelonDB types, take pushes through the same checks as REST
(a record that fails them comes back rejected), and deletes reach the phone, a goal's
steps included."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sync.helpers import (
    NOW_MS,
    deleted_ids,
    new_id,
    ok,
    pull,
    push,
    records,
    table_changes,
)

GOALS = "/api/v1/plan/goals"
STEPS = "/api/v1/plan/steps"
S, N, B = str, (int, float), bool
GOAL_TYPES = {
    "area": S, "title": S, "why": (S, type(None)), "status": S, "target_date": (S, type(None)),
    "position": N, "created_at": N, "updated_at": N,
}  # fmt: skip
STEP_TYPES = {
    "goal_id": S, "title": S, "notes": (S, type(None)), "status": S,
    "due_date": (S, type(None)), "due_time": (S, type(None)), "timezone": (S, type(None)),
    "remind": B, "bring": S, "position": N, "listing_id": (S, type(None)),
    "appointment_id": (S, type(None)), "created_at": N, "updated_at": N,
}  # fmt: skip


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa", "timezone": "America/Chicago"}


def rest_goal(client: Any, person: Any, **fields: Any) -> dict[str, Any]:
    body = {"area": "housing", "title": "Find a place", **fields}
    created: dict[str, Any] = ok(client.post(GOALS, json=body, headers=person.headers), 201)
    return created


def rest_step(client: Any, person: Any, goal_id: str, **fields: Any) -> dict[str, Any]:
    url = f"{GOALS}/{goal_id}/steps"
    body = {"title": "Call the office", **fields}
    created: dict[str, Any] = ok(client.post(url, json=body, headers=person.headers), 201)
    return created


def raw_goal(record_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": record_id or new_id(),
        "area": "work",
        "title": "Get a job",
        "why": None,
        "status": "active",
        "target_date": None,
        "position": 0,
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "_status": "created",
        "_changed": "",
        **fields,
    }


def raw_step(goal_id: str, record_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": record_id or new_id(),
        "goal_id": goal_id,
        "title": "Write my CV",
        "notes": None,
        "status": "todo",
        "due_date": None,
        "due_time": None,
        "timezone": None,
        "remind": False,
        "bring": "[]",
        "position": 0,
        "listing_id": None,
        "appointment_id": None,
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "_status": "created",
        "_changed": "",
        **fields,
    }


def typed(record: dict[str, Any], types: dict[str, Any]) -> None:
    assert set(record) - {"id"} == set(types), sorted(record)
    for name, kind in types.items():
        assert isinstance(record[name], kind) and not (
            kind == N and isinstance(record[name], bool)
        ), (name, record[name])


def test_a_pull_carries_the_members_goals_and_steps_typed_for_watermelondb(
    client, member, accounts
):
    goal = rest_goal(client, member, why="A key of my own", target_date="2027-02-01")
    step = rest_step(
        client, member, goal["id"], due_date="2026-10-20", due_time="09:30", bring=["ID", "Pen"]
    )
    rest_goal(client, accounts.register(), title="someone else's")
    body = pull(client, member)
    goals, steps = records(body, "plan_goals"), records(body, "plan_steps")
    assert set(goals) == {goal["id"]} and set(steps) == {step["id"]}
    typed(goals[goal["id"]], GOAL_TYPES)
    typed(steps[step["id"]], STEP_TYPES)
    assert goals[goal["id"]]["why"] == "A key of my own"
    assert goals[goal["id"]]["target_date"] == "2027-02-01"
    raw = steps[step["id"]]
    assert (raw["due_date"], raw["due_time"], raw["timezone"]) == (
        "2026-10-20",
        "09:30",
        "America/Chicago",
    )
    assert json.loads(raw["bring"]) == ["ID", "Pen"]


def test_deleting_a_goal_over_rest_sends_it_and_its_steps_in_deleted(client, member):
    goal = rest_goal(client, member)
    step = rest_step(client, member, goal["id"])
    kept = rest_goal(client, member, title="kept")
    first = pull(client, member)
    ok(client.delete(f"{GOALS}/{goal['id']}", headers=member.headers), 204)
    second = pull(client, member, first["timestamp"])
    assert deleted_ids(second, "plan_goals") == {goal["id"]}
    assert deleted_ids(second, "plan_steps") == {step["id"]}
    assert set(records(pull(client, member), "plan_goals")) == {kept["id"]}


def test_a_step_deleted_over_rest_reaches_the_phone(client, member):
    goal = rest_goal(client, member)
    step = rest_step(client, member, goal["id"])
    first = pull(client, member)
    ok(client.delete(f"{STEPS}/{step['id']}", headers=member.headers), 204)
    assert deleted_ids(pull(client, member, first["timestamp"]), "plan_steps") == {step["id"]}


def test_a_pushed_goal_and_its_step_are_stored_as_rest_would_store_them(client, member):
    start = pull(client, member)
    goal = raw_goal(why="For my kids", target_date="2027-01-01")
    step = raw_step(
        goal["id"], due_date="2026-10-20", due_time="10:00", remind=True, bring='["ID card"]'
    )
    rejected = push(
        client,
        member,
        {
            "plan_goals": table_changes(created=[goal]),
            "plan_steps": table_changes(created=[step]),
        },
        start["timestamp"],
    )
    assert rejected == {}
    stored_goal = ok(client.get(f"{GOALS}/{goal['id']}", headers=member.headers))
    assert stored_goal["why"] == "For my kids" and stored_goal["target_date"] == "2027-01-01"
    assert stored_goal["progress"] == {"done": 0, "total": 1}
    stored_step = ok(client.get(f"{STEPS}/{step['id']}", headers=member.headers))
    assert stored_step["goal_id"] == goal["id"] and stored_step["bring"] == ["ID card"]
    assert (stored_step["due_time"], stored_step["timezone"]) == ("10:00", "America/Chicago")
    assert stored_step["remind"] is True


def test_pushed_records_that_fail_the_checks_come_back_rejected(client, member, accounts):
    goal = rest_goal(client, member)
    theirs = rest_goal(client, accounts.register())
    start = pull(client, member)
    bad_goal = raw_goal(area="moon")
    no_date = raw_step(goal["id"], due_time="09:00")
    linked = raw_step(goal["id"], appointment_id="appt-1")
    elsewhere = raw_step(theirs["id"])
    good = raw_step(goal["id"])
    rejected = push(
        client,
        member,
        {
            "plan_goals": table_changes(created=[bad_goal]),
            "plan_steps": table_changes(created=[no_date, linked, elsewhere, good]),
        },
        start["timestamp"],
    )
    assert set(rejected["plan_goals"]) == {bad_goal["id"]}
    assert set(rejected["plan_steps"]) == {no_date["id"], linked["id"], elsewhere["id"]}
    ok(client.get(f"{STEPS}/{good['id']}", headers=member.headers))
    listed = ok(client.get(f"{GOALS}/{goal['id']}/steps", headers=member.headers))
    assert [s["id"] for s in listed["items"]] == [good["id"]]


def test_a_pushed_change_and_delete_apply(client, member):
    goal = rest_goal(client, member)
    step = rest_step(client, member, goal["id"])
    start = pull(client, member)
    changed = {**records(start, "plan_steps")[step["id"]], "status": "done"}
    rejected = push(
        client,
        member,
        {
            "plan_steps": table_changes(updated=[changed]),
            "plan_goals": table_changes(),
        },
        start["timestamp"],
    )
    assert rejected == {}
    assert ok(client.get(f"{GOALS}/{goal['id']}", headers=member.headers))["progress"] == {
        "done": 1,
        "total": 1,
    }
    after = pull(client, member)
    assert (
        push(
            client, member, {"plan_goals": table_changes(deleted=[goal["id"]])}, after["timestamp"]
        )
        == {}
    )
    assert client.get(f"{STEPS}/{step['id']}", headers=member.headers).status_code == 404
