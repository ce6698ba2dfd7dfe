"""Shapes of the sync paths. The changes object itself is checked in push.parse (its table
names are data, so a schema of fixed fields cannot describe it)."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma


class Timestamp(ma.fields.Field[int]):
    """``last_pulled_at``: a non-negative integer; absent, empty, 'null' or 0 mean never."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"type": "string", "example": "1764100000000"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if value in ("", "null", "undefined", None):
            return 0
        text = str(value)
        if not text.isdigit() or len(text) > 18:
            raise ma.ValidationError(
                "Give the 'timestamp' of your last pull (a whole number), or null for a first sync."
            )
        return int(text)


class Migration(ma.fields.Field[dict[str, Any] | None]):
    """``migration``: JSON {from, tables, columns} or null, as WatermelonDB sends it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"type": "string", "example": "null"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value in ("", "null", "undefined", None):
            return None
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError):
            raise ma.ValidationError("'migration' must be JSON (or null).") from None
        if parsed is None:
            return None
        if not isinstance(parsed, dict):
            raise ma.ValidationError("'migration' must be an object {from, tables, columns}.")
        start = parsed.get("from")
        if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
            raise ma.ValidationError("'migration.from' must be a schema version (a whole number).")
        tables = parsed.get("tables") or []
        columns = parsed.get("columns") or []
        if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
            raise ma.ValidationError("'migration.tables' must be a list of table names.")
        if not isinstance(columns, list) or not all(
            isinstance(c, dict)
            and isinstance(c.get("table"), str)
            and isinstance(c.get("columns", []), list)
            for c in columns
        ):
            raise ma.ValidationError("'migration.columns' must be a list of {table, columns}.")
        return {"tables": tables, "columns": columns}


class PullArgs(ma.Schema):
    last_pulled_at = Timestamp(load_default=0)
    schema_version = ma.fields.Integer(
        load_default=1, validate=ma.validate.Range(min=1, max=1_000_000)
    )
    migration = Migration(load_default=None)


class PushArgs(ma.Schema):
    last_pulled_at = Timestamp(required=True)


class AreaSchema(ma.Schema):
    latitude = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))
    longitude = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))
    radius_km = ma.fields.Float(
        required=True, validate=ma.validate.Range(min=0, max=100, min_inclusive=False)
    )
