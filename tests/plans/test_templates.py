"""Plan templates: the shipped folder loads idempotently, bad files are refused, every
shipped text is in all four languages, and the list answers in the caller's locale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from api.accounts.models import Account
from api.plans import templates
from api.plans.models import PlanTemplate

# The shipped starter templates, in the order the list shows them (position 1..7).
SHIPPED_IDS = [
    "state-id",
    "food-assistance",
    "health-coverage",
    "housing-search",
    "work-search",
    "record-clearing",
    "supervision-conditions",
]
LIST = "/api/v1/plan/templates"


def shipped() -> list[dict[str, Any]]:
    return [data for _, data in templates.read_files(templates.SHIPPED)]


def stored(app: Flask) -> dict[str, tuple[str, Any]]:
    """Each stored template's digest and when it was last written, by id."""
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        rows = db.scalars(select(PlanTemplate)).all()
        return {row.id: (row.digest, row.updated_at) for row in rows}


def test_seven_templates_ship_each_in_its_own_file_and_place() -> None:
    by_id = {data["id"]: (file, data) for file, data in templates.read_files(templates.SHIPPED)}
    assert sorted(by_id) == sorted(SHIPPED_IDS)
    for position, template_id in enumerate(SHIPPED_IDS, start=1):
        file, data = by_id[template_id]
        assert file.name == f"{template_id}.json"
        assert data["position"] == position, template_id
        assert 3 <= len(data["steps"]) <= 6, template_id
        keys = [step["key"] for step in data["steps"]]
        assert len(keys) == len(set(keys)), template_id
    assert by_id["supervision-conditions"][1]["title"]["en"] == "My supervision conditions"


def test_shipped_files_have_every_language() -> None:
    for data in shipped():
        texts = [data["title"], data["why"]]
        for step in data["steps"]:
            texts += [step[k] for k in ("title", "notes", "bring") if k in step]
        for value in texts:
            assert set(value) == set(templates.LANGUAGES), data["id"]


def test_every_bring_list_has_the_same_items_in_every_language() -> None:
    for data in shipped():
        for step in data["steps"]:
            if "bring" in step:
                lengths = {lang: len(items) for lang, items in step["bring"].items()}
                assert len(set(lengths.values())) == 1, (data["id"], step["key"], lengths)


def test_kazakh_and_russian_texts_are_in_cyrillic() -> None:
    for data in shipped():
        texts = [data["title"], data["why"]] + [
            step[k] for step in data["steps"] for k in ("title", "notes", "bring") if k in step
        ]
        for value in texts:
            for lang in ("ru", "kk"):
                words = " ".join(value[lang]) if isinstance(value[lang], list) else value[lang]
                assert any("\u0400" <= c <= "\u04ff" for c in words), (data["id"], lang, words)


def test_loading_twice_changes_nothing(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["plans", "templates", "load"])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [f"{t}: loaded" for t in sorted(SHIPPED_IDS)]
    before = stored(app)
    assert sorted(before) == sorted(SHIPPED_IDS)

    again = runner.invoke(args=["plans", "templates", "load"])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines() == [f"{t}: unchanged" for t in sorted(SHIPPED_IDS)]
    assert stored(app) == before


def test_a_bad_file_loads_nothing(app: Flask, tmp_path: Path) -> None:
    good = json.loads((templates.SHIPPED / "state-id.json").read_text())
    (tmp_path / "a.json").write_text(json.dumps(good))
    (tmp_path / "b.json").write_text(json.dumps({**good, "id": "x", "area": "moon"}))
    result = app.test_cli_runner().invoke(args=["plans", "templates", "load", str(tmp_path)])
    assert result.exit_code == 1
    assert "b.json: area" in result.output


def _load_shipped(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["plans", "templates", "load"])
    assert result.exit_code == 0, result.output


def _set_locale(app: Flask, account_id: str, locale: str) -> None:
    # The profile API takes en and es only so far; the templates already speak ru and kk.
    with app.app_context(), app.extensions["homeward.db"].sessionmaker.begin() as db:
        account = db.get(Account, account_id)
        assert account is not None
        account.locale = locale


def test_the_list_shows_the_seven_in_order_in_english(app, client, member):
    _load_shipped(app)
    response = client.get(LIST, headers=member.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == 7
    assert [item["id"] for item in body["items"]] == SHIPPED_IDS
    english = {data["id"]: data for data in shipped()}
    for item in body["items"]:
        data = english[item["id"]]
        assert item["title"] == data["title"]["en"]
        assert item["step_titles"] == [step["title"]["en"] for step in data["steps"]]


def test_a_russian_speaking_member_sees_the_templates_in_russian(app, client, member):
    _load_shipped(app)
    _set_locale(app, member.account_id, "ru")
    body = client.get(LIST, headers=member.headers).get_json()
    by_id = {data["id"]: data for data in shipped()}
    assert [item["id"] for item in body["items"]] == SHIPPED_IDS
    for item in body["items"]:
        data = by_id[item["id"]]
        assert item["title"] == data["title"]["ru"]
        assert item["why"] == data["why"]["ru"]
        assert item["step_titles"] == [step["title"]["ru"] for step in data["steps"]]
    assert body["items"][-1]["title"] == "Мои условия надзора"

    whole = client.get(f"{LIST}/housing-search", headers=member.headers).get_json()
    steps = by_id["housing-search"]["steps"]
    assert [s["notes"] for s in whole["steps"]] == [s["notes"]["ru"] for s in steps]
    assert [s["bring"] for s in whole["steps"]] == [s.get("bring", {}).get("ru", []) for s in steps]
