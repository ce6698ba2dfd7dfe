"""Job postings (schema.org JobPosting): Homeward's own table beside the HSDS ones, hired
by an HSDS organization at an HSDS location."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, new_id, str_enum
from api.sync.models import SyncTracked, sync_indexes
from resources.models import ID, BackgroundCheck, ListingMixin, YesNoUnknown


class EmploymentType(enum.StrEnum):
    """schema.org JobPosting employmentType values."""

    FULL_TIME = "FULL_TIME"
    PART_TIME = "PART_TIME"
    CONTRACTOR = "CONTRACTOR"
    TEMPORARY = "TEMPORARY"
    INTERN = "INTERN"
    VOLUNTEER = "VOLUNTEER"
    PER_DIEM = "PER_DIEM"
    OTHER = "OTHER"


class JobPosting(SyncTracked, ListingMixin, Base):
    """A job (schema.org JobPosting), hired by an HSDS organization, at an HSDS location."""

    __tablename__ = "job_postings"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    date_posted: Mapped[date] = mapped_column(Date)
    valid_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    employment_type: Mapped[list[str]] = mapped_column(JSON, default=list)
    salary_currency: Mapped[str | None] = mapped_column(String(3))
    salary_min: Mapped[float | None] = mapped_column(Float)
    salary_max: Mapped[float | None] = mapped_column(Float)
    salary_unit: Mapped[str | None] = mapped_column(String(8))  # HOUR, DAY, WEEK, MONTH, YEAR
    work_hours: Mapped[str | None] = mapped_column(String(200))
    direct_apply: Mapped[bool] = mapped_column(Boolean, default=False)
    application_url: Mapped[str | None] = mapped_column(String(500))
    education_requirements: Mapped[str | None] = mapped_column(String(300))
    experience_requirements: Mapped[str | None] = mapped_column(String(300))
    drivers_license_required: Mapped[bool] = mapped_column(Boolean, default=False)
    fair_chance: Mapped[bool | None] = mapped_column(Boolean)
    background_check: Mapped[BackgroundCheck | None] = mapped_column(
        str_enum(BackgroundCheck, "background_check")
    )
    accepts_records: Mapped[YesNoUnknown] = mapped_column(
        str_enum(YesNoUnknown, "yes_no_unknown", length=8), default=YesNoUnknown.UNKNOWN
    )

    __table_args__ = (
        Index("ix_job_postings_organization_id", "organization_id"),
        Index("ix_job_postings_valid_through", "valid_through"),
        *sync_indexes("job_postings"),
    )
