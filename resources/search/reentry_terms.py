"""Our reentry facts as HSDS attributes: the ``homeward-reentry`` taxonomy, its terms (one
per fact), and the text form of each fact's value. Ids are uuid5 of a fixed namespace, so
every export names the same taxonomy, terms and attributes, and an import of our own
export maps those attributes back onto the service's columns."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from resources.models import BackgroundCheck, Service, YesNoUnknown

NAMESPACE = uuid.UUID("8d6f3c52-61a4-5b8e-9f0e-6b6f6d657761")
TAXONOMY_NAME = "homeward-reentry"
TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, f"taxonomy:{TAXONOMY_NAME}"))

# Service column -> (term name, description, how the text value is read back).
FACETS: dict[str, tuple[str, str, type]] = {
    "fair_chance": ("Fair chance", "Hires or serves people with records (true/false).", bool),
    "background_check": (
        "Background check",
        "none, after_conditional_offer or required.",
        BackgroundCheck,
    ),
    "accepts_records": ("Accepts records", "yes, no or unknown.", YesNoUnknown),
    "accepts_registrants": ("Accepts registrants", "yes, no or unknown.", YesNoUnknown),
    "recovery_housing": ("Recovery housing", "true/false.", bool),
    "narr_level": ("NARR level", "NARR recovery residence level, 1 to 4.", int),
    "transitional": ("Transitional housing", "true/false.", bool),
    "sobriety_required": ("Sobriety required", "true/false.", bool),
    "federally_assisted": ("Federally assisted housing", "true/false.", bool),
    "requires_id": ("ID required", "true/false.", bool),
}


def term_id(facet: str) -> str:
    """The id of the taxonomy term of one fact."""
    return str(uuid.uuid5(NAMESPACE, f"{TAXONOMY_NAME}:{facet}"))


def attribute_id(facet: str, service_id: str) -> str:
    """The id of the attribute stating one fact of one service."""
    return str(uuid.uuid5(NAMESPACE, f"{TAXONOMY_NAME}:{facet}:{service_id}"))


TERM_FACETS = {term_id(facet): facet for facet in FACETS}


def taxonomy() -> dict[str, Any]:
    """The HSDS taxonomy object."""
    return {
        "id": TAXONOMY_ID,
        "name": TAXONOMY_NAME,
        "description": "Facts that matter to someone coming home from prison (Homeward).",
        "version": "1",
    }


def term(facet: str) -> dict[str, Any]:
    """The HSDS taxonomy_term object of one fact."""
    name, description, _ = FACETS[facet]
    return {
        "id": term_id(facet),
        "code": facet,
        "name": name,
        "description": description,
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": TAXONOMY_ID,
    }


def value_text(value: Any) -> str:
    """A fact's value as attribute text: booleans as true/false, enums by value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def parse_value(facet: str, text: str) -> Any:
    """The column value of an attribute's text; ValueError with a reason if it is none."""
    kind = FACETS[facet][2]
    cleaned = text.strip().lower()
    if kind is bool:
        if cleaned in ("true", "yes", "1"):
            return True
        if cleaned in ("false", "no", "0"):
            return False
        raise ValueError(f"{facet} '{text}' is not true or false")
    if kind is int:
        try:
            return int(cleaned)
        except ValueError:
            raise ValueError(f"{facet} '{text}' is not a whole number") from None
    try:
        return kind(cleaned)
    except ValueError:
        raise ValueError(f"{facet} '{text}' is not one of the allowed values") from None


def facts(service: Service) -> list[tuple[str, Any]]:
    """The facts a service states (unknown ones are left out)."""
    found = []
    for facet in FACETS:
        value = getattr(service, facet)
        if value is None or value == YesNoUnknown.UNKNOWN:
            continue
        found.append((facet, value))
    return found
