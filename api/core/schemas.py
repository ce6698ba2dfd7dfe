"""marshmallow schema bases every domain uses."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class PatchSchema(ma.Schema):
    """The base of every PATCH body: it must change something. An empty change is a
    client's bug (a form that lost its edits), so it is 422, not a 200 that did nothing."""

    @ma.validates_schema
    def _something_to_change(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            names = sorted(field.data_key or name for name, field in self.load_fields.items())
            raise ma.ValidationError(
                "Nothing to change: give at least one of " + ", ".join(names) + "."
            )
