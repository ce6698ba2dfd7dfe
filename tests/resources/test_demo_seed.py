"""`flask demo seed`: the serve command's directory is worth searching, the starter plan
templates are loaded, and seeding again adds nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from api.plans import templates
from api.plans.models import PlanTemplate
from resources.jobs.models import JobPosting
from resources.models import Organization, Service


def seed(app: Any) -> str:
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    return str(result.output)


def counts(app: Any) -> tuple[int, int, int]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return (
            db.scalar(select(func.count()).select_from(Organization)) or 0,
            db.scalar(select(func.count()).select_from(Service)) or 0,
            db.scalar(select(func.count()).select_from(JobPosting)) or 0,
        )


SHIPPED_IDS = {data["id"] for _, data in templates.read_files(templates.SHIPPED)}


def template_ids(app: Any) -> set[str]:
    """The plan templates ``make serve`` offers: the shipped ones, loaded by the seed."""
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return set(db.scalars(select(PlanTemplate.id)))


def test_seeding_twice_loads_the_sample_and_the_fictional_listings_once(app):
    first = seed(app)
    assert "506 created" in first and "3 housing listings, 4 job postings" in first
    # The San Mateo County sample (8 organizations, 23 services) plus 2 fictional
    # organizations with 3 housing listings and 4 job postings.
    assert counts(app) == (10, 26, 4)
    assert "plan templates: 7 loaded, 0 updated, 0 unchanged" in first
    assert template_ids(app) == SHIPPED_IDS
    again = seed(app)
    assert "0 created, 0 updated, 506 unchanged" in again
    assert "plan templates: 0 loaded, 0 updated, 7 unchanged" in again
    assert counts(app) == (10, 26, 4)
    assert template_ids(app) == SHIPPED_IDS


def test_the_seeded_directory_answers_reentry_questions(app, client):
    seed(app)
    near = client.get(
        "/api/v1/resources",
        query_string={"category": "103", "lat": 37.48, "lng": -122.23, "radius_m": 20000},
    ).get_json()
    names = [hit["name"] for hit in near["items"]]
    assert all("(fictional example)" in name for name in names) and len(names) == 3
    assert near["items"][0]["distance_m"] < 1000  # the recovery residence is nearest
    # A parent category's name finds its children: "housing" finds the sober living house.
    housing = client.get("/api/v1/resources", query_string={"q": "housing"}).get_json()
    assert any("Harbor Recovery Residence" in hit["name"] for hit in housing["items"])
    registrants = client.get(
        "/api/v1/resources", query_string={"accepts_registrants": "yes"}
    ).get_json()
    assert [hit["name"] for hit in registrants["items"]] == [
        "Harbor Recovery Residence (fictional example)"
    ]
    assert registrants["items"][0]["facets"]["narr_level"] == 2
    jobs = client.get(
        "/api/v1/jobs", query_string={"fair_chance": "true", "background_check": "none"}
    ).get_json()
    assert sorted(job["title"] for job in jobs["items"]) == [
        "Line cook (fictional example)",
        "Warehouse associate (fictional example)",
    ]
    assert all(job["validThrough"] for job in jobs["items"])
