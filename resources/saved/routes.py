"""A member's saved listings: list, save, remove. Thin."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from resources.saved import schemas, service

saved_blp = Blueprint(
    "saved", __name__, url_prefix="/api/v1/me/saved", description="A member's saved listings."
)


@saved_blp.route("", methods=["GET"])
@login_required(Role.MEMBER)
@saved_blp.response(200, schemas.SavedSchema(many=True))
def list_saved() -> list[dict[str, Any]]:
    return service.saved(get_session(), current_account().id)


@saved_blp.route("/<id:resource_id>", methods=["PUT"])
@login_required(Role.MEMBER)
@saved_blp.response(201, schemas.SavedSchema)
@saved_blp.alt_response(200, schema=schemas.SavedSchema, description="It was saved already.")
def save_listing(resource_id: str) -> Any:
    """Save a service or a job; saving it again changes nothing."""
    saved, created = service.save(get_session(), current_account(), resource_id, utcnow())
    return saved, 201 if created else 200


@saved_blp.route("/<id:resource_id>", methods=["DELETE"])
@login_required(Role.MEMBER)
@saved_blp.response(204)
def unsave_listing(resource_id: str) -> None:
    service.unsave(get_session(), current_account(), resource_id)
