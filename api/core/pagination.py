"""Page arguments and the page envelope every list of this API answers with."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    page_size = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{items, page, page_size, total}`` around ``item``."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item), required=True),
            "page": ma.fields.Integer(required=True),
            "page_size": ma.fields.Integer(required=True),
            "total": ma.fields.Integer(required=True),
        },
        name=name,
    )


def paginate(
    db: Session,
    query: Select[*tuple[Any, ...]],
    page: int,
    page_size: int,
    *,
    rows: bool = False,
) -> tuple[list[Any], int]:
    """One page of ``query`` (already ordered) and the total count: its first column's
    values, or with ``rows`` the whole rows. The one way every list of this API pages."""
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page_query = query.limit(page_size).offset((page - 1) * page_size)
    items = db.execute(page_query).all() if rows else db.scalars(page_query).all()
    return list(items), total


def envelope(items: list[Any], total: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"items": items, "page": args["page"], "page_size": args["page_size"], "total": total}
