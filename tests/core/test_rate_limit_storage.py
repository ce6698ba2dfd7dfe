"""With RATELIMIT_STORAGE_URI pointing at Redis, processes share one count of failures."""

import json
import socket
import subprocess
import sys
import uuid

import pytest

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

ATTEMPTS = """
import json, sys
from api import create_app
from api.core.migrate import upgrade
app = create_app({
    "DATABASE_URL": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2],
    "RATELIMIT_KEY_PREFIX": sys.argv[3], "SECRET_KEY": "test", "LOG_LEVEL": "ERROR",
    "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8192, "ARGON2_PARALLELISM": 1,
})
with app.app_context():
    upgrade(app)
client = app.test_client()
attempt = {"username": sys.argv[4], "password": "not it at all"}
codes = [client.post("/api/v1/auth/token", json=attempt).status_code
         for _ in range(int(sys.argv[5]))]
print(json.dumps(codes))
"""


def _redis_up() -> bool:
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_uri():
    if not _redis_up():
        pytest.fail("Redis is not reachable at 127.0.0.1:6379; start it (see README) to run this")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/15"


def _attempts(database_url, redis_uri, prefix, username, count):
    result = subprocess.run(
        [sys.executable, "-c", ATTEMPTS, database_url, redis_uri, prefix, username, str(count)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_failed_logins_are_counted_across_processes_through_redis(tmp_path, redis_uri):
    database_url = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    prefix, username = f"test-{uuid.uuid4().hex}", f"nobody{uuid.uuid4().hex[:8]}"

    first = _attempts(database_url, redis_uri, prefix, username, 6)
    second = _attempts(database_url, redis_uri, prefix, username, 5)

    assert first == [401] * 6
    # Four more failures reach ten; the eleventh, in another process, is refused.
    assert second == [401] * 4 + [429]
