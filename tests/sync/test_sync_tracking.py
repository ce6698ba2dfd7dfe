"""Change tracking under concurrency and behind the ORM's back: the clock, the triggers,
the stamp at commit. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select, text, update

from api.checkins.models import Checkin
from api.sync import tracking
from api.sync.models import Tombstone


def _pull(client: Any, person: Any, since: int = 0) -> dict[str, Any]:
    response = client.get(f"/api/v1/sync?last_pulled_at={since}", headers=person.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def _ids(part: dict[str, Any]) -> set[str]:
    return {r["id"] for r in part["created"] + part["updated"]}


def test_a_write_committed_while_a_pull_runs_is_never_skipped(app, client, accounts):
    member = accounts.register(role="member")
    since = _pull(client, member)["timestamp"]
    sessionmaker = app.extensions["homeward.db"].sessionmaker

    # A slow transaction: its row is stamped (it holds a clock value) but not committed.
    slow = sessionmaker()
    slow.add(Checkin(id="slow-checkin-01", member_id=member.account_id, mood=3, needs=[]))
    slow.flush()
    stamped = tracking.stamp(slow)
    assert stamped is not None and stamped > since

    answers: list[dict[str, Any]] = []
    with app.app_context():
        puller = threading.Thread(target=lambda: answers.append(_pull(client, member, since)))
        puller.start()
        time.sleep(0.5)
        # The pull waits for the stamping transaction instead of answering past it.
        assert puller.is_alive() and not answers
        slow.commit()
        slow.close()
        puller.join(timeout=10)
    assert answers, "the pull never finished"
    first = answers[0]
    assert first["timestamp"] >= stamped
    assert "slow-checkin-01" in _ids(first["changes"]["checkins"])
    # And the next pull, from that timestamp, has nothing left to tell.
    assert not _ids(_pull(client, member, first["timestamp"])["changes"]["checkins"])


def test_two_writers_get_strictly_increasing_versions_in_commit_order(app, accounts):
    member = accounts.register(role="member")
    sessionmaker = app.extensions["homeward.db"].sessionmaker
    first, second = sessionmaker(), sessionmaker()
    first.add(Checkin(id="writer-one", member_id=member.account_id, mood=2, needs=[]))
    first.commit()
    second.add(Checkin(id="writer-two", member_id=member.account_id, mood=4, needs=[]))
    second.commit()
    with sessionmaker() as db:
        versions = dict(
            db.execute(
                select(Checkin.id, Checkin.sync_version).where(
                    Checkin.id.in_(["writer-one", "writer-two"])
                )
            ).all()
        )
    assert versions["writer-one"] is not None
    assert versions["writer-two"] > versions["writer-one"]
    first.close()
    second.close()


def test_bulk_statements_and_raw_sql_are_tracked_too(app, client, accounts):
    """Changes that never pass through the ORM's unit of work still reach phones."""
    member = accounts.register(role="member")
    client.post("/api/v1/checkins", json={"id": "bulk-one", "mood": 2}, headers=member.headers)
    since = _pull(client, member)["timestamp"]
    sessionmaker = app.extensions["homeward.db"].sessionmaker
    with sessionmaker() as db:
        db.execute(update(Checkin).where(Checkin.id == "bulk-one").values(mood=5))
        db.commit()
    changed = _pull(client, member, since)
    assert [r["mood"] for r in changed["changes"]["checkins"]["updated"]] == [5]
    # A raw DELETE leaves a tombstone through the trigger.
    with sessionmaker() as db:
        db.execute(text("DELETE FROM checkins WHERE id = 'bulk-one'"))
        db.commit()
    after = _pull(client, member, changed["timestamp"])
    assert after["changes"]["checkins"]["deleted"] == ["bulk-one"]


def test_an_erased_member_leaves_the_mentors_phone_by_id(app, client, accounts):
    member = accounts.register(role="member")
    mentor = accounts.register(role="mentor")
    invite = client.post(
        "/api/v1/invites",
        json={"scopes": ["checkins.mood"], "share_history": True},
        headers=member.headers,
    ).get_json()
    redeemed = client.post(
        "/api/v1/invites/redeem", json={"code": invite["code"]}, headers=mentor.headers
    )
    assert redeemed.status_code in (200, 201), redeemed.get_json()
    grant_id = redeemed.get_json()["id"]
    client.post("/api/v1/checkins", json={"id": "gone-soon", "mood": 4}, headers=member.headers)
    first = _pull(client, mentor)
    assert _ids(first["changes"]["shared_checkins"]) == {"gone-soon"}
    mentor_since = first["timestamp"]

    erased = client.delete("/api/v1/me", json={"password": member.password}, headers=member.headers)
    assert erased.status_code == 204, erased.get_json()

    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        told = set(
            db.execute(select(Tombstone.table_name, Tombstone.record_id, Tombstone.account_id))
        )
    # Only the mentor is told, by the bare ids of what their phone holds; nothing names
    # the member.
    assert {(t, r) for t, r, a in told if a == mentor.account_id} == {
        ("grants", grant_id),
        ("shared_checkins", "gone-soon"),
    }
    assert not [t for t in told if member.account_id in t]
    after = _pull(client, mentor, mentor_since)
    # A phone that ignores experimentalStrategy drops them too.
    assert after.get("experimentalStrategy") is None
    assert after["changes"]["grants"]["deleted"] == [grant_id]
    assert after["changes"]["shared_checkins"]["deleted"] == ["gone-soon"]
    assert not _ids(after["changes"]["grants"]) and not _ids(after["changes"]["shared_checkins"])


def test_a_read_only_request_takes_no_clock_value(app, client, accounts):
    member = accounts.register(role="member")
    before = _pull(client, member)["timestamp"]
    client.get("/api/v1/checkins", headers=member.headers)
    with app.extensions["homeward.db"].sessionmaker() as db:
        pending = db.scalar(text("SELECT count(*) FROM checkins WHERE sync_version IS NULL"))
    assert pending == 0
    assert _pull(client, member, before)["changes"]["checkins"] == {
        "created": [],
        "updated": [],
        "deleted": [],
    }
