"""GET /api/v1/plan/steps/{id}/matches: a step's directory search, run near the member's
area, gives exactly what GET /api/v1/resources gives for the same parameters; and a step
may link a listing of the directory, nothing else."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from api.plans.models import PlanStep
from tests.plans.helpers import query_string

GOALS = "/api/v1/plan/goals"
AREA = {"latitude": 37.4852, "longitude": -122.2364, "radius_km": 15}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def _seed(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output


def _adopted_steps(client: Any, member: Any, template_id: str) -> list[dict[str, Any]]:
    goal = ok(client.post(GOALS, json={"template_id": template_id}, headers=member.headers), 201)
    page = ok(client.get(f"{GOALS}/{goal['id']}/steps", headers=member.headers))
    steps: list[dict[str, Any]] = page["items"]
    return steps


def _queries(app: Any, step_ids: list[str]) -> dict[str, dict[str, Any]]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return {
            step_id: query
            for step_id in step_ids
            if (query := db.get(PlanStep, step_id).directory_query)  # type: ignore[union-attr]
        }


def _store_query(app: Any, step_id: str, query: dict[str, Any]) -> None:
    """A search stored as an operator's template (or an older directory) left it."""
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        db.execute(update(PlanStep).where(PlanStep.id == step_id).values(directory_query=query))


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_matches_are_what_the_directory_search_returns_near_the_area(app, client, member):
    _seed(app)
    ok(client.put("/api/v1/me/area", json=AREA, headers=member.headers))
    steps = [
        *_adopted_steps(client, member, "housing-search"),
        *_adopted_steps(client, member, "food-assistance"),
        *_adopted_steps(client, member, "state-id"),
    ]
    queries = _queries(app, [s["id"] for s in steps])
    assert len(queries) >= 5
    near = [
        ("lat", str(AREA["latitude"])),
        ("lng", str(AREA["longitude"])),
        ("radius_m", str(AREA["radius_km"] * 1000)),
    ]
    found_any = False
    for step_id, query in queries.items():
        matches = ok(client.get(f"/api/v1/plan/steps/{step_id}/matches", headers=member.headers))
        direct = ok(client.get("/api/v1/resources", query_string=query_string(query) + near))
        assert matches == direct, (query, _ids(matches), _ids(direct))
        found_any = found_any or bool(matches["items"])
        for item in matches["items"]:
            assert item["distance_m"] is not None and item["distance_m"] <= 15_000
    assert found_any, "the seeded directory should match some template step near the area"


def test_without_an_area_the_whole_directory_is_searched(app, client, member):
    _seed(app)
    steps = _adopted_steps(client, member, "housing-search")
    step_id, query = next(iter(_queries(app, [s["id"] for s in steps]).items()))
    matches = ok(
        client.get(f"/api/v1/plan/steps/{step_id}/matches?page_size=5", headers=member.headers)
    )
    direct = ok(
        client.get("/api/v1/resources", query_string=[*query_string(query), ("page_size", "5")])
    )
    assert matches == direct
    assert all(item["distance_m"] is None for item in matches["items"])


def test_a_step_without_a_search_has_no_matches(client, member):
    goal = ok(
        client.post(GOALS, json={"area": "work", "title": "Work"}, headers=member.headers), 201
    )
    step = ok(
        client.post(
            f"{GOALS}/{goal['id']}/steps", json={"title": "Call Ana"}, headers=member.headers
        ),
        201,
    )
    page = ok(client.get(f"/api/v1/plan/steps/{step['id']}/matches", headers=member.headers))
    assert page == {"items": [], "page": 1, "page_size": 20, "total": 0}


def test_only_the_member_reaches_their_steps_matches(app, client, member, accounts):
    _seed(app)
    [step, *_] = _adopted_steps(client, member, "state-id")
    other = accounts.register()
    response = client.get(f"/api/v1/plan/steps/{step['id']}/matches", headers=other.headers)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    unknown = client.get("/api/v1/plan/steps/no-such-step/matches", headers=member.headers)
    assert unknown.status_code == 404
    assert client.get(f"/api/v1/plan/steps/{step['id']}/matches").status_code == 401
    bad = client.get(f"/api/v1/plan/steps/{step['id']}/matches?colour=red", headers=member.headers)
    assert bad.status_code == 422


def test_a_stored_search_the_directory_cannot_run_is_a_409_not_a_500(app, client, member):
    _seed(app)
    [step, *_] = _adopted_steps(client, member, "state-id")
    _store_query(app, step["id"], {"colour": "red"})
    response = client.get(f"/api/v1/plan/steps/{step['id']}/matches", headers=member.headers)
    assert response.status_code == 409, response.get_json()
    assert "colour" in response.get_json()["detail"]


def test_a_step_links_a_listing_of_the_directory_and_nothing_else(app, client, member):
    _seed(app)
    listing = ok(client.get("/api/v1/resources?page_size=1"))["items"][0]
    goal = ok(
        client.post(GOALS, json={"area": "housing", "title": "Home"}, headers=member.headers), 201
    )
    steps = f"{GOALS}/{goal['id']}/steps"
    linked = ok(
        client.post(
            steps, json={"title": "Visit", "listing_id": listing["id"]}, headers=member.headers
        ),
        201,
    )
    assert linked["listing_id"] == listing["id"]
    response = client.post(
        steps, json={"title": "Visit", "listing_id": "made-up"}, headers=member.headers
    )
    assert response.status_code == 422
    assert (
        "listing" in response.get_json()["detail"] or "listing_id" in response.get_json()["errors"]
    )
    page = ok(client.get(steps, headers=member.headers))
    assert [s["id"] for s in page["items"]] == [linked["id"]]


def test_a_step_links_only_the_members_own_appointment(client, member, accounts):
    body = {"title": "Benefits", "starts_at": "2027-03-10T09:00", "timezone": "America/Chicago"}
    mine = ok(client.post("/api/v1/appointments", json=body, headers=member.headers), 201)
    other = accounts.register()
    theirs = ok(client.post("/api/v1/appointments", json=body, headers=other.headers), 201)
    goal = ok(
        client.post(GOALS, json={"area": "benefits", "title": "Food"}, headers=member.headers), 201
    )
    steps = f"{GOALS}/{goal['id']}/steps"
    linked = ok(
        client.post(
            steps, json={"title": "Go", "appointment_id": mine["id"]}, headers=member.headers
        ),
        201,
    )
    assert linked["appointment_id"] == mine["id"]
    refused = client.post(
        steps, json={"title": "Go", "appointment_id": theirs["id"]}, headers=member.headers
    )
    assert refused.status_code == 422
    # Deleting the appointment leaves the step, unlinked.
    assert (
        client.delete(f"/api/v1/appointments/{mine['id']}", headers=member.headers).status_code
        == 204
    )
    step = ok(client.get(f"/api/v1/plan/steps/{linked['id']}", headers=member.headers))
    assert step["appointment_id"] is None


def test_a_template_whose_search_the_directory_refuses_is_not_loaded(app, tmp_path):
    import json

    from api.plans import templates

    good = json.loads((templates.SHIPPED / "state-id.json").read_text(encoding="utf-8"))
    bad = {**good, "id": "county-id"}
    bad["steps"] = [{**good["steps"][0], "directory_query": {"radius_m": -5, "colour": "red"}}]
    (tmp_path / "county-id.json").write_text(json.dumps(bad), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["plans", "templates", "load", str(tmp_path)])
    assert result.exit_code != 0
    assert "steps[0].directory_query" in result.output and "colour" in result.output
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        from api.plans.models import PlanTemplate

        assert db.get(PlanTemplate, "county-id") is None


def test_a_stored_category_the_directory_no_longer_has_is_a_409(app, client, member):
    _seed(app)
    [step, *_] = _adopted_steps(client, member, "state-id")
    _store_query(app, step["id"], {"category": ["999-99"]})
    response = client.get(f"/api/v1/plan/steps/{step['id']}/matches", headers=member.headers)
    assert response.status_code == 409, response.get_json()
    assert "999-99" in response.get_json()["detail"]
