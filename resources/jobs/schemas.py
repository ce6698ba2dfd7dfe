"""Shapes of job postings: search arguments, the schema.org JobPosting a member reads,
and what staff write (in schema.org names; unknown fields refused)."""

from __future__ import annotations

import marshmallow as ma

from api.core.fields import StrictBoolean, Text, TimeZone
from api.core.pagination import page_schema
from api.core.schemas import PatchSchema
from resources.jobs.models import EmploymentType
from resources.listings.schemas import AddressSchema, LocationOut, OrganizationOut
from resources.search.schemas import BACKGROUND, YES_NO_UNKNOWN, SearchArgs


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


class JobLocationWriteSchema(ma.Schema):
    name = Text(max_length=300, required=True, min_length=1)
    latitude = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(min=-90, max=90)
    )
    longitude = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(min=-180, max=180)
    )
    timezone = TimeZone(load_default="America/Los_Angeles")
    address = ma.fields.Nested(AddressSchema, allow_none=True)


class JobWriteFields(ma.Schema):
    """Staff's job postings, in schema.org JobPosting names."""

    title = Text(max_length=200, min_length=1)
    description = Text(max_length=5000, multiline=True, min_length=1)
    date_posted = ma.fields.Date(data_key="datePosted")
    valid_through = ma.fields.AwareDateTime(data_key="validThrough", allow_none=True)
    employment_type = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([e.value for e in EmploymentType])),
        data_key="employmentType",
        validate=ma.validate.Length(max=8),
    )
    base_salary = ma.fields.Nested(SalarySchema, data_key="baseSalary", allow_none=True)
    work_hours = Text(max_length=200, data_key="workHours", allow_none=True)
    direct_apply = StrictBoolean(data_key="directApply")
    application_url = ma.fields.URL(
        data_key="applicationUrl", allow_none=True, schemes={"http", "https"}
    )
    education_requirements = Text(max_length=300, data_key="educationRequirements", allow_none=True)
    experience_requirements = Text(
        max_length=300, data_key="experienceRequirements", allow_none=True
    )
    drivers_license_required = StrictBoolean(data_key="driversLicenseRequired")
    fair_chance = StrictBoolean(allow_none=True)
    background_check = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(BACKGROUND))
    accepts_records = ma.fields.String(validate=ma.validate.OneOf(YES_NO_UNKNOWN))
    job_location = ma.fields.Nested(JobLocationWriteSchema, data_key="jobLocation", allow_none=True)
    last_verified_at = ma.fields.AwareDateTime(allow_none=True)


class JobUpdateSchema(JobWriteFields, PatchSchema):
    """A PATCH body: any of the fields, at least one."""


class JobCreateSchema(JobWriteFields):
    title = Text(max_length=200, min_length=1, required=True)
    description = Text(max_length=5000, multiline=True, min_length=1, required=True)
