"""A member's data key, stored only wrapped (encrypted) under a master key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow


class MemberKey(Base):
    __tablename__ = "member_keys"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # Which master key wrapped it (a digest of the key, never the key).
    master_key_id: Mapped[str] = mapped_column(String(16))
    # nonce (12 bytes) || AES-256-GCM ciphertext of the 32-byte data key || tag
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
