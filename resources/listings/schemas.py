"""Shapes of listings: search arguments (unknown parameters refused), search hits, a full
listing, and what staff write (fields listed explicitly; unknown fields, an
organization_id or an id, refused). The location and organization shapes are shared
with job postings."""

from __future__ import annotations

import marshmallow as ma

from api.core.fields import StrictBoolean, Text, TimeZone
from api.core.pagination import page_schema
from api.core.schemas import PatchSchema
from resources.models import ServiceStatus
from resources.search.hours import WEEKDAYS, parse_clock
from resources.search.schemas import BACKGROUND, YES_NO_UNKNOWN, SearchArgs


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
