"""Check-ins and mentors' responses. Free text is sealed with the member's data key."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.crypto.sealed import SealedText
from api.core.db import Base, TimestampMixin, UTCDateTime, new_id, utcnow
from api.sync.models import SyncTracked, sync_indexes


class Need(enum.StrEnum):
    HOUSING = "housing"
    WORK = "work"
    FOOD = "food"
    TRANSPORT = "transport"
    HEALTH = "health"
    LEGAL = "legal"
    ID = "id"
    FAMILY = "family"
    SUPPORT = "support"


class Checkin(SyncTracked, TimestampMixin, Base):
    __tablename__ = "checkins"

    # Client-supplied (made offline on the phone) or generated.
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    mood: Mapped[int] = mapped_column(Integer)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    help_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the phone says it was made; shown, never used for ordering or visibility alone.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    wins_sealed: Mapped[str | None] = mapped_column("wins", Text)
    note_sealed: Mapped[str | None] = mapped_column("note", Text)
    # A place label the member typed ("library"); never coordinates.
    place_sealed: Mapped[str | None] = mapped_column("place", Text)

    wins = SealedText("wins_sealed")
    note = SealedText("note_sealed")
    place = SealedText("place_sealed")

    __table_args__ = (
        Index("ix_checkins_member_id_created_at", "member_id", "created_at"),
        *sync_indexes("checkins", "member_id"),
    )


class CheckinResponse(SyncTracked, Base):
    """A mentor's short reply to a check-in, sealed under the member's key (it is part of
    the member's record, and goes with it on erasure)."""

    __tablename__ = "checkin_responses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    checkin_id: Mapped[str] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # The mentor may erase their own account; the member keeps the reply.
    mentor_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    body_sealed: Mapped[str] = mapped_column("body", Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    body = SealedText("body_sealed")

    __table_args__ = (
        Index("ix_checkin_responses_checkin_id", "checkin_id"),
        Index("ix_checkin_responses_member_id", "member_id"),
        *sync_indexes("checkin_responses", "member_id"),
    )
