"""Shapes of the directory's reads: search arguments (unknown parameters refused),
search hits, listings, job postings, saved listings and reports. What staff and members
write is in write_schemas.py."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.core.fields import Text
from api.core.pagination import page_schema
from resources.models import (
    BackgroundCheck,
    EmploymentType,
    YesNoUnknown,
)

MAX_RADIUS_M = 100_000
YES_NO_UNKNOWN = [v.value for v in YesNoUnknown]
BACKGROUND = [v.value for v in BackgroundCheck]


class SearchArgs(ma.Schema):
    """Shared by /resources and /jobs. Unknown parameters (a misspelt facet) are refused."""

    class Meta:
        unknown = ma.RAISE

    q = Text(max_length=200, load_default=None, metadata={"description": "Words to find."})
    lat = ma.fields.Float(
        load_default=None, validate=ma.validate.Range(min=-90, max=90), allow_nan=False
    )
    lng = ma.fields.Float(
        load_default=None, validate=ma.validate.Range(min=-180, max=180), allow_nan=False
    )
    radius_m = ma.fields.Float(
        load_default=None,
        allow_nan=False,
        validate=ma.validate.Range(min=0, max=MAX_RADIUS_M, min_inclusive=False),
        metadata={"description": "Metres around lat/lng; above 0, at most 100 km."},
    )
    fair_chance = ma.fields.Boolean(load_default=None)
    background_check = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(BACKGROUND)), load_default=None
    )
    accepts_records = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf(YES_NO_UNKNOWN)
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    page_size = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))

    @ma.validates_schema
    def _point(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("Give lat and lng together.", "lat")
        if data.get("radius_m") is not None and data.get("lat") is None:
            raise ma.ValidationError("A radius needs a point: give lat and lng.", "radius_m")
        if data.get("sort") == "distance" and data.get("lat") is None:
            raise ma.ValidationError("Sorting by distance needs lat and lng.", "sort")


class ResourceSearchArgs(SearchArgs):
    category = ma.fields.List(
        Text(max_length=100),
        load_default=None,
        metadata={"description": "Taxonomy term codes (or ids); a parent matches its children."},
    )
    open_now = ma.fields.Boolean(load_default=None)
    at = ma.fields.AwareDateTime(
        load_default=None, metadata={"description": "Open at this moment (ISO 8601 with offset)."}
    )
    language = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(r"^[A-Za-z]{2,3}$")), load_default=None
    )
    accepts_registrants = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf(YES_NO_UNKNOWN)
    )
    recovery_housing = ma.fields.Boolean(load_default=None)
    transitional = ma.fields.Boolean(load_default=None)
    sobriety_required = ma.fields.Boolean(load_default=None)
    federally_assisted = ma.fields.Boolean(load_default=None)
    requires_id = ma.fields.Boolean(load_default=None)
    sort = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf(["relevance", "distance", "updated"])
    )


class JobSearchArgs(SearchArgs):
    employment_type = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([e.value for e in EmploymentType])),
        load_default=None,
    )
    drivers_license_required = ma.fields.Boolean(load_default=None)
    sort = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(["relevance", "distance", "updated", "date_posted"]),
    )


class LocationOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(allow_none=True)
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)
    address = ma.fields.String(allow_none=True, metadata={"description": "One line."})
    timezone = ma.fields.String()
    distance_m = ma.fields.Float(allow_none=True)


class OrganizationOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class ResourceHitSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    summary = ma.fields.String(allow_none=True, metadata={"description": "At most 200 chars."})
    organization = ma.fields.Nested(OrganizationOut, required=True)
    location = ma.fields.Nested(LocationOut, allow_none=True)
    distance_m = ma.fields.Float(allow_none=True)
    categories = ma.fields.List(ma.fields.String(), required=True)
    facets = ma.fields.Dict(required=True)
    last_verified_at = ma.fields.AwareDateTime(allow_none=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class HoursOut(ma.Schema):
    days = ma.fields.List(ma.fields.String(), required=True)
    opens_at = ma.fields.String(required=True)
    closes_at = ma.fields.String(required=True)


class PhoneOut(ma.Schema):
    number = ma.fields.String(required=True)
    type = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)


class LocationDetail(LocationOut):
    description = ma.fields.String(allow_none=True)
    hours = ma.fields.List(ma.fields.Nested(HoursOut), required=True)


class ResourceSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    alternate_name = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    application_process = ma.fields.String(allow_none=True)
    eligibility_description = ma.fields.String(allow_none=True)
    fees_description = ma.fields.String(allow_none=True)
    wait_time = ma.fields.String(allow_none=True)
    organization = ma.fields.Nested(OrganizationOut, required=True)
    locations = ma.fields.List(ma.fields.Nested(LocationDetail), required=True)
    hours = ma.fields.List(ma.fields.Nested(HoursOut), required=True)
    phones = ma.fields.List(ma.fields.Nested(PhoneOut), required=True)
    categories = ma.fields.List(ma.fields.String(), required=True)
    languages = ma.fields.List(ma.fields.String(), required=True)
    facets = ma.fields.Dict(required=True)
    last_verified_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


ResourcePageSchema = page_schema(ResourceHitSchema, "ResourcePage")


class SalarySchema(ma.Schema):
    currency = ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{3}$"), load_default="USD")
    min_value = ma.fields.Float(allow_none=True, validate=ma.validate.Range(min=0))
    max_value = ma.fields.Float(allow_none=True, validate=ma.validate.Range(min=0))
    unit = ma.fields.String(validate=ma.validate.OneOf(["HOUR", "DAY", "WEEK", "MONTH", "YEAR"]))


class JobSchema(ma.Schema):
    """schema.org JobPosting field names, plus the fair-chance facts."""

    id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    datePosted = ma.fields.Date(required=True, attribute="date_posted")
    validThrough = ma.fields.AwareDateTime(allow_none=True, attribute="valid_through")
    hiringOrganization = ma.fields.Nested(
        OrganizationOut, required=True, attribute="hiring_organization"
    )
    jobLocation = ma.fields.Nested(LocationOut, allow_none=True, attribute="job_location")
    employmentType = ma.fields.List(ma.fields.String(), required=True, attribute="employment_type")
    baseSalary = ma.fields.Nested(SalarySchema, allow_none=True, attribute="base_salary")
    workHours = ma.fields.String(allow_none=True, attribute="work_hours")
    directApply = ma.fields.Boolean(required=True, attribute="direct_apply")
    applicationUrl = ma.fields.String(allow_none=True, attribute="application_url")
    educationRequirements = ma.fields.String(allow_none=True, attribute="education_requirements")
    experienceRequirements = ma.fields.String(allow_none=True, attribute="experience_requirements")
    driversLicenseRequired = ma.fields.Boolean(required=True, attribute="drivers_license_required")
    fair_chance = ma.fields.Boolean(allow_none=True)
    background_check = ma.fields.String(allow_none=True)
    accepts_records = ma.fields.String(required=True)
    distance_m = ma.fields.Float(allow_none=True)
    last_verified_at = ma.fields.AwareDateTime(allow_none=True)
    updated_at = ma.fields.AwareDateTime(required=True)


JobPageSchema = page_schema(JobSchema, "JobPage")


class SavedSchema(ma.Schema):
    resource_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "service or job"})
    name = ma.fields.String(required=True)
    saved_at = ma.fields.AwareDateTime(required=True)


SavedPageSchema = page_schema(SavedSchema, "SavedPage")


class ReportSchema(ma.Schema):
    id = ma.fields.String(required=True)
    resource_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    detail = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    resolved_at = ma.fields.AwareDateTime(allow_none=True)


ReportPageSchema = page_schema(ReportSchema, "ReportPage")
