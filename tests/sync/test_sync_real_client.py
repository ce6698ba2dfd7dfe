"""A real WatermelonDB client against the running server (docs/sync.md).

Node.js runs ``@nozbe/watermelondb`` 0.28 (LokiJS in memory, no browser) and calls its
own ``synchronize()`` against the app served over real HTTP: two phones of one member, and
a mentor's phone. The scenarios live in ``tests/sync_client/scenarios.js``; each test runs
one of them and asserts here again on the records each phone ends with, and on what the
server says over REST: two phones agreeing with each other is not enough, they must agree
with the server.

The npm packages are installed from the registry (``npm ci``, pinned by
``package-lock.json``) the first time and whenever the lock file changes. Node.js is
required: without it these tests fail, they are not skipped.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests.fixtures.people import Accounts, Person

# member and mentor register at the real time (a real client talks to a real server).
pytestmark = pytest.mark.real_clock

SYNC_CLIENT = Path(__file__).parent / "sync_client"
# A scenario syncs three phones a dozen times; far less than this even on PostgreSQL.
SCENARIO_TIMEOUT = 60
NPM_TIMEOUT = 300

Scenario = Callable[..., dict[str, Any]]


def _required(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(
            f"`{program}` is not on PATH. The real-client sync tests need Node.js (18 or newer) "
            "and npm to run WatermelonDB; install them, e.g. `apt-get install nodejs npm`."
        )
    return path


@functools.cache
def _node_with_client_packages() -> str:
    """Node.js, with the client's npm packages installed as package-lock.json pins them.

    Called from the test body, not a fixture, so a missing Node.js or a failed install is a
    failed test rather than a setup error; cached, so npm runs at most once a session."""
    node = _required("node")
    lock = SYNC_CLIENT / "package-lock.json"
    # npm writes this copy of the lock when it installs: older than the lock, or missing,
    # means node_modules is stale or was never installed.
    installed = SYNC_CLIENT / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        completed = subprocess.run(
            [_required("npm"), "ci", "--no-audit", "--no-fund"],
            cwd=SYNC_CLIENT,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
        )
        if completed.returncode != 0:
            pytest.fail(
                f"npm ci failed in {SYNC_CLIENT} ({completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
    return node


@pytest.fixture
def server_url(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on an ephemeral port, on this test's database."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sync-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def run_scenario(server_url: str, accounts: Accounts, member: Person, mentor: Person) -> Scenario:
    """Runs one scenario of scenarios.js: phone A and phone B are two sessions of
    ``member`` (as two phones would sign in), the mentor phone is ``mentor``'s session.
    Answers the scenario's JSON report; a failed expectation fails the test with it."""
    second_phone = accounts.sign_in(member, device_name="phone B")

    def run(name: str, strategy: str = "honours", **extra: str) -> dict[str, Any]:
        node = _node_with_client_packages()
        environment = {
            **os.environ,
            "HOMEWARD_URL": server_url,
            "MEMBER_ID": member.account_id,
            "MEMBER_TOKEN_A": member.access_token,
            "MEMBER_TOKEN_B": second_phone["access_token"],
            "MENTOR_TOKEN": mentor.access_token,
            "SYNC_STRATEGY": strategy,
            **extra,
        }
        try:
            completed = subprocess.run(
                [node, "scenarios.js", name],
                cwd=SYNC_CLIENT,
                env=environment,
                capture_output=True,
                text=True,
                timeout=SCENARIO_TIMEOUT,
            )
        except subprocess.TimeoutExpired as timeout:
            # What it wrote so far; bytes despite text=True on some Python versions.
            stderr = timeout.stderr or ""
            if isinstance(stderr, bytes):
                stderr = stderr.decode(errors="replace")
            pytest.fail(f"scenario {name} ran over {SCENARIO_TIMEOUT}s:\n{_tail(stderr)}")
        try:
            report: dict[str, Any] = json.loads(completed.stdout)
        except json.JSONDecodeError:
            pytest.fail(
                f"scenario {name} printed no JSON report (exit {completed.returncode}):\n"
                f"{completed.stdout}\n{_tail(completed.stderr)}"
            )
        if completed.returncode != 0 or not report["ok"]:
            pytest.fail(
                f"scenario {name} failed: {report.get('failure')}\n"
                f"details: {json.dumps(report.get('details'), indent=2)}\n"
                f"requests: {json.dumps(report.get('requests'), indent=2)}\n"
                f"WatermelonDB diagnostics: {json.dumps(report.get('diagnostics'), indent=2)}\n"
                f"stderr:\n{_tail(completed.stderr)}"
            )
        return report

    return run


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _pushes(report: dict[str, Any], phone: str) -> list[int]:
    return [r["status"] for r in report["requests"][phone] if r["method"] == "POST"]


def test_two_phones_of_one_member_converge_after_offline_edits_on_both(
    run_scenario: Scenario, client: FlaskClient, member: Person
) -> None:
    report = run_scenario("two_devices_converge")
    a, b = report["devices"]["a"], report["devices"]["b"]
    ids = report["result"]

    # Every table, every record, every column: the same on both phones.
    assert a == b
    assert set(a["appointments"]) == {ids["shared"], ids["court"]}
    assert set(a["checkins"]) == {ids["checkin"]}
    shared = a["appointments"][ids["shared"]]
    assert shared["location"] == "Room 204, 400 County Center"  # edited offline on A
    assert shared["notes"] == "Bring the last two pay stubs"  # edited offline on B
    assert a["checkins"][ids["checkin"]]["needs"] == "housing,work"
    # Neither phone's push was refused: B pulled A's edit before pushing its own.
    assert 409 not in _pushes(report, "a") + _pushes(report, "b")

    # The server holds what the phones hold.
    response = client.get(f"/api/v1/appointments/{ids['shared']}", headers=member.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["location"] == "Room 204, 400 County Center"
    assert response.get_json()["notes"] == "Bring the last two pay stubs"
    response = client.get(f"/api/v1/checkins/{ids['checkin']}", headers=member.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["needs"] == ["housing", "work"]


def test_a_checkin_deleted_on_one_phone_leaves_the_other_and_does_not_come_back(
    run_scenario: Scenario, client: FlaskClient, member: Person
) -> None:
    report = run_scenario("delete_stays_deleted")
    a, b = report["devices"]["a"], report["devices"]["b"]
    deleted, kept = report["result"]["deleted"], report["result"]["kept"]

    assert a == b
    assert set(a["checkins"]) == {kept}
    # The server forgot it too: a later first sync of a new phone would not resurrect it.
    response = client.get(f"/api/v1/checkins/{deleted}", headers=member.headers)
    assert response.status_code == 404
    assert client.get(f"/api/v1/checkins/{kept}", headers=member.headers).status_code == 200


def test_a_push_racing_another_phone_gets_409_and_the_retry_keeps_both_edits(
    run_scenario: Scenario, client: FlaskClient, member: Person
) -> None:
    report = run_scenario("conflict_is_retried")
    a, b = report["devices"]["a"], report["devices"]["b"]
    result = report["result"]

    # B's first push was refused, nothing else was, and the one retry went through.
    assert result["outcome"]["attempts"] == 2
    assert result["outcome"]["firstError"]["status"] == 409
    assert _pushes(report, "b").count(409) == 1 and _pushes(report, "b")[-1] == 200
    assert 409 not in _pushes(report, "a")
    assert result["problem"]["type"].endswith("sync-conflict")
    assert result["problem"]["status"] == 409

    assert a == b
    interview = a["appointments"][result["interview"]]
    assert interview["location"] == "1200 Industrial Way, door 3"  # A's edit
    assert interview["notes"] == "Bring ID and the forklift card"  # B's edit
    response = client.get(f"/api/v1/appointments/{result['interview']}", headers=member.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["location"] == "1200 Industrial Way, door 3"
    assert response.get_json()["notes"] == "Bring ID and the forklift card"


# Both ways a phone's pullChanges is written: handing experimentalStrategy on, and exactly
# as Frontend.md's snippet (only { changes, timestamp }). Privacy must not depend on it.
STRATEGIES = pytest.mark.parametrize("strategy", ["honours", "frontend-md"])


@STRATEGIES
def test_a_mentor_phone_holds_a_shared_checkin_only_until_the_grant_is_revoked(
    run_scenario: Scenario, client: FlaskClient, member: Person, mentor: Person, strategy: str
) -> None:
    report = run_scenario("mentor_loses_revoked_share", strategy)
    result = report["result"]

    # While the grant was in force: the mood, and nothing a mood-only grant hides.
    shared = result["shared"]
    assert shared["id"] == result["checkin"]
    assert shared["member_id"] == member.account_id
    assert shared["mood"] == 2
    for hidden in ("note", "wins", "place", "needs", "help_requested"):
        assert shared[hidden] is None, hidden

    # After the revocation and one pull, the mentor phone holds nothing of the member.
    assert report["devices"]["mentor"] == {
        "grants": {},
        "shared_checkins": {},
        "shared_plan_steps": {},
        "alerts": {},
    }
    # The member's own phone keeps the check-in, whole.
    kept = report["devices"]["a"]["checkins"][result["checkin"]]
    assert kept["note"] == "Landlord says out by Friday unless I pay"
    assert kept["help_requested"] is True

    grants = client.get("/api/v1/grants", headers=member.headers).get_json()["items"]
    assert [(g["id"], g["active"], g["revoked_by"]) for g in grants] == [
        (result["grant"], False, "member")
    ]
    response = client.get(f"/api/v1/mentees/{member.account_id}/checkins", headers=mentor.headers)
    assert response.status_code == 404


@STRATEGIES
def test_a_mentor_phone_holds_no_plan_row_after_the_grant_is_revoked(
    run_scenario: Scenario, client: FlaskClient, member: Person, mentor: Person, strategy: str
) -> None:
    """Issue 15's acceptance: plan.progress never gives the mentor why, notes or bring;
    after revocation the mentor's phone holds no plan row."""
    report = run_scenario("mentor_loses_revoked_plan", strategy)
    result = report["result"]

    shared = result["shared"]
    assert shared["id"] == result["steps"][0] and shared["member_id"] == member.account_id
    assert shared["title"] == "View the room" and shared["goal_title"] == "A room of my own"
    assert (shared["notes"], shared["bring"]) == (None, None)
    assert report["devices"]["mentor"] == {
        "grants": {},
        "shared_checkins": {},
        "shared_plan_steps": {},
        "alerts": {},
    }
    # The member's phone keeps her plan, whole, and the suggestion, still pending.
    member_phone = report["devices"]["a"]
    assert set(member_phone["plan_steps"]) == set(result["steps"])
    viewing = member_phone["plan_steps"][result["steps"][0]]
    assert viewing["notes"] == "Ask whether the record matters for this one"
    assert json.loads(viewing["bring"]) == ["Release papers", "Two pay stubs"]
    assert member_phone["plan_suggestions"][result["suggestion"]]["status"] == "pending"

    response = client.get(f"/api/v1/mentees/{member.account_id}/plan", headers=mentor.headers)
    assert response.status_code == 404
    suggestions = client.get("/api/v1/plan/suggestions", headers=member.headers).get_json()
    assert [(s["id"], s["status"]) for s in suggestions["items"]] == [
        (result["suggestion"], "pending")
    ]


@STRATEGIES
def test_a_mentor_phone_loses_the_fields_of_a_narrowed_grant(
    run_scenario: Scenario, client: FlaskClient, member: Person, mentor: Person, strategy: str
) -> None:
    report = run_scenario("mentor_loses_narrowed_fields", strategy)
    result = report["result"]
    assert result["before"]["wins"] == "Finished the forklift certificate"
    held = report["devices"]["mentor"]["shared_checkins"]
    assert set(held) == {result["checkin"]}
    after = held[result["checkin"]]
    assert after["mood"] == 2
    assert (after["note"], after["wins"], after["place"], after["needs"]) == (None,) * 4
    assert after["help_requested"] is None
    # What the server shows the mentor over REST is the same mood-only view.
    listed = client.get(
        f"/api/v1/mentees/{member.account_id}/checkins", headers=mentor.headers
    ).get_json()["items"]
    assert [set(item) & {"note", "wins", "place", "needs"} for item in listed] == [set()]


@STRATEGIES
def test_a_member_phone_keeps_no_listing_outside_a_moved_area(
    app: Flask, run_scenario: Scenario, strategy: str
) -> None:
    from tests.fixtures.directory import SF, Directory, north_of, place

    directory = Directory(app, app.test_client())
    here = {directory.add(n, locations=[place(f"{n} hall", SF)]) for n in ("Pantry", "Clinic")}
    away = north_of(SF, 30_000)
    there = {directory.add("Shelter", locations=[place("Shelter hall", away)])}

    def area(point: tuple[float, float]) -> str:
        return json.dumps({"latitude": point[0], "longitude": point[1], "radius_km": 5})

    report = run_scenario("area_moves", strategy, AREA_FIRST=area(SF), AREA_SECOND=area(away))
    result = report["result"]
    assert set(result["near"]) == here
    assert set(result["moved"]) == there
    assert result["none"] == []
    assert report["devices"]["a"]["resources"] == {}


def test_an_edit_made_while_a_push_is_in_flight_is_pushed_next_and_not_lost(
    run_scenario: Scenario, client: FlaskClient, member: Person
) -> None:
    """WatermelonDB #1374: the record changed on the phone between fetching local changes
    and the push's answer."""
    report = run_scenario("edit_during_push")
    checkin_id = report["result"]["id"]
    assert report["devices"]["a"] == report["devices"]["b"]
    response = client.get(f"/api/v1/checkins/{checkin_id}", headers=member.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["note"] == "written while the push was in flight"


def test_a_fresh_install_never_receives_a_record_deleted_earlier(
    run_scenario: Scenario, client: FlaskClient, member: Person
) -> None:
    """WatermelonDB #1462: an id in both created and deleted on a fresh install."""
    report = run_scenario("fresh_install_never_gets_a_deleted_record")
    doomed, kept = report["result"]["doomed"], report["result"]["kept"]
    assert set(report["devices"]["b"]["checkins"]) == {kept}
    response = client.get(f"/api/v1/checkins/{doomed}", headers=member.headers)
    assert response.status_code == 404
