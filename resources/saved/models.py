"""Members' saved listings: a bookmark of a service or a job, synced to the phone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, new_id, utcnow
from api.sync.models import SyncTracked, sync_indexes


class SavedListing(SyncTracked, Base):
    """A member's bookmark of a service or a job."""

    __tablename__ = "saved_listings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("job_postings.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "service_id", name="uq_saved_listings_service"),
        UniqueConstraint("account_id", "job_id", name="uq_saved_listings_job"),
        *sync_indexes("saved_listings", "account_id"),
    )
