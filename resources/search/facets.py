"""The reentry facts a listing can be found and shown by (the facets): which there are,
which search compares as plain equality, and how a service's known ones are shown."""

from __future__ import annotations

from typing import Any

from resources.models import Service

# Every reentry fact of a service, in the order a listing shows them.
FACETS = (
    "fair_chance",
    "background_check",
    "accepts_records",
    "accepts_registrants",
    "recovery_housing",
    "narr_level",
    "transitional",
    "sobriety_required",
    "federally_assisted",
    "requires_id",
)
# Facets that are plain equality on a service column.
SERVICE_FACETS = (
    "fair_chance",
    "accepts_records",
    "accepts_registrants",
    "recovery_housing",
    "transitional",
    "sobriety_required",
    "federally_assisted",
    "requires_id",
)


def plain_value(value: Any) -> Any:
    """An enum's value; a plain value as it is (attributes just set hold plain strings)."""
    return getattr(value, "value", value)


def facets(service: Service) -> dict[str, Any]:
    """The reentry facts that are known; unknown ones are left out to keep pages small."""
    found: dict[str, Any] = {}
    for name in FACETS:
        value = getattr(service, name)
        if value is None or value == "unknown":
            continue
        found[name] = plain_value(value)
    return found
