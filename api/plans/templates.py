"""Plan templates: loading the data files, reading them in a locale, adopting one.

A template file (``api/plans/templates/<id>.json``) has exactly this shape::

    {"id": "state-id", "area": "id_documents", "position": 1,
     "title": {"en": "...", "es": "...", "ru": "...", "kk": "..."},
     "why": {...same languages...},
     "steps": [{"key": "birth-certificate", "title": {...}, "notes": {...},
                "bring": {"en": ["..."], ...},
                "directory_query": {"category": ["..."], "requires_id": false}}]}

Texts are keyed by language (en required; es, ru, kk allowed). ``notes``, ``bring`` and
``directory_query`` are optional; ``directory_query`` holds GET /api/v1/resources
parameters by their exact names, so the same search can be run later.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.errors import not_found
from api.plans import links
from api.plans.models import Area, PlanGoal, PlanStep, PlanTemplate

SHIPPED = Path(__file__).parent / "templates"
LANGUAGES = ("en", "es", "ru", "kk")
TOP_KEYS = {"id", "area", "position", "title", "why", "steps"}
STEP_KEYS = {"key", "title", "notes", "bring", "directory_query"}


class TemplateError(ValueError):
    """A template file that is not as documented; the message names the file and field."""


def _texts(where: str, value: Any, *, lists: bool = False) -> None:
    if not isinstance(value, dict) or "en" not in value:
        raise TemplateError(f"{where}: needs an object with at least an 'en' text")
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise TemplateError(f"{where}: language {lang!r} is not one of {LANGUAGES}")
        ok = (
            isinstance(text, list) and all(isinstance(t, str) and t for t in text)
            if lists
            else isinstance(text, str) and text.strip()
        )
        if not ok:
            raise TemplateError(f"{where}.{lang}: must be a non-empty text")


def _check_step(name: str, i: int, step: Any) -> None:
    where = f"{name}: steps[{i}]"
    if not isinstance(step, dict):
        raise TemplateError(f"{where}: must be an object")
    unknown = set(step) - STEP_KEYS
    if unknown:
        raise TemplateError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    if not isinstance(step.get("key"), str) or not step["key"]:
        raise TemplateError(f"{where}.key: required")
    _texts(f"{where}.title", step.get("title"))
    if "notes" in step:
        _texts(f"{where}.notes", step["notes"])
    if "bring" in step:
        _texts(f"{where}.bring", step["bring"], lists=True)
    if "directory_query" in step and not isinstance(step["directory_query"], dict):
        raise TemplateError(f"{where}.directory_query: must be an object")


def validate(name: str, data: Any) -> dict[str, Any]:
    """``data`` if it is a template as documented; else a TemplateError naming the field."""
    if not isinstance(data, dict):
        raise TemplateError(f"{name}: must be a JSON object")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise TemplateError(f"{name}: unknown field {sorted(unknown)[0]!r}")
    if not isinstance(data.get("id"), str) or not data["id"] or len(data["id"]) > 64:
        raise TemplateError(f"{name}: id: required, at most 64 characters")
    if data.get("area") not in {a.value for a in Area}:
        raise TemplateError(f"{name}: area: {data.get('area')!r} is not a plan area")
    if not isinstance(data.get("position", 0), int):
        raise TemplateError(f"{name}: position: must be a whole number")
    _texts(f"{name}: title", data.get("title"))
    if "why" in data:
        _texts(f"{name}: why", data["why"])
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise TemplateError(f"{name}: steps: needs at least one step")
    for i, step in enumerate(steps):
        _check_step(name, i, step)
    return data


def digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_files(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every template under ``path`` (a file or a folder of *.json), all validated."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    read: list[tuple[Path, dict[str, Any]]] = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TemplateError(f"{file.name}: not readable JSON ({error})") from error
        read.append((file, validate(file.name, data)))
    ids = [data["id"] for _, data in read]
    if len(ids) != len(set(ids)):
        raise TemplateError(f"{path}: the same id is in two files")
    return read


def check_queries(read: list[tuple[Path, dict[str, Any]]]) -> None:
    """Every step's directory search is one the installed directory can run."""
    if not has_app_context():
        return
    for file, data in read:
        for i, step in enumerate(data["steps"]):
            refused = links.query_refusals(current_app, step.get("directory_query") or {})
            if refused:
                raise TemplateError(
                    f"{file.name}: steps[{i}].directory_query: the directory's search refuses "
                    + ", ".join(refused)
                )


def load(db: Session, path: Path, now: datetime) -> list[tuple[str, str]]:
    """Upsert every template under ``path`` by id: (id, loaded|updated|unchanged)."""
    done: list[tuple[str, str]] = []
    read = read_files(path)
    check_queries(read)
    for file, data in read:
        sha = digest(data)
        row = db.get(PlanTemplate, data["id"])
        if row is not None and row.digest == sha:
            done.append((data["id"], "unchanged"))
            continue
        if row is None:
            row = PlanTemplate(id=data["id"], created_at=now)
            db.add(row)
        state = "loaded" if row.digest is None else "updated"
        row.area, row.position = Area(data["area"]), data.get("position", 0)
        row.content, row.digest, row.source, row.updated_at = data, sha, file.name, now
        done.append((data["id"], state))
    db.flush()
    return done


def text(value: Any, locale: str) -> Any:
    """The text in ``locale``, else English."""
    if not isinstance(value, dict):
        return None
    return value.get(locale, value.get("en"))


def get(db: Session, template_id: str) -> PlanTemplate:
    row = db.get(PlanTemplate, template_id)
    if row is None:
        raise not_found("template")
    return row


def list_all(db: Session, page: int, page_size: int) -> tuple[list[PlanTemplate], int]:
    from api.core.pagination import paginate

    query = select(PlanTemplate).order_by(PlanTemplate.position, PlanTemplate.id)
    return paginate(db, query, page, page_size)


def view(row: PlanTemplate, locale: str, *, whole: bool) -> dict[str, Any]:
    """The template in ``locale``: a summary, or ``whole`` with each step's details."""
    content = row.content
    steps: list[dict[str, Any]] = list(content["steps"])  # type: ignore[call-overload]
    out: dict[str, Any] = {
        "id": row.id,
        "area": row.area.value,
        "position": row.position,
        "title": text(content["title"], locale),
        "why": text(content.get("why"), locale),
        "step_count": len(steps),
        "step_titles": [text(s["title"], locale) for s in steps],
    }
    if whole:
        out["steps"] = [_step_view(s, locale) for s in steps]
    return out


def _step_view(step: dict[str, Any], locale: str) -> dict[str, Any]:
    return {
        "key": step["key"],
        "title": text(step["title"], locale),
        "notes": text(step.get("notes"), locale),
        "bring": text(step.get("bring"), locale) or [],
        "directory_query": step.get("directory_query"),
    }


GOAL_FIELDS = ("id", "title", "why", "target_date", "position")


def adopt(
    db: Session,
    member: Any,
    goal: PlanGoal,
    row: PlanTemplate,
    fields: dict[str, Any],
    now: datetime,
) -> PlanGoal:
    """Copy the template into the member's plan, in their locale: ``goal`` (a new goal of
    the member's, already claimed under its id) takes the template's title and why, then
    ``fields`` (title, why, target_date, position, as the member sent them), and gets the
    template's steps. From then on the goal is the member's; the template is untouched."""
    shown = view(row, getattr(member, "locale", "en") or "en", whole=True)
    goal.area, goal.template_id = row.area, row.id
    goal.title, goal.why = shown["title"], shown["why"]
    for name in GOAL_FIELDS:
        if fields.get(name) is not None:
            setattr(goal, name, fields[name])
    db.flush()
    for position, step in enumerate(shown["steps"]):
        added = PlanStep(goal_id=goal.id, member_id=member.id, position=position)
        added.title, added.notes = step["title"], step["notes"]
        added.bring_text = json.dumps(step["bring"], ensure_ascii=False) if step["bring"] else None
        added.directory_query = step["directory_query"]
        added.created_at = added.updated_at = now
        db.add(added)
    db.flush()
    return goal
