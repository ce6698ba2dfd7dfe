"""A fake Twilio REST API (Messages, API version 2010-04-01) on 127.0.0.1 for tests.

The app's real twilio-python client talks to it over HTTP; only the host changes, through an
HTTP client that rewrites ``https://api.twilio.com`` to this server (``LocalTwilioHttpClient``).

    with TwilioApi() as twilio:
        client = Client(twilio.account_sid, twilio.auth_token,
                        http_client=LocalTwilioHttpClient(twilio.base_url))
        client.messages.create(to="+14155550123", from_="+14155550100", body="hi")
        [sms] = twilio.wait_for(1)

Order of checks for ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: unknown path 404;
an injected failure (``fail_next``); HTTP Basic auth 401 (code 20003); another account's path
404 (20404); parameters 400 (21604, 21211, 21603, 21602, 21617); ``block()`` 400 (21610); 201.
Errors use Twilio's legacy JSON shape ``{code, message, more_info, status}``, which
twilio-python turns into ``TwilioRestException(status=..., code=...)``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import math
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from tests.fakes.server import BackgroundServer

__all__ = [
    "TWILIO_API_ORIGIN",
    "Attempt",
    "LocalTwilioHttpClient",
    "SentSms",
    "TwilioApi",
    "fake_twilio",
    "signed_webhook",
]

API_VERSION = "2010-04-01"
TWILIO_API_ORIGIN = "https://api.twilio.com"
MAX_BODY_CHARS = 1600  # Twilio error 21617 above this

# Twilio's wording for the error codes this fake can answer with.
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21701: "The Messaging Service Sid {sid} is invalid.",
}

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_MESSAGES = re.compile(rf"^/{API_VERSION}/Accounts/([^/]+)/Messages\.json$")
_MESSAGE = re.compile(rf"^/{API_VERSION}/Accounts/([^/]+)/Messages/(SM[0-9a-f]{{32}})\.json$")

# GSM 03.38: basic characters cost one septet, extension characters two (escape + char).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def message_resource(
    account_sid: str,
    sid: str,
    *,
    to: str,
    from_: str | None,
    body: str,
    service_sid: str | None,
    created: str,
    num_media: int = 0,
) -> dict[str, Any]:
    """The Message resource Twilio answers a create with (also bench/twilio_sink.py's)."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": from_,  # null until a number is picked when only a Messaging Service is given
        "messaging_service_sid": service_sid,
        "num_media": str(num_media),
        "num_segments": str(num_segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        # Twilio answers "accepted" when a Messaging Service still has to choose a sender.
        "status": "queued" if from_ else "accepted",
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        "to": to,
        "uri": uri,
    }


def num_segments(body: str) -> int:
    """SMS segments: GSM-7 160 septets (153 per part when split), else UCS-2 70 (67)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in body):
        septets = sum(2 if ch in _GSM_EXTENSION else 1 for ch in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


@dataclass(frozen=True)
class SentSms:
    """One message the API accepted."""

    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    at: float  # time.time() when accepted
    sid: str = ""  # the "SM..." sid returned to the client
    params: dict[str, list[str]] = field(default_factory=dict)  # every form field as sent


@dataclass(frozen=True)
class Attempt:
    """Every request answered, accepted or not (status, Twilio error code or None)."""

    status: int
    code: int | None
    to: str | None
    at: float


class _Refusal(Exception):
    def __init__(
        self, status: int, code: int, message: str, headers: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


class TwilioApi(BackgroundServer):
    """The Messages resource of Twilio's REST API, in a background thread."""

    owner_attribute = "api"
    thread_prefix = "fake-twilio"

    def __init__(
        self, account_sid: str | None = None, auth_token: str | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self._setup_server(host)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._sent: list[SentSms] = []
        self._resources: dict[str, dict[str, Any]] = {}
        self._attempts: list[Attempt] = []
        self._failures: list[tuple[int, int, str | None, str | None]] = []  # status, code, ...
        self._blocked: set[str] = set()

    def http_client(self, **kwargs: Any) -> LocalTwilioHttpClient:
        """A twilio-python HTTP client aimed at this fake."""
        return LocalTwilioHttpClient(self.base_url, **kwargs)

    # -- failure injection -------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        code: int = 20500,
        times: int = 1,
        message: str | None = None,
        retry_after: int | str | None = None,
    ) -> None:
        """Answer the next ``times`` Messages requests with this error, before any checks."""
        after = None if retry_after is None else str(retry_after)
        with self._lock:
            self._failures.extend([(status, code, message, after)] * times)

    def block(self, number: str) -> None:
        """The recipient replied STOP: sending to ``number`` answers 400, code 21610."""
        with self._lock:
            self._blocked.add(number.strip())

    def unblock(self, number: str) -> None:
        with self._lock:
            self._blocked.discard(number.strip())

    # -- what was sent -----------------------------------------------------------------------

    @property
    def sent(self) -> list[SentSms]:
        """A snapshot of every accepted message, oldest first."""
        with self._lock:
            return list(self._sent)

    @property
    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def count(self) -> int:
        with self._lock:
            return len(self._sent)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[SentSms]:
        """Block until at least ``n`` messages were accepted; returns them all.

        Raises AssertionError on timeout, naming the most recent refusals."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._sent) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    refusals = [a for a in self._attempts if a.status >= 300][-5:]
                    raise AssertionError(
                        f"expected {n} SMS within {timeout}s, got {len(self._sent)}; "
                        f"latest refusals: {refusals or 'none'}"
                    )
                self._arrived.wait(remaining)
            return list(self._sent)

    def clear(self) -> None:
        """Forget sent messages and attempts (blocks and pending injections stay)."""
        with self._lock:
            self._sent.clear()
            self._attempts.clear()

    # -- request handling (called on server threads) ----------------------------------------

    def _note(self, status: int, code: int | None, to: str | None) -> None:
        with self._lock:
            self._attempts.append(Attempt(status, code, to, time.time()))

    def _take_injected(self) -> _Refusal | None:
        with self._lock:
            if not self._failures:
                return None
            status, code, message, retry_after = self._failures.pop(0)
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return _Refusal(status, code, message or ERROR_MESSAGES.get(code, "Error"), headers)

    def _authenticate(self, path_account: str, authorization: str | None, path: str) -> None:
        """HTTP Basic with AccountSid:AuthToken (RFC 7617)."""
        username = password = ""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                username, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        good = hmac.compare_digest(username.encode(), self.account_sid.encode()) and (
            hmac.compare_digest(password.encode(), self.auth_token.encode())
        )
        if not good:
            raise _Refusal(
                401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        if path_account != self.account_sid:
            raise _Refusal(404, 20404, ERROR_MESSAGES[20404].format(path=path))

    def _create_message(
        self, path_account: str, path: str, headers: Mapping[str, str], form: dict[str, list[str]]
    ) -> dict[str, Any]:
        refusal = self._take_injected()
        if refusal is not None:
            raise refusal
        self._authenticate(path_account, headers.get("authorization"), path)

        def one(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        to, from_, service_sid = one("To"), one("From"), one("MessagingServiceSid")
        body = one("Body") or ""
        if not to:
            raise _Refusal(400, 21604, ERROR_MESSAGES[21604])
        if not _E164.match(to):
            raise _Refusal(400, 21211, ERROR_MESSAGES[21211].format(to=to))
        if service_sid is not None and not _MESSAGING_SERVICE_SID.match(service_sid):
            raise _Refusal(400, 21701, ERROR_MESSAGES[21701].format(sid=service_sid))
        if not from_ and not service_sid:
            raise _Refusal(400, 21603, ERROR_MESSAGES[21603])
        if not body and not form.get("MediaUrl") and not one("ContentSid"):
            raise _Refusal(400, 21602, ERROR_MESSAGES[21602])
        if len(body) > MAX_BODY_CHARS:
            raise _Refusal(400, 21617, ERROR_MESSAGES[21617])
        with self._lock:
            blocked = to in self._blocked
        if blocked:
            raise _Refusal(400, 21610, ERROR_MESSAGES[21610])

        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(UTC)
        resource = message_resource(
            self.account_sid,
            sid,
            to=to,
            from_=from_,
            body=body,
            service_sid=service_sid,
            created=format_datetime(now),  # RFC 2822, as Twilio sends dates
            num_media=len(form.get("MediaUrl", [])),
        )
        sms = SentSms(to, from_, body, service_sid, time.time(), sid, form)
        with self._arrived:
            self._resources[sid] = resource
            self._sent.append(sms)
            self._arrived.notify_all()
        return resource

    def _fetch_message(
        self, path_account: str, sid: str, path: str, headers: Mapping[str, str]
    ) -> dict[str, Any]:
        self._authenticate(path_account, headers.get("authorization"), path)
        with self._lock:
            resource = self._resources.get(sid)
        if resource is None:
            raise _Refusal(404, 20404, ERROR_MESSAGES[20404].format(path=path))
        return resource


def signed_webhook(url: str, params: Mapping[str, str], auth_token: str) -> dict[str, str]:
    """Headers for a webhook request as Twilio would sign it: ``{"X-Twilio-Signature": ...}``.

    ``url`` must be the full URL the app sees (scheme, host, path, query), and ``params`` the
    form fields POSTed; the signature is HMAC-SHA1 over url + sorted name/value pairs."""
    signature = RequestValidator(auth_token).compute_signature(url, dict(params))
    return {"X-Twilio-Signature": signature}


class LocalTwilioHttpClient(TwilioHttpClient):
    """twilio-python's own HTTP client, with ``https://api.twilio.com`` rewritten to a local
    base URL. Refuses any other destination, so a test can never reach the real Twilio."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_ORIGIN + "/"):
            url = self.base_url + url[len(TWILIO_API_ORIGIN) :]
        if not url.startswith(self.base_url + "/"):
            raise TwilioException(f"LocalTwilioHttpClient refuses to call {url}")
        return super().request(method, url, *args, **kwargs)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    api: TwilioApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "FakeTwilio/1.0"
    disable_nagle_algorithm = True
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        api = self.server.api
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        headers = {name.lower(): value for name, value in self.headers.items()}
        form = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
        to_values = form.get("To")
        to = to_values[0] if to_values else None
        try:
            match = _MESSAGES.match(path)
            if match is None:
                raise _Refusal(404, 20404, ERROR_MESSAGES[20404].format(path=path))
            resource = api._create_message(match.group(1), path, headers, form)
        except _Refusal as refusal:
            api._note(refusal.status, refusal.code, to)
            self._answer_error(refusal)
            return
        api._note(201, None, to)
        self._answer(201, resource)

    def do_GET(self) -> None:
        api = self.server.api
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            match = _MESSAGE.match(path)
            if match is None:
                raise _Refusal(404, 20404, ERROR_MESSAGES[20404].format(path=path))
            resource = api._fetch_message(match.group(1), match.group(2), path, headers)
        except _Refusal as refusal:
            self._answer_error(refusal)
            return
        self._answer(200, resource)

    def _answer_error(self, refusal: _Refusal) -> None:
        # Twilio's legacy error shape. Not RFC 9457: with type+title twilio-python would raise
        # TwilioServiceException instead of TwilioRestException.
        body = {
            "code": refusal.code,
            "message": refusal.message,
            "more_info": f"https://www.twilio.com/docs/errors/{refusal.code}",
            "status": refusal.status,
        }
        self._answer(refusal.status, body, refusal.headers)

    def _answer(
        self, status: int, payload: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_twilio() -> Iterator[TwilioApi]:
    """A running TwilioApi for one test, with a random AccountSid and AuthToken."""
    with TwilioApi() as api:
        yield api


TwilioApi.server_class = _Server
TwilioApi.handler_class = _Handler
