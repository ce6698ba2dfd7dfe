"""The contract's check-in paths. Thin: parse, authorize, call the operation, respond."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.accounts.auth import current_account, login_required
from api.accounts.models import Role
from api.checkins import schemas, service
from api.checkins.models import Checkin
from api.core.claims import created_or_retried
from api.core.db import get_session, utcnow
from api.core.pagination import PageArgs, envelope
from api.mentors import access, alerts

checkins_blp = Blueprint(
    "checkins",
    __name__,
    url_prefix="/api/v1/checkins",
    description="A member's own check-ins: private unless shared by a grant.",
)


def _written(checkin: Checkin) -> dict[str, Any]:
    """The check-in; when it asks for help, who that reaches now."""
    db, member = get_session(), current_account()
    view = service.member_view(db, [checkin])[0]
    help_answer = alerts.help_answer(db, member, checkin, utcnow())
    return view if help_answer is None else {**view, "help": help_answer}


@checkins_blp.route("", methods=["GET"])
@login_required(Role.MEMBER)
@checkins_blp.arguments(PageArgs, location="query")
@checkins_blp.response(200, schemas.CheckinPageSchema)
def list_checkins(args: dict[str, Any]) -> dict[str, Any]:
    """The member's check-ins, newest first, with mentors' replies."""
    db = get_session()
    checkins, total = service.list_own(db, current_account().id, **args)
    return envelope(service.member_view(db, checkins), total, args)


@checkins_blp.route("", methods=["POST"])
@login_required(Role.MEMBER)
@checkins_blp.arguments(schemas.CheckinCreateSchema)
@created_or_retried(checkins_blp, schemas.CheckinSchema)
def create_checkin(body: dict[str, Any]) -> Any:
    """Record a check-in. With help_requested, mentors with help_alerts are told, and
    ``help`` says who is reached now and how. A retry with the same client id updates the
    check-in instead of making a second."""
    db = get_session()
    checkin, created = service.create(db, current_account(), body, utcnow())
    return _written(checkin), created


@checkins_blp.route("/<id:checkin_id>", methods=["GET"])
@login_required(Role.MEMBER)
@checkins_blp.response(200, schemas.CheckinSchema)
def get_checkin(checkin_id: str) -> Any:
    """One of the member's own check-ins, with the replies of the mentors it was shared
    with. Someone else's id answers 404, as an id that never existed does."""
    return _written(service.get_own(get_session(), current_account().id, checkin_id))


@checkins_blp.route("/<id:checkin_id>", methods=["PATCH"])
@login_required(Role.MEMBER)
@checkins_blp.arguments(schemas.CheckinUpdateSchema)
@checkins_blp.response(200, schemas.CheckinSchema)
def patch_checkin(changes: dict[str, Any], checkin_id: str) -> Any:
    """Change a check-in; only the fields sent change. Mentors it is shared with see the
    new version on their next sync."""
    db = get_session()
    checkin = service.get_own(db, current_account().id, checkin_id)
    return _written(service.update(db, checkin, changes, utcnow()))


@checkins_blp.route("/<id:checkin_id>", methods=["DELETE"])
@login_required(Role.MEMBER)
@checkins_blp.response(204)
def delete_checkin(checkin_id: str) -> None:
    db = get_session()
    service.delete(db, service.get_own(db, current_account().id, checkin_id))


@checkins_blp.route("/<id:checkin_id>/responses", methods=["POST"])
@login_required(Role.MENTOR)
@checkins_blp.arguments(schemas.ResponseCreateSchema)
@checkins_blp.response(201, schemas.ResponseSchema)
def respond(body: dict[str, Any], checkin_id: str) -> Any:
    """A mentor's short reply to a check-in their grant lets them see; the member sees it."""
    db, mentor, now = get_session(), current_account(), utcnow()
    checkin = access.checkin_to_respond_to(db, mentor, checkin_id, now)
    response = service.respond(db, checkin, mentor, body["body"], now)
    return {
        "id": response.id,
        "checkin_id": checkin.id,
        "mentor_id": mentor.id,
        "mentor_name": mentor.display_name or mentor.username,
        "body": response.body,
        "created_at": response.created_at,
    }
