"""Appointments, the reminder-delivery outbox, SMS opt-outs and private calendar feeds."""

from __future__ import annotations

import enum
import json
from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.core.crypto.sealed import SealedText
from api.core.db import Base, IdMixin, TimestampMixin, UTCDateTime, new_id, str_enum, utcnow
from api.sync.models import PENDING, SyncStampedOnRequest, SyncTracked, sync_indexes


class Kind(enum.StrEnum):
    SUPERVISION = "supervision"
    COURT = "court"
    TREATMENT = "treatment"
    MEDICAL = "medical"
    BENEFITS = "benefits"
    ID_DOCUMENTS = "id_documents"
    JOB_INTERVIEW = "job_interview"
    HOUSING = "housing"
    OTHER = "other"


class Status(enum.StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    ATTENDED = "attended"
    MISSED = "missed"
    CANCELLED = "cancelled"


# Appointments in these states still get reminders.
REMINDABLE = (Status.SCHEDULED, Status.CONFIRMED)


class Channel(enum.StrEnum):
    PUSH = "push"
    SMS = "sms"
    # In the app, on the recipient's next sync (help alerts to mentors): never claimed by
    # the dispatcher; the pull that carries it to the phone marks it sent.
    APP = "app"


# What a member may choose for an appointment's reminders.
APPOINTMENT_CHANNELS = (Channel.PUSH, Channel.SMS)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for due_at
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"
    FAILED = "failed"  # gave up after the retry cap; last_error says why
    SKIPPED = "skipped"  # nothing to send to, or too late; last_error says why
    CANCELLED = "cancelled"  # the plan changed before it was due


class Appointment(SyncTracked, TimestampMixin, Base):
    __tablename__ = "appointments"

    # Client-supplied (the phone creates records offline) or generated.
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # Free text the member wrote ("Court date: see PO"): only ciphertext (api.core.crypto).
    title_sealed: Mapped[str] = mapped_column("title", Text)
    kind: Mapped[Kind] = mapped_column(str_enum(Kind, "appointment_kind"))
    # Wall-clock time where the appointment happens, plus its IANA zone: local stays local.
    starts_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    ends_local: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    timezone: Mapped[str] = mapped_column(String(64))
    # Free text too: the columns hold only ciphertext.
    location_sealed: Mapped[str | None] = mapped_column("location", Text)
    notes_sealed: Mapped[str | None] = mapped_column("notes", Text)
    # What to take along: a JSON list of short strings, sealed as one text.
    bring_sealed: Mapped[str | None] = mapped_column("bring", Text)
    recurrence: Mapped[str | None] = mapped_column(String(500))
    reminder_offsets: Mapped[list[str]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[Status] = mapped_column(
        str_enum(Status, "appointment_status"), default=Status.SCHEDULED
    )
    # Recurring appointments are planned up to here; a periodic job moves it forward.
    planned_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    title = SealedText("title_sealed")
    location = SealedText("location_sealed")
    notes = SealedText("notes_sealed")
    bring_text = SealedText("bring_sealed")

    @property
    def bring(self) -> list[str]:
        """What to take along, as a list (stored sealed, as one JSON text)."""
        text = self.bring_text
        return list(json.loads(text)) if text else []

    @bring.setter
    def bring(self, items: list[str] | None) -> None:
        self.bring_text = json.dumps(items, ensure_ascii=False) if items else None

    __table_args__ = (
        Index("ix_appointments_member_id_starts_local", "member_id", "starts_local"),
        *sync_indexes("appointments", "member_id"),
    )


class NoticeKind(enum.StrEnum):
    REMINDER = "reminder"  # of an appointment, to its member
    HELP_ALERT = "help_alert"  # a member asked for help, to a mentor with that scope
    STEP_REMINDER = "step_reminder"  # a step of the member's plan is due, to its member


CLAIMABLE = text("state = 'pending' AND channel <> 'app'")
LEASED = text("state = 'sending'")


class ReminderDelivery(SyncStampedOnRequest, IdMixin, Base):
    """The outbox: one row per notice and channel, claimed with a lease.

    A reminder's key is (appointment, occurrence, offset, channel); a plan step's
    reminder's is (step, occurrence, offset, channel), its occurrence being when the step
    is due. Other notices (see
    ``NoticeKind``) name what they are about in ``subject_id``, keyed (subject, recipient,
    channel); their ``occurrence_at`` is the moment after which they are no use.
    """

    __tablename__ = "reminder_deliveries"

    kind: Mapped[NoticeKind] = mapped_column(
        str_enum(NoticeKind, "notice_kind", length=16),
        default=NoticeKind.REMINDER,
        server_default=NoticeKind.REMINDER.value,
    )
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    # A reminder of a plan step (NoticeKind.STEP_REMINDER): deleting the step deletes it.
    step_id: Mapped[str | None] = mapped_column(ForeignKey("plan_steps.id", ondelete="CASCADE"))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    # The recipient.
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # Whose record the notice is about, when that is not the recipient: erasing them
    # erases the notice.
    about_member_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE")
    )
    occurrence_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offset_key: Mapped[str] = mapped_column(String(16))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "reminder_channel"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # sync_version (SyncStampedOnRequest): the synced ``reminders`` table's own change
    # tracking, NULL when the row is new or the dispatcher settled it, stamped at commit.
    # No trigger: a claim ('sending') is not news worth the clock's lock.

    __table_args__ = (
        UniqueConstraint(
            "appointment_id",
            "occurrence_local",
            "offset_key",
            "channel",
            name="uq_reminder_deliveries_plan_key",
        ),
        UniqueConstraint(
            "subject_id", "member_id", "channel", name="uq_reminder_deliveries_notice_key"
        ),
        Index(
            "uq_reminder_deliveries_step_key",
            "step_id",
            "occurrence_local",
            "offset_key",
            "channel",
            unique=True,
        ),
        # The dispatcher's two claim scans, over unsettled rows only (reminders/outbox.py).
        Index(
            "ix_reminder_deliveries_claimable",
            "due_at",
            sqlite_where=CLAIMABLE,
            postgresql_where=CLAIMABLE,
        ),
        Index(
            "ix_reminder_deliveries_leased",
            "lease_until",
            sqlite_where=LEASED,
            postgresql_where=LEASED,
        ),
        Index(
            "ix_reminder_deliveries_sync_pending",
            "id",
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        ),
        Index("ix_reminder_deliveries_member_id_sync_version", "member_id", "sync_version"),
    )


class SmsOptOut(Base):
    """A number that sent STOP gets nothing more until it sends START."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(Base):
    """The member's private calendar feed; the URL token is stored only as a digest."""

    __tablename__ = "calendar_feeds"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
