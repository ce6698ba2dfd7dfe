"""What leaves a phone's view is named in ``deleted`` (docs/sync.md, "What leaves a phone").

A phone whose pullChanges drops ``experimentalStrategy`` (Frontend.md's own snippet) must
end in the same state as one that honours it, so revocation never depends on how the app
was written. A mentor's phone is told only the ids it was sent (``sync_held``): naming a
check-in it never saw would tell it that one exists.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from api.core.db import utcnow
from api.mentors import service as mentors
from api.mentors.models import Grant
from api.sync import tracking
from api.sync.models import HeldRecord
from tests.sync.helpers import (
    CHECKINS,
    Phone,
    assert_gone,
    change_grant,
    connect,
    deleted_ids,
    nothing_in,
    ok,
    pull,
    records,
    rest_checkin,
    revoke,
)

NOTE = "Landlord says out by Friday"


def held_by(app: Any, mentor: Any) -> set[str]:
    with app.extensions["homeward.db"].sessionmaker() as db:
        return set(
            db.scalars(
                select(HeldRecord.record_id).where(HeldRecord.account_id == mentor.account_id)
            )
        )


def test_both_phones_of_a_mentor_drop_a_revoked_share(client, accounts, member, mentor, clock):
    checkin = rest_checkin(client, member, mood=2, note=NOTE)
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    second = accounts.sign_in(mentor, device_name="tablet")
    tablet_person = type(mentor)(**{**mentor.__dict__, "access_token": second["access_token"]})
    phone, tablet = Phone(client, mentor), Phone(client, tablet_person)
    phone.sync()
    tablet.sync()
    assert phone.ids("shared_checkins") == tablet.ids("shared_checkins") == {checkin["id"]}

    clock.shift(timedelta(minutes=1))
    revoke(client, member, grant["id"])
    # Each phone is told on its own next pull, whichever pulls first.
    assert_gone(tablet.sync(), "shared_checkins", checkin["id"])
    assert_gone(phone.sync(), "shared_checkins", checkin["id"])
    assert phone.ids("shared_checkins") == tablet.ids("shared_checkins") == set()
    phone.assert_matches_server()


def test_a_mentor_is_never_told_of_a_checkin_they_were_not_sent(client, member, mentor, clock):
    connect(client, member, mentor, ["help_alerts"], share_history=True)
    first = pull(client, mentor)
    clock.shift(timedelta(minutes=1))
    private = rest_checkin(client, member, mood=1, note=NOTE)  # no help asked: not shared
    ok(client.delete(f"{CHECKINS}/{private['id']}", headers=member.headers), 204)

    second = pull(client, mentor, first["timestamp"])

    assert private["id"] not in deleted_ids(second, "shared_checkins")
    assert nothing_in(second) == {}


def test_a_revocation_committed_while_a_mentor_pull_runs_reaches_the_next_pull(
    app, client, member, mentor, clock, monkeypatch
):
    """The member revokes after the pull read its snapshot but before it recorded what it
    sent: the pull sees the revocation under the clock's lock and tells the phone next."""
    checkin = rest_checkin(client, member, mood=2, note=NOTE)
    grant = connect(client, member, mentor, ["checkins.full"], share_history=True)
    real_advance = tracking.advance
    calls = []

    def advance_then_race(session: Any) -> int:
        calls.append(session)
        if len(calls) == 2:  # the pull has read and answered; it is about to record
            with app.extensions["homeward.db"].sessionmaker() as other:
                row = other.get(Grant, grant["id"])
                assert row is not None
                mentors.end_grant(other, row, member.account_id, utcnow())
                other.commit()
        return real_advance(session)

    monkeypatch.setattr(tracking, "advance", advance_then_race)
    first = pull(client, mentor)
    monkeypatch.setattr(tracking, "advance", real_advance)

    assert set(records(first, "shared_checkins")) == {checkin["id"]}
    assert len(calls) == 2
    clock.shift(timedelta(minutes=1))
    second = pull(client, mentor, first["timestamp"])
    assert_gone(second, "shared_checkins", checkin["id"])
    assert_gone(second, "grants", grant["id"])
    assert held_by(app, mentor) == set()


def test_a_widened_then_narrowed_grant_leaves_only_the_mood_on_the_phone(
    client, member, mentor, clock
):
    checkin = rest_checkin(client, member, mood=2, note=NOTE, wins="Got my ID")
    grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
    phone = Phone(client, mentor)
    phone.sync()
    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["checkins.full"])
    phone.sync()
    assert phone.record("shared_checkins", checkin["id"])["note"] == NOTE

    clock.shift(timedelta(minutes=1))
    change_grant(client, member, grant["id"], scopes=["checkins.mood"])
    phone.sync()

    held = phone.record("shared_checkins", checkin["id"])
    assert held["mood"] == 2
    assert (held["note"], held["wins"], held["needs"], held["place"]) == (None,) * 4
    phone.assert_matches_server()


def test_what_a_mentor_holds_is_forgotten_once_told(app, client, member, mentor, clock):
    kept = rest_checkin(client, member, mood=4)
    gone = rest_checkin(client, member, mood=1)
    connect(client, member, mentor, ["checkins.mood"], share_history=True)
    pull(client, mentor)
    assert held_by(app, mentor) == {kept["id"], gone["id"]}

    ok(client.delete(f"{CHECKINS}/{gone['id']}", headers=member.headers), 204)

    assert held_by(app, mentor) == {kept["id"]}


def test_migration_0007_holds_what_mentors_phones_were_sent_before_it(empty_database_url):
    """Mentors' phones synced before sync_held existed: the access log says what they were
    sent, so a revocation after the upgrade still reaches them by id."""
    from api import create_app
    from api.core.migrate import upgrade
    from tests.fixtures.backends import TEST_CONFIG
    from tests.fixtures.people import Accounts

    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database_url})
    engine = app.extensions["homeward.db"].engine
    try:
        with app.app_context():
            upgrade(app)
        client = app.test_client()
        people = Accounts(client)
        member, mentor = people.register(), people.register(role="mentor")
        checkin = rest_checkin(client, member, mood=3)
        grant = connect(client, member, mentor, ["checkins.mood"], share_history=True)
        first = pull(client, mentor)
        assert set(records(first, "shared_checkins")) == {checkin["id"]}

        runner = app.test_cli_runner()
        down = runner.invoke(args=["db", "downgrade", "0006_sealed_titles"])
        assert down.exit_code == 0, down.output
        with app.app_context():
            upgrade(app)
        assert held_by(app, mentor) == {checkin["id"]}

        revoke(client, member, grant["id"])
        assert_gone(pull(client, mentor, first["timestamp"]), "shared_checkins", checkin["id"])
    finally:
        engine.dispose()
