"""Sharing the plan with a mentor (issue 15, parts 4 and 6; docs/plans.md, "Sharing"):
``plan.progress`` shows goal areas and titles, step titles, statuses and dates and the
member's own count of steps done, never why, notes or bring; ``plan.full`` shows it all.
Every read is in the member's access log; without a plan scope or a grant in force, the
plan is 404, as for an id that never existed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures.clock import NOW
from tests.fixtures.http import assert_problem
from tests.fixtures.records import share

GOALS = "/api/v1/plan/goals"
WHY = "So my daughter can stay over on weekends"
NOTES = "Ask Dana whether the record matters for this one"
BRING = ["Release papers", "Two pay stubs"]
PRIVATE = (WHY, NOTES, *BRING)


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa", "timezone": "America/Chicago"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def plan_of(client: Any, mentor: Any, member: Any) -> Any:
    return client.get(f"/api/v1/mentees/{member.account_id}/plan", headers=mentor.headers)


def a_plan(client: Any, member: Any) -> dict[str, Any]:
    """A housing goal with three steps: one done, one to do (with notes, bring, a time),
    one skipped; and a second goal with no steps."""
    goal = ok(
        client.post(
            GOALS,
            json={"area": "housing", "title": "A room of my own", "why": WHY},
            headers=member.headers,
        ),
        201,
    )
    steps = f"{GOALS}/{goal['id']}/steps"
    done = ok(
        client.post(steps, json={"title": "Call the landlord", "status": "done"}, **_h(member)),
        201,
    )
    todo = ok(
        client.post(
            steps,
            json={
                "title": "View the room",
                "notes": NOTES,
                "bring": BRING,
                "due_date": "2026-10-20",
                "due_time": "14:30",
                "position": 1,
            },
            **_h(member),
        ),
        201,
    )
    skipped = ok(
        client.post(
            steps, json={"title": "Ask about a deposit", "status": "skipped"}, **_h(member)
        ),
        201,
    )
    other = ok(
        client.post(GOALS, json={"area": "work", "title": "A job", "position": 1}, **_h(member)),
        201,
    )
    return {"goal": goal, "done": done, "todo": todo, "skipped": skipped, "other": other}


def _h(person: Any) -> dict[str, Any]:
    return {"headers": person.headers}


def access_log(client: Any, member: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(client.get("/api/v1/me/access-log", **_h(member)))["items"]
    return items


def test_plan_progress_shows_titles_statuses_dates_and_the_count_never_why_notes_or_bring(
    client, member, mentor
):
    plan = a_plan(client, member)
    share(client, member, mentor, ["plan.progress"])

    body = ok(plan_of(client, mentor, member))

    assert body["member_id"] == member.account_id and body["scope"] == "plan.progress"
    assert body["progress"] == {"done": 1, "total": 2}
    first, second = body["goals"]
    assert set(first) == {
        "id", "area", "title", "status", "target_date", "position", "progress", "steps",
    }  # fmt: skip
    assert (first["id"], first["area"], first["title"]) == (
        plan["goal"]["id"],
        "housing",
        "A room of my own",
    )
    assert first["progress"] == {"done": 1, "total": 2}
    assert second["id"] == plan["other"]["id"] and second["steps"] == []
    assert second["progress"] == {"done": 0, "total": 0}
    by_id = {step["id"]: step for step in first["steps"]}
    assert set(by_id) == {plan["done"]["id"], plan["todo"]["id"], plan["skipped"]["id"]}
    todo = by_id[plan["todo"]["id"]]
    assert set(todo) == {
        "id", "goal_id", "title", "status", "due_date", "due_time", "timezone", "position",
    }  # fmt: skip
    assert (todo["title"], todo["status"], todo["due_date"], todo["due_time"]) == (
        "View the room",
        "todo",
        "2026-10-20",
        "14:30",
    )
    assert todo["timezone"] == "America/Chicago"
    text = json.dumps(body)
    for private in PRIVATE:
        assert private not in text


def test_plan_full_shows_why_notes_and_bring_too(client, member, mentor):
    plan = a_plan(client, member)
    share(client, member, mentor, ["plan.full"])

    body = ok(plan_of(client, mentor, member))

    assert body["scope"] == "plan.full"
    goal = body["goals"][0]
    assert goal["why"] == WHY
    todo = next(s for s in goal["steps"] if s["id"] == plan["todo"]["id"])
    assert (todo["notes"], todo["bring"]) == (NOTES, BRING)
    assert todo["listing_id"] is None and todo["appointment_id"] is None


def test_every_read_of_the_plan_is_in_the_members_access_log(client, member, mentor):
    plan = a_plan(client, member)
    grant = share(client, member, mentor, ["plan.progress"])

    ok(plan_of(client, mentor, member))
    ok(plan_of(client, mentor, member))

    reads = [e for e in access_log(client, member) if e["action"] == "plan.read"]
    assert len(reads) == 2
    shown = {plan[k]["id"] for k in ("goal", "other", "done", "todo", "skipped")}
    for entry in reads:
        assert entry["mentor_id"] == mentor.account_id and entry["grant_id"] == grant["id"]
        assert set(entry["record_ids"]) == shown


@pytest.mark.parametrize(
    "scopes",
    [["checkins.full", "appointments.times", "help_alerts"], ["checkins.mood"]],
)
def test_a_mentor_without_a_plan_scope_gets_the_404_of_an_unknown_member(
    client, member, mentor, scopes
):
    a_plan(client, member)
    share(client, member, mentor, scopes)

    refused = assert_problem(plan_of(client, mentor, member), 404)
    unknown = assert_problem(
        client.get("/api/v1/mentees/nobody-has-this-id/plan", **_h(mentor)), 404
    )

    assert (refused["title"], refused["detail"]) == (unknown["title"], unknown["detail"])
    assert [e for e in access_log(client, member) if e["action"] == "plan.read"] == []


def test_revoked_or_expired_or_never_granted_shows_nothing(client, accounts, member, mentor, clock):
    a_plan(client, member)
    stranger = accounts.register(role="mentor")
    assert_problem(plan_of(client, stranger, member), 404)

    grant = share(client, member, mentor, ["plan.full"])
    ok(plan_of(client, mentor, member))
    assert client.delete(f"/api/v1/grants/{grant['id']}", **_h(member)).status_code == 204
    assert_problem(plan_of(client, mentor, member), 404)

    ends = (NOW + timedelta(minutes=1)).isoformat()
    invite = ok(
        client.post(
            "/api/v1/invites", json={"scopes": ["plan.progress"], "expires_at": ends}, **_h(member)
        ),
        201,
    )
    ok(client.post("/api/v1/invites/redeem", json={"code": invite["code"]}, **_h(mentor)), 201)
    ok(plan_of(client, mentor, member))
    clock.shift(timedelta(minutes=2))
    assert_problem(plan_of(client, mentor, member), 404)


def test_narrowing_full_to_progress_hides_why_notes_and_bring_on_the_next_read(
    client, member, mentor
):
    a_plan(client, member)
    grant = share(client, member, mentor, ["plan.full"])
    assert WHY in json.dumps(ok(plan_of(client, mentor, member)))

    ok(
        client.patch(
            f"/api/v1/grants/{grant['id']}", json={"scopes": ["plan.progress"]}, **_h(member)
        )
    )

    text = json.dumps(ok(plan_of(client, mentor, member)))
    for private in PRIVATE:
        assert private not in text


def test_the_member_herself_cannot_use_the_mentors_path(client, member, mentor):
    a_plan(client, member)
    share(client, member, mentor, ["plan.full"])
    assert_problem(plan_of(client, member, member), 404)


def test_a_plan_scope_shows_no_checkin_and_a_checkin_scope_no_plan(client, member, mentor):
    a_plan(client, member)
    ok(client.post("/api/v1/checkins", json={"mood": 2}, **_h(member)), 201)
    share(client, member, mentor, ["plan.progress"])

    assert_problem(client.get(f"/api/v1/mentees/{member.account_id}/checkins", **_h(mentor)), 404)
    assert_problem(
        client.get(f"/api/v1/mentees/{member.account_id}/appointments", **_h(mentor)), 404
    )
    mentees = ok(client.get("/api/v1/mentees", **_h(mentor)))["items"]
    assert [m["scopes"] for m in mentees] == [["plan.progress"]]
