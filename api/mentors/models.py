"""Invites, grants and the access log."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, IdMixin, UTCDateTime, utcnow
from api.sync.models import SyncTracked, sync_indexes


class Scope(enum.StrEnum):
    CHECKIN_MOOD = "checkins.mood"
    CHECKIN_NEEDS = "checkins.needs"
    CHECKIN_FULL = "checkins.full"
    APPOINTMENT_TIMES = "appointments.times"
    HELP_ALERTS = "help_alerts"
    # The reentry plan: goals and steps, titles, statuses and dates; or all of it.
    PLAN_PROGRESS = "plan.progress"
    PLAN_FULL = "plan.full"


CHECKIN_SCOPES = {Scope.CHECKIN_MOOD, Scope.CHECKIN_NEEDS, Scope.CHECKIN_FULL}
PLAN_SCOPES = {Scope.PLAN_PROGRESS, Scope.PLAN_FULL}


class Invite(IdMixin, Base):
    """A single-use code a member hands to a mentor, with the terms of the grant."""

    __tablename__ = "invites"

    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    share_history: Mapped[bool] = mapped_column(Boolean, default=False)
    grant_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_invites_member_id", "member_id"),)


class Grant(SyncTracked, IdMixin, Base):
    """What one member shares with one mentor: scopes, from when, until when."""

    __tablename__ = "grants"

    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    mentor_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # False: the mentor sees only check-ins made after the grant began.
    share_history: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(16))  # "member" | "mentor"

    __table_args__ = (
        Index("ix_grants_member_id", "member_id"),
        Index("ix_grants_mentor_id", "mentor_id"),
        *sync_indexes("grants"),
    )

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class AccessLogEntry(IdMixin, Base):
    """One mentor read of a member's data: who, what, which records, when, under which grant."""

    __tablename__ = "access_log"

    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # Kept (as null) if the mentor later erases their account: the member's log stays.
    mentor_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    record_ids: Mapped[list[str]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_access_log_member_id_at", "member_id", "at"),)
