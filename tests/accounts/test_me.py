"""The signed-in account: its profile (GET/PATCH /api/v1/me) and its sessions
(GET /api/v1/me/sessions, DELETE /api/v1/me/sessions/{id})."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from tests.fixtures.http import assert_problem

ME = "/api/v1/me"
SESSIONS = "/api/v1/me/sessions"


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def patch_me(client: Any, person: Any, changes: Any) -> Any:
    return client.patch(ME, json=changes, headers=person.headers)


def profile(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(ME, headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


# --- GET /me ----------------------------------------------------------------------------


def test_me_shows_the_signed_in_account_with_defaults(client, accounts):
    person = accounts.register(username="river.stone")

    me = profile(client, person.headers)

    assert me["id"] == person.account_id
    assert me["username"] == "river.stone"
    assert me["role"] == "member"
    assert me["display_name"] is None
    assert me["timezone"] == "UTC"
    assert me["locale"] == "en"
    assert me["phone"] is None
    assert me["quiet_hours"] is None
    assert me["created_at"] and me["updated_at"]
    assert not any("password" in key for key in me)


def test_me_shows_each_person_their_own_account(client, accounts):
    first = accounts.register()
    second = accounts.register()

    assert profile(client, first.headers)["id"] == first.account_id
    assert profile(client, second.headers)["id"] == second.account_id


def test_profile_given_at_registration_is_kept(client, accounts):
    person = accounts.register(
        display_name="River", timezone="America/Chicago", locale="es", phone="+1 650 253 0000"
    )

    me = profile(client, person.headers)

    assert (me["display_name"], me["timezone"], me["locale"], me["phone"]) == (
        "River",
        "America/Chicago",
        "es",
        "+16502530000",
    )


# --- PATCH /me --------------------------------------------------------------------------


def test_patch_changes_every_profile_field(client, accounts):
    person = accounts.register()

    response = patch_me(
        client,
        person,
        {
            "display_name": "  Dee  ",
            "timezone": "America/Los_Angeles",
            "locale": "es",
            "phone": "+1 (650) 253-0000",
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
    )

    assert response.status_code == 200, response.get_json()
    expected = {
        "display_name": "Dee",
        "timezone": "America/Los_Angeles",
        "locale": "es",
        "phone": "+16502530000",
        "quiet_hours": {"start": "22:00", "end": "07:00"},
    }
    body = response.get_json()
    assert {key: body[key] for key in expected} == expected
    stored = profile(client, person.headers)
    assert {key: stored[key] for key in expected} == expected


def test_patch_changes_only_the_fields_given(client, accounts):
    person = accounts.register(display_name="River", locale="es")

    response = patch_me(client, person, {"timezone": "Europe/Madrid"})

    assert response.status_code == 200, response.get_json()
    me = profile(client, person.headers)
    assert (me["display_name"], me["locale"], me["timezone"]) == ("River", "es", "Europe/Madrid")


def test_patch_moves_updated_at_forward(client, accounts):
    with time_machine.travel(datetime(2031, 3, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        person = accounts.register()
        before = profile(client, person.headers)
        clock.shift(timedelta(minutes=5))

        after = patch_me(client, person, {"locale": "es"}).get_json()

    assert after["created_at"] == before["created_at"]
    assert datetime.fromisoformat(after["updated_at"]) == datetime(2031, 3, 1, 12, 5, tzinfo=UTC)


def test_nullable_fields_can_be_cleared(client, accounts):
    person = accounts.register(display_name="River", phone="+16502530000")
    assert (
        patch_me(client, person, {"quiet_hours": {"start": "21:30", "end": "06:00"}}).status_code
        == 200
    )

    response = patch_me(client, person, {"display_name": None, "phone": None, "quiet_hours": None})

    assert response.status_code == 200, response.get_json()
    me = profile(client, person.headers)
    assert (me["display_name"], me["phone"], me["quiet_hours"]) == (None, None, None)


def test_timezone_and_locale_cannot_be_cleared(client, accounts):
    person = accounts.register()

    for field in ("timezone", "locale"):
        body = assert_problem(patch_me(client, person, {field: None}), 422)
        assert field in body["errors"]


def test_timezone_must_be_an_iana_name(client, accounts):
    person = accounts.register(timezone="America/Chicago")

    for bad in ["Mars/Olympus_Mons", "Pacific Time", "", 5]:
        body = assert_problem(patch_me(client, person, {"timezone": bad}), 422)
        assert "timezone" in body["errors"], bad

    assert profile(client, person.headers)["timezone"] == "America/Chicago"


def test_locale_is_english_spanish_russian_or_kazakh(client, accounts):
    person = accounts.register()

    for bad in ["fr", "EN", "en-US", "ru-RU", "kz", ""]:
        body = assert_problem(patch_me(client, person, {"locale": bad}), 422)
        assert "locale" in body["errors"], bad

    for good in ["es", "ru", "kk", "en"]:
        assert patch_me(client, person, {"locale": good}).get_json()["locale"] == good


def test_phone_numbers_are_stored_in_e164(client, accounts):
    person = accounts.register()

    for typed, stored in [
        ("+1 415 555 0123", "+14155550123"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+34912345678", "+34912345678"),
    ]:
        response = patch_me(client, person, {"phone": typed})
        assert response.status_code == 200, (typed, response.get_json())
        assert response.get_json()["phone"] == stored
        assert profile(client, person.headers)["phone"] == stored


def test_phone_numbers_must_be_international_and_valid(client, accounts):
    person = accounts.register(phone="+16502530000")

    for bad in [
        "4155550123",
        "(415) 555-0123",
        "+1 123",
        "+1 555 555 5555",
        "call me",
        "+" + "1" * 40,
    ]:
        body = assert_problem(patch_me(client, person, {"phone": bad}), 422)
        assert "phone" in body["errors"], bad

    assert profile(client, person.headers)["phone"] == "+16502530000"


def test_quiet_hours_need_a_distinct_start_and_end_in_24_hour_time(client, accounts):
    person = accounts.register()

    for bad in [
        {"start": "22:00", "end": "22:00"},
        {"start": "25:00", "end": "07:00"},
        {"start": "7:00", "end": "09:00"},
        {"start": "22:00"},
        {"start": "22:00", "end": "07:00", "days": "weekdays"},
        "22:00-07:00",
    ]:
        body = assert_problem(patch_me(client, person, {"quiet_hours": bad}), 422)
        assert any(key.startswith("quiet_hours") for key in body["errors"]), (bad, body)

    assert profile(client, person.headers)["quiet_hours"] is None


def test_display_name_is_limited_to_80_characters(client, accounts):
    person = accounts.register()

    assert patch_me(client, person, {"display_name": "d" * 80}).status_code == 200
    body = assert_problem(patch_me(client, person, {"display_name": "d" * 81}), 422)

    assert "display_name" in body["errors"]
    assert profile(client, person.headers)["display_name"] == "d" * 80


def test_an_unknown_field_is_refused_and_nothing_changes(client, accounts):
    person = accounts.register(display_name="River")

    response = patch_me(client, person, {"display_name": "Changed", "nickname": "Riv"})

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/validation-error"
    assert "nickname" in body["errors"]
    assert profile(client, person.headers)["display_name"] == "River"


def test_one_invalid_field_means_no_field_changes(client, accounts):
    person = accounts.register(display_name="River", locale="en")

    response = patch_me(
        client, person, {"display_name": "Changed", "locale": "es", "timezone": "Nowhere/Special"}
    )

    body = assert_problem(response, 422)
    assert list(body["errors"]) == ["timezone"]
    me = profile(client, person.headers)
    assert (me["display_name"], me["locale"], me["timezone"]) == ("River", "en", "UTC")


def test_role_id_and_username_cannot_be_set_through_patch(client, accounts):
    person = accounts.register(username="river")
    before = profile(client, person.headers)

    for field, value in [
        ("role", "admin"),
        ("role", "staff"),
        ("id", str(uuid.uuid4())),
        ("username", "someone.else"),
        ("password_hash", "x"),
        ("password", "a new long walk"),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("username_key", "someone.else"),
    ]:
        body = assert_problem(
            patch_me(client, person, {"display_name": "Sneaky", field: value}), 422
        )
        assert field in body["errors"], field

    assert profile(client, person.headers) == before
    # The password did not change either.
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": "river", "password": person.password}
    )
    assert signed_in.status_code == 200


def test_patch_needs_a_json_object(client, accounts):
    person = accounts.register(display_name="River")

    response = client.patch(ME, json=["display_name", "Changed"], headers=person.headers)

    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert profile(client, person.headers)["display_name"] == "River"


def test_me_needs_a_signed_in_caller(client, accounts):
    accounts.register()

    assert_problem(client.get(ME), 401)
    assert_problem(client.patch(ME, json={"display_name": "Anyone"}), 401)
    assert_problem(client.get(SESSIONS), 401)


# --- sessions ---------------------------------------------------------------------------


def list_sessions(client: Any, access_token: str) -> list[dict[str, Any]]:
    response = client.get(SESSIONS, headers=bearer(access_token))
    assert response.status_code == 200, response.get_json()
    sessions: list[dict[str, Any]] = response.get_json()
    return sessions


def test_sessions_lists_each_signed_in_device_with_exactly_one_current(client, accounts):
    person = accounts.register(device_name="first phone")
    work = accounts.sign_in(person, device_name="work phone")
    accounts.sign_in(person, device_name="tablet")

    sessions = list_sessions(client, work["access_token"])

    assert len(sessions) == 3
    assert {s["device_name"] for s in sessions} == {"first phone", "work phone", "tablet"}
    current = [s for s in sessions if s["current"] is True]
    assert len(current) == 1
    assert current[0]["id"] == work["session_id"]
    assert all(s["current"] is False for s in sessions if s is not current[0])
    assert person.session_id in {s["id"] for s in sessions}
    for s in sessions:
        assert set(s) == {
            "id",
            "device_name",
            "created_at",
            "last_used_at",
            "expires_at",
            "current",
        }, "no token material is listed"


def test_sessions_lists_only_the_callers_own_open_sessions(client, accounts):
    person = accounts.register()
    other_phone = accounts.sign_in(person)
    stranger = accounts.register()
    assert (
        client.post("/api/v1/auth/logout", headers=bearer(other_phone["access_token"])).status_code
        == 200
    )

    sessions = list_sessions(client, person.access_token)

    assert [s["id"] for s in sessions] == [person.session_id]
    assert stranger.session_id not in {s["id"] for s in sessions}


def test_sessions_are_listed_most_recently_used_first(client, accounts):
    with time_machine.travel(datetime(2031, 3, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        person = accounts.register()
        clock.shift(timedelta(minutes=5))
        newer = accounts.sign_in(person)
        clock.shift(timedelta(minutes=5))
        # Refreshing marks the oldest session as just used.
        refreshed = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": person.refresh_token}
        )
        assert refreshed.status_code == 200

        sessions = list_sessions(client, newer["access_token"])

    assert [s["id"] for s in sessions] == [person.session_id, newer["session_id"]]


def test_deleting_one_of_my_other_sessions_signs_that_device_out(client, accounts):
    person = accounts.register()
    lost_phone = accounts.sign_in(person, device_name="lost phone")

    response = client.delete(f"{SESSIONS}/{lost_phone['session_id']}", headers=person.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(client.get(ME, headers=bearer(lost_phone["access_token"])), 401)
    assert_problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": lost_phone["refresh_token"]}),
        401,
    )
    assert profile(client, person.headers)["id"] == person.account_id
    assert lost_phone["session_id"] not in {
        s["id"] for s in list_sessions(client, person.access_token)
    }


def test_deleting_my_current_session_signs_me_out(client, accounts):
    person = accounts.register()

    response = client.delete(f"{SESSIONS}/{person.session_id}", headers=person.headers)

    assert response.status_code == 204
    assert_problem(client.get(ME, headers=person.headers), 401)


def test_deleting_a_session_twice_is_not_found_the_second_time(client, accounts):
    person = accounts.register()
    other_phone = accounts.sign_in(person)
    url = f"{SESSIONS}/{other_phone['session_id']}"
    assert client.delete(url, headers=person.headers).status_code == 204

    body = assert_problem(client.delete(url, headers=person.headers), 404)

    assert body["type"] == "/problems/not-found"


def test_a_member_cannot_revoke_another_members_session(client, accounts):
    member_a = accounts.register()
    member_b = accounts.register()

    body = assert_problem(
        client.delete(f"{SESSIONS}/{member_b.session_id}", headers=member_a.headers), 404
    )

    assert body["type"] == "/problems/not-found"
    assert profile(client, member_b.headers)["id"] == member_b.account_id
    assert member_b.session_id in {s["id"] for s in list_sessions(client, member_b.access_token)}


def test_an_unknown_session_id_is_not_found(client, accounts):
    person = accounts.register()

    for unknown in [str(uuid.uuid4()), "not-a-uuid", "x" * 200, "%C3%A9t%C3%A9"]:
        body = assert_problem(client.delete(f"{SESSIONS}/{unknown}", headers=person.headers), 404)
        assert body["type"] == "/problems/not-found"

    assert profile(client, person.headers)["id"] == person.account_id


def test_a_session_id_with_a_nul_byte_is_not_found_rather_than_a_500(client, accounts):
    person = accounts.register()

    body = assert_problem(client.delete(f"{SESSIONS}/nul%00id", headers=person.headers), 404)

    assert body["type"] == "/problems/not-found"
    assert profile(client, person.headers)["id"] == person.account_id


def test_deleting_a_session_needs_a_signed_in_caller(client, accounts):
    person = accounts.register()

    assert_problem(client.delete(f"{SESSIONS}/{person.session_id}"), 401)

    assert profile(client, person.headers)["id"] == person.account_id
