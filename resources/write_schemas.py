"""Shapes of what staff and members write to the directory: listings, job postings and
reports. Fields listed explicitly; unknown fields (an organization_id, an id) refused."""

from __future__ import annotations

import marshmallow as ma

from api.core.fields import StrictBoolean, Text, TimeZone
from api.core.schemas import PatchSchema
from resources.hours import WEEKDAYS, parse_clock
from resources.models import EmploymentType, ReportReason, ServiceStatus
from resources.schemas import BACKGROUND, YES_NO_UNKNOWN, SalarySchema


def _clock(value: str) -> None:
    try:
        parse_clock(value)
    except ValueError as error:
        raise ma.ValidationError(str(error)) from None


class FacetsSchema(ma.Schema):
    fair_chance = StrictBoolean(allow_none=True)
    background_check = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(BACKGROUND))
    accepts_records = ma.fields.String(validate=ma.validate.OneOf(YES_NO_UNKNOWN))
    accepts_registrants = ma.fields.String(validate=ma.validate.OneOf(YES_NO_UNKNOWN))
    recovery_housing = StrictBoolean(allow_none=True)
    narr_level = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=4))
    transitional = StrictBoolean(allow_none=True)
    sobriety_required = StrictBoolean(allow_none=True)
    federally_assisted = StrictBoolean(allow_none=True)
    requires_id = StrictBoolean(allow_none=True)


class AddressSchema(ma.Schema):
    address_1 = Text(max_length=300, required=True, min_length=1)
    address_2 = Text(max_length=300, allow_none=True, empty_as_none=True)
    city = Text(max_length=200, required=True, min_length=1)
    state_province = Text(max_length=100, required=True, min_length=1)
    postal_code = Text(max_length=20, required=True, min_length=1)
    country = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Z]{2}$"))


class HoursSchema(ma.Schema):
    days = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(WEEKDAYS)),
        required=True,
        validate=ma.validate.Length(min=1, max=7),
    )
    opens_at = ma.fields.String(required=True, validate=_clock, metadata={"example": "09:00"})
    closes_at = ma.fields.String(
        required=True,
        validate=_clock,
        metadata={"example": "17:00", "description": "Before opens_at: runs past midnight."},
    )


class PhoneSchema(ma.Schema):
    number = Text(max_length=50, required=True, min_length=3)
    type = ma.fields.String(
        load_default="voice", validate=ma.validate.OneOf(["voice", "text", "fax", "cell", "video"])
    )
    description = Text(max_length=300, allow_none=True, empty_as_none=True)


class LocationWriteSchema(ma.Schema):
    name = Text(max_length=300, required=True, min_length=1)
    description = Text(max_length=2000, multiline=True, allow_none=True, empty_as_none=True)
    latitude = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(min=-90, max=90)
    )
    longitude = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(min=-180, max=180)
    )
    timezone = TimeZone(load_default="America/Los_Angeles")
    address = ma.fields.Nested(AddressSchema, allow_none=True)
    hours = ma.fields.List(ma.fields.Nested(HoursSchema), validate=ma.validate.Length(max=21))


class ResourceWriteFields(ma.Schema):
    name = Text(max_length=300, min_length=1)
    alternate_name = Text(max_length=300, allow_none=True, empty_as_none=True)
    description = Text(max_length=5000, multiline=True, allow_none=True, empty_as_none=True)
    url = ma.fields.URL(allow_none=True, schemes={"http", "https"})
    email = ma.fields.Email(allow_none=True)
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in ServiceStatus]))
    application_process = Text(max_length=2000, multiline=True, allow_none=True)
    eligibility_description = Text(max_length=2000, multiline=True, allow_none=True)
    fees_description = Text(max_length=2000, multiline=True, allow_none=True)
    wait_time = Text(max_length=300, allow_none=True)
    categories = ma.fields.List(Text(max_length=100), validate=ma.validate.Length(max=20))
    languages = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(r"^[a-z]{2,3}$")),
        validate=ma.validate.Length(max=20),
    )
    facets = ma.fields.Nested(FacetsSchema)
    locations = ma.fields.List(
        ma.fields.Nested(LocationWriteSchema), validate=ma.validate.Length(max=20)
    )
    hours = ma.fields.List(
        ma.fields.Nested(HoursSchema),
        validate=ma.validate.Length(max=21),
        metadata={"description": "The service's own hours; they replace its locations' hours."},
    )
    phones = ma.fields.List(ma.fields.Nested(PhoneSchema), validate=ma.validate.Length(max=10))
    last_verified_at = ma.fields.AwareDateTime(allow_none=True)


class ResourceUpdateSchema(ResourceWriteFields, PatchSchema):
    """A PATCH body: any of the fields, at least one."""


class ResourceCreateSchema(ResourceWriteFields):
    name = Text(max_length=300, min_length=1, required=True)


class ReportCreateSchema(ma.Schema):
    reason = ma.fields.String(
        required=True, validate=ma.validate.OneOf([r.value for r in ReportReason])
    )
    detail = Text(max_length=1000, multiline=True, allow_none=True, empty_as_none=True)


class ReportUpdateSchema(PatchSchema):
    # Not "required": an empty body gets the same "Nothing to change" as every PATCH.
    resolved = StrictBoolean()


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
