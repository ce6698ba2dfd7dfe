"""Every shipped template step's ``directory_query`` is a search the directory takes:
real parameters of GET /api/v1/resources, real Open Eligibility codes of the San Mateo
County taxonomy, answered 200 (not 422) by the seeded directory."""

from __future__ import annotations

import csv
from typing import Any

import pytest

from api.plans import templates
from resources.demo import sample_directory
from resources.listings.schemas import ResourceSearchArgs
from tests.plans.helpers import query_string

RESOURCES = "/api/v1/resources"


def shipped_queries() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{data['id']}/{step['key']}", step["directory_query"])
        for _, data in templates.read_files(templates.SHIPPED)
        for step in data["steps"]
        if "directory_query" in step
    ]


QUERIES = shipped_queries()


def test_most_steps_point_to_the_directory_and_every_template_but_one_does() -> None:
    with_query = {step.split("/")[0] for step, _ in QUERIES}
    every = {data["id"] for _, data in templates.read_files(templates.SHIPPED)}
    # "My supervision conditions" is the member's own notes: nothing to search for.
    assert every - with_query == {"supervision-conditions"}


@pytest.mark.parametrize(("step", "query"), QUERIES, ids=[s for s, _ in QUERIES])
def test_the_query_uses_the_search_parameters_and_taxonomy_codes(
    step: str, query: dict[str, Any]
) -> None:
    assert query, step
    assert set(query) <= set(ResourceSearchArgs().fields), step
    with (sample_directory() / "taxonomy.csv").open(encoding="utf-8") as file:
        codes = {row["taxonomy_id"] for row in csv.DictReader(file)}
    for code in query.get("category", []):
        assert code in codes, (step, code)
    assert ResourceSearchArgs().validate(query) == {}, step


def test_the_seeded_directory_answers_every_template_query(app, client):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    # The directory does refuse what it does not know, so a 200 below means something.
    unknown = client.get(RESOURCES, query_string=[("category", "103-99")])
    assert unknown.status_code == 422, unknown.get_json()
    for step, query in QUERIES:
        response = client.get(RESOURCES, query_string=query_string(query))
        assert response.status_code == 200, (step, response.get_json())
        assert isinstance(response.get_json()["items"], list)
