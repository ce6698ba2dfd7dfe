"""The plan in the member's export (decrypted) and gone after erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.fixtures.records import erase

GOALS = "/api/v1/plan/goals"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def count(app: Any, table: str) -> int:
    with app.extensions["homeward.db"].engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 (test constants)


def test_the_export_has_the_plan_decrypted_and_erasure_removes_it(app, client, member):
    body = {"area": "housing", "title": "A room of my own", "why": "My daughter can visit"}
    goal = ok(client.post(GOALS, json=body, headers=member.headers), 201)
    step = {"title": "Call the landlord", "notes": "Ask about a record", "bring": ["Pay stub"]}
    ok(client.post(f"{GOALS}/{goal['id']}/steps", json=step, headers=member.headers), 201)

    exported = ok(client.get("/api/v1/me/export", headers=member.headers))["plan"]
    (goal_out,) = exported["goals"]
    assert (goal_out["title"], goal_out["why"]) == (body["title"], body["why"])
    (step_out,) = goal_out["steps"]
    assert (step_out["title"], step_out["notes"], step_out["bring"]) == (
        step["title"],
        step["notes"],
        step["bring"],
    )

    assert erase(client, member).status_code == 204
    assert (count(app, "plan_goals"), count(app, "plan_steps")) == (0, 0)
