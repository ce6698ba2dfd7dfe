"""What a mentor sees of a mentee's appointments: times and status only, never title,
kind, notes or location. ``api.mentors.access`` decides the read (the grant's
``appointments.times`` scope) and logs it; this reads the page, and is installed on the
app from reminders' side (``register``), as mentors may not import reminders."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.pagination import paginate
from api.mentors import access
from reminders.models import Appointment

LOCAL = "%Y-%m-%dT%H:%M"


def appointment_times(
    db: Session, member_id: str, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the member's appointments, by start, shaped for a mentor."""
    # share_history is about check-ins; appointment times are shown whenever they were made.
    query = (
        select(Appointment)
        .where(Appointment.member_id == member_id)
        .order_by(Appointment.starts_local, Appointment.id)
    )
    appointments, total = paginate(db, query, page, page_size)
    return [
        {
            "id": a.id,
            "starts_at": a.starts_local.strftime(LOCAL),
            "ends_at": a.ends_local.strftime(LOCAL) if a.ends_local else None,
            "timezone": a.timezone,
            "status": a.status.value,
        }
        for a in appointments
    ], total


def register(app: Flask) -> None:
    access.install_appointment_times(app, appointment_times)
