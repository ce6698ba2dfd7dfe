"""gunicorn workers whose own refusals are Problem Details like every other error.

gunicorn reads the request line and headers before the app sees anything, and answers what
it refuses (a request line over ``limit_request_line``, too many or too large headers,
bytes that are not HTTP) with a small HTML page. These workers answer the same statuses as
``application/problem+json`` with a ``detail`` a person can act on. ``gunicorn.conf.py``
picks one; the limits are set there.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from ssl import SSLError
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from api.core.errors import PROBLEM_BASE, PROBLEM_JSON

INTERNAL = (
    500,
    "internal-error",
    "Something went wrong on our side. Nothing you sent was saved; try again later.",
)


def problem_for(exc: BaseException, cfg: Any) -> tuple[int, str, str]:
    """The status, problem type and detail of what gunicorn refused with ``exc``."""
    if isinstance(
        exc,
        errors.InvalidResponseHeader
        | errors.InvalidResponseHeaderName
        | errors.ConfigurationProblem,
    ):
        return INTERNAL  # the app's or the server's fault, not the client's
    if isinstance(exc, errors.LimitRequestLine):
        return (
            414,
            "uri-too-long",
            f"The request line (method, path and query) is longer than "
            f"{cfg.limit_request_line} bytes. Send a shorter query.",
        )
    if isinstance(exc, errors.LimitRequestHeaders):
        return (
            431,
            "headers-too-large",
            f"The request headers are too large: at most {cfg.limit_request_fields} headers, "
            f"each at most {cfg.limit_request_field_size} bytes.",
        )
    if isinstance(exc, errors.ExpectationFailed):
        return 417, "expectation-failed", "Only 'Expect: 100-continue' is understood."
    if isinstance(exc, errors.UnsupportedTransferCoding):
        return (
            501,
            "not-implemented",
            "That Transfer-Encoding is not supported; send a Content-Length or chunked.",
        )
    if isinstance(exc, errors.ForbiddenProxyRequest | SSLError):
        return 403, "forbidden", "This connection may not make requests here."
    if isinstance(exc, errors.ParseException):
        return 400, "bad-request", "The request is not valid HTTP/1.1, so it could not be read."
    return INTERNAL


class ProblemErrors(Worker):
    """Replaces gunicorn's HTML error page with Problem Details; statuses are gunicorn's."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, kind, detail = problem_for(exc, self.cfg)
        if status >= 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", ""))
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        phrase = HTTPStatus(status).phrase
        body = json.dumps(
            {"type": PROBLEM_BASE + kind, "title": phrase, "status": status, "detail": detail}
        ).encode()
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\n"
            f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:  # the client may be gone already; nothing more to tell it
            self.log.debug("Failed to send error message.")


class ProblemSyncWorker(ProblemErrors, SyncWorker):
    pass


class ProblemThreadWorker(ProblemErrors, ThreadWorker):
    pass
