"""What a step may link to, decided by the domains that own it.

A step may name one directory listing (``listing_id``) and one of the member's own
appointments (``appointment_id``). Those belong to ``resources`` and ``reminders``, which
``api.plans`` may not import; each registers, in its own ``init_app``, a check that says
whether a value names something this member may link (``add_link_check``). A value no
check accepts is refused with 422, as an unknown id would be.

A template step's ``directory_query`` is a search of the directory, which ``resources``
owns too: it registers a check that names the parameters its search would refuse
(``add_query_check``), so a template with a search that cannot run is not loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

# (db, member id, value) -> True when the member may link it.
LinkCheck = Callable[[Session, str, str], bool]

LINKS = "homeward.plan_links"
FIELDS = ("listing_id", "appointment_id")


def add_link_check(app: Flask, field: str, check: LinkCheck) -> None:
    if field not in FIELDS:
        raise ValueError(f"a step links only {', '.join(FIELDS)}, not {field!r}")
    app.extensions.setdefault(LINKS, {})[field] = check


def may_link(app: Flask, db: Session, member_id: str, field: str, value: str) -> bool:
    """Whether ``value`` names something the member may link in ``field``. With no check
    registered (the owning domain is not installed) nothing may be linked."""
    check = app.extensions.get(LINKS, {}).get(field)
    return check is not None and check(db, member_id, value)


# (a template step's directory_query) -> the names of the parameters the search refuses.
QueryCheck = Callable[[dict[str, Any]], list[str]]
QUERY = "homeward.plan_query_check"


def add_query_check(app: Flask, check: QueryCheck) -> None:
    app.extensions[QUERY] = check


def query_refusals(app: Flask, query: dict[str, Any]) -> list[str]:
    """What the directory's search would refuse in ``query`` (nothing when no directory
    is installed to say)."""
    check: QueryCheck | None = app.extensions.get(QUERY)
    return [] if check is None else check(query)
