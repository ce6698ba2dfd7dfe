"""What a step may link to, decided by the domains that own it.

A step may name one directory listing (``listing_id``) and one of the member's own
appointments (``appointment_id``). Those belong to ``resources`` and ``reminders``, which
``api.plans`` may not import; each registers, in its own ``init_app``, a check that says
whether a value names something this member may link (``add_link_check``). A value no
check accepts is refused with 422, as an unknown id would be.
"""

from __future__ import annotations

from collections.abc import Callable

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
