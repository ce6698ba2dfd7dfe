"""``flask users``: what operators do to accounts from the command line.

A staff account is made bound to the organization whose listings it edits (without one
it could do nothing); ``list`` shows staff and admins and only counts everyone else;
``bind`` sets the organization later; ``disable`` ends every session at once and makes
sign-in answer as a wrong password does; ``enable`` undoes it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from resources.models import Organization
from tests.fixtures.http import assert_problem

PASSWORD = "a long walk home"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
RECOVER = "/api/v1/auth/recover"
ME = "/api/v1/me"
RESOURCES = "/api/v1/resources"


def organization(app: Flask, name: str) -> str:
    with app.extensions["homeward.db"].sessionmaker.begin() as db:
        row = Organization(name=name)
        db.add(row)
        db.flush()
        return row.id


def users(app: Flask, *args: str, password: str | None = PASSWORD) -> Any:
    env = {"HOMEWARD_PASSWORD": password} if password is not None else {}
    return app.test_cli_runner().invoke(args=["users", *args], env=env)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(TOKEN, json={"username": username, "password": password})


def bearer(body: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def add_listing(client: FlaskClient, headers: dict[str, str], name: str) -> Any:
    return client.post(
        RESOURCES, json={"name": name, "description": f"{name}: help."}, headers=headers
    )


def same_answer(a: Any, b: Any) -> None:
    """Two refusals a caller cannot tell apart (the request id aside)."""
    assert a.status_code == b.status_code
    assert a.headers.get("WWW-Authenticate") == b.headers.get("WWW-Authenticate")
    first, second = a.get_json(), b.get_json()
    first.pop("request_id", None)
    second.pop("request_id", None)
    assert first == second


# -------------------------------------------------------------------------- create-staff


def test_create_staff_requires_an_organization_for_staff_and_says_so(app, client):
    refused = users(app, "create-staff", "opsperson", "--role", "staff")

    assert refused.exit_code != 0
    assert "--organization" in refused.output
    assert_problem(sign_in(client, "opsperson"), 401)
    helped = app.test_cli_runner().invoke(args=["users", "create-staff", "--help"])
    assert "--organization" in helped.output
    assert "admin may omit it" in " ".join(helped.output.split())


def test_create_staff_bound_to_an_organization_can_edit_its_listings(app, client):
    pantry = organization(app, "Eastside Pantry")

    made = users(
        app, "create-staff", "opsperson", "--organization", pantry, "--display-name", "Ops"
    )

    assert made.exit_code == 0, made.output
    assert "created staff account" in made.output and pantry in made.output
    signed_in = sign_in(client, "opsperson")
    assert signed_in.status_code == 200, signed_in.get_json()
    me = client.get(ME, headers=bearer(signed_in.get_json())).get_json()
    assert me["role"] == "staff" and me["display_name"] == "Ops"
    created = add_listing(client, bearer(signed_in.get_json()), "Tuesday groceries")
    assert created.status_code == 201, created.get_json()


def test_an_admin_may_be_made_without_an_organization(app, client):
    made = users(app, "create-staff", "chief", "--role", "admin")

    assert made.exit_code == 0, made.output
    assert sign_in(client, "chief").get_json()["account"]["role"] == "admin"


def test_create_staff_refuses_an_unknown_organization(app, client):
    refused = users(app, "create-staff", "opsperson", "--organization", "no-such-org")

    assert refused.exit_code != 0
    assert "no-such-org" in refused.output
    assert_problem(sign_in(client, "opsperson"), 401)


def test_the_command_line_applies_the_same_password_and_username_rules(app, client):
    pantry = organization(app, "Eastside Pantry")
    taken = client.post(
        "/api/v1/auth/register", json={"username": "taken", "password": PASSWORD, "role": "member"}
    )
    assert taken.status_code == 201

    weak = users(app, "create-staff", "opsperson", "--organization", pantry, password="password1")
    again = users(app, "create-staff", "TAKEN", "--role", "admin")

    assert weak.exit_code != 0 and "password" in weak.output.lower()
    assert again.exit_code != 0 and "taken" in again.output.lower()
    assert_problem(sign_in(client, "opsperson", "password1"), 401)


# -------------------------------------------------------------------------- list


def test_list_shows_staff_and_admins_and_only_counts_members_and_mentors(app, client, accounts):
    pantry = organization(app, "Eastside Pantry")
    assert users(app, "create-staff", "pantrystaff", "--organization", pantry).exit_code == 0
    assert users(app, "create-staff", "chief", "--role", "admin").exit_code == 0
    member = accounts.register(display_name="Rosa Member")
    mentor = accounts.register(role="mentor", display_name="Dana Mentor")
    assert users(app, "disable", "chief").exit_code == 0

    listed = users(app, "list", password=None)

    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert lines[0].split() == ["ID", "USERNAME", "ROLE", "ORGANIZATION", "DISABLED", "CREATED"]
    rows = {line.split()[1]: line for line in lines[1:-1]}
    assert set(rows) == {"pantrystaff", "chief"}
    staff_row = rows["pantrystaff"].split()
    assert staff_row[2] == "staff" and staff_row[3] == pantry
    assert "(Eastside Pantry)" in rows["pantrystaff"]
    assert " no " in rows["pantrystaff"]
    chief_row = rows["chief"].split()
    assert chief_row[2:5] == ["admin", "-", "yes"]
    assert lines[-1] == "2 listed; not listed: 1 members, 1 mentors"
    # Nothing of members or mentors, no password hash, no token.
    for secret in (
        member.username,
        mentor.username,
        "Rosa",
        "Dana",
        member.account_id,
        "$argon2",
        member.access_token,
        member.refresh_token,
    ):
        assert secret not in listed.output

    only_admins = users(app, "list", "--role", "admin", password=None)
    assert only_admins.exit_code == 0
    assert "chief" in only_admins.output and "pantrystaff" not in only_admins.output
    members = users(app, "list", "--role", "member", password=None)
    assert members.exit_code != 0 and member.username not in members.output


# -------------------------------------------------------------------------- bind


def test_bind_gives_a_staff_account_whose_organization_left_a_new_one(app, client, accounts):
    closed = organization(app, "Closed since")
    assert users(app, "create-staff", "pantrystaff", "--organization", closed).exit_code == 0
    with app.extensions["homeward.db"].sessionmaker.begin() as db:
        db.delete(db.get(Organization, closed))
    headers = bearer(sign_in(client, "pantrystaff").get_json())
    body = assert_problem(add_listing(client, headers, "Orphan"), 409)
    assert "not bound to an organization" in body["detail"]
    pantry = organization(app, "Eastside Pantry")

    bound = users(app, "bind", "PantryStaff", "--organization", pantry, password=None)

    assert bound.exit_code == 0, bound.output
    assert pantry in bound.output and "Eastside Pantry" in bound.output
    assert add_listing(client, headers, "Tuesday groceries").status_code == 201
    assert pantry in users(app, "list", password=None).output

    unknown = users(app, "bind", "pantrystaff", "--organization", "nope", password=None)
    assert unknown.exit_code != 0 and "nope" in unknown.output
    member = accounts.register()
    not_staff = users(app, "bind", member.username, "--organization", pantry, password=None)
    assert not_staff.exit_code != 0 and "member" in not_staff.output
    nobody = users(app, "bind", "nobody", "--organization", pantry, password=None)
    assert nobody.exit_code != 0 and "nobody" in nobody.output


# -------------------------------------------------------------------------- disable / enable


def test_disable_ends_every_session_at_once_and_sign_in_answers_as_a_wrong_password(app, client):
    pantry = organization(app, "Eastside Pantry")
    assert users(app, "create-staff", "pantrystaff", "--organization", pantry).exit_code == 0
    phones = [sign_in(client, "pantrystaff").get_json() for _ in range(2)]
    for phone in phones:
        assert client.get(ME, headers=bearer(phone)).status_code == 200

    disabled = users(app, "disable", "pantrystaff", password=None)

    assert disabled.exit_code == 0, disabled.output
    assert "2 sessions ended" in disabled.output
    for phone in phones:
        # The access tokens are still within their 15 minutes and stop working at once.
        assert_problem(client.get(ME, headers=bearer(phone)), 401)
        assert_problem(
            client.post(REFRESH, json={"refresh_token": phone["tokens"]["refresh_token"]}), 401
        )
    right = sign_in(client, "pantrystaff")
    wrong = sign_in(client, "pantrystaff", "not the password")
    assert_problem(right, 401)
    same_answer(right, wrong)
    assert " yes " in users(app, "list", password=None).output

    again = users(app, "disable", "pantrystaff", password=None)
    assert again.exit_code == 0 and "0 sessions ended" in again.output

    enabled = users(app, "enable", "pantrystaff", password=None)

    assert enabled.exit_code == 0, enabled.output
    signed_in = sign_in(client, "pantrystaff")
    assert signed_in.status_code == 200, signed_in.get_json()
    assert client.get(ME, headers=bearer(signed_in.get_json())).status_code == 200
    # The sessions that were ended stay ended.
    assert_problem(client.get(ME, headers=bearer(phones[0])), 401)


def test_a_disabled_account_cannot_recover_either(app, client, accounts):
    member = accounts.register()
    assert users(app, "disable", member.username, password=None).exit_code == 0

    refused = client.post(
        RECOVER,
        json={
            "username": member.username,
            "recovery_code": member.recovery_codes[0],
            "new_password": "another long walk",
        },
    )
    wrong_code = client.post(
        RECOVER,
        json={
            "username": member.username,
            "recovery_code": "AAAA-AAAA-AAAA-AAAA",
            "new_password": "another long walk",
        },
    )

    assert_problem(refused, 401)
    same_answer(refused, wrong_code)
    assert users(app, "enable", member.username, password=None).exit_code == 0
    # The code was not spent by the refused attempt.
    recovered = client.post(
        RECOVER,
        json={
            "username": member.username,
            "recovery_code": member.recovery_codes[0],
            "new_password": "another long walk",
        },
    )
    assert recovered.status_code == 200, recovered.get_json()


def test_disable_names_an_unknown_account(app):
    refused = users(app, "disable", "nobody", password=None)
    assert refused.exit_code != 0 and "nobody" in refused.output
    refused = users(app, "enable", "nobody", password=None)
    assert refused.exit_code != 0 and "nobody" in refused.output
