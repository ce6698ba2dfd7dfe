"""Accounts, their sessions (one per signed-in device), refresh tokens and recovery codes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.db import Base, IdMixin, TimestampMixin, UTCDateTime, str_enum, utcnow


class NotificationDetail(enum.StrEnum):
    # Discreet: reminder texts never name the kind of appointment or its title.
    DISCREET = "discreet"
    DETAILED = "detailed"


class Role(enum.StrEnum):
    MEMBER = "member"
    MENTOR = "mentor"
    STAFF = "staff"
    ADMIN = "admin"


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "accounts"

    # What the person typed, for display; uniqueness is on the case-folded key.
    username: Mapped[str] = mapped_column(String(32))
    username_key: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "account_role", length=16))
    display_name: Mapped[str | None] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    phone: Mapped[str | None] = mapped_column(String(20))
    # Quiet hours as local "HH:MM"; both set or both empty. May wrap midnight.
    quiet_hours_start: Mapped[str | None] = mapped_column(String(5))
    quiet_hours_end: Mapped[str | None] = mapped_column(String(5))
    notification_detail: Mapped[NotificationDetail] = mapped_column(
        str_enum(NotificationDetail, "notification_detail"),
        default=NotificationDetail.DISCREET,
        server_default=NotificationDetail.DISCREET.value,
    )
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The organization a staff account edits is the directory's to know
    # (resources.editors.models.DirectoryEditor), so accounts point at no other domain.
    # Set by an operator (`flask users disable`): every session ended, sign-in refused.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sessions: Mapped[list[AuthSession]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )


class AuthSession(IdMixin, Base):
    """One signed-in device: the family of refresh tokens that rotate from one sign-in."""

    __tablename__ = "auth_sessions"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    device_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Sliding: pushed forward on every refresh, never past absolute_expires_at.
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    absolute_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    account: Mapped[Account] = relationship(back_populates="sessions")

    __table_args__ = (Index("ix_auth_sessions_account_id", "account_id"),)

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.absolute_expires_at


class RefreshToken(IdMixin, Base):
    __tablename__ = "refresh_tokens"

    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the token is exchanged; a token presented again after that is a replay.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)


class RecoveryCode(IdMixin, Base):
    __tablename__ = "recovery_codes"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_recovery_codes_account_id", "account_id"),)


class Device(IdMixin, Base):
    """A place to push notifications to: a Web Push subscription of the member's phone."""

    __tablename__ = "devices"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="webpush")
    name: Mapped[str | None] = mapped_column(String(80))
    endpoint: Mapped[str] = mapped_column(Text)
    # Digest of the endpoint: re-registering the same subscription updates, never doubles.
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_devices_account_id", "account_id"),)
