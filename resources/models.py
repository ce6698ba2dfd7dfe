"""The directory, following HSDS 3.0: organizations, services, locations, the services
offered at each location, addresses, phones, schedules, taxonomies and their terms,
attributes and languages; plus job postings (schema.org JobPosting), members' saved
listings and reports of wrong listings.

Ids are strings: HSDS UUIDs are kept as they are; ids from directories that use other
schemes (Ohana's integers) are mapped to stable UUIDs, and the original is kept in
``source_id``. Every listing row has ``last_verified_at`` and a server-kept ``updated_at``.
Reentry facts (fair chance, background checks, records accepted...) are columns of the
service here and HSDS attributes under the ``homeward-reentry`` taxonomy on export.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, new_id, str_enum, utcnow
from api.sync.models import SyncTracked, sync_indexes

ID = 100  # length of an id column


class ListingMixin:
    """What every directory row carries: where it came from and when it was checked."""

    source: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(ID))
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Taxonomy(ListingMixin, Base):
    __tablename__ = "taxonomies"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    uri: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(50))


class TaxonomyTerm(ListingMixin, Base):
    __tablename__ = "taxonomy_terms"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    code: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("taxonomy_terms.id", ondelete="SET NULL")
    )
    taxonomy: Mapped[str | None] = mapped_column(String(200))
    taxonomy_id: Mapped[str | None] = mapped_column(ForeignKey("taxonomies.id", ondelete="CASCADE"))
    language: Mapped[str | None] = mapped_column(String(20))
    term_uri: Mapped[str | None] = mapped_column(String(500))
    # "/<root code>/<child code>/.../<own code>/": a category filter matches every term
    # whose path starts with the chosen term's path.
    path: Mapped[str] = mapped_column(String(1000), default="/")

    __table_args__ = (
        Index("ix_taxonomy_terms_code", "code"),
        Index("ix_taxonomy_terms_path", "path"),
    )


class Organization(ListingMixin, Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(500))
    tax_status: Mapped[str | None] = mapped_column(String(100))
    tax_id: Mapped[str | None] = mapped_column(String(100))
    year_incorporated: Mapped[int | None] = mapped_column(Integer)
    legal_status: Mapped[str | None] = mapped_column(String(100))
    logo: Mapped[str | None] = mapped_column(String(500))
    uri: Mapped[str | None] = mapped_column(String(500))
    parent_organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )


class ServiceStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DEFUNCT = "defunct"
    TEMPORARILY_CLOSED = "temporarily closed"


class YesNoUnknown(enum.StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class BackgroundCheck(enum.StrEnum):
    NONE = "none"
    AFTER_CONDITIONAL_OFFER = "after_conditional_offer"
    REQUIRED = "required"


class ReentryFacts:
    """The facts that matter to someone with a record (see docs/directory.md)."""

    fair_chance: Mapped[bool | None] = mapped_column(Boolean)
    background_check: Mapped[BackgroundCheck | None] = mapped_column(
        str_enum(BackgroundCheck, "background_check")
    )
    accepts_records: Mapped[YesNoUnknown] = mapped_column(
        str_enum(YesNoUnknown, "yes_no_unknown", length=8), default=YesNoUnknown.UNKNOWN
    )
    accepts_registrants: Mapped[YesNoUnknown] = mapped_column(
        str_enum(YesNoUnknown, "yes_no_unknown", length=8), default=YesNoUnknown.UNKNOWN
    )


class Service(SyncTracked, ListingMixin, ReentryFacts, Base):
    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[ServiceStatus] = mapped_column(
        str_enum(ServiceStatus, "service_status"), default=ServiceStatus.ACTIVE
    )
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    application_process: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    wait_time: Mapped[str | None] = mapped_column(String(300))
    fees: Mapped[str | None] = mapped_column(Text)
    accreditations: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[float | None] = mapped_column(Float)
    maximum_age: Mapped[float | None] = mapped_column(Float)
    assured_date: Mapped[date | None] = mapped_column(Date)
    assurer_email: Mapped[str | None] = mapped_column(String(300))
    licenses: Mapped[str | None] = mapped_column(Text)
    alert: Mapped[str | None] = mapped_column(Text)
    # Housing facts.
    recovery_housing: Mapped[bool | None] = mapped_column(Boolean)
    narr_level: Mapped[int | None] = mapped_column(Integer)  # NARR levels I to IV
    transitional: Mapped[bool | None] = mapped_column(Boolean)
    sobriety_required: Mapped[bool | None] = mapped_column(Boolean)
    federally_assisted: Mapped[bool | None] = mapped_column(Boolean)
    requires_id: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_services_organization_id", "organization_id"),
        *sync_indexes("services"),
    )


class LocationType(enum.StrEnum):
    PHYSICAL = "physical"
    POSTAL = "postal"
    VIRTUAL = "virtual"


class Location(ListingMixin, Base):
    __tablename__ = "locations"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    location_type: Mapped[LocationType] = mapped_column(
        str_enum(LocationType, "location_type", length=16), default=LocationType.PHYSICAL
    )
    url: Mapped[str | None] = mapped_column(String(500))
    name: Mapped[str | None] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    external_identifier: Mapped[str | None] = mapped_column(String(200))
    external_identifier_type: Mapped[str | None] = mapped_column(String(200))
    # IANA zone of the place: "open now" is judged on its own clock.
    timezone: Mapped[str] = mapped_column(String(64), default="America/Los_Angeles")

    __table_args__ = (
        Index("ix_locations_organization_id", "organization_id"),
        # The radius prefilter: a bounding box on latitude, then longitude.
        Index("ix_locations_latitude_longitude", "latitude", "longitude"),
    )


class ServiceAtLocation(ListingMixin, Base):
    __tablename__ = "service_at_location"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("service_id", "location_id", name="uq_service_at_location_pair"),
        Index("ix_service_at_location_location_id", "location_id"),
    )


class Address(ListingMixin, Base):
    __tablename__ = "addresses"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    attention: Mapped[str | None] = mapped_column(String(300))
    address_1: Mapped[str] = mapped_column(String(300))
    address_2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    state_province: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    address_type: Mapped[str] = mapped_column(String(16), default="physical")

    __table_args__ = (Index("ix_addresses_location_id", "location_id"),)


class Phone(ListingMixin, Base):
    __tablename__ = "phones"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_at_location.id", ondelete="CASCADE")
    )
    number: Mapped[str] = mapped_column(String(50))
    extension: Mapped[float | None] = mapped_column(Float)
    type: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_phones_service_id", "service_id"),
        Index("ix_phones_location_id", "location_id"),
        Index("ix_phones_organization_id", "organization_id"),
    )


class Schedule(ListingMixin, Base):
    """HSDS schedule (iCalendar-like). Weekly ranges feed ``OpeningHours``."""

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    service_at_location_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_at_location.id", ondelete="CASCADE")
    )
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    dtstart: Mapped[date | None] = mapped_column(Date)
    timezone: Mapped[float | None] = mapped_column(Float)  # HSDS: a UTC offset in hours
    until: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    wkst: Mapped[str | None] = mapped_column(String(2))
    freq: Mapped[str | None] = mapped_column(String(10))
    interval: Mapped[int | None] = mapped_column(Integer)
    byday: Mapped[str | None] = mapped_column(String(100))
    byweekno: Mapped[str | None] = mapped_column(String(200))
    bymonthday: Mapped[str | None] = mapped_column(String(200))
    byyearday: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[str | None] = mapped_column(String(8))  # "HH:MM" or "HH:MM:SS"
    closes_at: Mapped[str | None] = mapped_column(String(8))
    schedule_link: Mapped[str | None] = mapped_column(String(500))
    attending_type: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_schedules_service_id", "service_id"),
        Index("ix_schedules_location_id", "location_id"),
    )


class OpeningHours(Base):
    """Derived from schedules, for search: one weekly range per row, in the place's own
    zone, split at midnight (so Fri 22:00-02:00 is Fri 22:00-24:00 and Sat 00:00-02:00).
    A service's own hours at a location replace the location's hours there."""

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    timezone: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(Integer)  # Monday 0 .. Sunday 6
    opens_minute: Mapped[int] = mapped_column(Integer)  # minutes after local midnight
    closes_minute: Mapped[int] = mapped_column(Integer)  # exclusive; up to 1440

    __table_args__ = (
        Index("ix_opening_hours_service_id", "service_id"),
        Index("ix_opening_hours_lookup", "timezone", "weekday", "opens_minute"),
    )


class Attribute(ListingMixin, Base):
    """HSDS attributes other than our own reentry facts (which are service columns)."""

    __tablename__ = "attributes"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    link_id: Mapped[str] = mapped_column(String(ID))
    taxonomy_term_id: Mapped[str | None] = mapped_column(
        ForeignKey("taxonomy_terms.id", ondelete="CASCADE")
    )
    link_type: Mapped[str | None] = mapped_column(String(100))
    link_entity: Mapped[str] = mapped_column(String(50))
    value: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_attributes_link_id", "link_id"),
        Index("ix_attributes_taxonomy_term_id", "taxonomy_term_id"),
    )


class Language(ListingMixin, Base):
    __tablename__ = "languages"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    phone_id: Mapped[str | None] = mapped_column(ForeignKey("phones.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(20))  # ISO 639 ("en", "es", "spa")
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_languages_service_id", "service_id"),
        Index("ix_languages_code", "code"),
    )


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


class SearchDocument(Base):
    """The text a listing is found by, one row per service or job. Indexed per backend
    (PostgreSQL: GIN over to_tsvector('simple', body); SQLite: an FTS5 table kept in step
    by triggers), both created by the migration."""

    __tablename__ = "search_documents"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "service" | "job"
    record_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


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
