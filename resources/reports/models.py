"""Members' reports of wrong listings, for the organization's staff."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, new_id, str_enum, utcnow


class ReportReason(enum.StrEnum):
    WRONG_INFORMATION = "wrong_information"
    CLOSED = "closed"
    MOVED = "moved"
    NOT_REENTRY_FRIENDLY = "not_reentry_friendly"
    OTHER = "other"


class ListingReport(Base):
    """A member says a listing is wrong; the organization's staff see it."""

    __tablename__ = "listing_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("job_postings.id", ondelete="CASCADE"))
    # The reporter may erase their account; the report stays, anonymous.
    reporter_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    reason: Mapped[ReportReason] = mapped_column(str_enum(ReportReason, "report_reason"))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_listing_reports_organization_id", "organization_id"),)
