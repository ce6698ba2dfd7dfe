"""The baseline for bench/auth_throughput.py: a bare Flask app with one route returning ``{}``.

Served by the same gunicorn (same gunicorn.conf.py, same worker count) as Homeward, so the
difference between the two is what Homeward's own code costs per request: the
middleware (request id, metrics, access log, JSON-body check), flask-smorest, the
database session and, for the token endpoint, argon2id.

    .venv/bin/gunicorn -c gunicorn.conf.py --pythonpath bench bare_app:app
"""

from __future__ import annotations

from typing import Any

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> dict[str, Any]:
    return {}
