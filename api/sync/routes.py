"""The sync paths (WatermelonDB's pull and push) and the member's listing area.
Thin: parse, authorize, call the operation, respond."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.core.db import get_session, utcnow
from api.core.errors import Problem
from api.core.extensions import accepts_any_body
from api.sync import area, pull, push, schemas

sync_blp = Blueprint(
    "sync",
    __name__,
    url_prefix="/api/v1/sync",
    description="WatermelonDB's sync protocol: pull changes, push changes (docs/sync.md).",
)
area_blp = Blueprint(
    "area",
    __name__,
    url_prefix="/api/v1/me/area",
    description="Where the member wants listings synced to the phone.",
)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


@sync_blp.route("", methods=["GET"])
@login_required(Role.MEMBER, Role.MENTOR)
@sync_blp.arguments(schemas.PullArgs, location="query")
@sync_blp.doc(responses={200: {"description": "`{changes, timestamp}` (docs/sync.md)."}})
def pull_changes(args: dict[str, Any]) -> Response:
    """Everything that changed since `last_pulled_at` that the caller may see."""
    answer = pull.pull(get_session(), current_account(), args["last_pulled_at"], args["migration"])
    return _json(answer)


@sync_blp.route("", methods=["POST"])
@accepts_any_body
@login_required(Role.MEMBER, Role.MENTOR)
@sync_blp.arguments(schemas.PushArgs, location="query")
@sync_blp.doc(
    requestBody={"content": {"application/json": {"schema": {"type": "object"}}}},
    responses={
        200: {"description": "`{experimentalRejectedIds}`"},
        409: {"description": "A record changed on the server after the last pull."},
    },
)
def push_changes(args: dict[str, Any]) -> Response:
    """Apply the phone's changes in one transaction (409 and nothing applied on a conflict).
    Send `Idempotency-Key` to make a retry return the first answer."""
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise Problem(422, "The body is not JSON.", kind="invalid-changes") from None
    changes = push.parse(body)
    db, account, now = get_session(), current_account(), utcnow()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _KEY.match(key):
        raise Problem(
            422, "Idempotency-Key must be 1 to 200 visible ASCII characters.", kind="invalid-key"
        )
    since = args["last_pulled_at"]
    if key is not None:
        first = push.replayed(db, account, key, push.digest(since, raw), now)
        if first is not None:
            return _json(first)
    answer = push.apply(db, account, since, changes, now)
    if key is not None:
        push.remember(db, account, key, answer)
    return _json(answer)


@area_blp.route("", methods=["GET"])
@login_required(Role.MEMBER)
@area_blp.response(200, schemas.AreaSchema)
def get_area() -> Any:
    return area.get(get_session(), current_account())


@area_blp.route("", methods=["PUT"])
@login_required(Role.MEMBER)
@area_blp.arguments(schemas.AreaSchema)
@area_blp.response(200, schemas.AreaSchema)
def put_area(body: dict[str, Any]) -> Any:
    """Set the area; the next pull replaces the phone's listings with the new area's."""
    return area.put(get_session(), current_account(), body, utcnow())


@area_blp.route("", methods=["DELETE"])
@login_required(Role.MEMBER)
@area_blp.response(204)
def delete_area() -> None:
    area.delete(get_session(), current_account())
