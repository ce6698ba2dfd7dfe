"""The contract's appointment, calendar and SMS-webhook paths. Thin: parse, authorize,
call the operation, respond."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from api.accounts.auth import current_account, login_required
from api.accounts.models import Account, Role
from api.core.claims import created_or_retried
from api.core.db import get_session, utcnow
from api.core.errors import Problem
from api.core.extensions import accepts_form_body, limiter
from api.core.pagination import PageArgs, envelope
from reminders import calendar, inbound, schemas, service, step_reminders
from reminders.models import Appointment, Channel
from reminders.reach import Configured, Reach, reach

appointments_blp = Blueprint(
    "appointments",
    __name__,
    url_prefix="/api/v1/appointments",
    description="A member's appointments; reminders follow them.",
)
calendar_blp = Blueprint(
    "calendar",
    __name__,
    url_prefix="/api/v1",
    description="Calendar files and the member's private feed.",
)
step_reminders_blp = Blueprint(
    "step_reminders",
    __name__,
    url_prefix="/api/v1/plan/steps",
    description="What became of a plan step's reminders.",
)
webhooks_blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Callbacks from outside services.",
)

ICS = "text/calendar"


def _configured() -> Configured:
    return Configured.from_config(current_app.config)


class _Written:
    """An appointment as saved, with ``delivery``: what can reach the member now."""

    def __init__(self, appointment: Appointment, delivery: dict[str, Any]) -> None:
        self._appointment = appointment
        self.delivery = delivery

    def __getattr__(self, name: str) -> Any:
        return getattr(self._appointment, name)


def _delivery(
    member: Account, channels: list[str], now: dict[Channel, Reach]
) -> dict[str, dict[str, Any]]:
    return {c: now[Channel(c)].as_json(member.locale) for c in channels if Channel(c) in now}


def _written(appointment: Appointment) -> _Written:
    member = current_account()
    now = reach(get_session(), [member], _configured())[member.id]
    return _Written(appointment, _delivery(member, appointment.channels, now))


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype=ICS)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@appointments_blp.route("", methods=["GET"])
@login_required(Role.MEMBER)
@appointments_blp.arguments(schemas.AppointmentListArgs, location="query")
@appointments_blp.response(200, schemas.AppointmentPageSchema)
def list_appointments(args: dict[str, Any]) -> dict[str, Any]:
    """The member's appointments, by start time."""
    db, member = get_session(), current_account()
    items, total = service.list_own(db, member.id, **args)
    now = reach(db, [member], _configured())[member.id]
    shown = [_Written(item, _delivery(member, item.channels, now)) for item in items]
    return {"items": shown, "page": args["page"], "page_size": args["page_size"], "total": total}


@appointments_blp.route("", methods=["POST"])
@login_required(Role.MEMBER)
@appointments_blp.arguments(schemas.AppointmentCreateSchema)
@created_or_retried(appointments_blp, schemas.AppointmentSchema)
def create_appointment(body: dict[str, Any]) -> Any:
    """Create an appointment and plan its reminders. A retry with the same client id
    updates the appointment instead of creating a second one. ``delivery`` says, per
    chosen channel, whether its reminders can reach the member now."""
    db, member = get_session(), current_account()
    appointment, created = service.create(db, member, body, utcnow())
    return _written(appointment), created


@appointments_blp.route("/<id:appointment_id>", methods=["GET"])
@login_required(Role.MEMBER)
@appointments_blp.response(200, schemas.AppointmentSchema)
def get_appointment(appointment_id: str) -> Any:
    return _written(service.get_own(get_session(), current_account().id, appointment_id))


@appointments_blp.route("/<id:appointment_id>", methods=["PATCH"])
@login_required(Role.MEMBER)
@appointments_blp.arguments(schemas.AppointmentUpdateSchema)
@appointments_blp.response(200, schemas.AppointmentSchema)
def patch_appointment(changes: dict[str, Any], appointment_id: str) -> Any:
    """Change an appointment; its pending reminders are re-planned at once. ``delivery``
    as for a create."""
    db, member = get_session(), current_account()
    appointment = service.get_own(db, member.id, appointment_id)
    return _written(service.update(db, appointment, member, changes, utcnow()))


@appointments_blp.route("/<id:appointment_id>/reminders", methods=["GET"])
@login_required(Role.MEMBER)
@appointments_blp.arguments(PageArgs, location="query")
@appointments_blp.response(200, schemas.ReminderPageSchema)
def list_reminders(args: dict[str, Any], appointment_id: str) -> dict[str, Any]:
    """The appointment's planned reminders, by due time, each with the state of every
    channel's delivery (planned, sending, sent, failed, gave_up, skipped) and why."""
    db, member = get_session(), current_account()
    appointment = service.get_own(db, member.id, appointment_id)
    items, total = service.reminders_page(
        db, member, appointment, _configured(), args["page"], args["page_size"]
    )
    return envelope(items, total, args)


@step_reminders_blp.route("/<id:step_id>/reminders", methods=["GET"])
@login_required(Role.MEMBER)
@step_reminders_blp.arguments(PageArgs, location="query")
@step_reminders_blp.response(200, schemas.StepReminderPageSchema)
def list_step_reminders(args: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The plan step's reminders, by due time, each with the state of every channel's
    delivery and why one did not reach the member, as an appointment's are."""
    db, member = get_session(), current_account()
    items, total = step_reminders.reminders_page(
        db, member, step_id, _configured(), args["page"], args["page_size"]
    )
    return envelope(items, total, args)


@appointments_blp.route("/<id:appointment_id>", methods=["DELETE"])
@login_required(Role.MEMBER)
@appointments_blp.response(204)
def delete_appointment(appointment_id: str) -> None:
    """Delete an appointment and every reminder it had pending."""
    db = get_session()
    service.delete(db, service.get_own(db, current_account().id, appointment_id))


@appointments_blp.route("/<id:appointment_id>/calendar.ics", methods=["GET"])
@login_required(Role.MEMBER)
@appointments_blp.response(
    200, content_type=ICS, description="One VEVENT with a VALARM per reminder offset."
)
def appointment_calendar(appointment_id: str) -> Response:
    db, member = get_session(), current_account()
    appointment = service.get_own(db, member.id, appointment_id)
    return _ics(calendar.calendar([appointment], member, utcnow()), "appointment.ics")


@calendar_blp.route("/me/calendar-feed", methods=["POST"])
@login_required(Role.MEMBER)
@calendar_blp.response(201, schemas.CalendarFeedSchema)
def rotate_calendar_feed() -> dict[str, str]:
    """Create the private feed URL, or replace it: the old URL stops working at once."""
    token = service.rotate_calendar_feed(get_session(), current_account(), utcnow())
    base = request.host_url.rstrip("/")
    return {"url": f"{base}/api/v1/calendar/{token}.ics", "token": token}


@calendar_blp.route("/me/calendar-feed", methods=["DELETE"])
@login_required(Role.MEMBER)
@calendar_blp.response(204)
def revoke_calendar_feed() -> None:
    """Turn the private feed off."""
    service.revoke_calendar_feed(get_session(), current_account())


@calendar_blp.route("/calendar/<id:token>.ics", methods=["GET"])
@limiter.limit("120/minute")
@calendar_blp.response(200, content_type=ICS, description="The member's appointments.")
def calendar_feed(token: str) -> Response:
    """The member's private feed: the token in the URL is the only credential."""
    db = get_session()
    member = service.feed_owner(db, token)
    return _ics(calendar.calendar(service.all_own(db, member.id), member, utcnow()), "homeward.ics")


@webhooks_blp.route("/sms", methods=["POST"])
@accepts_form_body
@webhooks_blp.doc(
    requestBody={
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"From": {"type": "string"}, "Body": {"type": "string"}},
                }
            }
        }
    }
)
@webhooks_blp.response(200, content_type="text/xml", description="TwiML reply.")
def inbound_sms() -> Response:
    """Twilio's inbound-message webhook: STOP, START, HELP, and C to confirm."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        raise Problem(404, "SMS is not configured on this server.", kind="not-found")
    url = current_app.config.get("TWILIO_WEBHOOK_URL") or request.url
    signature = request.headers.get("X-Twilio-Signature", "")
    if not RequestValidator(token).validate(url, request.form.to_dict(), signature):
        raise Problem(403, "The request signature is not valid.", kind="bad-signature")
    phone, body = request.form.get("From", ""), request.form.get("Body", "")
    if not phone or len(phone) > 20 or len(body) > 1600:
        raise Problem(422, "From and Body are needed.", kind="validation-error")
    reply = inbound.handle_inbound_sms(get_session(), phone, body, utcnow())
    twiml = MessagingResponse()
    twiml.message(reply)
    return Response(str(twiml), mimetype="text/xml")
