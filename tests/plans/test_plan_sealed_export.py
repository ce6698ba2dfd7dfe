"""The plan's free text is sealed at rest, comes back decrypted in the member's export,
and goes with the account when it is erased."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from api.plans.models import PlanGoal, PlanStep
from tests.fixtures.records import erase

GOALS = "/api/v1/plan/goals"
SECRETS = ("Leave my PO", "why-secret", "notes-secret", "bring-secret")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def write_plan(client: Any, member: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    body = {"area": "supervision", "title": "Leave my PO", "why": "why-secret"}
    goal = ok(client.post(GOALS, json=body, headers=member.headers), 201)
    step = ok(
        client.post(
            f"{GOALS}/{goal['id']}/steps",
            json={"title": "Step one", "notes": "notes-secret", "bring": ["bring-secret"]},
            headers=member.headers,
        ),
        201,
    )
    return goal, step


def test_the_free_text_columns_hold_no_plaintext(app, client, member):
    write_plan(client, member)
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        goal_rows = db.execute(text("SELECT title, why FROM plan_goals")).all()
        step_rows = db.execute(text("SELECT title, notes, bring FROM plan_steps")).all()
    stored = " ".join(str(v) for row in [*goal_rows, *step_rows] for v in row)
    assert goal_rows and step_rows
    for secret in (*SECRETS, "Step one"):
        assert secret not in stored


def test_the_export_holds_the_plan_decrypted(client, member):
    goal, step = write_plan(client, member)
    document = ok(client.get("/api/v1/me/export", headers=member.headers))
    [exported] = document["plan"]["goals"]
    assert exported["id"] == goal["id"] and exported["title"] == "Leave my PO"
    assert exported["why"] == "why-secret"
    [exported_step] = exported["steps"]
    assert exported_step["id"] == step["id"] and exported_step["notes"] == "notes-secret"
    assert exported_step["bring"] == ["bring-secret"]


def test_erasing_the_account_leaves_no_plan_rows(app, client, member):
    write_plan(client, member)
    assert erase(client, member).status_code in (200, 202, 204)
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        for model in (PlanGoal, PlanStep):
            assert db.scalar(select(func.count()).select_from(model)) == 0
