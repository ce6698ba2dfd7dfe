"""Create with a claim: a record whose id the phone chose (it creates records offline) is
created once, and a retry of the same create gets the same row back to update instead of
a second row or an error.

The id is claimed with INSERT ... ON CONFLICT DO NOTHING, so a retry racing the first
request waits for it and then updates, instead of failing on the key. An id that another
account already uses is a 409: the phone picks another.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.core.db import Base, insert_ignoring_conflicts
from api.core.errors import Problem

M = TypeVar("M", bound=Base)
F = TypeVar("F", bound=Callable[..., Any])


def claim(
    db: Session, model: type[M], row: dict[str, Any], *, owner: str, owner_id: str
) -> tuple[M, bool]:
    """Insert ``row`` unless its id exists; the row with that id, and whether this call
    inserted it. Someone else's row (``owner`` column not ``owner_id``): 409."""
    claimed = insert_ignoring_conflicts(db, model, [row], ["id"])
    found = db.get(model, row["id"], populate_existing=True)
    assert found is not None
    if getattr(found, owner) != owner_id:
        raise Problem(
            409,
            "This id is already in use; let the phone pick another.",
            kind="id-conflict",
            errors={"id": ["Already in use."]},
        )
    return found, bool(claimed)


def created_or_retried(blp: Blueprint, schema: type[ma.Schema]) -> Callable[[F], F]:
    """The answers of a create with a claim: the view returns (record, created); the
    answer is 201 when created, 200 when a retry updated the record its id already named."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def answer(*args: Any, **kwargs: Any) -> tuple[Any, int]:
            record, created = view(*args, **kwargs)
            return record, 201 if created else 200

        documented = blp.alt_response(
            200, schema=schema, description="The id already existed: the retry updated it."
        )(answer)
        return blp.response(201, schema)(documented)  # type: ignore[no-any-return]  # untyped

    return decorate
