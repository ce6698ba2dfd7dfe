"""A Web Push service on 127.0.0.1 for tests, speaking the real protocols.

The app's own pywebpush code talks to it over HTTP, exactly as it would to a browser vendor's
push service: RFC 8030 (the push request), RFC 8291 + RFC 8188 (aes128gcm message encryption)
and RFC 8292 (VAPID). Every message is authenticated and decrypted with the subscription's
private key, so a test sees the plaintext the phone would see.

    with PushService() as push:
        subscription = push.new_subscription()     # what the phone would hand the app
        ...                                        # the app sends a push to it
        [message] = push.wait_for(1)
        assert message.json == {...}

As a pytest fixture::

    @pytest.fixture
    def push() -> Iterator[PushService]:
        with PushService() as service:
            yield service

(``fake_push`` below is exactly that, for ``from tests.fakes.push_service import fake_push``.)

Order of checks for ``POST /push/{id}``: unknown id 404; ``gone()`` 410; an injected failure
(``fail_next``); VAPID 401/403; push headers 400; size 413; encryption 400; then 201.

A slow push service: ``PushService(delay=1.5)`` (or ``service.delay = ...`` at any time) holds
every request that long after its body arrived and before it is checked and recorded, like a
push service that takes its time to accept; ``delay=(0.0, 0.05)`` draws each request's delay
uniformly from that range (seeded with ``delay_seed`` for a reproducible run), and a callable
is asked for each request's delay. Each ``Received`` and ``Attempt`` carries the request's
``User-Agent`` (``user_agent``), so a test can tell which sender sent what.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import secrets
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.fakes.server import BackgroundServer

__all__ = ["Attempt", "PushService", "Received", "b64url_decode", "b64url_encode", "fake_push"]

# RFC 8030 §7.2: a push service must accept bodies of up to 4096 octets and may refuse more (413).
MAX_BODY = 4096
# RFC 8292 §2: "exp" must not be more than 24 hours after the request.
VAPID_MAX_LIFETIME = 24 * 60 * 60
# RFC 8030 §5.3: the only Urgency values.
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
# RFC 8030 §5.4: a Topic is at most 32 characters of the base64url alphabet.
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
_PUSH_PATH = re.compile(r"^/push/([A-Za-z0-9_-]+)$")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as Web Push uses everywhere (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; refuses characters outside the alphabet."""
    text = text.strip()
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Received:
    """One push message the service accepted, decrypted."""

    subscription_id: str
    payload: bytes  # the decrypted plaintext
    text: str  # payload as UTF-8 (undecodable bytes replaced)
    json: Any | None  # payload parsed as JSON, or None when it is not JSON
    headers: dict[str, str]  # request headers, names lower-cased (ttl, urgency, topic, ...)
    at: float  # time.time() when accepted
    user_agent: str | None = None  # the request's User-Agent header, as sent


@dataclass(frozen=True)
class Attempt:
    """Every request the service answered, accepted or not (for asserting retries/refusals)."""

    subscription_id: str | None
    status: int
    reason: str
    at: float
    user_agent: str | None = None  # the request's User-Agent header, as sent


@dataclass
class _Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    gone: bool = False
    failures: list[tuple[int, str | None]] = field(default_factory=list)  # (status, Retry-After)


class _Refusal(Exception):
    """Raised inside request handling to answer with an error status."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


Delay = float | tuple[float, float] | Callable[[], float]


class PushService(BackgroundServer):
    """A Web Push service in a background thread. See the module docstring."""

    owner_attribute = "service"
    thread_prefix = "fake-push"

    def __init__(
        self,
        vapid_public_key: str | None = None,
        host: str = "127.0.0.1",
        *,
        delay: Delay = 0.0,
        delay_seed: int | None = None,
    ) -> None:
        """``vapid_public_key``: the application server key (base64url uncompressed P-256 point)
        subscriptions are restricted to, like ``applicationServerKey`` in the browser's
        ``pushManager.subscribe()``; ``None`` accepts any correctly signed VAPID key.
        ``delay``: seconds each request is held before it is checked and answered (a number,
        a ``(low, high)`` range drawn from uniformly, or a callable); see the module docstring."""
        self._required_key = _decode_public_key(vapid_public_key) if vapid_public_key else None
        self.delay: Delay = delay
        self._delay_random = random.Random(delay_seed)
        self._setup_server(host)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._subscriptions: dict[str, _Subscription] = {}
        self._received: list[Received] = []
        self._attempts: list[Attempt] = []

    # -- subscriptions -----------------------------------------------------------------------

    def new_subscription(self) -> dict[str, Any]:
        """A browser-style PushSubscription JSON, as the phone would send it to the app.

        RFC 8291 §3.1-3.2: the user agent's P-256 ECDH key (p256dh, uncompressed point) and a
        16-octet authentication secret, both unpadded base64url.
        """
        subscription_id = uuid.uuid4().hex
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth_secret = secrets.token_bytes(16)
        public_point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        with self._lock:
            self._subscriptions[subscription_id] = _Subscription(private_key, auth_secret)
        return {
            "endpoint": f"{self.base_url}/push/{subscription_id}",
            "keys": {"p256dh": b64url_encode(public_point), "auth": b64url_encode(auth_secret)},
        }

    @staticmethod
    def subscription_id(subscription: str | Mapping[str, Any]) -> str:
        """The id from a subscription dict, an endpoint URL, or an id (returned as is)."""
        if isinstance(subscription, Mapping):
            subscription = str(subscription["endpoint"])
        return subscription.rstrip("/").rsplit("/", 1)[-1]

    # -- failure injection -------------------------------------------------------------------

    def fail_next(
        self,
        subscription: str | Mapping[str, Any],
        status: int,
        times: int = 1,
        retry_after: int | str | None = None,
    ) -> None:
        """Answer the next ``times`` requests to this subscription with ``status`` (e.g. 500,
        or 429 with ``retry_after`` seconds), before any validation; then behave normally."""
        with self._lock:
            record = self._subscriptions[self.subscription_id(subscription)]
            after = None if retry_after is None else str(retry_after)
            record.failures.extend([(status, after)] * times)

    def gone(self, subscription: str | Mapping[str, Any]) -> None:
        """The subscription expired or was unsubscribed: 410 Gone from now on (RFC 8030 §7.3)."""
        with self._lock:
            self._subscriptions[self.subscription_id(subscription)].gone = True

    # -- what arrived ------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        """A snapshot of every accepted message, oldest first."""
        with self._lock:
            return list(self._received)

    @property
    def attempts(self) -> list[Attempt]:
        """A snapshot of every answered request (including refusals), oldest first."""
        with self._lock:
            return list(self._attempts)

    def received_for(self, subscription: str | Mapping[str, Any]) -> list[Received]:
        wanted = self.subscription_id(subscription)
        return [message for message in self.received if message.subscription_id == wanted]

    def count(self) -> int:
        with self._lock:
            return len(self._received)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least ``n`` messages were accepted; returns them all.

        Raises AssertionError on timeout, naming the most recent refusals."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._received) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    refusals = [a for a in self._attempts if a.status >= 300][-5:]
                    raise AssertionError(
                        f"expected {n} push message(s) within {timeout}s, got "
                        f"{len(self._received)}; latest refusals: {refusals or 'none'}"
                    )
                self._arrived.wait(remaining)
            return list(self._received)

    def clear(self) -> None:
        """Forget received messages and attempts (subscriptions and injections stay)."""
        with self._lock:
            self._received.clear()
            self._attempts.clear()

    # -- request handling (called on server threads) ----------------------------------------

    def _hold(self) -> None:
        """Wait this request's delay (see ``delay``)."""
        delay = self.delay
        if callable(delay):
            seconds = float(delay())
        elif isinstance(delay, tuple):
            low, high = delay
            with self._lock:
                seconds = self._delay_random.uniform(low, high)
        else:
            seconds = float(delay)
        if seconds > 0:
            time.sleep(seconds)

    def _note(
        self, subscription_id: str | None, status: int, reason: str, user_agent: str | None = None
    ) -> None:
        with self._lock:
            self._attempts.append(Attempt(subscription_id, status, reason, time.time(), user_agent))

    def _take_injected(self, subscription_id: str) -> _Refusal | None:
        with self._lock:
            record = self._subscriptions.get(subscription_id)
            if record is None:
                return _Refusal(HTTPStatus.NOT_FOUND, "no such subscription")
            if record.gone:
                return _Refusal(HTTPStatus.GONE, "subscription expired or unsubscribed")
            if record.failures:
                status, retry_after = record.failures.pop(0)
                headers = {"Retry-After": retry_after} if retry_after is not None else {}
                return _Refusal(status, "injected failure", headers)
        return None

    def _accept(self, subscription_id: str, headers: Mapping[str, str], body: bytes) -> str:
        """Validate and decrypt one push request; returns the message id or raises _Refusal."""
        refusal = self._take_injected(subscription_id)
        if refusal is not None:
            raise refusal
        with self._lock:
            record = self._subscriptions[subscription_id]

        self._check_vapid(headers.get("authorization"))
        ttl = _check_push_headers(headers)

        if len(body) > MAX_BODY:
            raise _Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {len(body)} > {MAX_BODY}")
        payload = _decrypt(body, headers.get("content-encoding"), record)

        text = payload.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if payload else None
        except ValueError:
            parsed = None
        message = Received(
            subscription_id,
            payload,
            text,
            parsed,
            dict(headers),
            time.time(),
            headers.get("user-agent"),
        )
        with self._arrived:
            self._received.append(message)
            self._arrived.notify_all()
        return ttl

    def _check_vapid(self, authorization: str | None) -> None:
        """RFC 8292 §3: ``Authorization: vapid t=<JWT>, k=<base64url P-256 public key>``."""
        challenge = {"WWW-Authenticate": "vapid"}
        if not authorization:
            raise _Refusal(HTTPStatus.UNAUTHORIZED, "missing VAPID Authorization", challenge)
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() != "vapid":
            # Also catches the pre-RFC "WebPush <jwt>" + "Crypto-Key: p256ecdsa=" form (Vapid01).
            raise _Refusal(HTTPStatus.UNAUTHORIZED, f"auth scheme {scheme!r}, not vapid", challenge)
        params: dict[str, str] = {}
        for part in rest.split(","):
            name, _, value = part.strip().partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        token, key_text = params.get("t"), params.get("k")
        if not token or not key_text:
            raise _Refusal(HTTPStatus.UNAUTHORIZED, "VAPID needs both t= and k=", challenge)

        # RFC 8292 §3.2: k is the uncompressed P-256 point; §4.2: a restricted subscription
        # (created with applicationServerKey) accepts only that key, else 403.
        try:
            key_bytes = _decode_public_key(key_text)
        except ValueError as error:
            raise _Refusal(HTTPStatus.FORBIDDEN, f"bad VAPID k: {error}") from None
        if self._required_key is not None and key_bytes != self._required_key:
            raise _Refusal(HTTPStatus.FORBIDDEN, "VAPID key is not this subscription's key")

        claims = _verify_es256_jwt(token, key_bytes)

        # RFC 8292 §2: aud is the push resource's origin; exp in the future, at most 24 h away.
        if claims.get("aud") != self.base_url:
            raise _Refusal(
                HTTPStatus.FORBIDDEN, f"aud {claims.get('aud')!r} is not {self.base_url!r}"
            )
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise _Refusal(HTTPStatus.FORBIDDEN, "exp claim missing or not an integer")
        if exp <= now:
            raise _Refusal(HTTPStatus.FORBIDDEN, "VAPID token expired")
        if exp > now + VAPID_MAX_LIFETIME:
            raise _Refusal(HTTPStatus.FORBIDDEN, "exp is more than 24 hours away")
        # RFC 8292 §2.1: sub is a contact, a mailto: or https: URI.
        if not _valid_contact(claims.get("sub")):
            raise _Refusal(HTTPStatus.FORBIDDEN, f"sub {claims.get('sub')!r} is not mailto:/https:")


def _decode_public_key(text: str) -> bytes:
    raw = b64url_decode(text)
    if len(raw) != 65 or raw[0] != 0x04:
        raise ValueError("not an uncompressed P-256 point (65 octets starting 0x04)")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # on the curve?
    return raw


def _verify_es256_jwt(token: str, key_bytes: bytes) -> dict[str, Any]:
    """RFC 7515 compact JWS with ES256 (RFC 7518 §3.4: signature is r || s, 32 octets each)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _Refusal(HTTPStatus.FORBIDDEN, "VAPID t is not a compact JWT")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, binascii.Error):
        raise _Refusal(HTTPStatus.FORBIDDEN, "VAPID JWT does not decode") from None
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise _Refusal(HTTPStatus.FORBIDDEN, "VAPID JWT alg must be ES256 (RFC 8292 §2)")
    if not isinstance(claims, dict):
        raise _Refusal(HTTPStatus.FORBIDDEN, "VAPID JWT claims are not an object")
    if len(signature) != 64:
        raise _Refusal(HTTPStatus.FORBIDDEN, "ES256 signature must be 64 octets (r || s)")
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public_key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _Refusal(HTTPStatus.FORBIDDEN, "VAPID JWT signature does not verify with k") from None
    return claims


def _valid_contact(sub: object) -> bool:
    if not isinstance(sub, str):
        return False
    if sub.startswith("mailto:"):
        local, at, domain = sub[len("mailto:") :].rpartition("@")
        return bool(local and at and domain)
    parts = urlsplit(sub)
    return parts.scheme == "https" and bool(parts.netloc)


def _check_push_headers(headers: Mapping[str, str]) -> str:
    """RFC 8030 §5.2 TTL (required), §5.3 Urgency, §5.4 Topic. Returns the TTL."""
    ttl = headers.get("ttl")
    if ttl is None or not ttl.strip().isdigit():
        raise _Refusal(HTTPStatus.BAD_REQUEST, f"TTL header missing or not a number: {ttl!r}")
    urgency = headers.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        raise _Refusal(HTTPStatus.BAD_REQUEST, f"Urgency {urgency!r} is not one of {URGENCIES}")
    topic = headers.get("topic")
    if topic is not None and not TOPIC.match(topic):
        raise _Refusal(HTTPStatus.BAD_REQUEST, f"Topic {topic!r}: max 32 base64url characters")
    return ttl.strip()


def _decrypt(body: bytes, content_encoding: str | None, record: _Subscription) -> bytes:
    """RFC 8291 §4 / RFC 8188 §2: header = salt(16) rs(4) idlen(1) keyid(idlen), then one record."""
    if not body:
        # RFC 8030 §5: a push message may carry no payload (and then no Content-Encoding).
        return b""
    if (content_encoding or "").strip().lower() != "aes128gcm":
        raise _Refusal(
            HTTPStatus.BAD_REQUEST, f"Content-Encoding {content_encoding!r} != aes128gcm"
        )
    if len(body) < 21:
        raise _Refusal(HTTPStatus.BAD_REQUEST, "body shorter than the aes128gcm header")
    record_size = struct.unpack("!L", body[16:20])[0]
    id_length = body[20]
    if id_length != 65:
        # RFC 8291 §4: keyid carries the application server's ephemeral ECDH public key.
        raise _Refusal(HTTPStatus.BAD_REQUEST, f"keyid is {id_length} octets, not 65")
    if len(body) - 21 - id_length > record_size:
        raise _Refusal(
            HTTPStatus.BAD_REQUEST, "push messages must be a single record (RFC 8291 §4)"
        )
    try:
        return bytes(
            http_ece.decrypt(
                body,
                private_key=record.private_key,
                auth_secret=record.auth_secret,
                version="aes128gcm",
            )
        )
    except Exception as error:  # http_ece.ECEException, ValueError on a bad point, ...
        raise _Refusal(HTTPStatus.BAD_REQUEST, f"cannot decrypt: {error!r}") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck keep-alive connection never blocks interpreter exit
    block_on_close = False  # stop() does not wait for idle keep-alive connections
    request_queue_size = 1024  # listen backlog for bursts from several client processes
    service: PushService

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client went away; nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server_version = "FakePushService/1.0"
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are dropped after a minute

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        service = self.server.service
        body = self._read_body()
        if body is None:
            return
        match = _PUSH_PATH.match(self.path)
        subscription_id = match.group(1) if match else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        agent = headers.get("user-agent")
        service._hold()
        try:
            if subscription_id is None:
                raise _Refusal(HTTPStatus.NOT_FOUND, f"no push resource at {self.path}")
            ttl = service._accept(subscription_id, headers, body)
        except _Refusal as refusal:
            service._note(subscription_id, refusal.status, refusal.reason, agent)
            self._answer_error(refusal.status, refusal.reason, refusal.headers)
            return
        except Exception as error:  # a bug in the fake: say so loudly rather than hang
            service._note(subscription_id, 500, f"fake push service crashed: {error!r}", agent)
            self._answer_error(500, f"fake push service crashed: {error!r}")
            raise
        service._note(subscription_id, HTTPStatus.CREATED, "accepted", agent)
        # RFC 8030 §5: 201 Created, Location = the push message resource; §5.2: echo the TTL.
        self._answer(
            HTTPStatus.CREATED,
            b"",
            {"Location": f"{service.base_url}/message/{uuid.uuid4().hex}", "TTL": ttl},
        )

    def do_GET(self) -> None:
        self._read_body()
        self._answer_error(HTTPStatus.METHOD_NOT_ALLOWED, "push resources accept POST only")

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._answer_error(HTTPStatus.LENGTH_REQUIRED, "send Content-Length, not chunked")
            return None
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The sender went away mid-request (a killed process): nothing was pushed. Left
            # unchecked, an empty truncated body would pass for a push without payload.
            self.close_connection = True
            match = _PUSH_PATH.match(self.path)
            self.server.service._note(
                match.group(1) if match else None,
                HTTPStatus.BAD_REQUEST,
                f"body of {len(body)} octets, Content-Length {length}: the sender went away",
                self.headers.get("User-Agent"),
            )
            return None
        return body

    def _answer_error(
        self, status: int, reason: str, headers: Mapping[str, str] | None = None
    ) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        body = json.dumps({"code": status, "error": phrase, "message": reason}).encode()
        self._answer(status, body, {"Content-Type": "application/json", **(headers or {})})

    def _answer(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_push() -> Iterator[PushService]:
    """A running PushService for one test (accepts any correctly signed VAPID key)."""
    with PushService() as service:
        yield service


PushService.server_class = _Server
PushService.handler_class = _Handler
