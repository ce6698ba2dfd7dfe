"""A person's rights over their data: GET /api/v1/me/export and DELETE /api/v1/me.

What must hold: the export holds everything Homeward keeps about the person, decrypted, and
nothing secret (no password, token or code hashes) and nothing of anyone else's; erasure
needs the password, is rate limited, and then leaves no row of the person anywhere, destroys
their data key (so any copied ciphertext stays unreadable), ends every session and grant,
and changes nothing of anybody else's.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from api.core.crypto import DecryptionError, vault_of
from api.models import metadata
from tests.fixtures.http import assert_problem
from tests.fixtures.records import (
    CHECKINS,
    ME,
    add_device,
    appointment,
    checkin,
    erase,
    respond,
    share,
)
from tests.fixtures.stored import engine_of, every_stored_value, marker, raw, session_of

EXPORT = "/api/v1/me/export"


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def export_of(client: Any, person: Any) -> dict[str, Any]:
    response = client.get(EXPORT, headers=person.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    body: dict[str, Any] = response.get_json()
    return body


def without_time_of_export(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "exported_at"}


def secrets_stored_for(app: Any, account_id: str) -> list[str]:
    """Every hash Homeward keeps for an account: password, refresh tokens, recovery codes,
    invite codes, calendar feed, device endpoints."""
    queries = [
        "SELECT password_hash FROM accounts WHERE id = :id",
        "SELECT t.token_hash FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id "
        "WHERE s.account_id = :id",
        "SELECT code_hash FROM recovery_codes WHERE account_id = :id",
        "SELECT code_hash FROM invites WHERE member_id = :id",
        "SELECT token_hash FROM calendar_feeds WHERE account_id = :id",
        "SELECT endpoint_hash FROM devices WHERE account_id = :id",
        "SELECT p256dh FROM devices WHERE account_id = :id",
        "SELECT auth FROM devices WHERE account_id = :id",
    ]
    found = [str(row[0]) for sql in queries for row in raw(app, sql, id=account_id)]
    return found


def _world(client: Any, accounts: Any, push: Any) -> dict[str, Any]:
    """A member (Sam) who uses everything, the mentor (Dana) she shares with, and another
    member (Lee) who shares with the same mentor and has data of his own."""
    sam = accounts.register(username=unique_name("sam"), display_name="Sam R", phone="+14155550123")
    dana = accounts.register(role="mentor", username=unique_name("dana"), display_name="Dana K")
    lee = accounts.register(username=unique_name("lee"), display_name="Lee T")
    second_session = accounts.sign_in(sam, device_name="Sam's tablet")
    grant = share(client, sam, dana)
    share(client, lee, dana)
    device = add_device(client, push, sam, "Sam's phone")
    sam_texts = {
        "wins": marker("Got my ID back"),
        "note": marker("Nervous about Friday"),
        "place": marker("library"),
    }
    sam_checkin = checkin(client, sam, mood=3, needs=["housing", "id"], **sam_texts)
    help_checkin = checkin(client, sam, mood=1, help_requested=True, note=marker("help"))
    reply = marker("Proud of you. Call me.")
    response = respond(client, dana, sam_checkin["id"], reply)
    where = {"location": marker("Room 204, 12 Elm St"), "notes": marker("Bring the letter")}
    booked = appointment(client, sam, title="Parole check-in", kind="supervision", **where)
    open_invite = client.post(
        "/api/v1/invites", json={"scopes": ["checkins.mood"]}, headers=sam.headers
    )
    assert open_invite.status_code == 201
    feed = client.post("/api/v1/me/calendar-feed", headers=sam.headers)
    assert feed.status_code == 201
    # Dana reads Sam's check-ins and appointments: the access log gets rows.
    for path in ("checkins", "appointments"):
        read = client.get(f"/api/v1/mentees/{sam.account_id}/{path}", headers=dana.headers)
        assert read.status_code == 200
    lee_texts = {"note": marker("Lee's own note"), "wins": marker("Lee's win")}
    lee_checkin = checkin(client, lee, **lee_texts)
    lee_reply = respond(client, dana, lee_checkin["id"], marker("Nice one, Lee"))
    appointment(client, lee, location=marker("Lee's clinic"))
    assert (
        client.get(f"/api/v1/mentees/{lee.account_id}/checkins", headers=dana.headers).status_code
        == 200
    )
    return {
        "sam": sam,
        "dana": dana,
        "lee": lee,
        "second_session": second_session,
        "grant": grant,
        "device": device,
        "sam_texts": sam_texts,
        "sam_checkin": sam_checkin,
        "help_checkin": help_checkin,
        "reply": reply,
        "response": response,
        "where": where,
        "booked": booked,
        "open_invite": open_invite.get_json(),
        "feed": feed.get_json(),
        "lee_texts": lee_texts,
        "lee_checkin": lee_checkin,
        "lee_reply": lee_reply,
    }


# --------------------------------------------------------------------------- export


def test_the_export_holds_everything_the_member_has_decrypted(app, client, accounts, push):
    w = _world(client, accounts, push)
    sam, dana = w["sam"], w["dana"]
    document = export_of(client, sam)

    assert document["format"] == "homeward-export/1"
    assert document["exported_at"]
    account = document["account"]
    assert (account["id"], account["username"], account["role"]) == (
        sam.account_id,
        sam.username,
        "member",
    )
    assert (account["display_name"], account["phone"]) == ("Sam R", "+14155550123")
    assert document["recovery_codes_left"] == 10
    assert {s["id"] for s in document["sessions"]} == {
        sam.session_id,
        w["second_session"]["session_id"],
    }
    assert "Sam's tablet" in {s["device_name"] for s in document["sessions"]}
    assert [(d["id"], d["name"]) for d in document["devices"]] == [
        (w["device"]["id"], "Sam's phone")
    ]

    [exported_appointment] = document["appointments"]
    assert exported_appointment["id"] == w["booked"]["id"]
    assert exported_appointment["title"] == "Parole check-in"
    assert exported_appointment["kind"] == "supervision"
    assert exported_appointment["location"] == w["where"]["location"]
    assert exported_appointment["notes"] == w["where"]["notes"]
    assert {n["appointment_id"] for n in document["notifications"]} == {w["booked"]["id"]}
    assert document["calendar_feed"]["enabled"] is True

    checkins = {c["id"]: c for c in document["checkins"]}
    assert set(checkins) == {w["sam_checkin"]["id"], w["help_checkin"]["id"]}
    mine = checkins[w["sam_checkin"]["id"]]
    for name, value in w["sam_texts"].items():
        assert mine[name] == value
    assert (mine["mood"], sorted(mine["needs"])) == (3, ["housing", "id"])
    [reply] = mine["responses"]
    assert (reply["body"], reply["mentor_id"], reply["mentor_name"]) == (
        w["reply"],
        dana.account_id,
        "Dana K",
    )
    assert checkins[w["help_checkin"]["id"]]["help_requested"] is True
    assert document["responses_written"] == []

    [grant] = document["grants"]
    assert (grant["id"], grant["mentor_id"], grant["active"]) == (
        w["grant"]["id"],
        dana.account_id,
        True,
    )
    invites = {i["id"]: i for i in document["invites"]}
    assert w["open_invite"]["id"] in invites
    assert invites[w["open_invite"]["id"]]["redeemed_at"] is None
    assert any(i["redeemed_by"] == dana.account_id for i in invites.values())
    actions = {entry["action"] for entry in document["access_log"]}
    assert {"checkins.list", "appointments.list", "checkins.respond"} <= actions
    assert {entry["mentor_id"] for entry in document["access_log"]} == {dana.account_id}
    listed = next(e for e in document["access_log"] if e["action"] == "checkins.list")
    assert set(listed["record_ids"]) == {w["sam_checkin"]["id"], w["help_checkin"]["id"]}


def test_the_export_holds_no_secret_and_nothing_of_anyone_else(app, client, accounts, push):
    w = _world(client, accounts, push)
    sam, lee = w["sam"], w["lee"]
    response = client.get(EXPORT, headers=sam.headers)
    assert response.status_code == 200
    document_text = response.get_data(as_text=True)

    hashes = secrets_stored_for(app, sam.account_id)
    assert len(hashes) >= 1 + 2 + 10 + 2 + 1 + 3
    for stored in hashes:
        assert stored not in document_text
    assert "argon2" not in document_text
    # Nor the secrets themselves.
    for secret in (
        sam.access_token,
        sam.refresh_token,
        w["second_session"]["refresh_token"],
        *sam.recovery_codes,
        w["open_invite"]["code"],
        w["feed"]["token"],
        sam.password,
    ):
        assert secret not in document_text
    # Everything sealed was opened.
    assert "hw1:" not in document_text

    # Nothing of Lee's: not his id, name, check-ins, texts, appointment or the reply to him.
    for foreign in (
        lee.account_id,
        lee.username,
        "Lee T",
        w["lee_checkin"]["id"],
        w["lee_reply"]["id"],
        *w["lee_texts"].values(),
        w["lee_reply"]["body"],
    ):
        assert foreign not in document_text


def test_a_mentors_export_holds_the_responses_they_wrote_and_the_grants_they_hold(
    app, client, accounts, push
):
    w = _world(client, accounts, push)
    dana, sam, lee = w["dana"], w["sam"], w["lee"]
    document = export_of(client, dana)
    assert document["account"]["role"] == "mentor"
    assert document["checkins"] == [] and document["appointments"] == []
    written = {r["id"]: r for r in document["responses_written"]}
    assert set(written) == {w["response"]["id"], w["lee_reply"]["id"]}
    assert written[w["response"]["id"]]["body"] == w["reply"]
    assert written[w["response"]["id"]]["checkin_id"] == w["sam_checkin"]["id"]
    assert written[w["lee_reply"]["id"]]["body"] == w["lee_reply"]["body"]
    held = {g["member_id"]: g for g in document["grants"]}
    assert set(held) == {sam.account_id, lee.account_id}
    assert all(g["mentor_id"] == dana.account_id and g["active"] for g in held.values())
    assert held[sam.account_id]["id"] == w["grant"]["id"]
    # The mentor's export is about the mentor: none of the members' own texts or logs.
    document_text = json.dumps(document)
    for foreign in (*w["sam_texts"].values(), w["where"]["location"], *w["lee_texts"].values()):
        assert foreign not in document_text
    assert document["access_log"] == []
    assert "hw1:" not in document_text
    for stored in secrets_stored_for(app, dana.account_id):
        assert stored not in document_text


# --------------------------------------------------------------------------- erasure


def _rows_referencing(app: Any, account_id: str) -> dict[str, int]:
    """Rows in every table with a column that references accounts.id and holds this id."""
    counts = {}
    with engine_of(app).connect() as connection:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if any(fk.column.table.name == "accounts" for fk in column.foreign_keys):
                    count = connection.execute(
                        text(f'SELECT count(*) FROM "{table.name}" WHERE "{column.name}" = :id'),  # noqa: S608
                        {"id": account_id},
                    ).scalar_one()
                    counts[f"{table.name}.{column.name}"] = count
    counts["accounts.id"] = len(raw(app, "SELECT id FROM accounts WHERE id = :id", id=account_id))
    return counts


def test_erasing_with_a_wrong_password_is_refused_and_erases_nothing(app, client, accounts, push):
    w = _world(client, accounts, push)
    sam = w["sam"]
    rows_before = _rows_referencing(app, sam.account_id)
    export_before = without_time_of_export(export_of(client, sam))

    body = assert_problem(erase(client, sam, "not my password at all"), 403)
    assert "password" in body.get("errors", {})

    assert _rows_referencing(app, sam.account_id) == rows_before
    assert rows_before["member_keys.account_id"] == 1
    assert without_time_of_export(export_of(client, sam)) == export_before
    assert client.get(ME, headers=sam.headers).status_code == 200


def test_erasing_an_account_leaves_nothing_of_the_member_and_shreds_their_key(
    app, client, accounts, push, backend
):
    w = _world(client, accounts, push)
    sam, dana, lee = w["sam"], w["dana"], w["lee"]
    # Help alerts to the mentor about Sam are queued in the outbox (push, SMS, in the app).
    alerts = raw(
        app,
        "SELECT id FROM reminder_deliveries WHERE about_member_id = :id",
        id=sam.account_id,
    )
    assert len(alerts) == 3
    rows_before = _rows_referencing(app, sam.account_id)
    for name in (
        "checkins.member_id",
        "checkin_responses.member_id",
        "appointments.member_id",
        "reminder_deliveries.member_id",
        "reminder_deliveries.about_member_id",
        "grants.member_id",
        "invites.member_id",
        "access_log.member_id",
        "auth_sessions.account_id",
        "member_keys.account_id",
        "devices.account_id",
        "recovery_codes.account_id",
        "calendar_feeds.account_id",
    ):
        assert rows_before[name] >= 1, name
    session_ids = [
        r.id
        for r in raw(app, "SELECT id FROM auth_sessions WHERE account_id = :id", id=sam.account_id)
    ]
    copied = raw(app, "SELECT id, note FROM checkins WHERE id = :id", id=w["sam_checkin"]["id"])[0]
    copied_location = raw(
        app, "SELECT location FROM appointments WHERE id = :id", id=w["booked"]["id"]
    )[0].location
    lee_export_before = without_time_of_export(export_of(client, lee))

    erased = erase(client, sam)
    assert erased.status_code == 204, erased.get_data(as_text=True)
    assert erased.get_data() == b""

    # Lee's export is exactly what it was (taken before anyone reads again, since a
    # mentor's read adds to Lee's access log).
    assert without_time_of_export(export_of(client, lee)) == lee_export_before

    # No row anywhere references Sam.
    rows_after = _rows_referencing(app, sam.account_id)
    assert set(rows_after.values()) == {0}, {k: v for k, v in rows_after.items() if v}
    assert session_ids
    for session_id in session_ids:
        assert raw(app, "SELECT id FROM refresh_tokens WHERE session_id = :s", s=session_id) == []
    assert (
        raw(app, "SELECT account_id FROM member_keys WHERE account_id = :id", id=sam.account_id)
        == []
    )
    # Nor does any value anywhere hold Sam's id, username, record ids or texts.
    traces = [
        sam.account_id,
        sam.username,
        w["sam_checkin"]["id"],
        w["help_checkin"]["id"],
        w["booked"]["id"],
        w["response"]["id"],
        w["grant"]["id"],
        *(t.rsplit(" ", 1)[1] for t in (*w["sam_texts"].values(), w["reply"])),
    ]
    # Except where Dana's phone (the mentor) must be told to drop what it may hold of Sam
    # (the grant, shared check-ins): tombstones addressed to Dana alone, bare record ids.
    told_to_dana = {w["sam_checkin"]["id"], w["help_checkin"]["id"], w["grant"]["id"]}
    for table, column, value in every_stored_value(app):
        for trace in traces:
            if (table, column, value) == ("sync_tombstones", "record_id", trace):
                assert trace in told_to_dana, trace
                continue
            assert trace not in value, (table, column, trace)
    tombstones = raw(app, "SELECT record_id, account_id FROM sync_tombstones")
    dana = w["dana"]
    assert {t.account_id for t in tombstones if t.record_id in told_to_dana} == {dana.account_id}
    assert w["grant"]["id"] in {t.record_id for t in tombstones}

    # A copy of the ciphertext made before can never be opened again: the key is gone.
    with session_of(app) as db:
        vault = vault_of(db)
        try:
            vault.open(sam.account_id, "checkins", "note", copied.id, copied.note)
        except DecryptionError:
            pass
        else:
            raise AssertionError("a copied check-in note opened after erasure")
        try:
            vault.open(
                sam.account_id, "appointments", "location", w["booked"]["id"], copied_location
            )
        except DecryptionError:
            pass
        else:
            raise AssertionError("a copied appointment location opened after erasure")

    # Sam is signed out everywhere and cannot sign in again.
    assert_problem(client.get(ME, headers=sam.headers), 401)
    assert_problem(client.get(CHECKINS, headers=sam.headers), 401)
    assert_problem(client.get(EXPORT, headers=sam.headers), 401)
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": sam.username, "password": sam.password}
    )
    assert_problem(signed_in, 401)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": sam.refresh_token})
    assert_problem(refreshed, 401)
    recovered = client.post(
        "/api/v1/auth/recover",
        json={
            "username": sam.username,
            "recovery_code": sam.recovery_codes[0],
            "new_password": "another long walk home",
        },
    )
    assert recovered.status_code in (400, 401, 404), recovered.status_code
    # Sam's private calendar feed is gone.
    feed_path = w["feed"]["url"].split("localhost", 1)[1]
    assert client.get(feed_path).status_code == 404

    # The mentor sees Sam no more; Lee is still listed.
    mentees = client.get("/api/v1/mentees", headers=dana.headers)
    assert mentees.status_code == 200
    assert [m["member_id"] for m in mentees.get_json()["items"]] == [lee.account_id]
    for path in ("checkins", "appointments"):
        assert_problem(
            client.get(f"/api/v1/mentees/{sam.account_id}/{path}", headers=dana.headers), 404
        )
    assert_problem(
        client.post(
            f"{CHECKINS}/{w['sam_checkin']['id']}/responses",
            json={"body": "still there?"},
            headers=dana.headers,
        ),
        404,
    )
    held = client.get("/api/v1/grants", headers=dana.headers).get_json()["items"]
    assert [g["member_id"] for g in held] == [lee.account_id]
    # The mentor's own export no longer holds the reply written into Sam's record.
    dana_written = export_of(client, dana)["responses_written"]
    assert [r["id"] for r in dana_written] == [w["lee_reply"]["id"]]
    # And the username is free again for someone new.
    again = client.post(
        "/api/v1/auth/register",
        json={"username": sam.username, "password": "a brand new person", "role": "member"},
    )
    assert again.status_code == 201


def test_a_mentor_erasing_their_account_leaves_the_members_log_and_replies(
    app, client, accounts, push
):
    w = _world(client, accounts, push)
    sam, dana = w["sam"], w["dana"]
    log_before = client.get("/api/v1/me/access-log", headers=sam.headers).get_json()["items"]
    assert log_before and {e["mentor_id"] for e in log_before} == {dana.account_id}

    erased = erase(client, dana)
    assert erased.status_code == 204, erased.get_data(as_text=True)

    assert raw(app, "SELECT id FROM accounts WHERE id = :id", id=dana.account_id) == []
    assert set(_rows_referencing(app, dana.account_id).values()) == {0}
    # Sam keeps the record of every read, now without a mentor to name.
    log_after = client.get("/api/v1/me/access-log", headers=sam.headers).get_json()["items"]
    assert [(e["id"], e["action"], e["record_ids"]) for e in log_after] == [
        (e["id"], e["action"], e["record_ids"]) for e in log_before
    ]
    assert {(e["mentor_id"], e["grant_id"]) for e in log_after} == {(None, None)}
    stored_log = raw(
        app, "SELECT mentor_id FROM access_log WHERE member_id = :id", id=sam.account_id
    )
    assert len(stored_log) == len(log_before)
    assert {row.mentor_id for row in stored_log} == {None}
    # And the reply, still readable (it is sealed with Sam's key, which is untouched).
    shown = client.get(f"{CHECKINS}/{w['sam_checkin']['id']}", headers=sam.headers)
    assert shown.status_code == 200
    [reply] = shown.get_json()["responses"]
    assert (reply["id"], reply["body"], reply["mentor_id"]) == (
        w["response"]["id"],
        w["reply"],
        None,
    )
    stored_reply = raw(
        app, "SELECT mentor_id FROM checkin_responses WHERE id = :id", id=w["response"]["id"]
    )
    assert [row.mentor_id for row in stored_reply] == [None]
    # The grant ended with the mentor; Sam's export still opens everything.
    assert client.get("/api/v1/grants", headers=sam.headers).get_json()["items"] == []
    document = export_of(client, sam)
    assert document["checkins"] and all(
        r["mentor_id"] is None for c in document["checkins"] for r in c["responses"]
    )
    assert_problem(client.get(ME, headers=dana.headers), 401)


def test_an_account_without_any_sealed_data_can_be_erased(app, client, accounts):
    person = accounts.register()
    assert raw(app, "SELECT account_id FROM member_keys") == []
    assert erase(client, person).status_code == 204
    assert set(_rows_referencing(app, person.account_id).values()) == {0}


def test_erase_attempts_with_wrong_passwords_are_rate_limited(app, client, accounts):
    sam = accounts.register()
    other = accounts.register()
    checkin(client, sam, note=marker("still here"))
    limit = int(app.config["RATELIMIT_LOGIN_PER_USERNAME"].split("/")[0])
    assert limit == 10
    for attempt in range(limit):
        response = erase(client, sam, f"wrong guess {attempt}")
        assert response.status_code == 403, (attempt, response.status_code)
    refused = erase(client, sam, "wrong guess again")
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    # Even the right password waits now, and nothing was erased.
    assert erase(client, sam).status_code == 429
    assert client.get(ME, headers=sam.headers).status_code == 200
    assert len(raw(app, "SELECT id FROM checkins WHERE member_id = :id", id=sam.account_id)) == 1
    assert raw(app, "SELECT account_id FROM member_keys WHERE account_id = :id", id=sam.account_id)
    # The limit is per account: someone else is not held back by Sam's attempts.
    assert erase(client, other, "wrong guess").status_code == 403
    assert erase(client, other).status_code == 204
