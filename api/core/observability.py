"""Logs and metrics: JSON lines with a request id on each, Prometheus counters by route.

Nothing personal is logged: no usernames, no tokens, no bodies, no query strings, and
routes are logged by their template (``/api/v1/calendar/<token>.ics``), never the raw path.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

access_log = logging.getLogger("homeward.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given to the logger are kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and not hasattr(record, "request_id"):
            record.request_id = g.get("request_id")
        return True


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the whole process (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_homeward", False):
            break
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler._homeward = True  # type: ignore[attr-defined]  # our marker
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Werkzeug's own access lines carry the raw path (tokens, ids); ours do not.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class Metrics:
    def __init__(self, multiproc_dir: str | None) -> None:
        self.multiproc_dir = multiproc_dir
        # Multi-process mode (gunicorn) needs the default registry; otherwise one per app,
        # so several apps in one process (the tests) do not collide.
        registry = None if multiproc_dir else CollectorRegistry()
        kwargs: dict[str, Any] = {"registry": registry} if registry is not None else {}
        self.registry = registry
        self.requests = Counter(
            "homeward_http_requests_total",
            "HTTP requests answered.",
            ["method", "route", "status"],
            **kwargs,
        )
        self.latency = Histogram(
            "homeward_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            **kwargs,
        )
        # Requests answered 503 because the database was unreachable, restarting or locked.
        self.database_unavailable = Counter(
            "homeward_database_unavailable_total",
            "Requests answered 503 because the database could not be reached.",
            ["route"],
            **kwargs,
        )

    def render(self) -> Response:
        if self.multiproc_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus untyped
        else:
            registry = self.registry  # type: ignore[assignment]  # same interface
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def route_label() -> str:
    return request.url_rule.rule if request.url_rule is not None else "<unmatched>"


def init_app(app: Flask) -> Metrics:
    configure_logging(app.config["LOG_LEVEL"])
    metrics = Metrics(app.config.get("PROMETHEUS_MULTIPROC_DIR"))
    app.extensions["homeward.metrics"] = metrics

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        started = g.get("request_started")
        elapsed = time.perf_counter() - started if started is not None else 0.0
        route, status = route_label(), str(response.status_code)
        metrics.requests.labels(request.method, route, status).inc()
        metrics.latency.labels(request.method, route, status).observe(elapsed)
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response

    return metrics
