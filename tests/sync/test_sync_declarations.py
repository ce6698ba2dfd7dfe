"""A synced table is declared once, by its model (``SyncTracked`` or
``SyncStampedOnRequest``); the migrations must build exactly the triggers that declaration
implies. A table tracked in one place and not the other fails here, on both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from api.sync.models import stamped_on_request, tracked_tables

# The triggers the migrations create for every tracked table, by backend.
TRIGGERS = {
    "sqlite": ("sync_touch", "sync_insert", "sync_tombstone"),
    "postgresql": ("sync_touch", "sync_tombstone"),
}


def _triggers(app: Any) -> set[str]:
    engine = app.extensions["homeward.db"].engine
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = (
                "SELECT DISTINCT trigger_name FROM information_schema.triggers "
                "WHERE trigger_schema = current_schema()"
            )
        return {row[0] for row in connection.execute(text(query))}


def test_every_declared_table_has_its_triggers_and_no_other_table_has_any(app):
    backend = app.extensions["homeward.db"].engine.dialect.name
    declared = tracked_tables()
    expected = {f"{table}_{suffix}" for table in declared for suffix in TRIGGERS[backend]}
    # Other triggers (SQLite's full-text index upkeep) are not sync's.
    sync_triggers = {name for name in _triggers(app) if name.endswith(TRIGGERS[backend])}

    assert sync_triggers == expected


def test_the_declaration_names_the_tables_phones_sync_and_their_keys(app):
    # The derived lists, spelled out once here so a model that loses (or gains) its mixin
    # by accident is noticed in review as well as by the trigger check above.
    assert tracked_tables() == {
        "appointments": "id",
        "checkin_responses": "id",
        "checkins": "id",
        "grants": "id",
        "plan_goals": "id",
        "plan_steps": "id",
        "plan_suggestions": "id",
        "job_postings": "id",
        "saved_listings": "id",
        "services": "id",
        "sync_member_areas": "account_id",
    }
    assert stamped_on_request() == {"reminder_deliveries": "id"}
    assert not set(tracked_tables()) & set(stamped_on_request())


def test_every_registered_pushable_table_writes_a_declared_model(app):
    state = app.extensions["homeward.sync"]
    pushable = [table for table in state.tables.values() if table.push is not None]

    assert pushable, "no pushable sync table is registered"
    for table in pushable:
        assert table.push.model.__tablename__ in tracked_tables(), table.name
