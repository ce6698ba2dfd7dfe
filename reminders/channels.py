"""The ways a reminder leaves Homeward: Web Push (RFC 8030/8291/8292) and SMS (Twilio).

Senders get plain values (no database session) and report an outcome; the dispatcher
decides what that means for the outbox row. They never raise for a delivery failure, and
they are safe to call from the dispatcher's sending threads at once: Web Push shares one
urllib3 pool manager (keep-alive connections per push-service origin, as many as there
are sending threads) and one signed VAPID token per origin until shortly before it
expires; each sending thread has its own Twilio client (and so its own keep-alive
session).
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from reminders import reach

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
# Twilio: "Attempt to send to unsubscribed recipient" (the number sent STOP to Twilio).
TWILIO_UNSUBSCRIBED = 21610
# RFC 8292 allows a token to live up to 24 hours; ours live 12 and are replaced an hour early.
VAPID_LIFETIME = 12 * 3600
VAPID_RENEW_BEFORE = 3600


# Seconds the next request may take (0 or less: do not send it).
Budget = Callable[[], float]


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # worth trying again later
    UNREACHABLE = "unreachable"  # nowhere to send (no device, no phone, opted out)
    FAILED = "failed"  # will not work however often we try


@dataclass
class Result:
    outcome: Outcome
    error: str | None = None
    gone_devices: list[str] = field(default_factory=list)
    opted_out: bool = False


@dataclass(frozen=True)
class PushTarget:
    device_id: str
    endpoint: str
    p256dh: str
    auth: str


class VapidTokens:
    """One signed VAPID header per push-service origin, reused until shortly before it
    expires (signing is an ES256 signature per call; the header is the same for every
    message to that origin)."""

    def __init__(self, vapid: Vapid02, subject: str, clock: Any = time.time) -> None:
        self.vapid = vapid
        self.subject = subject
        self.clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def header(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = self.clock()
        cached = self._tokens.get(origin)
        if cached is not None and cached[1] - VAPID_RENEW_BEFORE > now:
            return cached[0]
        with self._lock:  # threads meeting a new origin at once sign it once
            cached = self._tokens.get(origin)
            if cached is not None and cached[1] - VAPID_RENEW_BEFORE > now:
                return cached[0]
            expires = int(now) + VAPID_LIFETIME
            claims = {"sub": self.subject, "aud": origin, "exp": expires}
            token = str(self.vapid.sign(claims)["Authorization"])
            self._tokens[origin] = (token, expires)
            return token


class PushSender:
    """Web Push with aes128gcm payloads (pywebpush's encryption) and VAPID (py_vapid)."""

    def __init__(
        self,
        vapid_private_key_pem: str,
        subject: str,
        timeout: float = 10.0,
        *,
        connections: int = 16,
        user_agent: str = "Homeward-Dispatcher",
    ) -> None:
        self.tokens = VapidTokens(Vapid02.from_pem(vapid_private_key_pem.encode()), subject)
        self.subject = subject
        self.timeout = timeout
        self.user_agent = user_agent
        # One keep-alive pool per push-service origin, one connection per sending thread.
        self.http = urllib3.PoolManager(num_pools=64, maxsize=connections, retries=False)

    def send(
        self,
        targets: list[PushTarget],
        payload: dict[str, Any],
        ttl: int,
        topic: str | None = None,
        budget: Budget | None = None,
    ) -> Result:
        """Push to each of the member's devices in turn. ``budget`` says, before each
        request, how long it may take (0: stop; the dispatcher's claim ran short or was
        lost), so a member with several devices never outlasts the claim."""
        if not targets:
            return Result(Outcome.UNREACHABLE, reach.NO_DEVICE)
        data = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "TTL": str(max(ttl, 0)),
            "Urgency": "high",
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "User-Agent": self.user_agent,
        }
        if topic:
            headers["Topic"] = topic  # a newer reminder replaces an undelivered older one
        delivered, gone, errors = 0, [], []
        for target in targets:
            timeout = self.timeout if budget is None else min(self.timeout, budget())
            if timeout <= 0:
                errors.append(reach.OUT_OF_TIME)
                break
            error = self._push(target, data, headers, timeout)
            if error is None:
                delivered += 1
            elif error == "gone":
                gone.append(target.device_id)
            else:
                errors.append(error)
        if delivered:
            return Result(Outcome.SENT, gone_devices=gone)
        if errors:
            return Result(Outcome.RETRY, "; ".join(errors)[:300], gone_devices=gone)
        return Result(Outcome.UNREACHABLE, reach.ALL_DEVICES_GONE, gone_devices=gone)

    def _push(
        self, target: PushTarget, data: bytes, headers: dict[str, str], timeout: float
    ) -> str | None:
        """One message to one subscription: None when accepted, "gone" when the
        subscription is no use any more, else the error worth a retry."""
        try:
            body = WebPusher(
                {
                    "endpoint": target.endpoint,
                    "keys": {"p256dh": target.p256dh, "auth": target.auth},
                }
            ).encode(data)["body"]
            authorization = self.tokens.header(target.endpoint)
        except (WebPushException, ValueError, TypeError):
            return "gone"  # we cannot encrypt to this subscription's keys: it is unusable
        try:
            parts = urlsplit(target.endpoint)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response = self.http.connection_from_url(target.endpoint).urlopen(
                "POST",
                path or "/",
                body=body,
                headers={**headers, "Authorization": authorization},
                timeout=urllib3.Timeout(total=timeout),
                retries=False,
                redirect=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as error:
            return f"push service unreachable: {type(error).__name__}"
        except ValueError:  # an endpoint urllib3 cannot even parse
            return "gone"
        if 200 <= response.status < 300:
            return None
        if response.status in (404, 410):
            return "gone"  # the subscription expired or was removed
        return f"push service answered {response.status}"


class _BaseUrlHttpClient(TwilioHttpClient):
    """Sends Twilio API calls to a configured base URL (a regional edge or a test server)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class SmsSender:
    """SMS through Twilio's Messages API, one client (keep-alive session) per thread."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None,
        messaging_service_sid: str | None,
        base_url: str = TWILIO_API,
        timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.base_url = base_url
        self.timeout = timeout
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self._local = threading.local()

    def _client(self, timeout: float) -> TwilioClient:
        client: TwilioClient | None = getattr(self._local, "client", None)
        if client is None:
            http_client = _BaseUrlHttpClient(self.base_url, timeout)
            client = TwilioClient(self.account_sid, self.auth_token, http_client=http_client)
            self._local.client = client
        client.http_client.timeout = timeout  # this thread's own client
        return client

    def send(
        self, phone: str | None, opted_out: bool, body: str, budget: Budget | None = None
    ) -> Result:
        if not phone:
            return Result(Outcome.UNREACHABLE, reach.NO_PHONE)
        if opted_out:
            return Result(Outcome.UNREACHABLE, reach.SENT_STOP)
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number or ""}
        )
        timeout = self.timeout if budget is None else min(self.timeout, budget())
        if timeout <= 0:
            return Result(Outcome.RETRY, reach.OUT_OF_TIME)
        try:
            self._client(timeout).messages.create(to=phone, body=body, **sender)
        except TwilioRestException as error:
            if error.code == TWILIO_UNSUBSCRIBED:
                return Result(Outcome.UNREACHABLE, reach.UNSUBSCRIBED, opted_out=True)
            if error.status == 429 or error.status >= 500:
                return Result(Outcome.RETRY, f"Twilio answered {error.status} ({error.code})")
            return Result(Outcome.FAILED, f"Twilio refused: {error.status} ({error.code})")
        except requests.RequestException as error:
            return Result(Outcome.RETRY, f"Twilio unreachable: {type(error).__name__}")
        return Result(Outcome.SENT)
