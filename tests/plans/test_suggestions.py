"""Mentors' suggestions (issue 15, part 4; docs/plans.md, "Sharing"): a mentor with either
plan scope suggests a step; it changes nothing in the plan until the member accepts it
(then it is a step of the goal the member picks); declined suggestions stay declined.
Only the member answers them; everyone else gets 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from api.plans.models import PlanSuggestion
from tests.fixtures.http import assert_problem
from tests.fixtures.records import erase, share

GOALS = "/api/v1/plan/goals"
MINE = "/api/v1/plan/suggestions"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def _h(person: Any) -> dict[str, Any]:
    return {"headers": person.headers}


def suggest(client: Any, mentor: Any, member: Any, **body: Any) -> Any:
    return client.post(
        f"/api/v1/mentees/{member.account_id}/plan/suggestions",
        json={"title": "Ask the library about the free ID photo", **body},
        **_h(mentor),
    )


def goal(client: Any, member: Any, title: str = "Get my state ID") -> dict[str, Any]:
    created: dict[str, Any] = ok(
        client.post(GOALS, json={"area": "id_documents", "title": title}, **_h(member)), 201
    )
    return created


def the_plan(client: Any, member: Any) -> Any:
    """Everything the member's plan holds, as the member reads it."""
    goals = ok(client.get(GOALS, **_h(member)))["items"]
    return [(g, ok(client.get(f"{GOALS}/{g['id']}/steps", **_h(member)))["items"]) for g in goals]


def accept(client: Any, member: Any, suggestion_id: str, goal_id: str) -> Any:
    return client.post(f"{MINE}/{suggestion_id}/accept", json={"goal_id": goal_id}, **_h(member))


def decline(client: Any, member: Any, suggestion_id: str) -> Any:
    return client.post(f"{MINE}/{suggestion_id}/decline", **_h(member))


@pytest.mark.parametrize("scope", ["plan.progress", "plan.full"])
def test_a_suggestion_changes_nothing_until_the_member_accepts_it(client, member, mentor, scope):
    target = goal(client, member)
    share(client, member, mentor, [scope])
    before = the_plan(client, member)

    made = ok(suggest(client, mentor, member, notes="Tuesdays 10-12", goal_id=target["id"]), 201)

    assert (made["status"], made["step_id"], made["goal_id"]) == ("pending", None, target["id"])
    assert made["mentor_id"] == mentor.account_id and made["mentor_name"] == "Mae"
    assert the_plan(client, member) == before
    (listed,) = ok(client.get(MINE, **_h(member)))["items"]
    assert listed["id"] == made["id"] and listed["title"] == made["title"]
    assert listed["notes"] == "Tuesdays 10-12" and listed["mentor_name"] == "Mae"

    accepted = ok(accept(client, member, made["id"], target["id"]))

    assert accepted["status"] == "accepted" and accepted["decided_at"] is not None
    step = ok(client.get(f"/api/v1/plan/steps/{accepted['step_id']}", **_h(member)))
    assert (step["goal_id"], step["title"], step["notes"], step["status"]) == (
        target["id"],
        "Ask the library about the free ID photo",
        "Tuesdays 10-12",
        "todo",
    )
    ((_, steps),) = the_plan(client, member)
    assert [s["id"] for s in steps] == [step["id"]]


def test_the_member_picks_the_goal_whatever_the_mentor_had_in_mind(client, member, mentor):
    first, second = goal(client, member), goal(client, member, "Open a bank account")
    ok(client.post(f"{GOALS}/{second['id']}/steps", json={"title": "Mine"}, **_h(member)), 201)
    share(client, member, mentor, ["plan.progress"])
    made = ok(suggest(client, mentor, member, goal_id=first["id"]), 201)

    accepted = ok(accept(client, member, made["id"], second["id"]))

    assert accepted["goal_id"] == second["id"]
    steps = ok(client.get(f"{GOALS}/{second['id']}/steps", **_h(member)))["items"]
    assert [s["title"] for s in steps] == ["Mine", made["title"]]  # after her own
    assert ok(client.get(f"{GOALS}/{first['id']}/steps", **_h(member)))["items"] == []


def test_accepting_again_answers_the_same_and_makes_no_second_step(client, member, mentor):
    target = goal(client, member)
    share(client, member, mentor, ["plan.progress"])
    made = ok(suggest(client, mentor, member), 201)

    first = ok(accept(client, member, made["id"], target["id"]))
    again = ok(accept(client, member, made["id"], target["id"]))

    assert again == first
    assert len(ok(client.get(f"{GOALS}/{target['id']}/steps", **_h(member)))["items"]) == 1
    assert_problem(decline(client, member, made["id"]), 409)
    assert ok(client.get(MINE, **_h(member)))["items"][0]["status"] == "accepted"


def test_declined_suggestions_stay_declined(client, member, mentor):
    target = goal(client, member)
    share(client, member, mentor, ["plan.progress"])
    made = ok(suggest(client, mentor, member), 201)
    before = the_plan(client, member)

    declined = ok(decline(client, member, made["id"]))
    assert (declined["status"], declined["step_id"]) == ("declined", None)
    assert ok(decline(client, member, made["id"])) == declined

    problem = assert_problem(accept(client, member, made["id"], target["id"]), 409)
    assert problem["type"].endswith("suggestion-declined")
    assert the_plan(client, member) == before
    (listed,) = ok(client.get(MINE, **_h(member)))["items"]
    assert listed["status"] == "declined"
    assert ok(client.get(MINE, query_string={"status": "pending"}, **_h(member)))["items"] == []


def test_accepting_into_a_goal_not_her_own_is_422_and_changes_nothing(
    client, accounts, member, mentor
):
    other = accounts.register()
    theirs = goal(client, other)
    share(client, member, mentor, ["plan.progress"])
    made = ok(suggest(client, mentor, member), 201)

    for goal_id in (theirs["id"], "no-such-goal"):
        problem = assert_problem(accept(client, member, made["id"], goal_id), 422)
        assert "goal_id" in problem["errors"]
    assert_problem(client.post(f"{MINE}/{made['id']}/accept", json={}, **_h(member)), 422)
    assert ok(client.get(MINE, **_h(member)))["items"][0]["status"] == "pending"
    assert ok(client.get(f"{GOALS}/{theirs['id']}/steps", **_h(other)))["items"] == []


def test_a_suggestion_for_a_goal_not_the_members_is_422(client, accounts, member, mentor):
    other = accounts.register()
    theirs = goal(client, other)
    share(client, member, mentor, ["plan.progress"])

    problem = assert_problem(suggest(client, mentor, member, goal_id=theirs["id"]), 422)

    assert "goal_id" in problem["errors"]
    assert ok(client.get(MINE, **_h(member)))["items"] == []


def test_the_title_is_required_and_bounded(client, member, mentor):
    share(client, member, mentor, ["plan.progress"])
    for body in ({"title": ""}, {"title": "x" * 201}, {"notes": "no title"}):
        response = client.post(
            f"/api/v1/mentees/{member.account_id}/plan/suggestions", json=body, **_h(mentor)
        )
        assert "title" in assert_problem(response, 422)["errors"]
    assert ok(client.get(MINE, **_h(member)))["items"] == []


def test_a_retry_with_the_same_id_answers_the_same_suggestion(app, client, member, mentor):
    share(client, member, mentor, ["plan.progress"])

    first = ok(suggest(client, mentor, member, id="phone-made-1"), 201)
    again = ok(suggest(client, mentor, member, id="phone-made-1"), 200)

    assert again == first and first["id"] == "phone-made-1"
    assert ok(client.get(MINE, **_h(member)))["total"] == 1


def test_without_a_plan_scope_or_a_grant_a_mentor_cannot_suggest(client, accounts, member, mentor):
    share(client, member, mentor, ["checkins.full", "help_alerts", "appointments.times"])
    stranger = accounts.register(role="mentor")

    for who in (mentor, stranger):
        assert_problem(suggest(client, who, member), 404)
    assert_problem(suggest(client, member, member), 404)
    assert ok(client.get(MINE, **_h(member)))["items"] == []


def test_only_the_member_answers_her_suggestions(client, accounts, member, mentor):
    target = goal(client, member)
    share(client, member, mentor, ["plan.full"])
    made = ok(suggest(client, mentor, member), 201)
    other = accounts.register()
    other_goal = goal(client, other)

    for who, goal_id in ((other, other_goal["id"]), (mentor, target["id"])):
        missing = client.post(f"{MINE}/no-such-id/accept", json={"goal_id": goal_id}, **_h(who))
        refused = accept(client, who, made["id"], goal_id)
        assert refused.status_code == missing.status_code == 404
        assert_problem(decline(client, who, made["id"]), 404)
    assert ok(client.get(MINE, **_h(other)))["items"] == []
    assert_problem(client.get(MINE, **_h(mentor)), 404)
    assert ok(client.get(MINE, **_h(member)))["items"][0]["status"] == "pending"


def test_suggestions_are_sealed_and_listed_newest_first(app, client, member, mentor, clock):
    from datetime import timedelta

    share(client, member, mentor, ["plan.progress"])
    older = ok(suggest(client, mentor, member, title="Older", notes="a secret note"), 201)
    clock.shift(timedelta(minutes=1))
    newer = ok(suggest(client, mentor, member, title="Newer"), 201)

    listed = ok(client.get(MINE, **_h(member)))["items"]
    assert [s["id"] for s in listed] == [newer["id"], older["id"]]
    with app.extensions["homeward.db"].engine.connect() as connection:
        stored = connection.execute(select(PlanSuggestion.__table__)).all()
    assert stored and all("Older" not in str(row) and "secret" not in str(row) for row in stored)


def test_the_export_has_the_suggestions_and_erasure_removes_them_but_not_a_mentors(
    client, accounts, member, mentor
):
    share(client, member, mentor, ["plan.progress"])
    made = ok(suggest(client, mentor, member, notes="Tuesdays"), 201)

    exported = ok(client.get("/api/v1/me/export", **_h(member)))["plan"]["suggestions"]
    assert [(s["id"], s["title"], s["notes"], s["status"]) for s in exported] == [
        (made["id"], made["title"], "Tuesdays", "pending")
    ]

    # The mentor erases their account: the member keeps the suggestion, unnamed.
    assert erase(client, mentor).status_code == 204
    (kept,) = ok(client.get(MINE, **_h(member)))["items"]
    assert (kept["id"], kept["mentor_id"], kept["mentor_name"]) == (made["id"], None, None)
    assert kept["title"] == made["title"]

    assert erase(client, member).status_code == 204
    second = accounts.register()
    assert ok(client.get(MINE, **_h(second)))["items"] == []


def test_erasing_the_member_leaves_no_suggestion_row(app, client, member, mentor):
    share(client, member, mentor, ["plan.progress"])
    ok(suggest(client, mentor, member), 201)

    assert erase(client, member).status_code == 204

    with app.extensions["homeward.db"].engine.connect() as connection:
        assert connection.execute(select(PlanSuggestion.__table__)).all() == []


def test_suggestions_are_rate_limited_per_mentor(
    app, client, accounts, member, mentor, monkeypatch
):
    monkeypatch.setitem(app.config, "RATELIMIT_PLAN_SUGGESTIONS", "2/hour")
    other = accounts.register(role="mentor")
    share(client, member, mentor, ["plan.progress"])
    share(client, member, other, ["plan.progress"])

    answers = [suggest(client, mentor, member).status_code for _ in range(2)]
    limited = suggest(client, mentor, member)

    assert answers == [201, 201]
    assert_problem(limited, 429)
    assert suggest(client, other, member).status_code == 201  # counted per mentor
    assert len(ok(client.get(MINE, **_h(member)))["items"]) == 3  # the refused one wrote nothing
