"""The member's own plan: goals and steps (docs/plans.md). Only the member reaches them;
someone else's id is 404; bad input is a Problem with per-field errors and changes
nothing; a retry with the phone's own id updates instead of making a second record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.plans import links
from api.plans.models import PlanGoal, PlanStep
from tests.fixtures.clock import NOW
from tests.fixtures.http import assert_problem

GOALS = "/api/v1/plan/goals"
STEPS = "/api/v1/plan/steps"


@pytest.fixture
def member_profile() -> dict[str, Any]:
    return {"display_name": "Rosa", "timezone": "America/Chicago"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def new_goal(client: Any, person: Any, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"area": "housing", "title": "Find a place to live", **fields}
    created: dict[str, Any] = ok(client.post(GOALS, json=body, headers=person.headers), expect)
    return created


def new_step(
    client: Any, person: Any, goal_id: str, expect: int = 201, **fields: Any
) -> dict[str, Any]:
    body = {"title": "Call the housing office", **fields}
    url = f"{GOALS}/{goal_id}/steps"
    created: dict[str, Any] = ok(client.post(url, json=body, headers=person.headers), expect)
    return created


def stored(app: Any, model: Any) -> int:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_member_writes_a_goal_and_reads_it_back(client, member):
    goal = new_goal(
        client, member, area="work", title="Get a job", why="For my kids", target_date="2027-01-15"
    )
    assert set(goal) == {
        "id", "area", "title", "why", "status", "target_date", "position", "progress",
        "created_at", "updated_at",
    }  # fmt: skip
    assert goal["area"] == "work" and goal["title"] == "Get a job" and goal["why"] == "For my kids"
    assert goal["status"] == "active" and goal["target_date"] == "2027-01-15"
    assert goal["position"] == 0 and goal["progress"] == {"done": 0, "total": 0}
    assert at(goal["created_at"]) == NOW == at(goal["updated_at"])
    assert ok(client.get(f"{GOALS}/{goal['id']}", headers=member.headers)) == goal


def test_goals_are_listed_by_position_then_creation(client, member, clock):
    first = new_goal(client, member, title="b", position=1)
    clock.shift(timedelta(minutes=1))
    second = new_goal(client, member, title="a", position=0)
    clock.shift(timedelta(minutes=1))
    third = new_goal(client, member, title="c", position=1)
    page = ok(client.get(GOALS, query_string={"page_size": 2}, headers=member.headers))
    assert (page["total"], page["page"], page["page_size"]) == (3, 1, 2)
    assert [g["id"] for g in page["items"]] == [second["id"], first["id"]]
    rest = ok(client.get(GOALS, query_string={"page": 2, "page_size": 2}, headers=member.headers))
    assert [g["id"] for g in rest["items"]] == [third["id"]]


def test_patch_changes_only_what_is_given(client, member, clock):
    goal = new_goal(client, member, why="why")
    clock.shift(timedelta(minutes=5))
    url = f"{GOALS}/{goal['id']}"
    changed = ok(client.patch(url, json={"status": "done", "why": None}, headers=member.headers))
    assert changed["status"] == "done" and changed["why"] is None
    assert changed["title"] == goal["title"] and changed["created_at"] == goal["created_at"]
    assert at(changed["updated_at"]) == NOW + timedelta(minutes=5)


def test_steps_are_written_listed_and_counted_in_progress(client, member, clock):
    goal = new_goal(client, member)
    step = new_step(
        client,
        member,
        goal["id"],
        notes="Ask for Dana",
        due_date="2026-10-20",
        due_time="09:30",
        remind=True,
        bring=["ID card", "Release papers"],
    )
    assert step == {
        "id": step["id"],
        "goal_id": goal["id"],
        "title": "Call the housing office",
        "notes": "Ask for Dana",
        "status": "todo",
        "due_date": "2026-10-20",
        "due_time": "09:30",
        "timezone": "America/Chicago",  # the member's own zone
        "remind": True,
        "bring": ["ID card", "Release papers"],
        "position": 0,
        "listing_id": None,
        "appointment_id": None,
        "created_at": step["created_at"],
        "updated_at": step["updated_at"],
    }
    clock.shift(timedelta(minutes=1))  # same position: listed by creation
    done = new_step(client, member, goal["id"], title="Fill the form", status="done")
    clock.shift(timedelta(minutes=1))
    new_step(client, member, goal["id"], title="Not needed", status="skipped")
    listed = ok(client.get(f"{GOALS}/{goal['id']}/steps", headers=member.headers))
    # All three were made at the same (frozen) instant with position 0: their order is
    # the ids', so find the first by its id.
    assert listed["total"] == 3
    assert {s["id"]: s for s in listed["items"]}[step["id"]] == step
    assert ok(client.get(f"{STEPS}/{done['id']}", headers=member.headers)) == done
    read = ok(client.get(f"{GOALS}/{goal['id']}", headers=member.headers))
    assert read["progress"] == {"done": 1, "total": 2}


def test_a_step_moves_to_another_goal_and_changes(client, member):
    one, two = new_goal(client, member), new_goal(client, member, area="work", title="Work")
    step = new_step(client, member, one["id"])
    url = f"{STEPS}/{step['id']}"
    moved = ok(
        client.patch(
            url, json={"goal_id": two["id"], "bring": [], "status": "doing"}, headers=member.headers
        )
    )
    assert moved["goal_id"] == two["id"] and moved["bring"] == [] and moved["status"] == "doing"
    assert ok(client.get(f"{GOALS}/{one['id']}/steps", headers=member.headers))["total"] == 0


def test_deleting_a_goal_deletes_its_steps(client, member, app):
    goal = new_goal(client, member)
    step = new_step(client, member, goal["id"])
    kept = new_step(client, member, new_goal(client, member)["id"])
    assert client.delete(f"{GOALS}/{goal['id']}", headers=member.headers).status_code == 204
    assert_problem(client.get(f"{STEPS}/{step['id']}", headers=member.headers), 404)
    assert_problem(client.get(f"{GOALS}/{goal['id']}", headers=member.headers), 404)
    ok(client.get(f"{STEPS}/{kept['id']}", headers=member.headers))
    assert stored(app, PlanStep) == 1 and stored(app, PlanGoal) == 1
    assert client.delete(f"{STEPS}/{kept['id']}", headers=member.headers).status_code == 204
    assert stored(app, PlanStep) == 0


def test_the_phones_own_id_is_kept_and_a_retry_answers_200_with_one_record(client, member, app):
    goal = new_goal(client, member, id="goal-1", title="first")
    again = new_goal(client, member, expect=200, id="goal-1", title="second")
    assert again["id"] == goal["id"] == "goal-1" and again["title"] == "second"
    step = new_step(client, member, "goal-1", id="step-1")
    retried = new_step(client, member, "goal-1", expect=200, id="step-1", notes="n")
    assert retried["id"] == step["id"] == "step-1" and retried["notes"] == "n"
    assert stored(app, PlanGoal) == 1 and stored(app, PlanStep) == 1


def test_another_members_goals_and_steps_are_not_found(client, accounts, member, app):
    goal = new_goal(client, member)
    step = new_step(client, member, goal["id"])
    other = accounts.register()
    for response in (
        client.get(f"{GOALS}/{goal['id']}", headers=other.headers),
        client.patch(f"{GOALS}/{goal['id']}", json={"title": "x"}, headers=other.headers),
        client.delete(f"{GOALS}/{goal['id']}", headers=other.headers),
        client.get(f"{GOALS}/{goal['id']}/steps", headers=other.headers),
        client.post(f"{GOALS}/{goal['id']}/steps", json={"title": "x"}, headers=other.headers),
        client.get(f"{STEPS}/{step['id']}", headers=other.headers),
        client.patch(f"{STEPS}/{step['id']}", json={"title": "x"}, headers=other.headers),
        client.delete(f"{STEPS}/{step['id']}", headers=other.headers),
        client.get(f"{GOALS}/no-such-goal", headers=member.headers),
    ):
        assert_problem(response, 404)
    mine = new_goal(client, other)
    moved = client.patch(
        f"{STEPS}/{step['id']}", json={"goal_id": mine["id"]}, headers=member.headers
    )
    assert_problem(moved, 404)
    assert ok(client.get(GOALS, headers=other.headers))["total"] == 1
    assert ok(client.get(f"{STEPS}/{step['id']}", headers=member.headers)) == step


def test_mentors_get_404_on_the_plan_paths(client, mentor, member):
    goal = new_goal(client, member)
    assert_problem(client.get(GOALS, headers=mentor.headers), 404)
    assert_problem(client.get(f"{GOALS}/{goal['id']}", headers=mentor.headers), 404)
    assert_problem(
        client.post(GOALS, json={"area": "work", "title": "x"}, headers=mentor.headers), 404
    )


BAD_GOALS = [
    pytest.param({"area": "housing", "title": "x", "colour": "red"}, "colour", id="unknown-field"),
    pytest.param({"area": "moon", "title": "x"}, "area", id="bad-area"),
    pytest.param({"area": "housing", "title": "x", "status": "paused"}, "status", id="bad-status"),
    pytest.param({"area": "housing", "title": "t" * 201}, "title", id="title-too-long"),
    pytest.param({"area": "housing", "title": ""}, "title", id="title-empty"),
    pytest.param({"area": "housing"}, "title", id="title-missing"),
    pytest.param({"area": "housing", "title": "x", "why": "w" * 2001}, "why", id="why-too-long"),
    pytest.param({"area": "housing", "title": "x", "position": -1}, "position", id="position"),
    pytest.param(
        {"area": "housing", "title": "x", "target_date": "soon"}, "target_date", id="date"
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_GOALS)
def test_a_bad_goal_is_422_and_stores_nothing(client, member, app, body, field):
    problem = assert_problem(client.post(GOALS, json=body, headers=member.headers), 422)
    assert field in problem["errors"], problem
    assert stored(app, PlanGoal) == 0


BAD_STEPS = [
    pytest.param({"title": "x", "extra": 1}, "extra", id="unknown-field"),
    pytest.param({"title": "x", "status": "later"}, "status", id="bad-status"),
    pytest.param({"title": "t" * 201}, "title", id="title-too-long"),
    pytest.param({"title": "x", "due_time": "09:30"}, "due_time", id="time-without-date"),
    pytest.param({"title": "x", "remind": True}, "remind", id="remind-without-date"),
    pytest.param(
        {"title": "x", "due_date": "2026-10-20", "timezone": "Mars/Base"}, "timezone", id="zone"
    ),
    pytest.param(
        {"title": "x", "due_date": "2026-10-20", "due_time": "9am"}, "due_time", id="hhmm"
    ),
    pytest.param({"title": "x", "bring": ["b"] * 11}, "bring", id="bring-too-many"),
    pytest.param({"title": "x", "bring": ["b" * 81]}, "bring", id="bring-too-long"),
    pytest.param({"title": "x", "bring": [""]}, "bring", id="bring-empty-item"),
    pytest.param({"title": "x", "appointment_id": "appt-1"}, "appointment_id", id="appointment"),
    pytest.param({"title": "x", "listing_id": "svc-1"}, "listing_id", id="listing"),
    pytest.param({"title": "x", "reminder_offsets": ["1d"]}, "reminder_offsets", id="offsets"),
]


@pytest.mark.parametrize(("body", "field"), BAD_STEPS)
def test_a_bad_step_is_422_and_changes_nothing(client, member, app, body, field):
    goal = new_goal(client, member)
    step = new_step(client, member, goal["id"])
    url = f"{GOALS}/{goal['id']}/steps"
    problem = assert_problem(client.post(url, json=body, headers=member.headers), 422)
    assert field in problem["errors"], problem
    change = {k: v for k, v in body.items() if k != "title"} or {"title": body["title"]}
    patched = client.patch(f"{STEPS}/{step['id']}", json=change, headers=member.headers)
    assert field in assert_problem(patched, 422)["errors"]
    assert stored(app, PlanStep) == 1
    assert ok(client.get(f"{STEPS}/{step['id']}", headers=member.headers)) == step


def test_a_link_nothing_checks_is_refused_in_plain_words(client, member):
    goal = new_goal(client, member)
    body = {"title": "x", "appointment_id": "appt-1"}
    problem = assert_problem(
        client.post(f"{GOALS}/{goal['id']}/steps", json=body, headers=member.headers), 422
    )
    assert "cannot be linked" in problem["detail"]


def test_a_link_the_owning_domain_accepts_is_stored(app, client, member):
    from reminders.models import Appointment

    def own_appointment(db: Any, member_id: str, value: str) -> bool:
        found = db.get(Appointment, value)
        return found is not None and found.member_id == member_id

    links.add_link_check(app, "appointment_id", own_appointment)
    appointment = ok(
        client.post(
            "/api/v1/appointments",
            json={"title": "See Dana", "starts_at": "2026-10-20T09:00"},
            headers=member.headers,
        ),
        201,
    )
    goal = new_goal(client, member)
    step = new_step(client, member, goal["id"], appointment_id=appointment["id"])
    assert step["appointment_id"] == appointment["id"]
    refused = client.post(
        f"{GOALS}/{goal['id']}/steps",
        json={"title": "x", "appointment_id": "not-mine"},
        headers=member.headers,
    )
    assert "appointment_id" in assert_problem(refused, 422)["errors"]


def test_a_time_given_with_its_zone_keeps_that_zone(client, member):
    goal = new_goal(client, member)
    step = new_step(
        client, member, goal["id"], due_date="2026-10-20", due_time="23:15", timezone="Europe/Paris"
    )
    assert (step["due_time"], step["timezone"]) == ("23:15", "Europe/Paris")
