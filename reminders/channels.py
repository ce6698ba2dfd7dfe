"""The ways a reminder leaves Homeward: Web Push (pywebpush, VAPID) and SMS (Twilio).

Senders get plain values (no database session) and report an outcome; the dispatcher
decides what that means for the outbox row. They never raise for a delivery failure.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from reminders import reach

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
# Twilio: "Attempt to send to unsubscribed recipient" (the number sent STOP to Twilio).
TWILIO_UNSUBSCRIBED = 21610


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


class PushSender:
    """Web Push (RFC 8030) with aes128gcm payloads (RFC 8291) and VAPID (RFC 8292)."""

    def __init__(self, vapid_private_key_pem: str, subject: str, timeout: float = 10.0) -> None:
        self.vapid = Vapid02.from_pem(vapid_private_key_pem.encode())
        self.subject = subject
        self.timeout = timeout
        self.session = requests.Session()  # keep-alive across a dispatcher's batch

    def send(
        self, targets: list[PushTarget], payload: dict[str, Any], ttl: int, topic: str | None = None
    ) -> Result:
        if not targets:
            return Result(Outcome.UNREACHABLE, reach.NO_DEVICE)
        data = json.dumps(payload, separators=(",", ":"))
        headers = {"Urgency": "high"}
        if topic:
            headers["Topic"] = topic  # a newer reminder replaces an undelivered older one
        delivered, gone, errors = 0, [], []
        for target in targets:
            try:
                webpush(
                    {
                        "endpoint": target.endpoint,
                        "keys": {"p256dh": target.p256dh, "auth": target.auth},
                    },
                    data=data,
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.subject},  # pywebpush adds aud and exp
                    ttl=max(ttl, 0),
                    headers=dict(headers),
                    timeout=self.timeout,
                    requests_session=self.session,
                )
                delivered += 1
            except WebPushException as error:
                status = error.response.status_code if error.response is not None else None
                if status in (404, 410):
                    gone.append(target.device_id)  # the subscription expired or was removed
                else:
                    errors.append(f"push service answered {status}")
            except requests.RequestException as error:
                errors.append(f"push service unreachable: {type(error).__name__}")
            except ValueError:
                # pywebpush cannot encrypt to this subscription's keys: it is unusable.
                gone.append(target.device_id)
        if delivered:
            return Result(Outcome.SENT, gone_devices=gone)
        if errors:
            return Result(Outcome.RETRY, "; ".join(errors)[:300], gone_devices=gone)
        return Result(Outcome.UNREACHABLE, reach.ALL_DEVICES_GONE, gone_devices=gone)


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
    """SMS through Twilio's Messages API."""

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
        http_client = _BaseUrlHttpClient(base_url, timeout) if base_url != TWILIO_API else None
        self.client = TwilioClient(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid

    def send(self, phone: str | None, opted_out: bool, body: str) -> Result:
        if not phone:
            return Result(Outcome.UNREACHABLE, reach.NO_PHONE)
        if opted_out:
            return Result(Outcome.UNREACHABLE, reach.SENT_STOP)
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number or ""}
        )
        try:
            self.client.messages.create(to=phone, body=body, **sender)
        except TwilioRestException as error:
            if error.code == TWILIO_UNSUBSCRIBED:
                return Result(Outcome.UNREACHABLE, reach.UNSUBSCRIBED, opted_out=True)
            if error.status == 429 or error.status >= 500:
                return Result(Outcome.RETRY, f"Twilio answered {error.status} ({error.code})")
            return Result(Outcome.FAILED, f"Twilio refused: {error.status} ({error.code})")
        except requests.RequestException as error:
            return Result(Outcome.RETRY, f"Twilio unreachable: {type(error).__name__}")
        return Result(Outcome.SENT)
