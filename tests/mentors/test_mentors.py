"""Invites, grants and what a mentor may read (docs/checkins.md, "Invites and grants",
"Scopes", "Mentor reads").

A member invites a mentor with a code read aloud (XXXX-XXXX, unambiguous alphabet, single
use, 48 hours, wrong guesses rate-limited). The grant it makes carries scopes; a mentor
sees only the fields those scopes name, only check-ins in the grant's window, and every
read is written to the member's access log. Either side ends a grant; a change applies to
the mentor's very next request. Anything a caller may not see is 404.
"""

from __future__ import annotations

import re
import string
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.mentors.models import AccessLogEntry, Grant, Invite
from tests.fixtures.clock import NOW
from tests.fixtures.http import assert_problem

CHECKINS = "/api/v1/checkins"
INVITES = "/api/v1/invites"
REDEEM = "/api/v1/invites/redeem"
GRANTS = "/api/v1/grants"
MENTEES = "/api/v1/mentees"
ACCESS_LOG = "/api/v1/me/access-log"
APPOINTMENTS = "/api/v1/appointments"

CODE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")
# docs/checkins.md: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
AMBIGUOUS = set("0O1IL2Z5S8BUV")
UNAMBIGUOUS = set(string.ascii_uppercase + string.digits) - AMBIGUOUS

# Words the member wrote that a mood-only grant must never reveal, wherever it looks.
NOTE = "Landlord says out by Friday unless I pay"
WINS = "Finished the forklift certificate"
PLACE = "Northside Public Library"
ALWAYS = {"id", "recorded_at", "created_at"}


def later(clock: Any, accounts: Any, by: timedelta, *people: Any) -> None:
    """Move the clock and sign ``people`` in again (access tokens last 15 minutes)."""
    clock.shift(by)
    for person in people:
        person.access_token = accounts.sign_in(person)["access_token"]


def invite(client: Any, member: Any, scopes: list[str], **fields: Any) -> dict[str, Any]:
    response = client.post(INVITES, json={"scopes": scopes, **fields}, headers=member.headers)
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def redeem(client: Any, mentor: Any, code: str) -> Any:
    return client.post(REDEEM, json={"code": code}, headers=mentor.headers)


def connect(
    client: Any, member: Any, mentor: Any, scopes: list[str], **fields: Any
) -> dict[str, Any]:
    """The member invites, the mentor redeems: the grant in force between them."""
    response = redeem(client, mentor, invite(client, member, scopes, **fields)["code"])
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def checkin(client: Any, member: Any, **fields: Any) -> dict[str, Any]:
    response = client.post(CHECKINS, json={"mood": 3, **fields}, headers=member.headers)
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def private_checkin(client: Any, member: Any, **fields: Any) -> dict[str, Any]:
    """A check-in with every field filled with words that must not leak."""
    return checkin(
        client,
        member,
        mood=2,
        needs=["housing", "legal"],
        wins=WINS,
        note=NOTE,
        place=PLACE,
        help_requested=True,
        **fields,
    )


def mentee_checkins(client: Any, mentor: Any, member: Any, **query: Any) -> Any:
    return client.get(
        f"{MENTEES}/{member.account_id}/checkins", query_string=query, headers=mentor.headers
    )


def mentee_appointments(client: Any, mentor: Any, member: Any) -> Any:
    return client.get(f"{MENTEES}/{member.account_id}/appointments", headers=mentor.headers)


def respond(client: Any, mentor: Any, checkin_id: str, body: str = "Here for you.") -> Any:
    return client.post(
        f"{CHECKINS}/{checkin_id}/responses", json={"body": body}, headers=mentor.headers
    )


def shown_ids(client: Any, mentor: Any, member: Any) -> list[str]:
    response = mentee_checkins(client, mentor, member)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def grants_of(client: Any, person: Any, **query: Any) -> dict[str, Any]:
    response = client.get(GRANTS, query_string=query, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def mentees_of(client: Any, mentor: Any) -> dict[str, Any]:
    response = client.get(MENTEES, headers=mentor.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def access_log_of(client: Any, person: Any) -> dict[str, Any]:
    response = client.get(ACCESS_LOG, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def count(app: Any, model: Any) -> int:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- invites --------------------------------------------------------------------------------


def test_an_invite_has_a_code_to_read_aloud_and_lasts_48_hours(client, member):
    created = invite(client, member, ["help_alerts", "checkins.mood"])
    assert CODE.match(created["code"]), created["code"]
    assert created["scopes"] == ["checkins.mood", "help_alerts"]
    assert created["share_history"] is False
    assert created["grant_expires_at"] is None
    assert created["redeemed_at"] is None
    assert at(created["created_at"]) == NOW
    assert at(created["expires_at"]) == NOW + timedelta(hours=48)


def test_invite_codes_use_only_letters_and_digits_that_cannot_be_confused(client, accounts, member):
    other = accounts.register()
    codes = [
        invite(client, person, ["checkins.mood"])["code"]
        for person in (member, other)
        for _ in range(10)
    ]
    assert all(CODE.match(code) for code in codes), codes
    used = set("".join(codes).replace("-", ""))
    assert used <= UNAMBIGUOUS, used & AMBIGUOUS
    assert len(set(codes)) == len(codes)


def test_the_open_invites_are_listed_without_their_codes(client, member):
    first = invite(client, member, ["checkins.mood"])
    listed = client.get(INVITES, headers=member.headers).get_json()
    assert listed["total"] == 1
    [item] = listed["items"]
    assert item["id"] == first["id"] and "code" not in item
    assert first["code"] not in client.get(INVITES, headers=member.headers).get_data(as_text=True)


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(lambda code: code, id="as-given"),
        pytest.param(lambda code: code.lower(), id="lower-case"),
        pytest.param(lambda code: f"  {code[:4].lower()} - {code[5:]}  ", id="spaces"),
        pytest.param(lambda code: code.replace("-", ""), id="no-dash"),
        pytest.param(lambda code: " ".join(code.replace("-", "").lower()), id="spelled-out"),
    ],
)
def test_a_mentor_redeems_a_code_whatever_its_case_and_spacing(
    client, member, mentor, typed: Callable[[str], str]
):
    created = invite(client, member, ["checkins.mood", "help_alerts"], share_history=True)
    response = redeem(client, mentor, typed(created["code"]))
    assert response.status_code == 201, response.get_json()
    grant = response.get_json()
    assert grant["member_id"] == member.account_id and grant["mentor_id"] == mentor.account_id
    assert grant["member_name"] == "Rosa Díaz" and grant["mentor_name"] == "Mae"
    assert grant["scopes"] == ["checkins.mood", "help_alerts"]
    assert grant["share_history"] is True
    assert grant["active"] is True and grant["revoked_at"] is None
    assert grant["expires_at"] is None
    assert client.get(INVITES, headers=member.headers).get_json()["total"] == 0


def test_a_code_works_once_even_for_another_mentor(client, accounts, member, mentor, app):
    code = invite(client, member, ["checkins.mood"])["code"]
    assert redeem(client, mentor, code).status_code == 201
    assert_problem(redeem(client, mentor, code), 404)
    other = accounts.register(role="mentor")
    assert_problem(redeem(client, other, code), 404)
    assert mentees_of(client, other)["total"] == 0
    assert count(app, Grant) == 1


def redeem_at_once(app: Any, racers: list[Any], code: str) -> list[int]:
    """Each racer redeems ``code`` from their own thread, all released together."""
    barrier = threading.Barrier(len(racers))
    statuses: list[int] = []

    def race(racer: Any) -> None:
        own_client = app.test_client()
        barrier.wait()
        statuses.append(redeem(own_client, racer, code).status_code)

    threads = [threading.Thread(target=race, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_two_mentors_racing_for_one_code_cannot_both_win(client, accounts, member, app):
    for _ in range(3):
        code = invite(client, member, ["checkins.mood"])["code"]
        racers = [accounts.register(role="mentor") for _ in range(2)]
        assert sorted(redeem_at_once(app, racers, code)) == [201, 404]
    assert count(app, Grant) == 3


def test_an_unknown_code_is_404(client, mentor):
    body = assert_problem(redeem(client, mentor, "HKMN-PQRT"), 404)
    assert "code" in body["detail"].lower()


def test_an_invite_expires_after_48_hours(client, accounts, member, mentor, clock):
    kept = invite(client, member, ["checkins.mood"])["code"]
    lapsed = invite(client, member, ["checkins.needs"])["code"]
    later(clock, accounts, timedelta(hours=48) - timedelta(seconds=1), mentor, member)
    assert redeem(client, mentor, kept).status_code == 201
    clock.shift(timedelta(seconds=1))
    assert_problem(redeem(client, mentor, lapsed), 404)
    assert client.get(INVITES, headers=member.headers).get_json()["total"] == 0
    [grant] = grants_of(client, member)["items"]
    assert grant["scopes"] == ["checkins.mood"]


def test_an_invite_whose_sharing_already_ended_grants_nothing(
    client, accounts, member, mentor, clock, app
):
    code = invite(
        client, member, ["checkins.full"], expires_at=(NOW + timedelta(hours=1)).isoformat()
    )["code"]
    later(clock, accounts, timedelta(hours=2), mentor, member)
    assert_problem(redeem(client, mentor, code), 409)
    assert count(app, Grant) == 0
    assert mentees_of(client, mentor)["total"] == 0
    checkin(client, member)
    assert_problem(mentee_checkins(client, mentor, member), 404)


def test_five_wrong_codes_in_15_minutes_then_429_with_retry_after(
    client, accounts, member, mentor, clock
):
    code = invite(client, member, ["checkins.mood"])["code"]
    for attempt in range(5):
        assert_problem(redeem(client, mentor, f"WRNG-{attempt}AAA"), 404)
    # Even the right code is refused now: that is what stops a guesser.
    refused = redeem(client, mentor, code)
    assert_problem(refused, 429)
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60 + 1
    # Another mentor is not held back by this one's guesses.
    other = accounts.register(role="mentor")
    assert redeem(
        client, other, invite(client, member, ["checkins.needs"])["code"]
    ).status_code == (201)
    later(clock, accounts, timedelta(minutes=15, seconds=1), mentor)
    assert redeem(client, mentor, code).status_code == 201


def test_the_429_answer_is_a_problem_with_a_retry_after_header(client, mentor):
    for attempt in range(5):
        redeem(client, mentor, f"WRNG-{attempt}AAA")
    response = redeem(client, mentor, "WRNG-6AAA")
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_right_codes_do_not_count_against_the_limit(client, accounts, mentor):
    members = [accounts.register() for _ in range(6)]
    for person in members:
        code = invite(client, person, ["checkins.mood"])["code"]
        assert redeem(client, mentor, code).status_code == 201
    assert mentees_of(client, mentor)["total"] == 6
    for attempt in range(5):
        assert_problem(redeem(client, mentor, f"WRNG-{attempt}AAA"), 404)
    assert_problem(redeem(client, mentor, "WRNG-6AAA"), 429)


def test_thirty_wrong_codes_an_hour_from_one_address_then_429(client, accounts, member):
    for _ in range(6):
        guesser = accounts.register(role="mentor")
        for attempt in range(5):
            assert_problem(redeem(client, guesser, f"WRNG-{attempt}AAA"), 404)
    fresh = accounts.register(role="mentor")
    code = invite(client, member, ["checkins.mood"])["code"]
    response = redeem(client, fresh, code)
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_a_member_cannot_redeem_a_code(client, accounts, member, mentor, app):
    code = invite(client, member, ["checkins.full"])["code"]
    other = accounts.register()
    assert_problem(redeem(client, other, code), 404)
    assert_problem(redeem(client, member, code), 404)
    assert count(app, Grant) == 0
    assert redeem(client, mentor, code).status_code == 201


@pytest.mark.parametrize(
    "scopes",
    [
        pytest.param([], id="empty"),
        pytest.param(["checkins.everything"], id="unknown"),
        pytest.param(["checkins.mood", "checkins.mood"], id="duplicate"),
        pytest.param("checkins.mood", id="not-a-list"),
        pytest.param(None, id="null"),
        pytest.param(["CHECKINS.MOOD"], id="wrong-case"),
    ],
)
def test_invite_scopes_are_validated_and_nothing_is_made(client, member, app, scopes):
    body = assert_problem(
        client.post(INVITES, json={"scopes": scopes}, headers=member.headers), 422
    )
    assert "scopes" in body["errors"]
    assert count(app, Invite) == 0


def test_an_invite_without_scopes_is_refused(client, member, app):
    body = assert_problem(client.post(INVITES, json={}, headers=member.headers), 422)
    assert "scopes" in body["errors"]
    assert count(app, Invite) == 0


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"expires_at": "2026-09-30T12:00:00Z"}, id="expires_at-past"),
        pytest.param({"expires": "2026-09-30T12:00:00Z"}, id="expires-past"),
        pytest.param({"expires_at": NOW.isoformat()}, id="expires_at-now"),
        pytest.param({"expires_at": "2026-12-01T12:00:00"}, id="expires_at-naive"),
        pytest.param(
            {"expires": "2026-12-01T12:00:00Z", "expires_at": "2026-12-02T12:00:00Z"},
            id="both-names-disagree",
        ),
        pytest.param({"code": "HKMN-PQRT"}, id="code-chosen-by-client"),
        pytest.param({"member_id": "someone"}, id="member_id"),
        pytest.param({"share_history": None}, id="share_history-null"),
    ],
)
def test_invalid_invite_terms_are_422_and_nothing_is_made(client, member, app, fields):
    body = assert_problem(
        client.post(INVITES, json={"scopes": ["checkins.mood"], **fields}, headers=member.headers),
        422,
    )
    assert body["errors"]
    assert count(app, Invite) == 0


@pytest.mark.parametrize("name", ["expires", "expires_at"])
def test_the_grant_end_is_accepted_as_expires_or_expires_at(client, member, mentor, name):
    end = NOW + timedelta(days=30)
    created = invite(client, member, ["checkins.mood"], **{name: end.isoformat()})
    assert at(created["grant_expires_at"]) == end
    assert at(created["expires_at"]) == NOW + timedelta(hours=48)
    grant = redeem(client, mentor, created["code"]).get_json()
    assert at(grant["expires_at"]) == end


def test_at_most_ten_open_invites(client, member, mentor, app):
    made = [invite(client, member, ["checkins.mood"]) for _ in range(10)]
    body = assert_problem(
        client.post(INVITES, json={"scopes": ["checkins.mood"]}, headers=member.headers), 409
    )
    assert "invite" in body["detail"].lower()
    assert count(app, Invite) == 10
    # A used or cancelled invite is no longer open.
    assert redeem(client, mentor, made[0]["code"]).status_code == 201
    invite(client, member, ["checkins.mood"])
    assert client.delete(f"{INVITES}/{made[1]['id']}", headers=member.headers).status_code == 204
    invite(client, member, ["checkins.mood"])
    assert_problem(
        client.post(INVITES, json={"scopes": ["checkins.mood"]}, headers=member.headers), 409
    )


def test_expired_invites_do_not_count_towards_the_ten(client, accounts, member, clock):
    for _ in range(10):
        invite(client, member, ["checkins.mood"])
    later(clock, accounts, timedelta(hours=48), member)
    assert CODE.match(invite(client, member, ["checkins.mood"])["code"])


def test_a_cancelled_invite_cannot_be_redeemed(client, accounts, member, mentor, app):
    created = invite(client, member, ["checkins.full"])
    other = accounts.register()
    assert_problem(client.delete(f"{INVITES}/{created['id']}", headers=other.headers), 404)
    assert_problem(client.delete(f"{INVITES}/{created['id']}", headers=mentor.headers), 404)
    assert client.get(INVITES, headers=member.headers).get_json()["total"] == 1

    assert client.delete(f"{INVITES}/{created['id']}", headers=member.headers).status_code == 204
    assert client.get(INVITES, headers=member.headers).get_json()["total"] == 0
    assert_problem(redeem(client, mentor, created["code"]), 404)
    assert count(app, Grant) == 0


def test_a_second_invite_from_the_same_member_changes_the_grant_in_force(
    client, member, mentor, app
):
    first = connect(client, member, mentor, ["checkins.mood"])
    second = connect(client, member, mentor, ["checkins.needs", "help_alerts"], share_history=True)
    assert second["id"] == first["id"]
    assert second["scopes"] == ["checkins.needs", "help_alerts"]
    assert second["share_history"] is True
    assert count(app, Grant) == 1
    [listed] = mentees_of(client, mentor)["items"]
    assert listed["scopes"] == ["checkins.needs", "help_alerts"]


# -- grants ---------------------------------------------------------------------------------


def test_grants_are_listed_for_both_sides_with_both_names(client, accounts, member, mentor):
    grant = connect(client, member, mentor, ["checkins.mood", "appointments.times"])
    for person in (member, mentor):
        listed = grants_of(client, person)
        assert listed["total"] == 1
        [item] = listed["items"]
        assert item["id"] == grant["id"]
        assert item["member_id"] == member.account_id and item["member_name"] == "Rosa Díaz"
        assert item["mentor_id"] == mentor.account_id and item["mentor_name"] == "Mae"
        assert item["scopes"] == ["appointments.times", "checkins.mood"]
        assert item["active"] is True and item["revoked_by"] is None
        assert at(item["created_at"]) == NOW
    assert grants_of(client, accounts.register())["total"] == 0
    assert grants_of(client, accounts.register(role="mentor"))["total"] == 0


def test_the_mentee_list_shows_members_sharing_in_force(client, accounts, member, mentor):
    grant = connect(
        client, member, mentor, ["checkins.mood"], expires_at=(NOW + timedelta(days=7)).isoformat()
    )
    [item] = mentees_of(client, mentor)["items"]
    assert item == {
        "member_id": member.account_id,
        "display_name": "Rosa Díaz",
        "grant_id": grant["id"],
        "scopes": ["checkins.mood"],
        "share_history": False,
        "granted_at": grant["created_at"],
        "expires_at": grant["expires_at"],
    }
    assert mentees_of(client, accounts.register(role="mentor"))["total"] == 0
    assert_problem(client.get(MENTEES, headers=member.headers), 404)


def test_a_scope_change_applies_to_the_mentors_very_next_request(client, member, mentor):
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    private_checkin(client, member)
    [before] = mentee_checkins(client, mentor, member).get_json()["items"]
    assert before["note"] == NOTE

    response = client.patch(
        f"{GRANTS}/{grant['id']}", json={"scopes": ["checkins.mood"]}, headers=member.headers
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scopes"] == ["checkins.mood"]
    answer = mentee_checkins(client, mentor, member)
    [after] = answer.get_json()["items"]
    assert set(after) == ALWAYS | {"mood"}
    assert NOTE not in answer.get_data(as_text=True)
    [listed] = mentees_of(client, mentor)["items"]
    assert listed["scopes"] == ["checkins.mood"]


def test_adding_a_scope_opens_that_route_on_the_next_request(client, member, mentor):
    grant = connect(client, member, mentor, ["checkins.mood"])
    assert_problem(mentee_appointments(client, mentor, member), 404)
    client.patch(
        f"{GRANTS}/{grant['id']}",
        json={"scopes": ["checkins.mood", "appointments.times"]},
        headers=member.headers,
    )
    assert mentee_appointments(client, mentor, member).status_code == 200


def test_turning_share_history_off_hides_older_checkins_at_once(
    client, accounts, member, mentor, clock
):
    older = checkin(client, member)
    clock.shift(timedelta(minutes=1))
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    clock.shift(timedelta(minutes=1))
    newer = checkin(client, member)
    assert shown_ids(client, mentor, member) == [newer["id"], older["id"]]
    client.patch(f"{GRANTS}/{grant['id']}", json={"share_history": False}, headers=member.headers)
    assert shown_ids(client, mentor, member) == [newer["id"]]


def test_a_mentor_cannot_change_a_grant(client, member, mentor):
    grant = connect(client, member, mentor, ["checkins.mood"])
    response = client.patch(
        f"{GRANTS}/{grant['id']}",
        json={"scopes": ["checkins.full"], "share_history": True},
        headers=mentor.headers,
    )
    assert_problem(response, 404)
    [item] = grants_of(client, member)["items"]
    assert item["scopes"] == ["checkins.mood"] and item["share_history"] is False


def test_a_stranger_cannot_see_change_or_end_a_grant(client, accounts, member, mentor):
    grant = connect(client, member, mentor, ["checkins.mood"])
    stranger, other_mentor = accounts.register(), accounts.register(role="mentor")
    for person in (stranger, other_mentor):
        assert_problem(
            client.patch(
                f"{GRANTS}/{grant['id']}",
                json={"scopes": ["checkins.full"]},
                headers=person.headers,
            ),
            404,
        )
        assert_problem(client.delete(f"{GRANTS}/{grant['id']}", headers=person.headers), 404)
    [item] = grants_of(client, member)["items"]
    assert item["active"] is True and item["scopes"] == ["checkins.mood"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"scopes": []}, id="no-scopes"),
        pytest.param({"scopes": ["everything"]}, id="unknown-scope"),
        pytest.param({"scopes": ["checkins.mood", "checkins.mood"]}, id="duplicate-scope"),
        pytest.param({"expires_at": "2026-09-01T00:00:00Z"}, id="expires-in-the-past"),
        pytest.param({"mentor_id": "someone-else"}, id="mentor_id"),
        pytest.param({"revoked_at": None}, id="revoked_at"),
    ],
)
def test_an_invalid_grant_change_is_422_and_changes_nothing(client, member, mentor, changes):
    grant = connect(client, member, mentor, ["checkins.mood"])
    response = client.patch(
        f"{GRANTS}/{grant['id']}",
        json={"share_history": True, **changes},
        headers=member.headers,
    )
    assert_problem(response, 422)
    [item] = grants_of(client, member)["items"]
    assert item["scopes"] == ["checkins.mood"] and item["share_history"] is False
    assert item["expires_at"] is None and item["active"] is True


@pytest.mark.parametrize("who", ["member", "mentor"])
def test_either_side_ends_the_grant_and_the_next_request_is_404(client, member, mentor, clock, who):
    grant = connect(client, member, mentor, ["checkins.full", "appointments.times"])
    clock.shift(timedelta(minutes=1))
    visible = checkin(client, member)
    assert shown_ids(client, mentor, member) == [visible["id"]]

    ender = member if who == "member" else mentor
    clock.shift(timedelta(minutes=1))
    assert client.delete(f"{GRANTS}/{grant['id']}", headers=ender.headers).status_code == 204

    assert_problem(mentee_checkins(client, mentor, member), 404)
    assert_problem(mentee_appointments(client, mentor, member), 404)
    assert_problem(respond(client, mentor, visible["id"]), 404)
    assert mentees_of(client, mentor)["items"] == []
    for person in (member, mentor):
        [item] = grants_of(client, person)["items"]
        assert item["active"] is False and item["revoked_by"] == who
        assert at(item["revoked_at"]) == NOW + timedelta(minutes=2)
        assert grants_of(client, person, active="true")["total"] == 0
        assert grants_of(client, person, active="false")["total"] == 1


def test_ending_an_ended_grant_changes_nothing(client, member, mentor, clock):
    grant = connect(client, member, mentor, ["checkins.mood"])
    assert client.delete(f"{GRANTS}/{grant['id']}", headers=mentor.headers).status_code == 204
    clock.shift(timedelta(minutes=1))
    assert client.delete(f"{GRANTS}/{grant['id']}", headers=member.headers).status_code == 204
    [item] = grants_of(client, member)["items"]
    assert item["revoked_by"] == "mentor" and at(item["revoked_at"]) == NOW


def test_an_ended_grant_cannot_be_changed(client, member, mentor):
    grant = connect(client, member, mentor, ["checkins.mood"])
    client.delete(f"{GRANTS}/{grant['id']}", headers=member.headers)
    response = client.patch(
        f"{GRANTS}/{grant['id']}", json={"scopes": ["checkins.full"]}, headers=member.headers
    )
    assert_problem(response, 409)
    [item] = grants_of(client, member)["items"]
    assert item["scopes"] == ["checkins.mood"] and item["active"] is False
    assert_problem(mentee_checkins(client, mentor, member), 404)


def test_a_grant_that_ran_out_shows_nothing_and_cannot_be_changed(
    client, accounts, member, mentor, clock
):
    grant = connect(
        client, member, mentor, ["checkins.mood"], expires_at=(NOW + timedelta(hours=1)).isoformat()
    )
    visible = checkin(client, member)
    assert shown_ids(client, mentor, member) == [visible["id"]]
    later(clock, accounts, timedelta(hours=1), member, mentor)
    assert_problem(mentee_checkins(client, mentor, member), 404)
    assert_problem(respond(client, mentor, visible["id"]), 404)
    assert mentees_of(client, mentor)["total"] == 0
    [item] = grants_of(client, mentor)["items"]
    assert item["active"] is False and item["revoked_at"] is None
    assert_problem(
        client.patch(
            f"{GRANTS}/{grant['id']}", json={"share_history": True}, headers=member.headers
        ),
        409,
    )


def test_a_mentor_can_be_invited_again_after_a_grant_ended(client, member, mentor, app, clock):
    first = connect(client, member, mentor, ["checkins.mood"])
    client.delete(f"{GRANTS}/{first['id']}", headers=member.headers)
    clock.shift(timedelta(minutes=1))
    second = connect(client, member, mentor, ["checkins.needs"])
    assert second["id"] != first["id"] and second["active"] is True
    assert [g["active"] for g in grants_of(client, member)["items"]] == [True, False]
    assert count(app, Grant) == 2


# -- the grant's window: share_history ------------------------------------------------------


def test_without_history_only_checkins_made_after_the_grant_are_shown(
    client, member, mentor, clock
):
    before = checkin(client, member, note="before")
    clock.shift(timedelta(minutes=1))
    connect(client, member, mentor, ["checkins.full"])
    clock.shift(timedelta(minutes=1))
    after = checkin(client, member, note="after")
    # Made offline before the grant, synced after it: still private.
    synced_late = checkin(client, member, note="offline", recorded_at=NOW.isoformat())

    answer = mentee_checkins(client, mentor, member)
    assert [c["id"] for c in answer.get_json()["items"]] == [after["id"]]
    assert answer.get_json()["total"] == 1
    assert before["id"] not in answer.get_data(as_text=True)
    assert synced_late["id"] not in answer.get_data(as_text=True)


def test_with_history_earlier_checkins_are_shown_too(client, member, mentor, clock):
    before = checkin(client, member)
    clock.shift(timedelta(minutes=1))
    connect(client, member, mentor, ["checkins.mood"], share_history=True)
    clock.shift(timedelta(minutes=1))
    after = checkin(client, member, recorded_at=NOW.isoformat())
    assert shown_ids(client, mentor, member) == [after["id"], before["id"]]


def test_a_response_to_a_checkin_outside_the_grants_window_is_404(
    client, member, mentor, clock, app
):
    before = checkin(client, member)
    clock.shift(timedelta(minutes=1))
    connect(client, member, mentor, ["checkins.full"])
    clock.shift(timedelta(minutes=1))
    after = checkin(client, member)

    assert_problem(respond(client, mentor, before["id"]), 404)
    got = client.get(f"{CHECKINS}/{before['id']}", headers=member.headers).get_json()
    assert got["responses"] == []
    assert respond(client, mentor, after["id"]).status_code == 201
    actions = [e["action"] for e in access_log_of(client, member)["items"]]
    assert actions == ["checkins.respond"]


def test_a_response_to_a_checkin_of_someone_who_shares_nothing_is_404(
    client, accounts, member, mentor
):
    connect(client, member, mentor, ["checkins.full"])
    stranger = accounts.register()
    theirs = checkin(client, stranger)
    assert_problem(respond(client, mentor, theirs["id"]), 404)
    assert_problem(respond(client, mentor, "no-such-checkin"), 404)
    assert access_log_of(client, stranger)["total"] == 0


# -- scopes shape what is shown ------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "fields"),
    [
        pytest.param(["checkins.mood"], {"mood"}, id="mood"),
        pytest.param(["checkins.needs"], {"needs"}, id="needs"),
        pytest.param(["checkins.mood", "checkins.needs"], {"mood", "needs"}, id="mood-needs"),
        pytest.param(
            ["checkins.full"],
            {"mood", "needs", "wins", "note", "place", "help_requested"},
            id="full",
        ),
        pytest.param(["checkins.mood", "help_alerts"], {"mood", "help_requested"}, id="mood-help"),
        pytest.param(["checkins.needs", "appointments.times"], {"needs"}, id="needs-times"),
    ],
)
def test_a_grant_shows_exactly_the_fields_its_scopes_name(client, member, mentor, scopes, fields):
    connect(client, member, mentor, scopes)
    made = private_checkin(client, member)
    answer = mentee_checkins(client, mentor, member)
    assert answer.status_code == 200, answer.get_json()
    [item] = answer.get_json()["items"]
    assert set(item) == ALWAYS | fields
    for name in item:
        assert item[name] == made[name]


def test_a_help_alerts_only_grant_lists_only_checkins_that_asked_for_help(
    client, member, mentor, clock
):
    connect(client, member, mentor, ["help_alerts"])
    clock.shift(timedelta(minutes=1))
    checkin(client, member, note="fine today")
    asked = private_checkin(client, member)
    answer = mentee_checkins(client, mentor, member)
    [item] = answer.get_json()["items"]
    assert answer.get_json()["total"] == 1
    assert item == {
        "id": asked["id"],
        "recorded_at": asked["recorded_at"],
        "created_at": asked["created_at"],
        "help_requested": True,
    }
    text = answer.get_data(as_text=True)
    assert NOTE not in text and "fine today" not in text


def test_without_a_checkin_scope_or_help_alerts_the_checkins_are_404(client, member, mentor):
    connect(client, member, mentor, ["appointments.times"])
    private_checkin(client, member)
    assert_problem(mentee_checkins(client, mentor, member), 404)
    assert mentee_appointments(client, mentor, member).status_code == 200


def test_a_mood_only_grant_never_reveals_needs_wins_note_or_place_anywhere(
    client, member, mentor, clock
):
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    clock.shift(timedelta(minutes=1))
    made = private_checkin(client, member)

    answers = {
        "mentees": client.get(MENTEES, headers=mentor.headers),
        "checkins": mentee_checkins(client, mentor, member),
        "respond": respond(client, mentor, made["id"], "Thinking of you."),
        "grants": client.get(GRANTS, headers=mentor.headers),
        "grant": client.get(GRANTS, query_string={"active": "true"}, headers=mentor.headers),
        "mentor-access-log": client.get(ACCESS_LOG, headers=mentor.headers),
    }
    for route, response in answers.items():
        assert response.status_code in (200, 201), (route, response.get_json())
        text = response.get_data(as_text=True)
        for secret in (NOTE, WINS, PLACE, '"needs"', '"wins"', '"note"', '"place"', "housing"):
            assert secret not in text, (route, secret)
        assert '"help_requested"' not in text, route
    [item] = answers["checkins"].get_json()["items"]
    assert item == {
        "id": made["id"],
        "recorded_at": made["recorded_at"],
        "created_at": made["created_at"],
        "mood": 2,
    }
    assert grant["scopes"] == ["checkins.mood"]


# -- appointments: times and status only ---------------------------------------------------


def make_appointment(client: Any, member: Any) -> dict[str, Any]:
    response = client.post(
        APPOINTMENTS,
        json={
            "title": "Hearing with Judge Ortiz",
            "kind": "court",
            "starts_at": "2026-10-20T09:30",
            "ends_at": "2026-10-20T11:00",
            "timezone": "America/Chicago",
            "location": "Cook County Courthouse, Room 4B",
            "notes": "Bring the probation letter",
        },
        headers=member.headers,
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_appointments_show_only_times_and_status(client, member, mentor):
    connect(client, member, mentor, ["appointments.times"])
    made = make_appointment(client, member)
    answer = mentee_appointments(client, mentor, member)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["total"] == 1
    assert body["items"] == [
        {
            "id": made["id"],
            "starts_at": "2026-10-20T09:30",
            "ends_at": "2026-10-20T11:00",
            "timezone": "America/Chicago",
            "status": "scheduled",
        }
    ]
    text = answer.get_data(as_text=True)
    for secret in ("Hearing", "Ortiz", "Courthouse", "4B", "probation", '"kind"', "court"):
        assert secret not in text, secret
    for key in ('"title"', '"notes"', '"location"', '"recurrence"', '"reminder_offsets"'):
        assert key not in text, key


def test_appointments_are_404_without_the_appointments_times_scope(client, member, mentor):
    connect(client, member, mentor, ["checkins.full", "help_alerts"], share_history=True)
    make_appointment(client, member)
    body = assert_problem(mentee_appointments(client, mentor, member), 404)
    assert "Ortiz" not in str(body)


def test_a_mentor_cannot_read_appointments_through_the_members_own_routes(client, member, mentor):
    connect(client, member, mentor, ["appointments.times"])
    made = make_appointment(client, member)
    assert_problem(client.get(f"{APPOINTMENTS}/{made['id']}", headers=mentor.headers), 404)


def test_mentee_routes_are_404_for_someone_who_shares_nothing(client, accounts, mentor):
    stranger = accounts.register()
    checkin(client, stranger)
    make_appointment(client, stranger)
    assert_problem(mentee_checkins(client, mentor, stranger), 404)
    assert_problem(mentee_appointments(client, mentor, stranger), 404)
    assert_problem(client.get(f"{MENTEES}/no-such-member/checkins", headers=mentor.headers), 404)


# -- the access log --------------------------------------------------------------------------


def test_every_mentor_read_is_logged_for_that_member_alone(
    client, accounts, member, mentor, clock, app
):
    grant = connect(
        client, member, mentor, ["checkins.full", "appointments.times"], share_history=True
    )
    first, second = checkin(client, member), checkin(client, member, mood=5)
    appointment = make_appointment(client, member)
    stranger = accounts.register()
    other = accounts.register(display_name="Other member")
    other_grant = connect(client, other, mentor, ["checkins.mood"])
    assert access_log_of(client, member)["total"] == 0

    clock.shift(timedelta(minutes=1))
    assert client.get(MENTEES, headers=mentor.headers).status_code == 200
    clock.shift(timedelta(minutes=1))
    shown = shown_ids(client, mentor, member)
    clock.shift(timedelta(minutes=1))
    assert mentee_appointments(client, mentor, member).status_code == 200
    clock.shift(timedelta(minutes=1))
    assert respond(client, mentor, first["id"]).status_code == 201

    log = access_log_of(client, member)
    assert log["total"] == 4
    assert [(e["action"], e["record_ids"]) for e in log["items"]] == [
        ("checkins.respond", [first["id"]]),
        ("appointments.list", [appointment["id"]]),
        ("checkins.list", shown),
        ("mentees.list", []),
    ]
    assert set(shown) == {first["id"], second["id"]}
    for minutes, entry in zip((4, 3, 2, 1), log["items"], strict=True):
        assert entry["mentor_id"] == mentor.account_id and entry["mentor_name"] == "Mae"
        assert entry["grant_id"] == grant["id"]
        assert at(entry["at"]) == NOW + timedelta(minutes=minutes)
        assert set(entry) == {
            "id",
            "mentor_id",
            "mentor_name",
            "grant_id",
            "action",
            "record_ids",
            "at",
        }

    # Nobody else sees these rows: not another member, not the mentor.
    assert access_log_of(client, stranger)["total"] == 0
    assert access_log_of(client, mentor)["total"] == 0
    theirs = access_log_of(client, other)
    assert [(e["action"], e["grant_id"]) for e in theirs["items"]] == [
        ("mentees.list", other_grant["id"])
    ]
    text = client.get(ACCESS_LOG, headers=other.headers).get_data(as_text=True)
    assert first["id"] not in text and grant["id"] not in text
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        rows = db.scalars(
            select(AccessLogEntry).where(AccessLogEntry.member_id == member.account_id)
        ).all()
        assert {row.action for row in rows} == {
            "mentees.list",
            "checkins.list",
            "appointments.list",
            "checkins.respond",
        }
        assert all(row.mentor_id == mentor.account_id for row in rows)


def test_a_refused_mentor_read_writes_no_log_row(client, member, mentor):
    connect(client, member, mentor, ["checkins.mood"])
    assert_problem(mentee_appointments(client, mentor, member), 404)
    assert access_log_of(client, member)["total"] == 0


def test_the_access_log_is_paginated_newest_first(client, member, mentor, clock):
    connect(client, member, mentor, ["checkins.mood"])
    for _ in range(3):
        clock.shift(timedelta(minutes=1))
        shown_ids(client, mentor, member)
    page = client.get(
        ACCESS_LOG, query_string={"page": 1, "page_size": 2}, headers=member.headers
    ).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert [at(e["at"]) for e in page["items"]] == [
        NOW + timedelta(minutes=3),
        NOW + timedelta(minutes=2),
    ]
