"""Helpers the plan tests share."""

from __future__ import annotations

from typing import Any


def query_string(query: dict[str, Any]) -> list[tuple[str, str]]:
    """The query as the phone sends it: lists as repeated parameters, booleans as words."""
    pairs: list[tuple[str, str]] = []
    for name, value in query.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, str(one).lower() if isinstance(one, bool) else str(one)))
    return pairs
