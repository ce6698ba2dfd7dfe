"""Accounts and sessions, as the phone app relies on them (product.md, "Accounts and sessions").

Register, sign in, refresh with rotation and replay detection, log out of one phone or all,
token lifetimes, recovery codes instead of email, the password policy, no user enumeration,
the login rate limit, case-insensitive usernames, and staff accounts made only by operators.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from tests.fixtures.http import assert_problem

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
RECOVER = "/api/v1/auth/recover"
ME = "/api/v1/me"

# A fixed instant for tests that move the clock; tokens and sessions are issued "now".
START = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
RECOVERY_CODE = re.compile(r"^[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}$")


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def get_me(client: Any, access_token: str) -> Any:
    return client.get(ME, headers=bearer(access_token))


def refresh(client: Any, refresh_token: str) -> Any:
    return client.post(REFRESH, json={"refresh_token": refresh_token})


def assert_signed_in(client: Any, access_token: str, username: str) -> None:
    response = get_me(client, access_token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["username"] == username


def assert_signed_out(client: Any, access_token: str) -> None:
    body = assert_problem(get_me(client, access_token), 401)
    assert body["type"] == "/problems/unauthorized"


def login(client: Any, username: str, password: str) -> Any:
    return client.post(TOKEN, json={"username": username, "password": password})


def register(client: Any, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        REGISTER,
        json={
            "username": username,
            "password": password,
            "role": extra.pop("role", "member"),
            **extra,
        },
    )


# --- registration ---------------------------------------------------------------------


def test_register_returns_account_token_pair_and_ten_recovery_codes(client):
    response = register(
        client, "river.stone", "a long walk home", display_name="River", device_name="my phone"
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    account = body["account"]
    assert account["username"] == "river.stone"
    assert account["role"] == "member"
    assert account["display_name"] == "River"
    assert account["id"]
    assert not any("password" in key for key in account), "no password material is returned"

    tokens = body["tokens"]
    assert tokens["token_type"] == "Bearer"
    assert tokens["access_token"] and tokens["refresh_token"] and tokens["session_id"]
    assert tokens["access_token"] != tokens["refresh_token"]
    assert tokens["expires_in"] == 15 * 60
    assert tokens["refresh_expires_in"] == 30 * 24 * 3600

    codes = body["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(RECOVERY_CODE.match(code) for code in codes), codes

    me = get_me(client, tokens["access_token"])
    assert me.status_code == 200
    assert me.get_json()["id"] == account["id"]
    assert me.get_json()["username"] == "river.stone"


def test_a_mentor_can_register_too(client):
    response = register(client, "mentor.mae", "a long walk home", role="mentor")

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["account"]["role"] == "mentor"


def test_sign_in_opens_a_new_session_with_its_own_tokens(client, accounts):
    person = accounts.register()

    tokens = accounts.sign_in(person, device_name="work phone")

    assert tokens["session_id"] != person.session_id
    assert tokens["access_token"] != person.access_token
    assert_signed_in(client, tokens["access_token"], person.username)
    assert_signed_in(client, person.access_token, person.username)


# --- refresh rotation and replay ------------------------------------------------------


def test_refresh_rotates_the_pair_within_the_same_session(client, accounts):
    person = accounts.register()

    response = refresh(client, person.refresh_token)

    assert response.status_code == 200, response.get_json()
    pair = response.get_json()
    assert pair["session_id"] == person.session_id
    assert pair["refresh_token"] != person.refresh_token
    assert pair["token_type"] == "Bearer"
    assert_signed_in(client, pair["access_token"], person.username)


def test_reused_refresh_token_revokes_the_session(client, accounts):
    person = accounts.register()
    rotated = refresh(client, person.refresh_token)
    assert rotated.status_code == 200
    new_pair = rotated.get_json()

    # The exchanged token is dead: presenting it again is a replay and ends the session.
    replay = assert_problem(refresh(client, person.refresh_token), 401)
    assert replay["type"] == "/problems/refresh-token-reused"

    # Presenting it yet again is still refused (the session is gone now).
    again = assert_problem(refresh(client, person.refresh_token), 401)
    assert again["type"] == "/problems/invalid-refresh-token"

    # The whole session ended: the NEW refresh token and its access token are refused too.
    newest = assert_problem(refresh(client, new_pair["refresh_token"]), 401)
    assert newest["type"] == "/problems/invalid-refresh-token"
    assert_signed_out(client, new_pair["access_token"])
    assert_signed_out(client, person.access_token)


def test_refresh_replay_ends_only_the_session_it_belongs_to(client, accounts):
    person = accounts.register()
    other_phone = accounts.sign_in(person, device_name="other phone")
    assert refresh(client, person.refresh_token).status_code == 200

    assert_problem(refresh(client, person.refresh_token), 401)

    assert_signed_in(client, other_phone["access_token"], person.username)
    assert refresh(client, other_phone["refresh_token"]).status_code == 200


def test_an_unknown_refresh_token_is_refused(client, accounts):
    accounts.register()

    body = assert_problem(refresh(client, "rt_this-token-was-never-issued"), 401)

    assert body["type"] == "/problems/invalid-refresh-token"


def test_an_access_token_is_not_a_refresh_token(client, accounts):
    person = accounts.register()

    response = refresh(client, person.access_token)

    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert_signed_in(client, person.access_token, person.username)


# --- logout ---------------------------------------------------------------------------


def test_logout_ends_only_the_current_session(client, accounts):
    person = accounts.register()
    other_phone = accounts.sign_in(person, device_name="other phone")

    response = client.post(LOGOUT, headers=person.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"sessions_ended": 1}
    assert_signed_out(client, person.access_token)
    assert_problem(refresh(client, person.refresh_token), 401)
    assert_signed_in(client, other_phone["access_token"], person.username)
    assert refresh(client, other_phone["refresh_token"]).status_code == 200


def test_logout_all_ends_every_session_of_the_account(client, accounts):
    person = accounts.register()
    phones = [accounts.sign_in(person, device_name=f"phone {n}") for n in range(2)]
    someone_else = accounts.register()

    response = client.post(LOGOUT_ALL, headers=person.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"sessions_ended": 3}
    for access, refresh_token in [
        (person.access_token, person.refresh_token),
        *((p["access_token"], p["refresh_token"]) for p in phones),
    ]:
        assert_signed_out(client, access)
        assert_problem(refresh(client, refresh_token), 401)
    # Other accounts are untouched.
    assert_signed_in(client, someone_else.access_token, someone_else.username)


def test_logout_needs_a_valid_access_token(client, accounts):
    accounts.register()

    assert_problem(client.post(LOGOUT), 401)
    assert_problem(client.post(LOGOUT_ALL, headers=bearer("garbage")), 401)


def test_revoked_session_access_token_is_refused_within_its_lifetime(client, accounts):
    with time_machine.travel(START, tick=False) as clock:
        person = accounts.register()
        other_phone = accounts.sign_in(person)
        assert client.post(LOGOUT, headers=person.headers).status_code == 200

        clock.shift(timedelta(minutes=1))

        # Both tokens are equally fresh and validly signed; only the session differs.
        assert_signed_out(client, person.access_token)
        assert_signed_in(client, other_phone["access_token"], person.username)


# --- lifetimes ------------------------------------------------------------------------


def test_access_token_expires_after_15_minutes(client, accounts):
    with time_machine.travel(START, tick=False) as clock:
        person = accounts.register()

        clock.shift(timedelta(minutes=14, seconds=59))
        assert_signed_in(client, person.access_token, person.username)

        clock.shift(timedelta(seconds=2))
        assert_signed_out(client, person.access_token)

        # The session itself lives on: the refresh token still gets a fresh access token.
        pair = refresh(client, person.refresh_token)
        assert pair.status_code == 200, pair.get_json()
        assert_signed_in(client, pair.get_json()["access_token"], person.username)


def test_refresh_token_expires_after_30_idle_days(client, accounts):
    with time_machine.travel(START, tick=False) as clock:
        person = accounts.register()

        clock.move_to(START + timedelta(days=30, minutes=1))

        body = assert_problem(refresh(client, person.refresh_token), 401)
        assert body["type"] == "/problems/session-expired"


def test_refresh_token_idle_expiry_slides_with_each_refresh(client, accounts):
    with time_machine.travel(START, tick=False) as clock:
        person = accounts.register()

        clock.move_to(START + timedelta(days=29))
        first = refresh(client, person.refresh_token)
        assert first.status_code == 200, first.get_json()
        assert first.get_json()["refresh_expires_in"] == 30 * 24 * 3600

        # Day 58 is past day 0 + 30 but within day 29 + 30.
        clock.move_to(START + timedelta(days=58))
        second = refresh(client, first.get_json()["refresh_token"])
        assert second.status_code == 200, second.get_json()


def test_refresh_token_dies_at_90_days_however_often_it_is_refreshed(client, accounts):
    with time_machine.travel(START, tick=False) as clock:
        person = accounts.register()
        refresh_token = person.refresh_token

        for day in (20, 40, 60, 80):
            clock.move_to(START + timedelta(days=day))
            response = refresh(client, refresh_token)
            assert response.status_code == 200, (day, response.get_json())
            refresh_token = response.get_json()["refresh_token"]
        # Sliding never reaches past the absolute limit: 10 days left on day 80.
        assert response.get_json()["refresh_expires_in"] == 10 * 24 * 3600

        clock.move_to(START + timedelta(days=90) - timedelta(minutes=5))
        last = refresh(client, refresh_token)
        assert last.status_code == 200, last.get_json()
        last_pair = last.get_json()

        clock.move_to(START + timedelta(days=90, minutes=1))
        body = assert_problem(refresh(client, last_pair["refresh_token"]), 401)
        assert body["type"] == "/problems/session-expired"
        # The access token is only 6 minutes old, but its session has ended.
        assert_signed_out(client, last_pair["access_token"])


# --- recovery codes -------------------------------------------------------------------


def recover(client: Any, username: str, code: str, new_password: str, **extra: Any) -> Any:
    return client.post(
        RECOVER,
        json={"username": username, "recovery_code": code, "new_password": new_password, **extra},
    )


def test_recovery_sets_a_new_password_and_ends_every_earlier_session(client, accounts):
    person = accounts.register()
    other_phone = accounts.sign_in(person)

    response = recover(
        client,
        person.username,
        person.recovery_codes[0],
        "a new long walk",
        device_name="new phone",
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["account"]["id"] == person.account_id
    assert body["recovery_codes_left"] == 9
    assert_signed_in(client, body["tokens"]["access_token"], person.username)

    for access, refresh_token in [
        (person.access_token, person.refresh_token),
        (other_phone["access_token"], other_phone["refresh_token"]),
    ]:
        assert_signed_out(client, access)
        assert_problem(refresh(client, refresh_token), 401)

    assert_problem(login(client, person.username, person.password), 401)
    assert login(client, person.username, "a new long walk").status_code == 200


def test_a_recovery_code_works_only_once(client, accounts):
    person = accounts.register()
    code = person.recovery_codes[0]
    assert recover(client, person.username, code, "a new long walk").status_code == 200

    body = assert_problem(recover(client, person.username, code, "yet another long walk"), 401)

    assert body["type"] == "/problems/invalid-recovery-code"
    assert login(client, person.username, "a new long walk").status_code == 200
    assert_problem(login(client, person.username, "yet another long walk"), 401)


def test_a_wrong_recovery_code_is_refused_and_changes_nothing(client, accounts):
    person = accounts.register()

    body = assert_problem(
        recover(client, person.username, "AAAA-BBBB-CCCC-DDDD", "a new long walk"), 401
    )

    assert body["type"] == "/problems/invalid-recovery-code"
    assert_signed_in(client, person.access_token, person.username)
    assert login(client, person.username, person.password).status_code == 200


def test_another_accounts_recovery_code_does_not_work(client, accounts):
    person = accounts.register()
    stranger = accounts.register()

    assert_problem(
        recover(client, person.username, stranger.recovery_codes[0], "a new long walk"), 401
    )


def test_recovery_codes_are_accepted_in_lower_case_and_without_dashes(client, accounts):
    person = accounts.register()

    lower = recover(client, person.username, person.recovery_codes[0].lower(), "a new long walk")
    plain = recover(
        client, person.username, person.recovery_codes[1].replace("-", ""), "another long road"
    )
    spaced = recover(
        client,
        person.username,
        " " + person.recovery_codes[2].lower().replace("-", " ") + " ",
        "stepping stones home",
    )

    assert lower.status_code == 200, lower.get_json()
    assert plain.status_code == 200, plain.get_json()
    assert spaced.status_code == 200, spaced.get_json()
    assert spaced.get_json()["recovery_codes_left"] == 7


def test_recovery_with_a_weak_new_password_is_refused_and_keeps_the_code(client, accounts):
    person = accounts.register()
    code = person.recovery_codes[0]

    body = assert_problem(recover(client, person.username, code, "password1"), 422)

    assert "new_password" in body["errors"]
    # Nothing changed: the old password and session still work ...
    assert_signed_in(client, person.access_token, person.username)
    assert login(client, person.username, person.password).status_code == 200
    # ... and the code was not used up.
    retry = recover(client, person.username, code, "a new long walk")
    assert retry.status_code == 200, retry.get_json()
    assert retry.get_json()["recovery_codes_left"] == 9


def test_recovery_for_an_unknown_username_looks_like_a_wrong_code(client, accounts):
    person = accounts.register()

    unknown = assert_problem(
        recover(client, "nobody-here", person.recovery_codes[0], "a new long walk"), 401
    )
    wrong = assert_problem(
        recover(client, person.username, "AAAA-BBBB-CCCC-DDDD", "a new long walk"), 401
    )

    assert (unknown["type"], unknown["title"], unknown["detail"]) == (
        wrong["type"],
        wrong["title"],
        wrong["detail"],
    )


# --- password policy ------------------------------------------------------------------


def test_a_password_shorter_than_8_characters_is_refused(client):
    body = assert_problem(register(client, "river", "kqzvmwt"), 422)

    assert "password" in body["errors"]
    assert body["errors"]["password"]


def test_a_password_of_exactly_8_characters_is_accepted(client):
    assert register(client, "river", "kqzvmwtr").status_code == 201


def test_common_passwords_are_refused_whatever_their_case(client):
    for number, password in enumerate(["password1", "iloveyou12", "PassWord1"]):
        body = assert_problem(register(client, f"river{number}", password), 422)
        assert "password" in body["errors"], password


def test_a_long_passphrase_is_accepted(client):
    passphrase = "the river runs past the old mill and on toward home " * 4

    response = register(client, "river", passphrase)

    assert response.status_code == 201, response.get_json()
    assert login(client, "river", passphrase).status_code == 200


def test_there_are_no_composition_rules(client):
    response = register(client, "river", "correcthorsebatterystaple")

    assert response.status_code == 201, response.get_json()


def test_the_password_must_not_be_the_username(client):
    body = assert_problem(register(client, "riverstone", "RiverStone"), 422)

    assert "password" in body["errors"]


def test_the_password_is_used_exactly_as_typed(client):
    assert register(client, "river", "  spaces around me  ").status_code == 201

    assert login(client, "river", "  spaces around me  ").status_code == 200
    assert_problem(login(client, "river", "spaces around me"), 401)


# --- no user enumeration --------------------------------------------------------------


def test_unknown_username_and_wrong_password_are_refused_alike(client, accounts):
    person = accounts.register()

    unknown = login(client, "nobody-here", person.password)
    wrong = login(client, person.username, "not the right password")

    unknown_body = assert_problem(unknown, 401)
    wrong_body = assert_problem(wrong, 401)
    assert unknown_body["type"] == wrong_body["type"] == "/problems/invalid-credentials"
    assert unknown_body["title"] == wrong_body["title"]
    assert unknown_body["detail"] == wrong_body["detail"]


def test_a_malformed_username_at_sign_in_is_refused_like_a_wrong_one(client, accounts):
    person = accounts.register()

    odd = assert_problem(login(client, "no spaces allowed!", person.password), 401)
    wrong = assert_problem(login(client, person.username, "not the right password"), 401)

    assert (odd["type"], odd["detail"]) == (wrong["type"], wrong["detail"])


# --- login rate limit -----------------------------------------------------------------


def test_the_11th_failed_login_within_a_minute_is_rate_limited(client, accounts):
    person = accounts.register()
    for attempt in range(10):
        assert_problem(login(client, person.username, f"wrong guess {attempt}"), 401)

    response = login(client, person.username, "wrong guess 10")

    body = assert_problem(response, 429)
    assert body["type"] == "/problems/rate-limited"
    assert int(response.headers["Retry-After"]) > 0


def test_the_login_limit_counts_the_username_whatever_its_case(client, accounts):
    accounts.register(username="casey")
    for attempt in range(10):
        name = "CASEY" if attempt % 2 else " Casey "
        assert_problem(login(client, name, f"wrong guess {attempt}"), 401)

    assert_problem(login(client, "casey", "wrong guess 10"), 429)


def test_a_blocked_username_does_not_block_other_usernames_from_the_same_client(client, accounts):
    target = accounts.register()
    bystander = accounts.register()
    for attempt in range(11):
        login(client, target.username, f"wrong guess {attempt}")
    assert_problem(login(client, target.username, "wrong guess 11"), 429)

    assert login(client, bystander.username, bystander.password).status_code == 200
    assert_problem(login(client, bystander.username, "a wrong guess"), 401)


def test_successful_logins_do_not_count_toward_the_limit(client, accounts):
    person = accounts.register()
    for _ in range(5):
        assert login(client, person.username, person.password).status_code == 200

    for attempt in range(10):
        assert_problem(login(client, person.username, f"wrong guess {attempt}"), 401)

    assert_problem(login(client, person.username, "wrong guess 10"), 429)


def test_the_login_limit_lifts_after_a_minute(client, accounts):
    with time_machine.travel(START, tick=False) as clock:
        person = accounts.register()
        for attempt in range(10):
            login(client, person.username, f"wrong guess {attempt}")
        assert_problem(login(client, person.username, "wrong guess 10"), 429)

        clock.shift(timedelta(seconds=61))

        assert login(client, person.username, person.password).status_code == 200


# --- usernames ------------------------------------------------------------------------


def test_usernames_are_unique_regardless_of_case(client):
    assert register(client, "river", "a long walk home").status_code == 201

    body = assert_problem(register(client, "River", "another long road"), 409)

    assert body["type"] == "/problems/username-taken"
    assert "username" in body["errors"]


def test_sign_in_ignores_the_case_of_the_username(client):
    assert register(client, "River.Stone", "a long walk home").status_code == 201

    response = login(client, "river.stone", "a long walk home")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["account"]["username"] == "River.Stone"


def test_usernames_have_a_shape(client):
    for bad in ["ab", "x" * 33, "has space", ".dot-first", "émile", ""]:
        body = assert_problem(register(client, bad, "a long walk home"), 422)
        assert "username" in body["errors"], bad


# --- roles: staff are made by operators only ------------------------------------------


def test_register_refuses_staff_and_admin_roles(client):
    for number, role in enumerate(["staff", "admin", "superuser"]):
        body = assert_problem(
            register(client, f"sneaky{number}", "a long walk home", role=role), 422
        )
        assert "role" in body["errors"], role

    assert_problem(login(client, "sneaky0", "a long walk home"), 401)


def test_register_requires_a_role(client):
    response = client.post(REGISTER, json={"username": "river", "password": "a long walk home"})

    body = assert_problem(response, 422)
    assert "role" in body["errors"]
