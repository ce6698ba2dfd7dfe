"""Adopting a template: the member gets their own goal and steps, sealed; editing them
never changes the template; an unknown template is 404 and writes nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import text

from api.plans import templates
from tests.fixtures.clock import NOW
from tests.fixtures.http import assert_problem

GOALS = "/api/v1/plan/goals"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def shipped(app: Flask) -> None:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        templates.load(db, templates.SHIPPED, NOW)
        db.commit()


def raw_rows(app: Flask, sql: str) -> list[Any]:
    with app.extensions["homeward.db"].engine.connect() as connection:
        return list(connection.execute(text(sql)))


def test_adopting_the_state_id_template_gives_the_member_their_own_sealed_plan(app, client, member):
    shipped(app)
    template = ok(client.get("/api/v1/plan/templates/state-id", headers=member.headers))
    body = {"id": "my-id-goal", "template_id": "state-id", "why": "For the apartment"}

    goal = ok(client.post(GOALS, json=body, headers=member.headers), 201)
    steps = ok(client.get(f"{GOALS}/my-id-goal/steps", headers=member.headers))["items"]

    assert (goal["id"], goal["area"], goal["title"]) == (
        "my-id-goal",
        "id_documents",
        template["title"],
    )
    assert goal["why"] == "For the apartment"  # the member's own words win
    assert goal["progress"] == {"done": 0, "total": 4}
    assert [s["title"] for s in steps] == [s["title"] for s in template["steps"]]
    assert [s["bring"] or None for s in steps] == [s["bring"] or None for s in template["steps"]]
    # The rows hold ciphertext only.
    for title, notes in raw_rows(app, "SELECT title, notes FROM plan_steps"):
        assert title.startswith("hw1:") and all(s["title"] not in title for s in template["steps"])
        assert notes is None or notes.startswith("hw1:")
    (why,) = raw_rows(app, "SELECT why FROM plan_goals")[0]
    assert "apartment" not in why

    # The plan is the member's: changing a step leaves the template as it was.
    first = steps[0]["id"]
    ok(
        client.patch(
            f"/api/v1/plan/steps/{first}", json={"title": "Ask Mom"}, headers=member.headers
        )
    )
    assert ok(client.get("/api/v1/plan/templates/state-id", headers=member.headers)) == template


def test_a_retry_of_the_adoption_makes_no_second_copy(app, client, member):
    shipped(app)
    body = {"id": "once", "template_id": "state-id"}
    ok(client.post(GOALS, json=body, headers=member.headers), 201)
    ok(client.post(GOALS, json=body, headers=member.headers), 200)

    assert raw_rows(app, "SELECT count(*) FROM plan_goals")[0][0] == 1
    assert raw_rows(app, "SELECT count(*) FROM plan_steps")[0][0] == 4


def test_an_unknown_template_is_404_and_writes_nothing(app, client, member):
    shipped(app)
    response = client.post(GOALS, json={"template_id": "no-such"}, headers=member.headers)

    assert_problem(response, 404)
    assert raw_rows(app, "SELECT count(*) FROM plan_goals")[0][0] == 0


def test_without_a_template_area_and_title_are_required(client, member):
    response = client.post(GOALS, json={"why": "later"}, headers=member.headers)

    problem = assert_problem(response, 422)
    assert set(problem["errors"]) >= {"area", "title"}, problem
