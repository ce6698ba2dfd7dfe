"""The search arguments /resources and /jobs share, and the values their facets take."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.core.fields import Text
from resources.models import BackgroundCheck, YesNoUnknown

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
