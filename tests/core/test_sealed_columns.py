"""Which columns of a member's records are sealed, and appointment titles in particular.

What must hold: docs/privacy.md lists every text column of every table that belongs to a
member, and says whether it is sealed; the models agree with that list (a new text column
cannot go unsealed unnoticed). Appointment titles are sealed: the rows hold only
ciphertext, while the API, the sync pull, the export and (when the member chose detailed
text) the calendar show the plaintext. Migration 0006 seals the titles already stored and
its downgrade opens them again.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import text

from api import create_app
from api.accounts import passwords
from api.core.crypto import vault_of
from api.core.crypto.sealed import sealed_fields
from api.core.db import Base
from api.core.migrate import upgrade
from api.models import metadata
from api.sync import tracking
from tests.fixtures.backends import TEST_CONFIG
from tests.fixtures.records import APPOINTMENTS, appointment, share
from tests.fixtures.stored import engine_of, every_stored_value, marker, raw, session_of
from tests.sync.helpers import pull, records

PRIVACY = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
WRITERS = {"member", "mentor", "phone", "server", "choice"}


# --------------------------------------------------------------------------- the list


def documented_columns() -> dict[tuple[str, str], dict[str, str]]:
    """The table between the sealed-columns markers of docs/privacy.md."""
    document = PRIVACY.read_text(encoding="utf-8")
    block = document.split("<!-- sealed-columns:start -->")[1].split("<!-- sealed-columns:end -->")[
        0
    ]
    found: dict[tuple[str, str], dict[str, str]] = {}
    for line in block.strip().splitlines()[2:]:  # past the header and the rule
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        table, column, writer, sealed, why = cells
        key = (table.strip("`"), column.strip("`"))
        assert key not in found, f"{key} is listed twice"
        found[key] = {"writer": writer, "sealed": sealed, "why": why}
    return found


def member_tables() -> set[str]:
    """``accounts`` and every table pointing at it, directly or through another such table,
    or naming an account in an ``account_id`` / ``member_id`` column."""
    owned = {"accounts"}
    changed = True
    while changed:
        changed = False
        for table in metadata.sorted_tables:
            if table.name in owned:
                continue
            points = {fk.column.table.name for fk in table.foreign_keys}
            if points & owned or {"account_id", "member_id"} & set(table.c.keys()):
                owned.add(table.name)
                changed = True
    return owned


def text_columns(table: sa.Table) -> list[str]:
    """String and Text columns that are not keys (ids are opaque)."""
    return [
        column.name
        for column in table.columns
        if isinstance(column.type, sa.String) and not column.primary_key and not column.foreign_keys
    ]


def sealed_columns_of_models() -> set[tuple[str, str]]:
    sealed = set()
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        for field in sealed_fields(cls):
            column = mapper.attrs[field.column_attr].columns[0]
            sealed.add((column.table.name, column.name))
    return sealed


def test_every_text_column_of_a_members_records_is_listed_and_the_models_agree():
    documented = documented_columns()
    owned = member_tables()
    assert {"appointments", "checkins", "listing_reports", "refresh_tokens"} <= owned
    assert "services" not in owned and "search_documents" not in owned

    in_models = {
        (t.name, c) for t in metadata.sorted_tables if t.name in owned for c in text_columns(t)
    }
    missing = sorted(in_models - set(documented))
    assert not missing, (
        f"text columns of members' records missing from docs/privacy.md: {missing}. "
        "Seal them (SealedText) or list them with the reason they are not sealed."
    )
    stale = sorted(set(documented) - in_models)
    assert not stale, f"docs/privacy.md lists columns the models do not have: {stale}"

    sealed_in_models = sealed_columns_of_models()
    documented_sealed = {key for key, row in documented.items() if row["sealed"] == "sealed"}
    assert documented_sealed == sealed_in_models, (
        f"listed as sealed but not SealedText: {sorted(documented_sealed - sealed_in_models)}; "
        f"SealedText but not listed as sealed: {sorted(sealed_in_models - documented_sealed)}"
    )
    for key, row in documented.items():
        assert row["writer"] in WRITERS, (key, row["writer"])
        assert row["sealed"] in ("sealed", "no"), (key, row["sealed"])
        if row["sealed"] == "no":
            assert len(row["why"]) > 10, f"{key} is not sealed and does not say why"


def test_free_text_members_write_in_their_own_records_is_sealed():
    """The free text of appointments and check-ins is sealed, titles included."""
    documented = documented_columns()
    for key in [
        ("appointments", "title"),
        ("appointments", "location"),
        ("appointments", "notes"),
        ("checkins", "wins"),
        ("checkins", "note"),
        ("checkins", "place"),
        ("checkin_responses", "body"),
    ]:
        assert documented[key]["sealed"] == "sealed", key
    assert ("appointments", "title") in sealed_columns_of_models()


# --------------------------------------------------------------------------- titles at rest


def test_appointment_titles_are_stored_sealed_and_shown_decrypted(app, client, accounts):
    member = accounts.register(display_name="Sam")
    mentor = accounts.register(role="mentor", display_name="Dana")
    share(client, member, mentor)
    title = marker("Court date: see PO about probation")
    # The longest title, in two-byte letters: the sealed form is far longer than 200.
    longest = "é" * 200
    booked = appointment(client, member, title=title, kind="court")
    second = appointment(client, member, title=longest)

    # The API round-trips it...
    shown = client.get(f"{APPOINTMENTS}/{booked['id']}", headers=member.headers).get_json()
    assert shown["title"] == title
    assert booked["title"] == title and second["title"] == longest
    listed = client.get(APPOINTMENTS, headers=member.headers).get_json()["items"]
    assert {item["id"]: item["title"] for item in listed} == {
        booked["id"]: title,
        second["id"]: longest,
    }
    renamed = marker("Drug test at the clinic")
    patched = client.patch(
        f"{APPOINTMENTS}/{booked['id']}", json={"title": renamed}, headers=member.headers
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["title"] == renamed
    assert (
        client.get(f"{APPOINTMENTS}/{booked['id']}", headers=member.headers).get_json()["title"]
        == renamed
    )

    # ...while the rows hold only ciphertext (read with plain SQL).
    rows = {row.id: row for row in raw(app, "SELECT id, member_id, title FROM appointments")}
    assert set(rows) == {booked["id"], second["id"]}
    tokens = [title.rsplit(" ", 1)[1], renamed.rsplit(" ", 1)[1]]
    for row in rows.values():
        assert re.fullmatch(r"hw1:[A-Za-z0-9_-]+", row.title), row.title
        payload = base64.urlsafe_b64decode(row.title[4:] + "=" * (-len(row.title[4:]) % 4))
        for token in tokens:
            assert token.encode() not in payload
        assert "probation" not in row.title and "Drug" not in row.title
        assert "é".encode() not in payload
    for table, column, value in every_stored_value(app):
        for token in tokens:
            assert token not in value, (table, column)
        assert "probation" not in value and "Drug test" not in value, (table, column)
    # Bound to its row: the stored value opens as this row's title only.
    with session_of(app) as db:
        vault = vault_of(db)
        stored = rows[booked["id"]].title
        assert (
            vault.open(member.account_id, "appointments", "title", booked["id"], stored) == renamed
        )

    # The phone's sync pull gets the plaintext.
    pulled = records(pull(client, member), "appointments")
    assert pulled[booked["id"]]["title"] == renamed
    assert pulled[second["id"]]["title"] == longest

    # The export shows it decrypted.
    exported = client.get("/api/v1/me/export", headers=member.headers).get_json()
    assert {a["id"]: a["title"] for a in exported["appointments"]} == {
        booked["id"]: renamed,
        second["id"]: longest,
    }

    # The mentor never sees a title, sealed or not.
    seen = client.get(f"/api/v1/mentees/{member.account_id}/appointments", headers=mentor.headers)
    assert seen.status_code == 200
    body = seen.get_data(as_text=True)
    assert "title" not in body and tokens[1] not in body and "hw1:" not in body

    # The calendar names it only once the member chose detailed text.
    path = f"{APPOINTMENTS}/{booked['id']}/calendar.ics"
    discreet = client.get(path, headers=member.headers).get_data(as_text=True)
    assert "SUMMARY:Appointment" in discreet and tokens[1] not in discreet
    assert "hw1:" not in discreet
    changed = client.patch(
        "/api/v1/me", json={"notification_detail": "detailed"}, headers=member.headers
    )
    assert changed.status_code == 200
    detailed = client.get(path, headers=member.headers).get_data(as_text=True)
    assert tokens[1] in detailed.replace("\r\n ", "")


# --------------------------------------------------------------------------- migration 0006

PASSWORD = "a long walk home"


def _insert_account(app: Flask, username: str) -> str:
    account_id = str(uuid.uuid4())
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with app.app_context():
        password_hash = passwords.hash_password(PASSWORD)
    with engine_of(app).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, username, username_key, password_hash, role, "
                "display_name, timezone, locale, password_changed_at, created_at, updated_at, "
                "notification_detail) VALUES (:id, :name, :name, :hash, 'member', NULL, "
                "'America/Chicago', 'en', :now, :now, :now, 'discreet')"
            ),
            {"id": account_id, "name": username, "hash": password_hash, "now": now},
        )
    return account_id


def _insert_appointment(
    app: Flask, row_id: str, member_id: str, title: str, location: str | None = None
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with engine_of(app).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO appointments (id, member_id, title, kind, starts_local, "
                "timezone, location, notes, reminder_offsets, channels, status, "
                "created_at, updated_at) VALUES (:id, :member, :title, 'court', :starts, "
                "'America/Chicago', :location, NULL, '[\"1d@10:00\"]', '[\"push\"]', "
                "'scheduled', :now, :now)"
            ),
            {
                "id": row_id,
                "member": member_id,
                "title": title,
                "starts": now + timedelta(days=30),
                "location": location,
                "now": now,
            },
        )
        # As if a phone had synced it at version 7 (the insert trigger marked it pending).
        connection.execute(
            text("UPDATE appointments SET sync_version = 7 WHERE id = :id"), {"id": row_id}
        )


def _titles(app: Flask) -> dict[str, Any]:
    return {
        row.id: row
        for row in raw(app, "SELECT id, member_id, title, location, sync_version FROM appointments")
    }


def test_migration_0006_seals_the_titles_already_stored_and_its_downgrade_opens_them(
    empty_database_url,
):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database_url})
    engine = engine_of(app)
    try:
        with app.app_context():
            upgrade(app, "0005_sync")
        # Ana already has a data key (a location sealed before 0006); Ben has none.
        ana = _insert_account(app, "ana")
        ben = _insert_account(app, "ben")
        with session_of(app) as db:
            sealed_location = vault_of(db).seal(ana, "appointments", "location", "a1", "Room 3")
            db.flush()
            # This writes only member_keys, and the head's later synced tables (the plan's,
            # 0011) do not exist at 0005: the commit must not look for rows to stamp there.
            db.info.pop(tracking._FLAG, None)
            db.commit()
        key_before = raw(app, "SELECT wrapped_key FROM member_keys WHERE account_id = :id", id=ana)
        titles = {
            "a1": "Court date: see PO about probation",
            "a2": "hw1: not sealed, only looks it",
            "b1": "Drug test " + "é" * 190,
        }
        _insert_appointment(app, "a1", ana, titles["a1"], sealed_location)
        _insert_appointment(app, "a2", ana, titles["a2"])
        _insert_appointment(app, "b1", ben, titles["b1"])
        owners = {"a1": ana, "a2": ana, "b1": ben}

        with app.app_context():
            upgrade(app, "0006_sealed_titles")
        stored = _titles(app)
        assert set(stored) == set(titles)
        with session_of(app) as db:
            vault = vault_of(db)
            for row_id, title in titles.items():
                value = stored[row_id].title
                assert re.fullmatch(r"hw1:[A-Za-z0-9_-]+", value), value
                assert "probation" not in value and "Drug" not in value
                assert value != title
                assert vault.open(owners[row_id], "appointments", "title", row_id, value) == title
            # Locations sealed before stay as they were, under the same key.
            assert stored["a1"].location == sealed_location
            assert vault.open(ana, "appointments", "location", "a1", sealed_location) == "Room 3"
        assert (
            raw(app, "SELECT wrapped_key FROM member_keys WHERE account_id = :id", id=ana)
            == key_before
        )
        assert {row.account_id for row in raw(app, "SELECT account_id FROM member_keys")} == {
            ana,
            ben,
        }
        # The phones' copies did not change, so sealing does not mark the rows changed.
        assert {row.sync_version for row in stored.values()} == {7}
        # The titles survive the later migrations and the API shows them.
        with app.app_context():
            upgrade(app)
        client = app.test_client()
        signed_in = client.post(
            "/api/v1/auth/token", json={"username": "ana", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.get_json()
        headers = {"Authorization": f"Bearer {signed_in.get_json()['tokens']['access_token']}"}
        listed = client.get(APPOINTMENTS, headers=headers).get_json()["items"]
        assert {item["id"]: item["title"] for item in listed} == {
            "a1": titles["a1"],
            "a2": titles["a2"],
        }

        # Going down to 0005 gives the plaintext back, versions untouched.
        result = app.test_cli_runner().invoke(args=["db", "downgrade", "0005_sync"])
        assert result.exit_code == 0, result.output
        back = _titles(app)
        assert {row_id: row.title for row_id, row in back.items()} == titles
        assert back["a1"].location == sealed_location
        assert {row.sync_version for row in back.values()} == {7}
        # The column is the 200-character one again.
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("appointments")}
        assert getattr(columns["title"]["type"], "length", None) == 200
        # And up again seals them again, with fresh nonces.
        with app.app_context():
            upgrade(app, "0006_sealed_titles")
        again = _titles(app)
        for row_id in titles:
            assert again[row_id].title.startswith("hw1:")
            assert again[row_id].title != stored[row_id].title
        if engine.dialect.name == "sqlite":
            # The rebuilt table kept its sync triggers and indexes.
            names = {
                row.name
                for row in raw(
                    app,
                    "SELECT name FROM sqlite_master WHERE tbl_name = 'appointments' "
                    "AND type IN ('trigger', 'index') AND sql IS NOT NULL",
                )
            }
            assert {
                "appointments_sync_touch",
                "appointments_sync_insert",
                "appointments_sync_tombstone",
                "ix_appointments_sync_pending",
                "ix_appointments_member_id_starts_local",
            } <= names, names
            pending_index = raw(
                app, "SELECT sql FROM sqlite_master WHERE name = 'ix_appointments_sync_pending'"
            )
            assert "WHERE" in pending_index[0].sql.upper()
    finally:
        engine.dispose()
