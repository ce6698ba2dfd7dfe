"""Erasure leaves no byte of the member in any file of the database.

What must hold: once ``DELETE /api/v1/me`` has answered, no file of the SQLite database
(the main file, ``-wal``, ``-shm``) holds the member's account id, username, wrapped data
key, any ciphertext of theirs or any text they wrote. The product does that by itself,
after the erasure commits: the test closes nothing and disposes of nothing before it scans.
On PostgreSQL, which keeps dead tuples and WAL (docs/privacy.md), what can be asserted is
that no live row names the member and their data key is gone.

The files are read in another process. Opening and closing a descriptor of the database
file in this process would drop the POSIX locks SQLite holds on it (a lesson of the git
log), while a separate process has locks of its own and cannot disturb ours.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.fixtures.records import add_device, appointment, checkin, erase, respond, share
from tests.fixtures.stored import every_stored_value, marker, raw

# Reads each file with os.open / os.read (no SQLite, no buffering), and says which of the
# needles (hex, on stdin) each file holds.
SCANNER = r"""
import json, os, sys
request = json.load(sys.stdin)
needles = {name: bytes.fromhex(value) for name, value in request["needles"].items()}
found = {}
for path in request["paths"]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        continue
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    blob = b"".join(chunks)
    found[path] = {"size": len(blob), "holds": sorted(n for n, v in needles.items() if v in blob)}
print(json.dumps(found))
"""


def scan(database_path: Path, needles: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    paths = [str(database_path), *(f"{database_path}-{end}" for end in ("wal", "shm", "journal"))]
    request = {"paths": paths, "needles": {name: value.hex() for name, value in needles.items()}}
    done = subprocess.run(
        [sys.executable, "-c", SCANNER],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return found


def _member_with_everything(client: Any, accounts: Any, push: Any) -> dict[str, Any]:
    """A member who wrote a bit of everything, and the mentor she shares it with."""
    tag = uuid.uuid4().hex[:10]
    member = accounts.register(
        username=f"erasable{tag}",
        display_name=f"Rosa {tag[:6]}",
        phone="+14155550199",
    )
    mentor = accounts.register(role="mentor", username=f"guide{tag}", display_name="Dana K")
    share(client, member, mentor)
    accounts.sign_in(member, device_name=f"Rosa's tablet {tag[:4]}")
    add_device(client, push, member, f"Rosa's phone {tag[:4]}")
    texts: dict[str, str] = {}
    checkins = []
    for n in range(3):
        written = {
            "wins": marker(f"Got my ID back {n}"),
            "note": marker(f"Nervous about Friday {n}"),
            "place": marker(f"library {n}"),
        }
        texts.update({f"checkin{n}.{k}": v for k, v in written.items()})
        checkins.append(checkin(client, member, help_requested=n == 0, **written))
    for n, made in enumerate(checkins[:2]):
        texts[f"response{n}"] = marker(f"Proud of you {n}")
        respond(client, mentor, made["id"], texts[f"response{n}"])
    for n in range(3):
        written = {
            "title": marker(f"Court date: see PO about probation {n}"),
            "location": marker(f"Room 204, 12 Elm St {n}"),
            "notes": marker(f"Bring the letter {n}"),
        }
        texts.update({f"appointment{n}.{k}": v for k, v in written.items()})
        appointment(client, member, kind="court", **written)
    # Edits leave older versions of a row behind in pages and log frames.
    texts["edited note"] = marker("Slept better after all")
    edited = client.patch(
        f"/api/v1/checkins/{checkins[1]['id']}",
        json={"note": texts["edited note"]},
        headers=member.headers,
    )
    assert edited.status_code == 200, edited.get_json()
    read = client.get(f"/api/v1/mentees/{member.account_id}/checkins", headers=mentor.headers)
    assert read.status_code == 200
    return {"member": member, "mentor": mentor, "texts": texts}


def _ciphertexts(app: Any, account_id: str) -> list[str]:
    queries = [
        "SELECT wins, note, place FROM checkins WHERE member_id = :id",
        "SELECT body FROM checkin_responses WHERE member_id = :id",
        "SELECT title, location, notes FROM appointments WHERE member_id = :id",
    ]
    found = [v for sql in queries for row in raw(app, sql, id=account_id) for v in row if v]
    assert found and all(value.startswith("hw1:") for value in found), found
    return found


def _needles(app: Any, world: dict[str, Any]) -> dict[str, bytes]:
    member = world["member"]
    [key] = raw(
        app, "SELECT wrapped_key FROM member_keys WHERE account_id = :id", id=member.account_id
    )
    wrapped = bytes(key.wrapped_key)
    assert len(wrapped) == 60
    needles = {
        "account id": member.account_id.encode(),
        "username": member.username.encode(),
        "display name": member.extra["display_name"].encode(),
        "phone": b"+14155550199",
        "wrapped key": wrapped,
        "wrapped key (base64)": base64.b64encode(wrapped),
        "wrapped key (base64url)": base64.urlsafe_b64encode(wrapped).rstrip(b"="),
    }
    for n, value in enumerate(_ciphertexts(app, member.account_id)):
        needles[f"ciphertext {n}"] = value.encode()
    for name, value in world["texts"].items():
        needles[name] = value.encode("utf-8")
    for row in raw(
        app,
        "SELECT device_name FROM auth_sessions WHERE account_id = :id AND device_name IS NOT NULL",
        id=member.account_id,
    ):
        needles["session device name"] = row.device_name.encode()
    for row in raw(app, "SELECT name FROM devices WHERE account_id = :id", id=member.account_id):
        needles["device name"] = row.name.encode()
    return needles


def test_erasure_leaves_no_byte_of_the_member_in_any_database_file(
    app, client, accounts, push, backend, database_url
):
    world = _member_with_everything(client, accounts, push)
    member = world["member"]
    needles = _needles(app, world)
    assert "session device name" in needles and "device name" in needles

    if backend == "sqlite":
        path = Path(database_url.removeprefix("sqlite:///"))
        before = scan(path, needles)
        held = {name for found in before.values() for name in found["holds"]}
        # The scan does see what is there: the plain columns and the ciphertexts.
        for name in ("account id", "username", "display name", "wrapped key", "ciphertext 0"):
            assert name in held, (name, before)
        # (What members write is sealed, so it is in no file even before.)
        assert not held & set(world["texts"]), before

    erased = erase(client, member)
    assert erased.status_code == 204, erased.get_data(as_text=True)

    # No live row anywhere names the member or holds their key or ciphertext.
    assert (
        raw(app, "SELECT account_id FROM member_keys WHERE account_id = :id", id=member.account_id)
        == []
    )
    assert raw(app, "SELECT id FROM accounts WHERE id = :id", id=member.account_id) == []
    live = [needle.decode("latin-1") for needle in needles.values()]
    for table, column, value in every_stored_value(app):
        for name, needle in zip(needles, live, strict=True):
            assert needle not in value, (table, column, name)
    # The mentor is still there; only the member went.
    assert raw(app, "SELECT id FROM accounts WHERE id = :id", id=world["mentor"].account_id)

    if backend == "sqlite":
        after = scan(path, needles)
        assert str(path) in after, after
        left = {file: found["holds"] for file, found in after.items() if found["holds"]}
        assert not left, f"erased data still in the database files: {left}"
        # The log was checkpointed and truncated, not merely left to be overwritten.
        wal = after.get(f"{path}-wal")
        assert wal is None or wal["size"] == 0, wal


def test_the_checkpoint_waits_for_a_reader_of_an_older_snapshot_and_then_empties_the_log(
    tmp_path,
):
    """A connection still reading when the erasure commits holds the log back; the
    checkpoint tries again until it lets go (within its patience), then truncates."""
    import sqlite3
    import threading

    from api.core.db import make_engine
    from api.core.erasure_files import checkpoint_sqlite

    path = tmp_path / "busy.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (body TEXT)")
            connection.exec_driver_sql("INSERT INTO t VALUES ('before')")
        reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # holds its snapshot
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES ('zqsecretafter')")
        releaser = threading.Timer(0.4, lambda: reader.execute("COMMIT"))
        releaser.start()
        try:
            assert checkpoint_sqlite(engine) is True
        finally:
            releaser.join()
            reader.close()
        assert Path(f"{path}-wal").stat().st_size == 0
        # The connection's own busy timeout is as it was.
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        engine.dispose()
