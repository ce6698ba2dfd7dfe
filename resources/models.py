"""The directory's HSDS 3.0 tables: organizations, services, locations, the services
offered at each location, addresses, phones, schedules, taxonomies and their terms,
attributes and languages. Homeward's own tables sit with the idea they serve: job postings
in ``resources.jobs.models``, saved listings in ``resources.saved.models``, reports in
``resources.reports.models``, search's derived rows in ``resources.search.models``.

Ids are strings: HSDS UUIDs are kept as they are; ids from directories that use other
schemes (Ohana's integers) are mapped to stable UUIDs, and the original is kept in
``source_id``. Every listing row has ``last_verified_at`` and a server-kept ``updated_at``.
Reentry facts (fair chance, background checks, records accepted...) are columns of the
service here and HSDS attributes under the ``homeward-reentry`` taxonomy on export.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
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


# Every HSDS table we model, by its HSDS name, parents before children: the order the
# importers check and write them in, and the tables the exports write.
HSDS_TABLES: dict[str, Any] = {
    "taxonomies": Taxonomy,
    "taxonomy_terms": TaxonomyTerm,
    "organizations": Organization,
    "locations": Location,
    "services": Service,
    "service_at_location": ServiceAtLocation,
    "addresses": Address,
    "phones": Phone,
    "schedules": Schedule,
    "languages": Language,
    "attributes": Attribute,
}
