"""Encryption at rest of what members write (api/crypto).

What must hold: check-in wins/note/place, mentors' replies and appointment location/notes
reach the database only as ``hw1:`` ciphertext under a per-member data key; a ciphertext
moved to another row, column or member does not open; rotating the master key re-wraps the
data keys without touching the data; migration 0003 seals text written before encryption.
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

from api import create_app
from api.accounts import passwords
from api.core.crypto import DecryptionError, Keyring, vault_of
from api.core.crypto.vault import decode_key, encode_key, key_id
from api.core.migrate import upgrade
from tests.fixtures.backends import TEST_CONFIG
from tests.fixtures.records import APPOINTMENTS, CHECKINS, appointment, checkin, respond, share
from tests.fixtures.stored import engine_of, every_stored_value, marker, raw, session_of

SEALED_COLUMNS = {
    "checkins": ("wins", "note", "place"),
    "checkin_responses": ("body",),
    "appointments": ("title", "location", "notes"),
}


# --------------------------------------------------------------------------- helpers


def execute(app: Flask, sql: str, **params: Any) -> None:
    with engine_of(app).begin() as connection:
        connection.execute(text(sql), params)


def member_texts(**labels: str) -> dict[str, str]:
    return {name: marker(label) for name, label in labels.items()}


def sealed_rows(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every sealed column of every row, as stored, keyed by table."""
    return {
        table: [
            tuple(row)
            for row in raw(app, f"SELECT id, {', '.join(columns)} FROM {table} ORDER BY id")  # noqa: S608
        ]
        for table, columns in SEALED_COLUMNS.items()
    }


def other_app(tmp_path: Path, database_url: str, **config: Any) -> Flask:
    """Another app on the same database, with its own instance folder and keys."""
    folder = tmp_path / f"instance-{uuid.uuid4().hex[:8]}"
    return create_app(
        {**TEST_CONFIG, "DATABASE_URL": database_url, "INSTANCE_PATH": str(folder), **config}
    )


def shows(response: Any, *texts: str) -> bool:
    body = response.get_data(as_text=True)
    return any(t in body for t in texts)


# --------------------------------------------------------------------------- no plaintext at rest


def test_the_database_holds_no_plaintext_of_encrypted_fields(
    app, client, accounts, backend, database_url
):
    member = accounts.register(display_name="Sam")
    mentor = accounts.register(role="mentor", display_name="Dana")
    share(client, member, mentor)
    first = member_texts(wins="Got my ID back", note="Slept badly", place="library")
    second = member_texts(wins="Called my sister", note="Court is on my mind", place="bus stop")
    made = [checkin(client, member, **first), checkin(client, member, **second)]
    reply_text = marker("Proud of you, see you Thursday")
    reply = respond(client, mentor, made[0]["id"], reply_text)
    where = member_texts(location="Room 204, 12 Elm St", notes="Bring the letter from parole")
    booked = appointment(client, member, **where)
    # An edit seals the new text too.
    edited_note = marker("Slept better after all")
    patched = client.patch(
        f"{CHECKINS}/{made[1]['id']}", json={"note": edited_note}, headers=member.headers
    )
    assert patched.status_code == 200, patched.get_json()
    second["note"] = edited_note
    secrets = [*first.values(), *second.values(), reply_text, *where.values()]

    # The API gives the plaintext back...
    listed = client.get(CHECKINS, headers=member.headers).get_json()["items"]
    by_id = {item["id"]: item for item in listed}
    for made_one, texts in zip(made, (first, second), strict=True):
        for name, value in texts.items():
            assert by_id[made_one["id"]][name] == value
    assert by_id[made[0]["id"]]["responses"][0]["body"] == reply_text
    fetched = client.get(f"{APPOINTMENTS}/{booked['id']}", headers=member.headers).get_json()
    assert (fetched["location"], fetched["notes"]) == (where["location"], where["notes"])

    # ...while the rows hold only ciphertext.
    checkin_rows = raw(app, "SELECT id, member_id, wins, note, place FROM checkins")
    assert {row.id for row in checkin_rows} == {c["id"] for c in made}
    response_rows = raw(app, "SELECT id, member_id, body FROM checkin_responses")
    assert [(row.id, row.member_id) for row in response_rows] == [(reply["id"], member.account_id)]
    appointment_rows = raw(app, "SELECT id, location, notes FROM appointments")
    assert [row.id for row in appointment_rows] == [booked["id"]]
    sealed_values = [
        *(v for row in checkin_rows for v in (row.wins, row.note, row.place)),
        *(row.body for row in response_rows),
        *(v for row in appointment_rows for v in (row.location, row.notes)),
    ]
    assert len(sealed_values) == 6 + 1 + 2
    for value in sealed_values:
        assert value.startswith("hw1:"), value
        assert value != "hw1:pending"
        assert re.fullmatch(r"hw1:[A-Za-z0-9_-]+", value), value
        # nonce (12) + tag (16) at least, in base64url without padding
        assert len(value) - 4 >= (12 + 16) * 4 // 3
    assert len(set(sealed_values)) == len(sealed_values)
    tokens = [secret.rsplit(" ", 1)[1] for secret in secrets]
    # Not merely encoded: the decoded payload does not hold the text either.
    for value in sealed_values:
        payload = base64.urlsafe_b64decode(value[4:] + "=" * (-len(value[4:]) % 4))
        for token in tokens:
            assert token.encode() not in payload

    # Nothing anywhere in the database holds any of the texts (or a piece of one).
    for table, column, value in every_stored_value(app):
        for secret, token in zip(secrets, tokens, strict=True):
            assert token not in value, (table, column, secret)
        assert value != "hw1:pending", (table, column)
    if backend == "sqlite":
        # Not even in the file's pages (free pages and the journal included). Every SQLite
        # connection of this process is closed first: closing another descriptor of the
        # file would drop the POSIX locks SQLite holds on it (and break later readers).
        engine_of(app).dispose()
        path = Path(database_url.removeprefix("sqlite:///"))
        blob = b"".join(
            p.read_bytes()
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
            if p.exists()
        )
        assert blob
        for token in tokens:
            assert token.encode() not in blob

    # The member's data key is stored only wrapped: 12-byte nonce + 32-byte key + 16-byte tag.
    key_rows = raw(app, "SELECT account_id, master_key_id, wrapped_key FROM member_keys")
    assert [row.account_id for row in key_rows] == [member.account_id]
    wrapped = bytes(key_rows[0].wrapped_key)
    assert len(wrapped) == 60
    keyring: Keyring = app.extensions["homeward.keyring"]
    assert key_rows[0].master_key_id == keyring.current_id
    data_key = keyring.unwrap(member.account_id, key_rows[0].master_key_id, wrapped)
    assert len(data_key) == 32
    assert data_key not in wrapped
    assert keyring.current not in wrapped


def test_identical_texts_seal_to_different_ciphertexts(app, client, accounts):
    member = accounts.register()
    same = marker("same words")
    made = [checkin(client, member, note=same) for _ in range(2)]
    notes = [row.note for row in raw(app, "SELECT note FROM checkins")]
    assert len(notes) == 2 and notes[0] != notes[1]
    for item in made:
        assert (
            client.get(f"{CHECKINS}/{item['id']}", headers=member.headers).get_json()["note"]
            == same
        )


def test_a_mentor_with_no_sealed_text_of_their_own_has_no_data_key(app, client, accounts):
    member = accounts.register()
    mentor = accounts.register(role="mentor")
    share(client, member, mentor)
    made = checkin(client, member, note=marker("note"))
    respond(client, mentor, made["id"], marker("reply"))
    owners = [row.account_id for row in raw(app, "SELECT account_id FROM member_keys")]
    # The reply is sealed with the member's key: it is part of the member's record.
    assert owners == [member.account_id]


# --------------------------------------------------------------------------- moved ciphertexts


def test_a_ciphertext_opens_only_in_its_own_member_row_and_column(app, client, accounts):
    alice = accounts.register()
    bob = accounts.register()
    a1 = checkin(client, alice, wins=marker("a1 wins"), note=marker("a1 note"))
    a2 = checkin(client, alice, wins=marker("a2 wins"), note=marker("a2 note"))
    b1 = checkin(client, bob, wins=marker("b1 wins"), note=marker("b1 note"))
    rows = {row.id: row for row in raw(app, "SELECT id, member_id, wins, note FROM checkins")}

    with session_of(app) as db:
        vault = vault_of(db)
        # The right place opens.
        assert (
            vault.open(alice.account_id, "checkins", "note", a1["id"], rows[a1["id"]].note)
            == (a1["note"])
        )
        attempts = {
            "another row of the same member": (alice.account_id, "checkins", "note", a2["id"]),
            "another column of the same row": (alice.account_id, "checkins", "wins", a1["id"]),
            "another table": (alice.account_id, "appointments", "notes", a1["id"]),
            "another member, same row id": (bob.account_id, "checkins", "note", a1["id"]),
            "another member's row": (bob.account_id, "checkins", "note", b1["id"]),
        }
        for what, (member_id, table, column, row_id) in attempts.items():
            with pytest.raises(DecryptionError):
                vault.open(member_id, table, column, row_id, rows[a1["id"]].note)
                pytest.fail(f"opened in {what}")
        # Tampering with one character of the ciphertext is caught too.
        sealed = rows[a1["id"]].note
        flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
        with pytest.raises(DecryptionError):
            vault.open(alice.account_id, "checkins", "note", a1["id"], flipped)
        # And plaintext is never taken for a sealed value.
        with pytest.raises(DecryptionError):
            vault.open(alice.account_id, "checkins", "note", a1["id"], "plain words")


def test_a_ciphertext_swapped_in_the_database_is_never_shown_as_the_other_rows_text(
    app, client, accounts
):
    alice = accounts.register()
    bob = accounts.register()
    mentor = accounts.register(role="mentor")
    share(client, alice, mentor)
    a1 = checkin(client, alice, wins=marker("a1 wins"), note=marker("a1 note"))
    a2 = checkin(client, alice, wins=marker("a2 wins"), note=marker("a2 note"))
    b1 = checkin(client, bob, wins=marker("b1 wins"), note=marker("b1 note"))
    rows = {row.id: row for row in raw(app, "SELECT id, wins, note FROM checkins")}
    statuses = {}

    def seen(path: str, person: Any, *forbidden: str) -> int:
        response = client.get(path, headers=person.headers)
        assert not shows(response, *forbidden), (path, response.status_code)
        if response.status_code == 200:
            return 200
        assert response.mimetype == "application/problem+json"
        assert "hw1:" not in response.get_data(as_text=True)
        return int(response.status_code)

    # Between two rows of one member: a2's note put into a1.
    execute(app, "UPDATE checkins SET note = :n WHERE id = :id", n=rows[a2["id"]].note, id=a1["id"])
    statuses["row swap, own GET"] = seen(f"{CHECKINS}/{a1['id']}", alice, a2["note"])
    statuses["row swap, own list"] = seen(CHECKINS, alice, a2["note"])
    statuses["row swap, mentor list"] = seen(
        f"/api/v1/mentees/{alice.account_id}/checkins", mentor, a2["note"]
    )
    # Between two columns of one row: a1's wins put into its note.
    execute(app, "UPDATE checkins SET note = :n WHERE id = :id", n=rows[a1["id"]].wins, id=a1["id"])
    statuses["column swap, own GET"] = seen(f"{CHECKINS}/{a1['id']}", alice, a1["wins"])
    # Between two members: bob's note put into alice's a1.
    execute(app, "UPDATE checkins SET note = :n WHERE id = :id", n=rows[b1["id"]].note, id=a1["id"])
    statuses["member swap, own GET"] = seen(f"{CHECKINS}/{a1['id']}", alice, b1["note"])
    statuses["member swap, mentor list"] = seen(
        f"/api/v1/mentees/{alice.account_id}/checkins", mentor, b1["note"]
    )

    # Putting the original back makes the row readable again: nothing else was damaged.
    execute(app, "UPDATE checkins SET note = :n WHERE id = :id", n=rows[a1["id"]].note, id=a1["id"])
    restored = client.get(f"{CHECKINS}/{a1['id']}", headers=alice.headers)
    assert restored.status_code == 200
    assert restored.get_json()["note"] == a1["note"]
    # None of the swaps was shown as readable text; record what the app answered.
    assert all(status != 200 for status in statuses.values()), statuses
    assert set(statuses.values()) == {500}, statuses


def test_an_appointment_location_swapped_between_members_is_not_shown(app, client, accounts):
    alice = accounts.register()
    bob = accounts.register()
    mine = appointment(client, alice, location=marker("Alice's clinic"))
    theirs = appointment(client, bob, location=marker("Bob's parole office"))
    stored = {row.id: row.location for row in raw(app, "SELECT id, location FROM appointments")}
    execute(
        app,
        "UPDATE appointments SET location = :l WHERE id = :id",
        l=stored[theirs["id"]],
        id=mine["id"],
    )
    response = client.get(f"{APPOINTMENTS}/{mine['id']}", headers=alice.headers)
    assert not shows(response, theirs["location"]), response.status_code
    assert response.status_code == 500, response.status_code


# --------------------------------------------------------------------------- per-member keys


def test_each_member_has_their_own_data_key(app, client, accounts):
    alice = accounts.register()
    bob = accounts.register()
    a = checkin(client, alice, note=marker("alice"))
    checkin(client, bob, note=marker("bob"))
    keys = {
        row.account_id: row
        for row in raw(app, "SELECT account_id, master_key_id, wrapped_key FROM member_keys")
    }
    assert set(keys) == {alice.account_id, bob.account_id}
    keyring: Keyring = app.extensions["homeward.keyring"]
    data_keys = {
        account: keyring.unwrap(account, row.master_key_id, bytes(row.wrapped_key))
        for account, row in keys.items()
    }
    assert data_keys[alice.account_id] != data_keys[bob.account_id]
    # A wrapped key is bound to its account: it does not unwrap as another's.
    with pytest.raises(DecryptionError):
        keyring.unwrap(
            bob.account_id,
            keys[alice.account_id].master_key_id,
            bytes(keys[alice.account_id].wrapped_key),
        )

    with session_of(app) as db:
        vault = vault_of(db)
        sealed_for_alice = vault.seal(alice.account_id, "checkins", "note", a["id"], "for alice")
        assert vault.open(alice.account_id, "checkins", "note", a["id"], sealed_for_alice) == (
            "for alice"
        )
        with pytest.raises(DecryptionError):
            vault.open(bob.account_id, "checkins", "note", a["id"], sealed_for_alice)

        # The key alone stops it, not just the associated data: sealed with Alice's key and
        # Bob's associated data, it still does not open as Bob's.
        def aad(member_id: str) -> bytes:
            return f"homeward/field/v1|{member_id}|checkins|note|{a['id']}".encode()

        def sealed_with(data_key: bytes, member_id: str) -> str:
            nonce = os.urandom(12)
            blob = nonce + AESGCM(data_key).encrypt(nonce, b"crossed", aad(member_id))
            return "hw1:" + base64.urlsafe_b64encode(blob).rstrip(b"=").decode()

        # (control: Bob's own key with Bob's associated data opens, so the format is right)
        own = sealed_with(data_keys[bob.account_id], bob.account_id)
        assert vault.open(bob.account_id, "checkins", "note", a["id"], own) == "crossed"
        crossed = sealed_with(data_keys[alice.account_id], bob.account_id)
        with pytest.raises(DecryptionError):
            vault.open(bob.account_id, "checkins", "note", a["id"], crossed)


# --------------------------------------------------------------------------- master keys


def test_flask_keys_generate_prints_a_32_byte_base64url_key(app):
    runner = app.test_cli_runner()
    printed = []
    for _ in range(2):
        result = runner.invoke(args=["keys", "generate"])
        assert result.exit_code == 0, result.output
        printed.append(result.output.strip())
    for key in printed:
        assert len(key) == 43, key
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key), key
        assert len(base64.urlsafe_b64decode(key + "=")) == 32
        assert decode_key(key) == base64.urlsafe_b64decode(key + "=")
        # It is usable as it is.
        assert Keyring.from_config({"MASTER_KEY": key}).current_id == key_id(decode_key(key))
    assert printed[0] != printed[1]


def _data_of(client: Any, person: Any) -> dict[str, Any]:
    return {
        "checkins": client.get(CHECKINS, headers=person.headers).get_json(),
        "appointments": client.get(APPOINTMENTS, headers=person.headers).get_json(),
    }


def test_key_rotation_rewraps_data_keys_and_keeps_every_record_readable(
    app, client, accounts, database_url, tmp_path
):
    old = app.config["MASTER_KEY"]
    new = encode_key(os.urandom(32))
    new_id = key_id(decode_key(new))
    old_id = key_id(decode_key(old))
    assert app.extensions["homeward.keyring"].current_id == old_id

    mentor = accounts.register(role="mentor")
    members = [accounts.register(), accounts.register()]
    for member in members:
        share(client, member, mentor)
        for n in range(3):
            made = checkin(
                client,
                member,
                wins=marker(f"wins {n}"),
                note=marker(f"note {n}"),
                place=marker(f"place {n}"),
            )
            respond(client, mentor, made["id"], marker(f"reply {n}"))
        appointment(client, member, location=marker("clinic"), notes=marker("bring papers"))
    before = {m.account_id: _data_of(client, m) for m in members}
    for data in before.values():
        assert data["checkins"]["total"] == 3 and data["appointments"]["total"] == 1
        assert all(item["responses"] for item in data["checkins"]["items"])
    stored_before = sealed_rows(app)
    keys_before = {
        row.account_id: (row.master_key_id, bytes(row.wrapped_key))
        for row in raw(app, "SELECT account_id, master_key_id, wrapped_key FROM member_keys")
    }
    assert {mid for mid, _ in keys_before.values()} == {old_id}
    assert set(keys_before) == {m.account_id for m in members}

    apps: list[Flask] = []
    try:
        rotating = other_app(tmp_path, database_url, MASTER_KEY=new, PREVIOUS_MASTER_KEYS=[old])
        apps.append(rotating)
        runner = rotating.test_cli_runner()
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        # (In development it goes on to say where it wrote the new key.)
        assert result.output.splitlines()[0] == (
            f"re-wrapped 2 data keys under master key {new_id}; 0 were already under it"
        )
        again = runner.invoke(args=["keys", "rotate"])
        assert again.exit_code == 0, again.output
        assert again.output.splitlines()[0] == (
            f"re-wrapped 0 data keys under master key {new_id}; 2 were already under it"
        )

        keys_after = {
            row.account_id: row
            for row in raw(
                app, "SELECT account_id, master_key_id, wrapped_key, rotated_at FROM member_keys"
            )
        }
        assert set(keys_after) == set(keys_before)
        for account_id, row in keys_after.items():
            assert row.master_key_id == new_id
            assert row.rotated_at is not None
            assert bytes(row.wrapped_key) != keys_before[account_id][1]
            assert len(bytes(row.wrapped_key)) == 60
        # Rotation re-wraps keys only: every ciphertext is byte for byte what it was.
        assert sealed_rows(app) == stored_before

        # An app with only the new key reads everything as before.
        new_only = other_app(tmp_path, database_url, MASTER_KEY=new)
        apps.append(new_only)
        new_client = new_only.test_client()
        for member in members:
            assert _data_of(new_client, member) == before[member.account_id]
        shared = new_client.get(
            f"/api/v1/mentees/{members[0].account_id}/checkins", headers=mentor.headers
        )
        assert shared.status_code == 200
        assert {item["note"] for item in shared.get_json()["items"]} == {
            item["note"] for item in before[members[0].account_id]["checkins"]["items"]
        }

        # The old key alone no longer opens anything (the keys are no longer under it).
        old_alone = client.get(CHECKINS, headers=members[0].headers)
        assert old_alone.status_code != 200
        assert not shows(
            old_alone, *(i["note"] for i in before[members[0].account_id]["checkins"]["items"])
        )

        # An unrelated key reads nothing either.
        stranger = other_app(tmp_path, database_url, MASTER_KEY=encode_key(os.urandom(32)))
        apps.append(stranger)
        refused = stranger.test_client().get(CHECKINS, headers=members[1].headers)
        # A key that unwraps nothing is a misconfiguration: 503, not a bare 500.
        assert refused.status_code == 503, refused.status_code
        assert refused.get_json()["type"] == "/problems/service-misconfigured"
        assert not shows(
            refused, *(i["note"] for i in before[members[1].account_id]["checkins"]["items"])
        )
        some_checkin = before[members[1].account_id]["checkins"]["items"][0]
        stored_note = raw(app, "SELECT note FROM checkins WHERE id = :id", id=some_checkin["id"])
        with session_of(stranger) as db, pytest.raises(DecryptionError):
            vault_of(db).open(
                members[1].account_id, "checkins", "note", some_checkin["id"], stored_note[0].note
            )
        # Nor can it rotate: it cannot unwrap what it does not hold; nothing changes.
        failed = stranger.test_cli_runner().invoke(args=["keys", "rotate"])
        assert failed.exit_code != 0
        assert {row.master_key_id for row in raw(app, "SELECT master_key_id FROM member_keys")} == {
            new_id
        }
    finally:
        for other in apps:
            engine_of(other).dispose()


# --------------------------------------------------------------------------- migration 0003

EARLY_PASSWORD = "a long walk home"
EARLY_LOCATION = "Room 3, 40 Oak St (side door)"
EARLY_NOTES = "Bring pay stubs\nand the letter"


def _app_at_0002_with_plaintext(database_url: str) -> tuple[Flask, str, str, str]:
    """An app on a database migrated to 0002 only, holding one member ('early') with one
    appointment whose location and notes are plaintext, and one without either.
    Returns (app, account id, appointment id, the other appointment's id)."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url})
    with app.app_context():
        upgrade(app, "0002_reminders")
        password_hash = passwords.hash_password(EARLY_PASSWORD)
    account_id, appointment_id, other_id = str(uuid.uuid4()), "appt-before-0003", "appt-2"
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with engine_of(app).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, username, username_key, password_hash, role, "
                "display_name, timezone, locale, password_changed_at, created_at, updated_at, "
                "notification_detail) VALUES (:id, 'early', 'early', :hash, 'member', NULL, "
                "'America/Chicago', 'en', :now, :now, :now, 'discreet')"
            ),
            {"id": account_id, "hash": password_hash, "now": now},
        )
        for row_id, row_location, row_notes in (
            (appointment_id, EARLY_LOCATION, EARLY_NOTES),
            (other_id, None, None),
        ):
            connection.execute(
                text(
                    "INSERT INTO appointments (id, member_id, title, kind, starts_local, "
                    "timezone, location, notes, reminder_offsets, channels, status, "
                    "created_at, updated_at) VALUES (:id, :member, 'Parole', 'supervision', "
                    ":starts, 'America/Chicago', :location, :notes, :offsets, :channels, "
                    "'scheduled', :now, :now)"
                ),
                {
                    "id": row_id,
                    "member": account_id,
                    "starts": now + timedelta(days=30),
                    "location": row_location,
                    "notes": row_notes,
                    "offsets": '["1d@10:00"]',
                    "channels": '["push"]',
                    "now": now,
                },
            )
    return app, account_id, appointment_id, other_id


def _signed_in_headers(client: Any) -> dict[str, str]:
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": "early", "password": EARLY_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.get_json()
    return {"Authorization": f"Bearer {signed_in.get_json()['tokens']['access_token']}"}


def test_migration_0003_seals_appointment_text_written_before_encryption_and_back(
    empty_database_url,
):
    app, account_id, appointment_id, other_id = _app_at_0002_with_plaintext(empty_database_url)
    engine = engine_of(app)
    try:
        with app.app_context():
            upgrade(app, "0003_checkins_mentors")
        rows = {row.id: row for row in raw(app, "SELECT id, location, notes FROM appointments")}
        assert set(rows) == {appointment_id, other_id}
        sealed = rows[appointment_id]
        assert sealed.location.startswith("hw1:") and sealed.notes.startswith("hw1:")
        assert "Oak" not in sealed.location and "stubs" not in sealed.notes
        assert (rows[other_id].location, rows[other_id].notes) == (None, None)
        keys = raw(app, "SELECT account_id, master_key_id, wrapped_key FROM member_keys")
        assert [(k.account_id, k.master_key_id) for k in keys] == [
            (account_id, app.extensions["homeward.keyring"].current_id)
        ]
        assert len(bytes(keys[0].wrapped_key)) == 60
        with session_of(app) as db:
            vault = vault_of(db)
            assert (
                vault.open(account_id, "appointments", "location", appointment_id, sealed.location)
                == EARLY_LOCATION
            )
            assert (
                vault.open(account_id, "appointments", "notes", appointment_id, sealed.notes)
                == EARLY_NOTES
            )

        # Going back down to 0002 gives the plaintext back.
        result = app.test_cli_runner().invoke(args=["db", "downgrade", "0002_reminders"])
        assert result.exit_code == 0, result.output
        back = raw(
            app, "SELECT location, notes FROM appointments WHERE id = :id", id=appointment_id
        )
        assert (back[0].location, back[0].notes) == (EARLY_LOCATION, EARLY_NOTES)
        assert "member_keys" not in sa_inspect(engine).get_table_names()
        # And up again seals it again, under a fresh data key and nonce.
        with app.app_context():
            upgrade(app, "0003_checkins_mentors")
        again = raw(
            app, "SELECT location, notes FROM appointments WHERE id = :id", id=appointment_id
        )
        assert again[0].location.startswith("hw1:") and again[0].location != sealed.location
    finally:
        engine.dispose()


def test_upgrading_to_head_keeps_the_appointments_sealed_by_0003_readable(empty_database_url):
    """Text written before encryption, sealed by 0003, survives every later migration."""
    app, account_id, appointment_id, other_id = _app_at_0002_with_plaintext(empty_database_url)
    engine = engine_of(app)
    try:
        with app.app_context():
            upgrade(app)
        stored = raw(app, "SELECT id, member_id, location, notes FROM appointments ORDER BY id")
        assert [(row.id, row.member_id) for row in stored] == sorted(
            [(appointment_id, account_id), (other_id, account_id)]
        ), "appointments written before the upgrade were lost"
        sealed = next(row for row in stored if row.id == appointment_id)
        assert sealed.location.startswith("hw1:") and sealed.notes.startswith("hw1:")
        client = app.test_client()
        shown = client.get(f"{APPOINTMENTS}/{appointment_id}", headers=_signed_in_headers(client))
        assert shown.status_code == 200, shown.get_json()
        assert (shown.get_json()["location"], shown.get_json()["notes"]) == (
            EARLY_LOCATION,
            EARLY_NOTES,
        )
    finally:
        engine.dispose()
