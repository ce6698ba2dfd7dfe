"""Plan templates: the shipped folder loads idempotently, bad files are refused, and
every shipped text is in all four languages."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from api.plans import templates


def test_shipped_files_have_every_language() -> None:
    for _, data in templates.read_files(templates.SHIPPED):
        texts = [data["title"], data["why"]]
        for step in data["steps"]:
            texts += [step[k] for k in ("title", "notes", "bring") if k in step]
        for value in texts:
            assert set(value) == set(templates.LANGUAGES), data["id"]


def test_loading_twice_changes_nothing(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["plans", "templates", "load"])
    assert first.exit_code == 0, first.output
    assert "state-id: loaded" in first.output
    again = runner.invoke(args=["plans", "templates", "load"])
    assert again.exit_code == 0
    assert "state-id: unchanged" in again.output


def test_a_bad_file_loads_nothing(app: Flask, tmp_path: Path) -> None:
    good = json.loads((templates.SHIPPED / "state-id.json").read_text())
    (tmp_path / "a.json").write_text(json.dumps(good))
    (tmp_path / "b.json").write_text(json.dumps({**good, "id": "x", "area": "moon"}))
    result = app.test_cli_runner().invoke(args=["plans", "templates", "load", str(tmp_path)])
    assert result.exit_code == 1
    assert "b.json: area" in result.output
