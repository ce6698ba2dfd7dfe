"""A master key that cannot open the data keys is an operator's misconfiguration, said as
such: ``/readyz`` answers 503 and the log names the settings to check, at start and at
each check; a member's read answers 503 problem+json (nothing lost), never a bare 500.

And the way development got there: ``flask keys rotate`` with the new key in
``HOMEWARD_MASTER_KEY`` re-wrapped every data key while ``instance/master_key`` (what
development reads when the variable is unset) kept the old key, so the next ``flask run``
could open nothing. Rotation in development now writes the new key there, keeping the old
one readable in ``instance/previous_master_keys`` until every data key is re-wrapped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from api import create_app
from api.core.crypto.vault import decode_key, encode_key, key_id
from tests.fixtures.backends import TEST_CONFIG
from tests.fixtures.http import assert_problem

CHECKINS = "/api/v1/checkins"
SETTINGS = ("HOMEWARD_MASTER_KEY", "HOMEWARD_PREVIOUS_MASTER_KEYS")
NOTE = "Called my sister, she says hi"


@pytest.fixture
def apps(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Makes more apps on this test's database, each as a process started with the
    environment of the moment (HOMEWARD_MASTER_KEY...), in the instance folder given."""
    made: list[Flask] = []
    monkeypatch.delenv("HOMEWARD_MASTER_KEY", raising=False)
    monkeypatch.delenv("HOMEWARD_PREVIOUS_MASTER_KEYS", raising=False)

    def make(folder: Path, **config: Any) -> Flask:
        app = create_app(
            {**TEST_CONFIG, "DATABASE_URL": database_url, "INSTANCE_PATH": str(folder), **config}
        )
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["homeward.db"].engine.dispose()


def member_with_a_note(app: Flask, accounts: Any) -> tuple[Any, dict[str, str]]:
    member = accounts.register()
    made = app.test_client().post(CHECKINS, json={"mood": 4, "note": NOTE}, headers=member.headers)
    assert made.status_code == 201, made.get_json()
    return member, member.headers


def notes(app: Flask, headers: dict[str, str]) -> Any:
    return app.test_client().get(CHECKINS, headers=headers)


def names_the_settings(text: str) -> bool:
    return all(setting in text for setting in SETTINGS)


def readiness(app: Flask) -> Any:
    return app.test_client().get("/readyz")


def stored_key_ids(app: Flask) -> set[str]:
    with app.extensions["homeward.db"].engine.connect() as connection:
        return set(connection.execute(text("SELECT master_key_id FROM member_keys")).scalars())


# --------------------------------------------------------------------------- development rotation


def test_rotating_in_development_leaves_the_next_flask_run_reading_the_new_key(
    app, accounts, apps, tmp_path, monkeypatch
):
    folder = tmp_path / "instance"
    development = apps(folder)  # no HOMEWARD_MASTER_KEY: instance/master_key, generated
    old = (folder / "master_key").read_text().strip()
    accounts.client = development.test_client()
    _member, headers = member_with_a_note(development, accounts)
    assert stored_key_ids(development) == {key_id(decode_key(old))}

    # As the README says: a new key in HOMEWARD_MASTER_KEY, then `flask keys rotate`.
    new = encode_key(os.urandom(32))
    monkeypatch.setenv("HOMEWARD_MASTER_KEY", new)
    monkeypatch.setenv("HOMEWARD_PREVIOUS_MASTER_KEYS", old)
    rotated = apps(folder).test_cli_runner().invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "re-wrapped 1 data keys" in rotated.output
    assert stored_key_ids(development) == {key_id(decode_key(new))}

    # The next `flask run` of development sets no variable: it reads the new key.
    monkeypatch.delenv("HOMEWARD_MASTER_KEY")
    monkeypatch.delenv("HOMEWARD_PREVIOUS_MASTER_KEYS")
    restarted = apps(folder)
    assert (folder / "master_key").read_text().strip() == new
    assert restarted.config["MASTER_KEY"] == new
    read = notes(restarted, headers)
    assert read.status_code == 200, read.get_data(as_text=True)
    assert [item["note"] for item in read.get_json()["items"]] == [NOTE]
    assert readiness(restarted).status_code == 200
    # Every data key is under the new key: the old one is no longer kept anywhere.
    assert not (folder / "previous_master_keys").exists()
    assert restarted.config["PREVIOUS_MASTER_KEYS"] == []


def test_development_rotation_needs_no_previous_key_variable(app, accounts, apps, tmp_path):
    folder = tmp_path / "instance"
    development = apps(folder)
    accounts.client = development.test_client()
    _member, headers = member_with_a_note(development, accounts)
    new = encode_key(os.urandom(32))

    # The old key is the instance folder's own; only the new one is named.
    rotated = apps(folder, MASTER_KEY=new).test_cli_runner().invoke(args=["keys", "rotate"])

    assert rotated.exit_code == 0, rotated.output
    assert "instance" in rotated.output and "master_key" in rotated.output
    restarted = apps(folder)
    assert notes(restarted, headers).get_json()["items"][0]["note"] == NOTE


def test_development_reads_the_previous_keys_kept_while_a_rotation_runs(
    app, accounts, apps, tmp_path
):
    folder = tmp_path / "instance"
    development = apps(folder)
    old = (folder / "master_key").read_text().strip()
    accounts.client = development.test_client()
    _member, headers = member_with_a_note(development, accounts)
    # A rotation stopped after writing the new key, before re-wrapping anything.
    (folder / "previous_master_keys").write_text(old + "\n")
    (folder / "master_key").write_text(encode_key(os.urandom(32)))

    midway = apps(folder)

    assert notes(midway, headers).get_json()["items"][0]["note"] == NOTE
    assert readiness(midway).status_code == 200


def test_rotate_refuses_when_a_data_key_is_under_a_key_it_does_not_have(
    app, accounts, apps, tmp_path
):
    development = apps(tmp_path / "instance")
    accounts.client = development.test_client()
    member_with_a_note(development, accounts)
    before = stored_key_ids(development)
    elsewhere = tmp_path / "elsewhere"
    stranger = apps(elsewhere, MASTER_KEY=encode_key(os.urandom(32)))
    their_file = (elsewhere / "master_key").read_text()

    refused = stranger.test_cli_runner().invoke(args=["keys", "rotate"])

    assert refused.exit_code != 0
    assert "HOMEWARD_PREVIOUS_MASTER_KEYS" in refused.output
    assert "Nothing was changed" in refused.output
    assert stored_key_ids(development) == before
    # Its instance folder is untouched too.
    assert (elsewhere / "master_key").read_text() == their_file
    assert not (elsewhere / "previous_master_keys").exists()


# --------------------------------------------------------------------------- misconfiguration


def test_a_member_read_under_a_missing_master_key_is_503_and_says_nothing_was_lost(
    app, accounts, apps, tmp_path, caplog
):
    _member, headers = member_with_a_note(app, accounts)
    wrong = apps(tmp_path / "wrong", MASTER_KEY=encode_key(os.urandom(32)))
    client = wrong.test_client()

    with caplog.at_level(logging.ERROR):
        read = client.get(CHECKINS, headers=headers)
        write = client.post(CHECKINS, json={"mood": 2, "note": "second"}, headers=headers)

    for response in (read, write):
        body = assert_problem(response, 503)
        assert body["type"] == "/problems/service-misconfigured"
        assert "misconfigured" in body["detail"] and "Nothing was lost" in body["detail"]
        assert int(response.headers["Retry-After"]) > 0
        assert NOTE not in response.get_data(as_text=True)
    logged = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert names_the_settings(logged), logged
    assert "unhandled exception" not in logged
    # Nothing was written, and the right key still reads everything.
    right = notes(app, headers)
    assert [item["note"] for item in right.get_json()["items"]] == [NOTE]


def test_readyz_fails_while_the_master_key_cannot_unwrap_the_data_keys(
    app, accounts, apps, tmp_path, caplog
):
    # No data key at all (a fresh database): nothing to unwrap, nothing wrong.
    empty = apps(tmp_path / "empty", MASTER_KEY=encode_key(os.urandom(32)))
    assert readiness(empty).status_code == 200
    member_with_a_note(app, accounts)
    assert readiness(app).status_code == 200

    with caplog.at_level(logging.ERROR):
        wrong = apps(tmp_path / "wrong", MASTER_KEY=encode_key(os.urandom(32)))
    at_start = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert names_the_settings(at_start), at_start
    caplog.clear()

    with caplog.at_level(logging.WARNING):
        response = readiness(wrong)

    body = assert_problem(response, 503)
    assert body["type"] == "/problems/not-ready"
    assert names_the_settings(body["detail"]), body["detail"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert names_the_settings(logged), logged


def test_readyz_fails_when_a_data_key_is_damaged(app, accounts, apps, tmp_path):
    member_with_a_note(app, accounts)
    with app.extensions["homeward.db"].engine.begin() as connection:
        wrapped = connection.execute(text("SELECT wrapped_key FROM member_keys")).scalar_one()
        damaged = bytes(wrapped[:-1]) + bytes([wrapped[-1] ^ 1])
        connection.execute(text("UPDATE member_keys SET wrapped_key = :w"), {"w": damaged})

    body = assert_problem(readiness(app), 503)

    assert names_the_settings(body["detail"]), body["detail"]
