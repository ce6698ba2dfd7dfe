"""The test doubles in tests/fakes speak the real protocols: only the real client libraries
(pywebpush + py_vapid, twilio-python) talk to them here. No app, no database."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.push_service import PushService, b64url_encode
from tests.fakes.twilio_api import LocalTwilioHttpClient, TwilioApi, num_segments, signed_webhook

CLAIMS_SUB = "mailto:ops@example.org"


def vapid_key() -> Vapid02:
    key = Vapid02()
    key.generate_keys()
    return key


def public_key_b64(key: Vapid02) -> str:
    return b64url_encode(
        key.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def send(subscription: dict[str, Any], data: str | None, key: Vapid02, **kwargs: Any) -> Any:
    # A fresh claims dict each time: pywebpush writes "aud" and "exp" into the dict it is given.
    return webpush(
        subscription, data=data, vapid_private_key=key, vapid_claims={"sub": CLAIMS_SUB}, **kwargs
    )


# -- Web Push ---------------------------------------------------------------------------------


@pytest.fixture
def push() -> Iterator[PushService]:
    with PushService() as service:
        yield service


def test_pywebpush_reaches_the_push_service_and_is_decrypted(push: PushService) -> None:
    subscription = push.new_subscription()
    response = send(subscription, "hello", vapid_key(), ttl=60)

    assert response.status_code == 201
    assert response.headers["Location"].startswith(push.base_url + "/message/")
    assert response.headers["TTL"] == "60"
    [message] = push.received
    assert message.text == "hello"
    assert message.payload == b"hello"
    assert message.json is None
    assert message.subscription_id == PushService.subscription_id(subscription)
    assert message.headers["content-encoding"] == "aes128gcm"
    assert message.headers["authorization"].startswith("vapid t=")
    assert push.received_for(subscription) == [message]
    assert push.count() == 1


def test_json_payloads_and_many_subscriptions(push: PushService) -> None:
    key = vapid_key()
    subscriptions = [push.new_subscription() for _ in range(3)]
    for number, subscription in enumerate(subscriptions):
        send(subscription, json.dumps({"n": number, "text": "café ☕"}), key)

    push.wait_for(3)
    for number, subscription in enumerate(subscriptions):
        [message] = push.received_for(subscription)
        assert message.json == {"n": number, "text": "café ☕"}


def test_subscription_has_browser_shape(push: PushService) -> None:
    subscription = push.new_subscription()
    keys = subscription["keys"]
    assert subscription["endpoint"].startswith(f"{push.base_url}/push/")
    assert "=" not in keys["p256dh"] + keys["auth"]
    assert len(base64.urlsafe_b64decode(keys["p256dh"] + "=")) == 65
    assert len(base64.urlsafe_b64decode(keys["auth"] + "==")) == 16


def test_wrong_vapid_key_is_refused_by_a_restricted_service() -> None:
    app_key, other_key = vapid_key(), vapid_key()
    with PushService(vapid_public_key=public_key_b64(app_key)) as push:
        subscription = push.new_subscription()

        with pytest.raises(WebPushException) as refused:
            send(subscription, "hello", other_key)
        assert refused.value.response.status_code == 403
        assert push.count() == 0

        send(subscription, "hello", app_key)
        assert [m.text for m in push.received] == ["hello"]


def test_missing_or_bad_vapid_is_refused(push: PushService) -> None:
    subscription = push.new_subscription()

    # No VAPID at all: 401 with a vapid challenge (RFC 8292 §4.2).
    with pytest.raises(WebPushException) as absent:
        webpush(subscription, data="x")
    assert absent.value.response.status_code == 401
    assert absent.value.response.headers["WWW-Authenticate"] == "vapid"

    # A token signed for another origin.
    with pytest.raises(WebPushException) as wrong_aud:
        webpush(
            subscription,
            data="x",
            vapid_private_key=vapid_key(),
            vapid_claims={"sub": CLAIMS_SUB, "aud": "https://push.example.net"},
        )
    assert wrong_aud.value.response.status_code == 403

    # An expiry more than 24 hours away.
    with pytest.raises(WebPushException) as too_long:
        webpush(
            subscription,
            data="x",
            vapid_private_key=vapid_key(),
            vapid_claims={"sub": CLAIMS_SUB, "exp": int(time.time()) + 2 * 86400},
        )
    assert too_long.value.response.status_code == 403

    # A token whose signature is not from k.
    headers = vapid_key().sign({"sub": CLAIMS_SUB, "aud": push.base_url})
    token = headers["Authorization"].split("t=")[1].split(",")[0]
    forged = f"vapid t={token},k={public_key_b64(vapid_key())}"
    with pytest.raises(WebPushException) as bad_signature:
        webpush(subscription, data="x", headers={"Authorization": forged})
    assert bad_signature.value.response.status_code == 403
    assert "signature" in bad_signature.value.response.json()["message"]

    assert push.count() == 0
    assert [a.status for a in push.attempts] == [401, 403, 403, 403]


def test_unknown_subscription_is_404(push: PushService) -> None:
    subscription = {**push.new_subscription(), "endpoint": f"{push.base_url}/push/nobody"}
    with pytest.raises(WebPushException) as unknown:
        send(subscription, "hello", vapid_key())
    assert unknown.value.response.status_code == 404


def test_gone_makes_pywebpush_raise_410(push: PushService) -> None:
    subscription = push.new_subscription()
    push.gone(subscription)
    for _ in range(2):
        with pytest.raises(WebPushException) as gone:
            send(subscription, "hello", vapid_key())
        assert gone.value.response.status_code == 410
    assert push.count() == 0


def test_fail_next_then_success(push: PushService) -> None:
    subscription = push.new_subscription()
    key = vapid_key()
    push.fail_next(subscription, 429, retry_after=3)
    push.fail_next(subscription, 500)

    with pytest.raises(WebPushException) as throttled:
        send(subscription, "one", key)
    assert throttled.value.response.status_code == 429
    assert throttled.value.retry_after == "3"
    with pytest.raises(WebPushException) as broken:
        send(subscription, "one", key)
    assert broken.value.response.status_code == 500
    send(subscription, "one", key)

    assert [m.text for m in push.received] == ["one"]
    assert [a.status for a in push.attempts] == [429, 500, 201]


def test_protocol_errors_are_400(push: PushService) -> None:
    subscription = push.new_subscription()
    key = vapid_key()
    vapid = key.sign({"sub": CLAIMS_SUB, "aud": push.base_url})

    # Well authenticated, but the body is not aes128gcm for this subscription's keys.
    garbage = requests.post(
        subscription["endpoint"],
        data=b"\x00" * 120,
        headers={**vapid, "TTL": "0", "Content-Encoding": "aes128gcm"},
        timeout=5,
    )
    assert garbage.status_code == 400

    # Encrypted for a different subscription.
    other = push.new_subscription()
    with pytest.raises(WebPushException) as crossed:
        send({**other, "endpoint": subscription["endpoint"]}, "hello", key)
    assert crossed.value.response.status_code == 400

    # Legacy aesgcm encoding.
    with pytest.raises(WebPushException) as legacy:
        send(subscription, "hello", key, content_encoding="aesgcm")
    assert legacy.value.response.status_code == 400

    # No TTL header (RFC 8030 §5.2).
    no_ttl = requests.post(subscription["endpoint"], headers=vapid, timeout=5)
    assert no_ttl.status_code == 400

    # Over 4096 octets of body.
    with pytest.raises(WebPushException) as too_big:
        send(subscription, "x" * 4100, key)
    assert too_big.value.response.status_code == 413

    assert push.count() == 0


def test_push_without_payload_is_accepted(push: PushService) -> None:
    subscription = push.new_subscription()
    send(subscription, None, vapid_key())
    [message] = push.wait_for(1)
    assert message.payload == b""


def test_many_concurrent_pushes(push: PushService) -> None:
    key = vapid_key()
    subscriptions = [push.new_subscription() for _ in range(20)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for subscription in subscriptions * 10:
            pool.submit(send, subscription, "ping", key)
    push.wait_for(200, timeout=30)
    assert push.count() == 200
    assert time.monotonic() - started < 30


# -- Twilio -----------------------------------------------------------------------------------


@pytest.fixture
def twilio() -> Iterator[TwilioApi]:
    with TwilioApi() as api:
        yield api


def client_for(api: TwilioApi, token: str | None = None) -> Client:
    return Client(
        api.account_sid,
        token or api.auth_token,
        http_client=LocalTwilioHttpClient(api.base_url),
    )


def test_twilio_client_sends_sms(twilio: TwilioApi) -> None:
    message = client_for(twilio).messages.create(to="+14155550123", from_="+14155550100", body="hi")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.to == "+14155550123"
    assert message.from_ == "+14155550100"
    assert message.account_sid == twilio.account_sid
    assert message.num_segments == "1"
    assert message.direction == "outbound-api"
    assert message.date_created is not None and message.date_created.tzinfo is not None
    [sms] = twilio.wait_for(1)
    assert (sms.to, sms.from_, sms.body, sms.messaging_service_sid) == (
        "+14155550123",
        "+14155550100",
        "hi",
        None,
    )
    assert sms.sid == message.sid

    fetched = client_for(twilio).messages(message.sid).fetch()
    assert fetched.body == "hi"


def test_twilio_messaging_service(twilio: TwilioApi) -> None:
    service_sid = "MG" + "0" * 32
    message = client_for(twilio).messages.create(
        to="+14155550123", messaging_service_sid=service_sid, body="hi"
    )
    assert message.status == "accepted"
    assert twilio.sent[0].messaging_service_sid == service_sid
    assert twilio.sent[0].from_ is None


def test_twilio_wrong_token_is_401(twilio: TwilioApi) -> None:
    with pytest.raises(TwilioRestException) as refused:
        client_for(twilio, token="not-the-token").messages.create(
            to="+14155550123", from_="+14155550100", body="hi"
        )
    assert refused.value.status == 401
    assert refused.value.code == 20003
    assert twilio.sent == []


def test_twilio_blocked_recipient_is_21610(twilio: TwilioApi) -> None:
    twilio.block("+14155550123")
    with pytest.raises(TwilioRestException) as blocked:
        client_for(twilio).messages.create(to="+14155550123", from_="+14155550100", body="hi")
    assert blocked.value.status == 400
    assert blocked.value.code == 21610
    assert twilio.sent == []


def test_twilio_missing_fields(twilio: TwilioApi) -> None:
    client = client_for(twilio)
    with pytest.raises(TwilioRestException) as no_body:
        client.messages.create(to="+14155550123", from_="+14155550100")
    assert (no_body.value.status, no_body.value.code) == (400, 21602)
    with pytest.raises(TwilioRestException) as no_from:
        client.messages.create(to="+14155550123", body="hi")
    assert (no_from.value.status, no_from.value.code) == (400, 21603)
    with pytest.raises(TwilioRestException) as bad_to:
        client.messages.create(to="555-0123", from_="+14155550100", body="hi")
    assert (bad_to.value.status, bad_to.value.code) == (400, 21211)

    # twilio-python requires `to` itself, so send the raw form to see 21604.
    no_to = requests.post(
        f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        data={"From": "+14155550100", "Body": "hi"},
        auth=(twilio.account_sid, twilio.auth_token),
        timeout=5,
    )
    assert no_to.status_code == 400
    assert no_to.json()["code"] == 21604
    assert set(no_to.json()) == {"code", "message", "more_info", "status"}


def test_twilio_fail_next_then_success(twilio: TwilioApi) -> None:
    client = client_for(twilio)
    twilio.fail_next(status=503, code=20503, times=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as failed:
            client.messages.create(to="+14155550123", from_="+14155550100", body="hi")
        assert (failed.value.status, failed.value.code) == (503, 20503)
    client.messages.create(to="+14155550123", from_="+14155550100", body="hi")
    assert len(twilio.sent) == 1
    assert [a.status for a in twilio.attempts] == [503, 503, 201]


def test_local_http_client_never_leaves_the_machine(twilio: TwilioApi) -> None:
    http = LocalTwilioHttpClient(twilio.base_url)
    with pytest.raises(Exception, match="refuses"):
        http.request("GET", "https://example.com/")


def test_signed_webhook_matches_twilio_validator() -> None:
    url = "https://homeward.example/api/v1/sms/status?x=1"
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    headers = signed_webhook(url, params, "token123")
    assert RequestValidator("token123").validate(url, params, headers["X-Twilio-Signature"])
    assert not RequestValidator("other").validate(url, params, headers["X-Twilio-Signature"])


def test_segment_counting() -> None:
    assert num_segments("a" * 160) == 1
    assert num_segments("a" * 161) == 2
    assert num_segments("é" * 160) == 1  # é is in GSM-7
    assert num_segments("☕" * 70) == 1
    assert num_segments("☕" * 71) == 2
