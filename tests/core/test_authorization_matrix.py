"""The authorization matrix: every route that takes an id, against everyone who might call it.

Issue 4, acceptance: "member A (owner), member B, mentor with a grant, mentor with a revoked
grant, mentor with an expired grant, mentor of another member, staff, no token. Only the
owner and properly granted mentors see anything; everyone else gets 404 (401 without a
token). Generate the matrix from the app's URL map so a new route without a case fails."

The directory adds records that belong to an organization rather than to a member, so the
matrix has three staff actors: staff of no organization, staff of the organization whose
listing it is, and staff of another organization. Only the listing's own staff edit it or
resolve reports about it. A member's saved listing belongs to that member: member B saving
or unsaving the same listing works on B's own bookmark and never touches A's.

Public reads (a listing, an open job posting) are allowed to every actor, anonymous
included. For them the matrix asserts that every actor gets the same body (and ETag) as
someone with no token, that nothing about any account (ids, usernames, A's bookmark or
report) is in it, and that reading changes nothing. An expired job posting is 404 for
everyone, exactly like a made-up id. The HSDS routes under /hsds/ are public too and sit
outside /api/v1/, so outside the matrix (test_every_route_with_an_id_has_a_case checks that
nothing else with an id lives outside /api/v1/).

CASES says, for each (method, rule) of the URL map with a path parameter, which record the
id names, the request body, and who may use it. ``test_every_route_with_an_id_has_a_case``
compares CASES with the URL map, so a new route with an id fails until it is given a case
here (or is listed, with a reason, in PUBLIC_BY_TOKEN).

Each route is one test: it builds the world once and runs every actor in turn. Refused
actors go first: each must change nothing (every row of every table is the same after each
of them), so they can share one world; after the last of them, every record a route could
touch (member A's, the listing, the job, both members' saved listings, the reports) must
also read back through the API exactly as before. Allowed actors go last; after an allowed
actor that may have changed something (every case but a public read) and after any
failure, the next actor gets a freshly built world. Failures are collected and reported
together, each naming the route and the actor.

Everyone who may not see a record gets the same 404 a made-up id gets (existence does not
leak), and changes nothing.
"""

from __future__ import annotations

import base64
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from flask.testing import FlaskClient

from api.core.extensions import limiter
from api.models import metadata
from api.plans import templates
from resources.jobs.models import JobPosting
from resources.models import Organization
from resources.search import indexing
from tests.fixtures.backends import empty_tables
from tests.fixtures.clock import NOW
from tests.fixtures.http import assert_problem
from tests.fixtures.people import Accounts, Person

API = "/api/v1/"
# The expired mentor's grant ends here; the matrix runs LATER (access tokens last 15 minutes).
# The expired job posting's last day ends here too.
GRANT_ENDS = NOW + timedelta(minutes=1)
LATER = NOW + timedelta(minutes=5)
ALL_SCOPES = [
    "appointments.times",
    "checkins.full",
    "checkins.mood",
    "checkins.needs",
    "help_alerts",
    "plan.full",
]
MADE_UP_ID = "nothing-has-this-id-0000"
LISTING_NAME = "Second Chance Pantry"
JOB_TITLE = "Line cook"

OWNER = "owner"
MEMBER_B = "member_b"
MENTOR_GRANTED = "mentor_granted"
MENTOR_REVOKED = "mentor_revoked"
MENTOR_EXPIRED = "mentor_expired"
MENTOR_OTHER = "mentor_other"
STAFF = "staff"  # staff bound to no organization
LISTING_STAFF = "listing_staff"  # staff of the organization whose listing it is
OTHER_STAFF = "other_staff"  # staff of another organization
ANONYMOUS = "anonymous"
ACTORS = (
    OWNER,
    MEMBER_B,
    MENTOR_GRANTED,
    MENTOR_REVOKED,
    MENTOR_EXPIRED,
    MENTOR_OTHER,
    STAFF,
    LISTING_STAFF,
    OTHER_STAFF,
    ANONYMOUS,
)
EVERYONE = dict.fromkeys(ACTORS, 200)


# --- the world: member A's records, the listing, and everyone around them ----------------------


@dataclass
class World:
    """Member A's records (the targets), member B's, the listing, and headers per actor."""

    people: dict[str, Person]
    headers: dict[str, dict[str, str]]
    checkin_id: str
    appointment_id: str
    device_id: str
    spare_session_id: str
    invite_id: str
    grant_id: str
    b_checkin_id: str
    b_appointment_id: str
    organization_id: str
    listing_id: str
    job_id: str
    expired_job_id: str
    report_id: str
    a_saved_at: str
    goal_id: str
    step_id: str
    suggestion_id: str

    @property
    def member_a(self) -> str:
        return self.people[OWNER].account_id


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json() if response.get_data() else None


def invite(client: FlaskClient, member: Person, **terms: Any) -> dict[str, Any]:
    body = {"scopes": ALL_SCOPES, "share_history": True, **terms}
    created: dict[str, Any] = ok(
        client.post("/api/v1/invites", json=body, headers=member.headers), 201
    )
    return created


def grant_to(client: FlaskClient, member: Person, mentor: Person, **terms: Any) -> dict[str, Any]:
    """Member invites mentor with every scope and history; the mentor redeems the code."""
    code = invite(client, member, **terms)["code"]
    grant: dict[str, Any] = ok(
        client.post("/api/v1/invites/redeem", json={"code": code}, headers=mentor.headers), 201
    )
    assert grant["member_id"] == member.account_id and grant["mentor_id"] == mentor.account_id
    return grant


def checkin(client: FlaskClient, member: Person, **fields: Any) -> str:
    body = {"mood": 4, "needs": ["housing"], "wins": "Paid rent", "note": "tired", **fields}
    created = ok(client.post("/api/v1/checkins", json=body, headers=member.headers), 201)
    return str(created["id"])


def appointment(client: FlaskClient, member: Person, title: str) -> str:
    body = {"title": title, "starts_at": "2026-10-20T09:00", "location": "12 Elm St"}
    created = ok(client.post("/api/v1/appointments", json=body, headers=member.headers), 201)
    return str(created["id"])


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def a_push_subscription() -> dict[str, Any]:
    """What a browser's PushSubscription.toJSON() gives: a real P-256 key and auth secret."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": "https://fcm.googleapis.com/fcm/send/" + b64url(os.urandom(24)),
        "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))},
        "name": "Phone",
    }


def organization(app: Flask, name: str) -> str:
    """A directory organization, as an import would leave it."""
    with app.extensions["homeward.db"].sessionmaker() as db:
        row = Organization(name=name)
        db.add(row)
        db.commit()
        return row.id


def shipped_templates(app: Flask) -> None:
    """The starter plan templates, loaded as `flask plans templates load` does."""
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        templates.load(db, templates.SHIPPED, NOW)
        db.commit()


def job_posting(app: Flask, organization_id: str, title: str, valid_through: datetime) -> str:
    """A job posting, inserted as an import does it: the row, then its search data."""
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        job = JobPosting(
            organization_id=organization_id,
            title=title,
            description=f"{title}, fair-chance employer.",
            date_posted=NOW.date(),
            valid_through=valid_through,
            employment_type=["FULL_TIME"],
            fair_chance=True,
        )
        db.add(job)
        db.flush()
        indexing.refresh(db, job_ids=[job.id])
        db.commit()
        return job.id


GOAL = {"area": "id_documents", "title": "Get my state ID", "why": "Needed for the lease"}
# A's goal a suggestion is accepted into: a fixed (client-chosen) id, as a body names it.
SUGGESTION_GOAL = {"id": "goal-for-suggestions", "area": "housing", "title": "A room"}
SUGGESTION = {"title": "Ask the clerk about the fee waiver", "notes": "Form 12-B"}
STEP = {"title": "Birth certificate", "notes": "County office", "bring": ["Release papers"]}

LISTING = {
    "name": LISTING_NAME,
    "description": "Groceries on Tuesdays, no questions asked.",
    "languages": ["en", "es"],
    "phones": [{"number": "555-0100"}],
    "facets": {"fair_chance": True, "requires_id": False},
    "locations": [
        {
            "name": "Elm Street hall",
            "latitude": 45.52,
            "longitude": -122.68,
            "timezone": "America/Los_Angeles",
            "address": {
                "address_1": "40 Elm St",
                "city": "Portland",
                "state_province": "OR",
                "postal_code": "97201",
                "country": "US",
            },
            "hours": [{"days": ["TU"], "opens_at": "09:00", "closes_at": "17:00"}],
        }
    ],
}


@pytest.fixture
def push_hosts(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WEBPUSH_ALLOWED_HOSTS", ["fcm.googleapis.com"])
    monkeypatch.setitem(app.config, "WEBPUSH_ALLOW_HTTP", False)


def build_world(app: Flask, client: FlaskClient, accounts: Accounts, clock: Any) -> World:
    """Everyone, at NOW; then the clock moves to LATER, past the expired mentor's grant
    and the expired job posting."""
    a = accounts.register(role="member", display_name="Member A")
    b = accounts.register(role="member", display_name="Member B")
    granted = accounts.register(role="mentor", display_name="Granted")
    revoked = accounts.register(role="mentor", display_name="Revoked")
    expired = accounts.register(role="mentor", display_name="Expired")
    other = accounts.register(role="mentor", display_name="Other")

    checkin_id = checkin(client, a)
    appointment_id = appointment(client, a, "See Dana")
    b_checkin_id = checkin(client, b, mood=2)
    b_appointment_id = appointment(client, b, "B's appointment")
    device_id = ok(
        client.post("/api/v1/devices", json=a_push_subscription(), headers=a.headers), 201
    )["id"]
    spare_session_id = accounts.sign_in(a, device_name="Old phone")["session_id"]

    grant = grant_to(client, a, granted)
    revoked_grant = grant_to(client, a, revoked)
    ok(client.delete(f"/api/v1/grants/{revoked_grant['id']}", headers=a.headers), 204)
    grant_to(client, a, expired, expires_at=GRANT_ENDS.isoformat())
    grant_to(client, b, other)
    open_invite_id = invite(client, a, scopes=["checkins.mood"])["id"]

    # The directory: the pantry's organization and its staff, another organization and its
    # staff, a listing the pantry's staff wrote, an open job and an expired one.
    pantry = organization(app, "Eastside Pantry")
    elsewhere = organization(app, "Westside Works")
    listing_staff = accounts.staff("pantrystaff", pantry)
    other_staff = accounts.staff("otherstaff", elsewhere)
    unbound_staff = accounts.staff("staffer", None)
    listing_id = ok(
        client.post("/api/v1/resources", json=LISTING, headers=listing_staff.headers), 201
    )["id"]
    job_id = job_posting(app, pantry, JOB_TITLE, NOW + timedelta(days=30))
    expired_job_id = job_posting(app, pantry, "Night porter", GRANT_ENDS)
    # A has saved the listing and reported it; B has saved only the job.
    a_saved = ok(client.put(f"/api/v1/me/saved/{listing_id}", headers=a.headers), 201)
    ok(client.put(f"/api/v1/me/saved/{job_id}", headers=b.headers), 201)
    report_id = ok(
        client.post(
            f"/api/v1/resources/{listing_id}/reports",
            json={"reason": "closed", "detail": "The door was locked on Tuesday."},
            headers=a.headers,
        ),
        201,
    )["id"]

    # A's plan: a goal with one step; B has a goal of her own. The starter templates.
    shipped_templates(app)
    goal_id = ok(client.post("/api/v1/plan/goals", json=GOAL, headers=a.headers), 201)["id"]
    step_id = ok(
        client.post(f"/api/v1/plan/goals/{goal_id}/steps", json=STEP, headers=a.headers), 201
    )["id"]
    ok(client.post("/api/v1/plan/goals", json=GOAL, headers=b.headers), 201)
    # A mentor's suggestion to A, not yet answered; and A's goal to accept it into.
    ok(client.post("/api/v1/plan/goals", json=SUGGESTION_GOAL, headers=a.headers), 201)
    suggestion_id = ok(
        client.post(
            f"/api/v1/mentees/{a.account_id}/plan/suggestions",
            json=SUGGESTION,
            headers=granted.headers,
        ),
        201,
    )["id"]

    people = {
        OWNER: a,
        MEMBER_B: b,
        MENTOR_GRANTED: granted,
        MENTOR_REVOKED: revoked,
        MENTOR_EXPIRED: expired,
        MENTOR_OTHER: other,
        STAFF: unbound_staff,
        LISTING_STAFF: listing_staff,
        OTHER_STAFF: other_staff,
    }
    headers = {name: person.headers for name, person in people.items()}
    headers[ANONYMOUS] = {}

    clock.move_to(LATER)
    return World(
        people=people,
        headers=headers,
        checkin_id=checkin_id,
        appointment_id=appointment_id,
        device_id=device_id,
        spare_session_id=spare_session_id,
        invite_id=open_invite_id,
        grant_id=grant["id"],
        b_checkin_id=b_checkin_id,
        b_appointment_id=b_appointment_id,
        organization_id=pantry,
        listing_id=listing_id,
        job_id=job_id,
        expired_job_id=expired_job_id,
        report_id=report_id,
        a_saved_at=a_saved["saved_at"],
        goal_id=goal_id,
        step_id=step_id,
        suggestion_id=suggestion_id,
    )


def rebuild_world(app: Flask, client: FlaskClient, accounts: Accounts, clock: Any) -> World:
    """A fresh world from empty tables, fresh rate limits and the clock back at NOW."""
    empty_tables(app)
    limiter.reset()
    clock.move_to(NOW)
    return build_world(app, client, accounts, clock)


def comparable(response: Any) -> tuple[int, Any]:
    """Status and body, without what differs per request (a problem's instance and id)."""
    body = response.get_json()
    if isinstance(body, dict) and response.mimetype == "application/problem+json":
        body = {k: v for k, v in body.items() if k not in {"instance", "request_id"}}
    return response.status_code, body


def world_state(client: FlaskClient, world: World) -> dict[str, Any]:
    """Everything a route with an id could change: member A's records as A reads them, the
    listing and job as anyone reads them, both members' saved listings, and the reports as
    each organization's staff read them."""
    reads = {
        "checkin": (OWNER, f"/api/v1/checkins/{world.checkin_id}"),
        "checkins": (OWNER, "/api/v1/checkins"),
        "appointment": (OWNER, f"/api/v1/appointments/{world.appointment_id}"),
        "appointments": (OWNER, "/api/v1/appointments"),
        "devices": (OWNER, "/api/v1/devices"),
        "sessions": (OWNER, "/api/v1/me/sessions"),
        "invites": (OWNER, "/api/v1/invites"),
        "grants": (OWNER, "/api/v1/grants"),
        "access_log": (OWNER, "/api/v1/me/access-log"),
        "saved": (OWNER, "/api/v1/me/saved"),
        "b_saved": (MEMBER_B, "/api/v1/me/saved"),
        "listing": (ANONYMOUS, f"/api/v1/resources/{world.listing_id}"),
        "job": (ANONYMOUS, f"/api/v1/jobs/{world.job_id}"),
        "reports": (LISTING_STAFF, "/api/v1/reports"),
        "other_reports": (OTHER_STAFF, "/api/v1/reports"),
        "goal": (OWNER, f"/api/v1/plan/goals/{world.goal_id}"),
        "goals": (OWNER, "/api/v1/plan/goals"),
        "b_goals": (MEMBER_B, "/api/v1/plan/goals"),
        "step": (OWNER, f"/api/v1/plan/steps/{world.step_id}"),
        "suggestions": (OWNER, "/api/v1/plan/suggestions"),
    }
    return {
        name: comparable(client.get(path, headers=world.headers[reader]))
        for name, (reader, path) in reads.items()
    }


def every_row(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: a call that changes nothing leaves all of them as they were.
    (Signing in with a bearer token writes nothing, so a refused call must not either.)"""
    with app.extensions["homeward.db"].engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(table.select())), key=repr)
            for table in metadata.sorted_tables
        }


def assert_no_row_changed(app: Flask, before: dict[str, list[tuple[Any, ...]]]) -> None:
    after = every_row(app)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"rows changed in {changed}"


@dataclass
class Snapshot:
    """The world before anyone calls the route: its rows, and its records as read back."""

    rows: dict[str, list[tuple[Any, ...]]]
    reads: dict[str, Any]

    @classmethod
    def of(cls, app: Flask, client: FlaskClient, world: World) -> Snapshot:
        return cls(every_row(app), world_state(client, world))


# --- the cases ----------------------------------------------------------------------------------


Verify = Callable[[FlaskClient, World, str, Any], None]


@dataclass(frozen=True)
class Case:
    """How to call one route about a record, and who may.

    ``target`` picks the id from the world; ``allowed`` maps actor -> success status; every
    other signed-in actor gets 404, anonymous 401. ``verify`` checks a success did what it
    says. ``public``: a read open to everyone (``allowed`` is EVERYONE); it must change
    nothing, so every actor shares one world.
    """

    target: Callable[[World], str]
    allowed: dict[str, int]
    body: dict[str, Any] | None = None
    verify: Verify | None = None
    public: bool = False


def _get(client: FlaskClient, world: World, path: str, reader: str = OWNER) -> Any:
    return client.get(path, headers=world.headers[reader])


def verify_appointment_read(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert body["id"] == world.appointment_id
    assert body["title"] == "See Dana" and body["location"] == "12 Elm St"


def verify_appointment_changed(
    client: FlaskClient, world: World, actor: str, response: Any
) -> None:
    assert response.get_json()["title"] == "Changed"
    read = ok(_get(client, world, f"/api/v1/appointments/{world.appointment_id}"))
    assert read["title"] == "Changed"


def verify_appointment_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert_problem(_get(client, world, f"/api/v1/appointments/{world.appointment_id}"), 404)


def verify_calendar_file(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert response.mimetype == "text/calendar"
    text = response.get_data(as_text=True)
    assert text.count("BEGIN:VEVENT") == 1
    assert f"UID:{world.appointment_id}@homeward" in text
    assert world.b_appointment_id not in text


def verify_reminders_listed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert body["total"] == len(body["items"]) > 0
    assert {item["appointment_id"] for item in body["items"]} == {world.appointment_id}


def verify_checkin_read(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert body["id"] == world.checkin_id
    assert (body["mood"], body["wins"], body["note"]) == (4, "Paid rent", "tired")


def verify_checkin_changed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert response.get_json()["mood"] == 1
    assert ok(_get(client, world, f"/api/v1/checkins/{world.checkin_id}"))["mood"] == 1


def verify_checkin_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert_problem(_get(client, world, f"/api/v1/checkins/{world.checkin_id}"), 404)


def verify_response_written(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    mentor = world.people[MENTOR_GRANTED]
    assert body["checkin_id"] == world.checkin_id
    assert body["mentor_id"] == mentor.account_id
    assert body["body"] == "Proud of you"
    seen = ok(_get(client, world, f"/api/v1/checkins/{world.checkin_id}"))["responses"]
    assert [(r["id"], r["mentor_id"], r["body"]) for r in seen] == [
        (body["id"], mentor.account_id, "Proud of you")
    ]


def verify_device_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    devices = ok(_get(client, world, "/api/v1/devices"))
    assert world.device_id not in [d["id"] for d in devices]


def verify_session_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    sessions = ok(_get(client, world, "/api/v1/me/sessions"))
    ids = [s["id"] for s in sessions]
    assert world.spare_session_id not in ids
    assert world.people[OWNER].session_id in ids


def verify_invite_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    invites = ok(_get(client, world, "/api/v1/invites"))["items"]
    assert world.invite_id not in [i["id"] for i in invites]


def verify_grant_changed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert body["id"] == world.grant_id
    assert body["member_id"] == world.member_a
    assert body["scopes"] == ["checkins.mood"]
    assert body["active"] is True


def verify_grant_ended(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    grants = ok(_get(client, world, "/api/v1/grants"))["items"]
    (grant,) = [g for g in grants if g["id"] == world.grant_id]
    assert grant["active"] is False
    assert grant["revoked_by"] == ("member" if actor == OWNER else "mentor")
    # And it takes effect on the next request.
    assert_problem(
        client.get(
            f"/api/v1/mentees/{world.member_a}/checkins", headers=world.headers[MENTOR_GRANTED]
        ),
        404,
    )


def verify_mentee_checkins(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [world.checkin_id]
    assert body["total"] == 1
    assert body["items"][0]["mood"] == 4 and body["items"][0]["wins"] == "Paid rent"
    assert world.b_checkin_id not in str(body)
    log = ok(_get(client, world, "/api/v1/me/access-log"))["items"]
    assert [(e["mentor_id"], e["action"], e["record_ids"]) for e in log] == [
        (world.people[MENTOR_GRANTED].account_id, "checkins.list", [world.checkin_id])
    ]


def verify_mentee_appointments(
    client: FlaskClient, world: World, actor: str, response: Any
) -> None:
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [world.appointment_id]
    assert body["total"] == 1
    assert world.b_appointment_id not in str(body)
    # Times only: never the title or the place.
    assert "See Dana" not in str(body) and "Elm" not in str(body)


# The directory.


def assert_the_same_for_everyone(
    client: FlaskClient, world: World, actor: str, response: Any, path: str
) -> None:
    """A public read: the body (and ETag) someone with no token gets, nothing about anyone."""
    anonymous = client.get(path)
    assert anonymous.status_code == 200
    assert response.get_json() == anonymous.get_json(), f"{actor} reads another body"
    assert response.headers.get("ETag") == anonymous.headers.get("ETag")
    assert "Set-Cookie" not in response.headers
    text = response.get_data(as_text=True)
    for person in world.people.values():
        assert person.account_id not in text, f"{person.username}'s account id is in it"
        assert f'"{person.username}"' not in text, f"{person.username} is in it"
    # Neither A's bookmark nor A's report shows through.
    assert world.report_id not in text
    assert not {"saved", "saved_at", "reports", "reporter_id"} & set(response.get_json())


def assert_missing_like_a_made_up_id(response: Any, made_up: Any) -> None:
    assert comparable(response) == comparable(made_up)
    assert_problem(response, 404)


def verify_listing_read(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert body["id"] == world.listing_id and body["name"] == LISTING_NAME
    assert body["organization"]["id"] == world.organization_id
    assert [loc["name"] for loc in body["locations"]] == ["Elm Street hall"]
    assert_the_same_for_everyone(
        client, world, actor, response, f"/api/v1/resources/{world.listing_id}"
    )
    # A job's id names no listing here.
    assert_missing_like_a_made_up_id(
        _get(client, world, f"/api/v1/resources/{world.job_id}", actor),
        _get(client, world, f"/api/v1/resources/{MADE_UP_ID}", actor),
    )


def verify_job_read(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert body["id"] == world.job_id and body["title"] == JOB_TITLE
    assert body["hiringOrganization"]["id"] == world.organization_id
    assert_the_same_for_everyone(client, world, actor, response, f"/api/v1/jobs/{world.job_id}")
    # An expired posting is gone for everyone, exactly like a made-up id.
    assert_missing_like_a_made_up_id(
        _get(client, world, f"/api/v1/jobs/{world.expired_job_id}", actor),
        _get(client, world, f"/api/v1/jobs/{MADE_UP_ID}", actor),
    )


def verify_listing_changed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert response.get_json()["name"] == "Renamed Pantry"
    read = ok(client.get(f"/api/v1/resources/{world.listing_id}"))
    assert read["name"] == "Renamed Pantry"
    # Fields not given are kept.
    assert [loc["name"] for loc in read["locations"]] == ["Elm Street hall"]
    assert read["languages"] == ["en", "es"]


def verify_listing_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert_problem(client.get(f"/api/v1/resources/{world.listing_id}"), 404)
    # Only that listing: the organization's job is still there.
    assert ok(client.get(f"/api/v1/jobs/{world.job_id}"))["id"] == world.job_id


def verify_job_changed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert response.get_json()["title"] == "Prep cook"
    read = ok(client.get(f"/api/v1/jobs/{world.job_id}"))
    assert (read["title"], read["hiringOrganization"]["id"]) == ("Prep cook", world.organization_id)


def verify_job_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert_problem(client.get(f"/api/v1/jobs/{world.job_id}"), 404)
    # Only that posting: the organization's listing is still there.
    assert ok(client.get(f"/api/v1/resources/{world.listing_id}"))["id"] == world.listing_id


def verify_report_filed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert (body["resource_id"], body["kind"], body["reason"]) == (
        world.listing_id,
        "service",
        "wrong_information",
    )
    assert body["resolved_at"] is None
    # The listing's staff see it beside A's earlier report; other organizations do not.
    seen = ok(_get(client, world, "/api/v1/reports", LISTING_STAFF))["items"]
    assert sorted(r["id"] for r in seen) == sorted([body["id"], world.report_id])
    assert ok(_get(client, world, "/api/v1/reports", OTHER_STAFF))["items"] == []
    assert "reporter_id" not in body and world.people[actor].account_id not in str(seen)
    # An expired job cannot be reported, like a made-up id.
    report = {"reason": "closed"}
    assert_missing_like_a_made_up_id(
        client.post(
            f"/api/v1/resources/{world.expired_job_id}/reports",
            json=report,
            headers=world.headers[actor],
        ),
        client.post(
            f"/api/v1/resources/{MADE_UP_ID}/reports", json=report, headers=world.headers[actor]
        ),
    )


def saved_by(client: FlaskClient, world: World, member: str) -> dict[str, str]:
    """The member's bookmarks as they read them: resource id -> when it was saved."""
    saved = ok(_get(client, world, "/api/v1/me/saved", member))
    return {s["resource_id"]: s["saved_at"] for s in saved}


def verify_saved(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert (body["resource_id"], body["kind"], body["name"]) == (
        world.listing_id,
        "service",
        LISTING_NAME,
    )
    # A's bookmark is the one A made, whoever saved the listing now.
    assert saved_by(client, world, OWNER) == {world.listing_id: world.a_saved_at}
    if actor == OWNER:
        assert body["saved_at"] == world.a_saved_at
    else:
        # B's own bookmark, made now, beside B's bookmark of the job.
        assert body["saved_at"] != world.a_saved_at
        mine = saved_by(client, world, actor)
        assert sorted(mine) == sorted([world.listing_id, world.job_id])
        assert mine[world.listing_id] == body["saved_at"]
    # An expired job cannot be saved, like a made-up id.
    assert_missing_like_a_made_up_id(
        client.put(f"/api/v1/me/saved/{world.expired_job_id}", headers=world.headers[actor]),
        client.put(f"/api/v1/me/saved/{MADE_UP_ID}", headers=world.headers[actor]),
    )


def verify_unsaved(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    if actor == OWNER:
        assert saved_by(client, world, OWNER) == {}
    else:
        # B had no bookmark of it: A's stays as it was, and B's bookmark of the job stays.
        assert saved_by(client, world, OWNER) == {world.listing_id: world.a_saved_at}
    assert list(saved_by(client, world, MEMBER_B)) == [world.job_id]


def verify_report_resolved(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert (body["id"], body["resource_id"]) == (world.report_id, world.listing_id)
    assert body["resolved_at"] is not None
    (seen,) = ok(_get(client, world, "/api/v1/reports", LISTING_STAFF))["items"]
    assert seen["id"] == world.report_id and seen["resolved_at"] == body["resolved_at"]


def verify_goal_read(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert (body["id"], body["title"], body["why"]) == (world.goal_id, GOAL["title"], GOAL["why"])
    assert body["progress"] == {"done": 0, "total": 1}


def verify_goal_changed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert response.get_json()["status"] == "done"
    assert ok(_get(client, world, f"/api/v1/plan/goals/{world.goal_id}"))["status"] == "done"


def verify_goal_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert_problem(_get(client, world, f"/api/v1/plan/goals/{world.goal_id}"), 404)
    # Its steps went with it.
    assert_problem(_get(client, world, f"/api/v1/plan/steps/{world.step_id}"), 404)


def verify_steps_listed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    items = response.get_json()["items"]
    assert [(s["id"], s["title"], s["bring"]) for s in items] == [
        (world.step_id, STEP["title"], STEP["bring"])
    ]


def verify_step_added(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert (body["goal_id"], body["title"]) == (world.goal_id, "Social Security card")
    listed = ok(_get(client, world, f"/api/v1/plan/goals/{world.goal_id}/steps"))["items"]
    assert [s["id"] for s in listed] == [world.step_id, body["id"]]


def verify_template_read(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert body["id"] == "state-id" and body["area"] == "id_documents"
    assert len(body["steps"]) == 4 and all(step["title"] for step in body["steps"])


def verify_step_matches(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    # The world's step was written by the member: no directory search, so no matches.
    assert response.get_json() == {"items": [], "page": 1, "page_size": 20, "total": 0}


def verify_step_reminders(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    # The world's step has no due date: nothing is planned for it.
    assert response.get_json() == {"items": [], "page": 1, "page_size": 50, "total": 0}


def verify_step_read(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert (body["id"], body["notes"], body["bring"]) == (
        world.step_id,
        STEP["notes"],
        STEP["bring"],
    )


def verify_step_changed(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert response.get_json()["status"] == "done"
    goal = ok(_get(client, world, f"/api/v1/plan/goals/{world.goal_id}"))
    assert goal["progress"] == {"done": 1, "total": 1}


def verify_step_gone(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    assert_problem(_get(client, world, f"/api/v1/plan/steps/{world.step_id}"), 404)
    assert ok(_get(client, world, f"/api/v1/plan/goals/{world.goal_id}"))["progress"]["total"] == 0


def verify_mentee_plan(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    goals = {g["id"]: g for g in body["goals"]}
    assert body["member_id"] == world.member_a and body["scope"] == "plan.full"
    assert set(goals) == {world.goal_id, SUGGESTION_GOAL["id"]}
    assert goals[world.goal_id]["why"] == GOAL["why"]
    assert [s["id"] for s in goals[world.goal_id]["steps"]] == [world.step_id]
    log = ok(_get(client, world, "/api/v1/me/access-log"))["items"]
    assert [(e["mentor_id"], e["action"]) for e in log] == [
        (world.people[MENTOR_GRANTED].account_id, "plan.read")
    ]


def suggestions_of_a(client: FlaskClient, world: World) -> dict[str, Any]:
    items = ok(_get(client, world, "/api/v1/plan/suggestions"))["items"]
    return {s["id"]: s for s in items}


def verify_suggestion_made(client: FlaskClient, world: World, actor: str, response: Any) -> None:
    body = response.get_json()
    assert (body["title"], body["status"]) == ("Call the county clerk", "pending")
    assert body["mentor_id"] == world.people[MENTOR_GRANTED].account_id
    assert set(suggestions_of_a(client, world)) == {world.suggestion_id, body["id"]}
    # It changed nothing in the plan.
    steps = ok(_get(client, world, f"/api/v1/plan/goals/{world.goal_id}/steps"))["items"]
    assert [s["id"] for s in steps] == [world.step_id]


def verify_suggestion_accepted(
    client: FlaskClient, world: World, actor: str, response: Any
) -> None:
    body = response.get_json()
    assert (body["id"], body["status"]) == (world.suggestion_id, "accepted")
    step = ok(_get(client, world, f"/api/v1/plan/steps/{body['step_id']}"))
    assert (step["goal_id"], step["title"]) == (SUGGESTION_GOAL["id"], SUGGESTION["title"])


def verify_suggestion_declined(
    client: FlaskClient, world: World, actor: str, response: Any
) -> None:
    assert response.get_json()["status"] == "declined"
    assert suggestions_of_a(client, world)[world.suggestion_id]["status"] == "declined"
    steps = ok(_get(client, world, f"/api/v1/plan/goals/{SUGGESTION_GOAL['id']}/steps"))
    assert steps["items"] == []


APPOINTMENT = "/api/v1/appointments/<id:appointment_id>"
CHECKIN = "/api/v1/checkins/<id:checkin_id>"
GRANT = "/api/v1/grants/<id:grant_id>"
RESOURCE = "/api/v1/resources/<id:resource_id>"
JOB = "/api/v1/jobs/<id:job_id>"
SAVED = "/api/v1/me/saved/<id:resource_id>"
REPORT = "/api/v1/reports/<id:report_id>"
GOAL_RULE = "/api/v1/plan/goals/<id:goal_id>"
STEP_RULE = "/api/v1/plan/steps/<id:step_id>"


def _appointment(w: World) -> str:
    return w.appointment_id


def _checkin(w: World) -> str:
    return w.checkin_id


def _grant(w: World) -> str:
    return w.grant_id


def _member_a(w: World) -> str:
    return w.member_a


def _listing(w: World) -> str:
    return w.listing_id


CASES: dict[tuple[str, str], Case] = {
    ("GET", APPOINTMENT): Case(_appointment, {OWNER: 200}, verify=verify_appointment_read),
    ("PATCH", APPOINTMENT): Case(
        _appointment, {OWNER: 200}, {"title": "Changed"}, verify_appointment_changed
    ),
    ("DELETE", APPOINTMENT): Case(_appointment, {OWNER: 204}, verify=verify_appointment_gone),
    ("GET", APPOINTMENT + "/calendar.ics"): Case(
        _appointment, {OWNER: 200}, verify=verify_calendar_file
    ),
    ("GET", APPOINTMENT + "/reminders"): Case(
        _appointment, {OWNER: 200}, verify=verify_reminders_listed
    ),
    ("GET", CHECKIN): Case(_checkin, {OWNER: 200}, verify=verify_checkin_read),
    ("PATCH", CHECKIN): Case(_checkin, {OWNER: 200}, {"mood": 1}, verify_checkin_changed),
    ("DELETE", CHECKIN): Case(_checkin, {OWNER: 204}, verify=verify_checkin_gone),
    # The member's plan is hers alone: mentors see none of it through these routes.
    ("GET", GOAL_RULE): Case(lambda w: w.goal_id, {OWNER: 200}, verify=verify_goal_read),
    ("PATCH", GOAL_RULE): Case(
        lambda w: w.goal_id, {OWNER: 200}, {"status": "done"}, verify_goal_changed
    ),
    ("DELETE", GOAL_RULE): Case(lambda w: w.goal_id, {OWNER: 204}, verify=verify_goal_gone),
    ("GET", GOAL_RULE + "/steps"): Case(
        lambda w: w.goal_id, {OWNER: 200}, verify=verify_steps_listed
    ),
    ("POST", GOAL_RULE + "/steps"): Case(
        lambda w: w.goal_id, {OWNER: 201}, {"title": "Social Security card"}, verify_step_added
    ),
    # Starter templates are the project's text, not anyone's record: members and mentors
    # read them alike; staff have no use for them.
    ("GET", "/api/v1/plan/templates/<id:template_id>"): Case(
        lambda w: "state-id",
        dict.fromkeys(
            (OWNER, MEMBER_B, MENTOR_GRANTED, MENTOR_REVOKED, MENTOR_EXPIRED, MENTOR_OTHER), 200
        ),
        verify=verify_template_read,
    ),
    ("GET", STEP_RULE): Case(lambda w: w.step_id, {OWNER: 200}, verify=verify_step_read),
    ("PATCH", STEP_RULE): Case(
        lambda w: w.step_id, {OWNER: 200}, {"status": "done"}, verify_step_changed
    ),
    ("DELETE", STEP_RULE): Case(lambda w: w.step_id, {OWNER: 204}, verify=verify_step_gone),
    ("GET", STEP_RULE + "/matches"): Case(
        lambda w: w.step_id, {OWNER: 200}, verify=verify_step_matches
    ),
    ("GET", STEP_RULE + "/reminders"): Case(
        lambda w: w.step_id, {OWNER: 200}, verify=verify_step_reminders
    ),
    # Mentors reply; the member who owns the check-in has no use for this route (404).
    ("POST", CHECKIN + "/responses"): Case(
        _checkin, {MENTOR_GRANTED: 201}, {"body": "Proud of you"}, verify_response_written
    ),
    ("DELETE", "/api/v1/devices/<id:device_id>"): Case(
        lambda w: w.device_id, {OWNER: 204}, verify=verify_device_gone
    ),
    # A's second session (signed in on an old phone), so A's own token keeps working.
    ("DELETE", "/api/v1/me/sessions/<id:session_id>"): Case(
        lambda w: w.spare_session_id, {OWNER: 204}, verify=verify_session_gone
    ),
    ("DELETE", "/api/v1/invites/<id:invite_id>"): Case(
        lambda w: w.invite_id, {OWNER: 204}, verify=verify_invite_gone
    ),
    # The grant between A and the granted mentor. Only the member changes its terms; either
    # party may end it. Other mentors (even ones A granted before) are not parties to it.
    ("PATCH", GRANT): Case(
        _grant, {OWNER: 200}, {"scopes": ["checkins.mood"]}, verify_grant_changed
    ),
    ("DELETE", GRANT): Case(_grant, {OWNER: 204, MENTOR_GRANTED: 204}, verify=verify_grant_ended),
    # The id is member A's account id; these are mentors' routes (A herself gets 404).
    ("GET", "/api/v1/mentees/<id:member_id>/checkins"): Case(
        _member_a, {MENTOR_GRANTED: 200}, verify=verify_mentee_checkins
    ),
    ("GET", "/api/v1/mentees/<id:member_id>/appointments"): Case(
        _member_a, {MENTOR_GRANTED: 200}, verify=verify_mentee_appointments
    ),
    ("GET", "/api/v1/mentees/<id:member_id>/plan"): Case(
        _member_a, {MENTOR_GRANTED: 200}, verify=verify_mentee_plan
    ),
    ("POST", "/api/v1/mentees/<id:member_id>/plan/suggestions"): Case(
        _member_a, {MENTOR_GRANTED: 201}, {"title": "Call the county clerk"}, verify_suggestion_made
    ),
    # A mentor's suggestion to A: only A answers it.
    ("POST", "/api/v1/plan/suggestions/<id:suggestion_id>/accept"): Case(
        lambda w: w.suggestion_id,
        {OWNER: 200},
        {"goal_id": SUGGESTION_GOAL["id"]},
        verify_suggestion_accepted,
    ),
    ("POST", "/api/v1/plan/suggestions/<id:suggestion_id>/decline"): Case(
        lambda w: w.suggestion_id, {OWNER: 200}, verify=verify_suggestion_declined
    ),
    # The directory. Reads are public: every actor, anonymous too, gets the same body.
    ("GET", RESOURCE): Case(_listing, EVERYONE, verify=verify_listing_read, public=True),
    ("GET", JOB): Case(lambda w: w.job_id, EVERYONE, verify=verify_job_read, public=True),
    # Only staff of the listing's own organization edit it; other staff, staff of no
    # organization, members and mentors get 404 (anonymous 401).
    ("PATCH", RESOURCE): Case(
        _listing, {LISTING_STAFF: 200}, {"name": "Renamed Pantry"}, verify_listing_changed
    ),
    ("DELETE", RESOURCE): Case(_listing, {LISTING_STAFF: 204}, verify=verify_listing_gone),
    # The same for the organization's job postings.
    ("PATCH", JOB): Case(
        lambda w: w.job_id, {LISTING_STAFF: 200}, {"title": "Prep cook"}, verify_job_changed
    ),
    ("DELETE", JOB): Case(lambda w: w.job_id, {LISTING_STAFF: 204}, verify=verify_job_gone),
    # Any member may report a listing; mentors and staff have no use for this route.
    ("POST", RESOURCE + "/reports"): Case(
        _listing,
        {OWNER: 201, MEMBER_B: 201},
        {"reason": "wrong_information", "detail": "The number is out of service."},
        verify_report_filed,
    ),
    # The record is a member's own bookmark of the listing. A saved it already (200, kept as
    # it was); B saving it makes B's own (201) and leaves A's alone; B unsaving it removes
    # only B's (there is none: 204, A's stays).
    ("PUT", SAVED): Case(_listing, {OWNER: 200, MEMBER_B: 201}, verify=verify_saved),
    ("DELETE", SAVED): Case(_listing, {OWNER: 204, MEMBER_B: 204}, verify=verify_unsaved),
    # A's report about the listing: only the listing's organization's staff resolve it.
    ("PATCH", REPORT): Case(
        lambda w: w.report_id, {LISTING_STAFF: 200}, {"resolved": True}, verify_report_resolved
    ),
}

PUBLIC_BY_TOKEN: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/calendar/<id:token>.ics"): (
        "the token in the URL is the credential (no bearer token); "
        "see test_the_calendar_feed_answers_only_to_its_own_token"
    ),
}
# Routes with an id outside /api/v1/: public HSDS reads (and static files, Swagger UI's
# among them), not the matrix's.
OUTSIDE_THE_API = ("/hsds/", "/static/", "/api/docs/assets/", "/me/assets/", "/mentor/assets/")
# The pages' own routes with an id (api/web/), held to the same rule by their tests.
PAGES_WITH_AN_ID: dict[tuple[str, str], str] = {
    ("GET", "/me/<path:rest>"): (
        "no page: the area's 404 page for any address it does not have; see "
        "tests/web/test_pages.py::test_an_address_with_no_page_is_the_404_page"
    ),
    ("POST", "/me/<path:rest>"): (
        "no page: the area's 404 page for any address it does not have; see "
        "tests/web/test_pages.py::test_an_address_with_no_page_is_the_404_page"
    ),
    ("GET", "/mentor/<path:rest>"): (
        "no page: the area's 404 page for any address it does not have; see "
        "tests/web/test_pages.py::test_an_address_with_no_page_is_the_404_page"
    ),
    ("POST", "/mentor/<path:rest>"): (
        "no page: the area's 404 page for any address it does not have; see "
        "tests/web/test_pages.py::test_an_address_with_no_page_is_the_404_page"
    ),
    ("POST", "/me/grants/<id:grant_id>/end"): (
        "a member page (cookie session and CSRF token, no bearer token); see "
        "tests/web/test_pages.py::test_a_member_cannot_end_someone_elses_grant"
    ),
    ("GET", "/mentor/mentees/<id:member_id>/"): (
        "a mentor page (cookie session); see tests/web/test_mentor_pages.py::"
        "test_a_non_mentee_and_an_ended_grant_show_nothing_of_the_member"
    ),
    ("POST", "/mentor/checkins/<id:checkin_id>/reply"): (
        "a mentor page (cookie session and CSRF token); see tests/web/test_mentor_pages.py::"
        "test_someone_elses_check_in_cannot_be_replied_to"
    ),
    ("POST", "/mentor/mentees/<id:member_id>/suggestions"): (
        "a mentor page (cookie session and CSRF token); see tests/web/test_mentor_pages.py::"
        "test_a_mentor_without_a_plan_scope_cannot_suggest"
    ),
    ("POST", "/mentor/grants/<id:grant_id>/end"): (
        "a mentor page (cookie session and CSRF token); see tests/web/test_mentor_pages.py::"
        "test_a_mentor_cannot_end_someone_elses_grant"
    ),
}


def routes_with_an_id(app: Flask, prefix: str = API) -> set[tuple[str, str]]:
    """(method, rule) for every rule under ``prefix`` with a path parameter, from the URL map."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix) or not rule.arguments:
            continue
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                found.add((method, rule.rule))
    return found


def path_of(rule: str, value: str) -> str:
    path, count = re.subn(r"<[^>]+>", value, rule)
    assert count == 1, rule
    return path


def call(client: FlaskClient, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
    return client.open(path, method=method, headers=headers, json=body)


def check_actor(
    app: Flask,
    client: FlaskClient,
    world: World,
    before: Snapshot,
    method: str,
    rule: str,
    actor: str,
) -> None:
    """One actor calls the route about the world's record; assert what they get and that a
    refusal (or a public read) changed no row."""
    case = CASES[(method, rule)]
    target = case.target(world)
    response = call(client, method, path_of(rule, target), world.headers[actor], case.body)

    if actor in case.allowed:
        assert response.status_code == case.allowed[actor], (
            response.status_code,
            response.get_data(as_text=True),
        )
        assert case.verify is not None
        case.verify(client, world, actor, response)
        if case.public:
            assert_no_row_changed(app, before.rows)
        return

    if actor == ANONYMOUS:
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        garbage = call(
            client, method, path_of(rule, target), {"Authorization": "Bearer nope"}, case.body
        )
        assert_problem(garbage, 401)
    else:
        # Exactly what a made-up id gets: the record's existence does not leak.
        assert_missing_like_a_made_up_id(
            response,
            call(client, method, path_of(rule, MADE_UP_ID), world.headers[actor], case.body),
        )
    assert_no_row_changed(app, before.rows)


def check_reads_back_the_same(client: FlaskClient, world: World, before: Snapshot) -> None:
    """The records, read through the API, are as they were (after actors that change nothing)."""
    after = world_state(client, world)
    changed = [name for name in before.reads if before.reads[name] != after[name]]
    assert not changed, f"these read back differently: {changed}"


def what_failed(method: str, rule: str, actor: str, error: BaseException) -> str:
    """'METHOD rule as actor', where in this file it failed, and the assertion's message."""
    here = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == __file__]
    where = (
        f" ({Path(here[-1].filename).name}:{here[-1].lineno} in {here[-1].name})" if here else ""
    )
    return f"{method} {rule} as {actor}{where}:\n{type(error).__name__}: {error}"


# --- the tests ----------------------------------------------------------------------------------


def test_every_route_with_an_id_has_a_case(app):
    in_url_map = routes_with_an_id(app)

    assert in_url_map, "no routes with an id found: the URL map walk is broken"
    missing = in_url_map - set(CASES) - set(PUBLIC_BY_TOKEN)
    stale = (set(CASES) | set(PUBLIC_BY_TOKEN)) - in_url_map
    assert not missing, f"routes with an id and no authorization case: {sorted(missing)}"
    assert not stale, f"cases for routes that no longer exist: {sorted(stale)}"
    assert not set(CASES) & set(PUBLIC_BY_TOKEN)
    assert all(reason.strip() for reason in PUBLIC_BY_TOKEN.values())
    # Public reads say so, and every other case names who may use it.
    for key, case in CASES.items():
        assert case.public == (case.allowed == EVERYONE), key
        assert case.allowed and set(case.allowed) <= set(ACTORS), key
        assert case.verify is not None, key
    # Nothing with an id lives outside /api/v1/ but the public HSDS reads and static files.
    outside = routes_with_an_id(app, prefix="/") - in_url_map
    assert ("GET", "/hsds/services/<id:service_id>") in outside
    assert all(
        (m == "GET" and r.startswith(OUTSIDE_THE_API)) or (m, r) in PAGES_WITH_AN_ID
        for m, r in outside
    ), outside
    assert set(PAGES_WITH_AN_ID) <= outside, "page cases for routes that no longer exist"


@pytest.mark.parametrize(("method", "rule"), sorted(CASES), ids=str)
def test_only_those_a_record_is_for_reach_it_and_everyone_else_gets_404(
    app, client, accounts, clock, push_hosts, method, rule
):
    """Every actor in turn against one world: refused ones first (each must change no row,
    so they share it; then the records must read back the same), allowed ones last, each on
    a fresh world once the world may have changed (after an allowed write, or a failure)."""
    case = CASES[(method, rule)]
    refused = [a for a in ACTORS if a not in case.allowed]
    allowed = [a for a in ACTORS if a in case.allowed]
    world = build_world(app, client, accounts, clock)
    before = Snapshot.of(app, client, world)
    failures: list[str] = []
    changed = False

    def attempt(who: str, check: Callable[..., None], *args: Any) -> bool:
        try:
            check(*args)
        except Exception as error:  # every actor runs; all failures are reported together
            failures.append(what_failed(method, rule, who, error))
            return False
        return True

    for actor in refused:
        if changed:
            world = rebuild_world(app, client, accounts, clock)
            before = Snapshot.of(app, client, world)
        changed = not attempt(actor, check_actor, app, client, world, before, method, rule, actor)
    if refused and not changed:
        changed = not attempt(
            f"each of {', '.join(refused)}",
            check_reads_back_the_same,
            client,
            world,
            before,
        )

    for actor in allowed:
        if changed:
            world = rebuild_world(app, client, accounts, clock)
            before = Snapshot.of(app, client, world)
        passed = attempt(actor, check_actor, app, client, world, before, method, rule, actor)
        changed = not passed or not case.public
    if case.public and not changed:
        attempt(
            f"each of {', '.join(allowed)}",
            check_reads_back_the_same,
            client,
            world,
            before,
        )

    if failures:
        pytest.fail(
            f"{len(failures)} failure(s) among {len(ACTORS)} actors:\n\n" + "\n\n".join(failures),
            pytrace=False,
        )


def test_the_calendar_feed_answers_only_to_its_own_token(client, accounts, clock):
    a = accounts.register(role="member")
    b = accounts.register(role="member")
    mine = appointment(client, a, "See Dana")
    theirs = appointment(client, b, "B's appointment")
    feed = ok(client.post("/api/v1/me/calendar-feed", headers=a.headers), 201)
    b_feed = ok(client.post("/api/v1/me/calendar-feed", headers=b.headers), 201)
    own = f"/api/v1/calendar/{feed['token']}.ics"

    right = client.get(own)
    token = feed["token"]
    # One character changed (never to itself: a token ending in "x" stays wrong).
    wrong = client.get(f"/api/v1/calendar/{token[:-1]}{'y' if token.endswith('x') else 'x'}.ics")
    wrong_with_a_bearer = client.get(f"/api/v1/calendar/{MADE_UP_ID}.ics", headers=a.headers)

    assert right.status_code == 200
    assert f"UID:{mine}@homeward" in right.get_data(as_text=True)
    assert theirs not in right.get_data(as_text=True)
    assert_problem(wrong, 404)
    # A bearer token is no substitute for the feed's token.
    assert_problem(wrong_with_a_bearer, 404)
    # B's token shows B's appointments, never A's.
    b_text = client.get(f"/api/v1/calendar/{b_feed['token']}.ics").get_data(as_text=True)
    assert f"UID:{theirs}@homeward" in b_text and mine not in b_text
    # A turned off feed answers nothing.
    ok(client.delete("/api/v1/me/calendar-feed", headers=a.headers), 204)
    assert_problem(client.get(own), 404)


def mentor_reads(client: FlaskClient, mentor: Person, member: Person, checkin_id: str) -> Any:
    """The mentor's three ways in: list check-ins, list appointments, reply to a check-in."""
    return (
        client.get(f"/api/v1/mentees/{member.account_id}/checkins", headers=mentor.headers),
        client.get(f"/api/v1/mentees/{member.account_id}/appointments", headers=mentor.headers),
        client.post(
            f"/api/v1/checkins/{checkin_id}/responses",
            json={"body": "Still here"},
            headers=mentor.headers,
        ),
    )


def test_a_revoked_mentor_sees_nothing_on_the_next_request_even_check_ins_from_before(
    client, accounts, clock
):
    member = accounts.register(role="member")
    mentor = accounts.register(role="mentor")
    grant = grant_to(client, member, mentor)
    earlier = checkin(client, member)
    appointment(client, member, "See Dana")
    checkins, appointments, reply = mentor_reads(client, mentor, member, earlier)
    assert [c["id"] for c in ok(checkins)["items"]] == [earlier]
    assert ok(appointments)["total"] == 1
    assert ok(reply, 201)["checkin_id"] == earlier

    clock.shift(timedelta(seconds=1))
    ok(client.delete(f"/api/v1/grants/{grant['id']}", headers=member.headers), 204)
    checkins, appointments, reply = mentor_reads(client, mentor, member, earlier)

    assert_problem(checkins, 404)
    assert_problem(appointments, 404)
    assert_problem(reply, 404)
    assert ok(client.get("/api/v1/mentees", headers=mentor.headers))["items"] == []
    responses = ok(client.get(f"/api/v1/checkins/{earlier}", headers=member.headers))["responses"]
    # The reply made while the grant was in force stays; the one after it was refused.
    assert [r["body"] for r in responses] == ["Still here"]


def test_an_expired_grant_shows_nothing_once_it_ends_even_check_ins_from_before(
    client, accounts, clock
):
    member = accounts.register(role="member")
    mentor = accounts.register(role="mentor")
    grant_to(client, member, mentor, expires_at=GRANT_ENDS.isoformat())
    earlier = checkin(client, member)
    appointment(client, member, "See Dana")
    checkins, appointments, _reply = mentor_reads(client, mentor, member, earlier)
    assert [c["id"] for c in ok(checkins)["items"]] == [earlier]
    assert ok(appointments)["total"] == 1

    clock.move_to(GRANT_ENDS)
    checkins, appointments, reply = mentor_reads(client, mentor, member, earlier)

    assert_problem(checkins, 404)
    assert_problem(appointments, 404)
    assert_problem(reply, 404)
    assert ok(client.get("/api/v1/mentees", headers=mentor.headers))["items"] == []
    held = ok(client.get("/api/v1/grants", headers=mentor.headers))["items"]
    assert [g["active"] for g in held] == [False]
