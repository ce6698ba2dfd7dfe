"""Devices: Web Push subscriptions (GET|POST /api/v1/devices, DELETE /api/v1/devices/{id})
and the server's VAPID key (GET /api/v1/devices/vapid-key).

The dispatcher POSTs to a subscription's endpoint, so only https endpoints on known push
services (WEBPUSH_ALLOWED_HOSTS) are accepted: anything else could point it at internal
services (SSRF).
"""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02
from sqlalchemy import func, select

from api.accounts.models import Device
from tests.fixtures.http import assert_problem

DEVICES = "/api/v1/devices"
FCM = "https://fcm.googleapis.com/fcm/send/"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def subscription(endpoint: str | None = None) -> dict[str, Any]:
    """What a browser's PushSubscription.toJSON() gives: a real P-256 key and auth secret."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {
        "endpoint": endpoint or FCM + b64url(os.urandom(24)),
        "expirationTime": None,
        "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))},
    }


def register(client: Any, person: Any, body: dict[str, Any]) -> Any:
    return client.post(DEVICES, json=body, headers=person.headers)


def devices_of(client: Any, person: Any) -> list[dict[str, Any]]:
    response = client.get(DEVICES, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body: list[dict[str, Any]] = response.get_json()
    return body


def stored(app: Any) -> list[tuple[str, str, str, str]]:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return [
            (d.account_id, d.endpoint, d.p256dh, d.auth)
            for d in db.scalars(select(Device).order_by(Device.created_at))
        ]


@pytest.fixture
def push_config(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default allowlist, https only (whatever the environment says)."""
    monkeypatch.setitem(
        app.config,
        "WEBPUSH_ALLOWED_HOSTS",
        [
            "fcm.googleapis.com",
            "updates.push.services.mozilla.com",
            "push.services.mozilla.com",
            "notify.windows.com",
            "push.apple.com",
        ],
    )
    monkeypatch.setitem(app.config, "WEBPUSH_ALLOW_HTTP", False)


# --- registering ------------------------------------------------------------------------------


def test_a_browser_subscription_is_registered(client, app, accounts, push_config):
    member = accounts.register()
    body = subscription()

    response = register(client, member, {**body, "name": "My phone"})

    assert response.status_code == 201, response.get_json()
    device = response.get_json()
    assert device["id"]
    assert device["kind"] == "webpush"
    assert device["name"] == "My phone"
    assert device["created_at"]
    assert device["last_success_at"] is None
    # The keys and the endpoint are not echoed back.
    assert "keys" not in device and "endpoint" not in device
    assert devices_of(client, member) == [device]
    assert stored(app) == [
        (member.account_id, body["endpoint"], body["keys"]["p256dh"], body["keys"]["auth"])
    ]


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
        "https://wns2-by3p.notify.windows.com/w/?token=BQYAAAB",
        "https://web.push.apple.com/QGuQyavXutnMZ4",
    ],
)
def test_other_known_push_services_are_accepted(client, app, accounts, push_config, endpoint):
    member = accounts.register()

    response = register(client, member, subscription(endpoint))

    assert response.status_code == 201, response.get_json()
    assert [row[1] for row in stored(app)] == [endpoint]


def test_registering_the_same_endpoint_again_updates_the_device(client, app, accounts, push_config):
    member = accounts.register()
    first_body = subscription()
    first = register(client, member, {**first_body, "name": "Old name"}).get_json()
    renewed = subscription(first_body["endpoint"])  # new keys, same endpoint

    again = register(client, member, {**renewed, "name": "New name"})

    assert again.status_code in (200, 201), again.get_json()
    assert again.get_json()["id"] == first["id"]
    listed = devices_of(client, member)
    assert len(listed) == 1
    assert listed[0]["id"] == first["id"]
    assert listed[0]["name"] == "New name"
    assert stored(app) == [
        (
            member.account_id,
            first_body["endpoint"],
            renewed["keys"]["p256dh"],
            renewed["keys"]["auth"],
        )
    ]


def test_a_member_may_have_several_devices(client, accounts, push_config):
    member = accounts.register()

    ids = {register(client, member, subscription()).get_json()["id"] for _ in range(3)}

    assert {d["id"] for d in devices_of(client, member)} == ids
    assert len(ids) == 3


def test_devices_are_listed_only_to_their_owner(client, accounts, push_config):
    member = accounts.register()
    other = accounts.register()
    mine = register(client, member, subscription()).get_json()

    assert devices_of(client, other) == []
    assert [d["id"] for d in devices_of(client, member)] == [mine["id"]]


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://169.254.169.254/x",  # cloud metadata
        "https://127.0.0.1/push",
        "https://localhost/push",
        "https://evil.example/push",
        "https://fcm.googleapis.com.evil.example/push",  # allowed name as a prefix
        "https://evilfcm.googleapis.com/push",  # allowed name as a suffix, no dot
        "https://fcm.googleapis.com@evil.example/push",  # allowed name as userinfo
        "ftp://fcm.googleapis.com/push",
        "fcm.googleapis.com/push",
    ],
)
def test_an_endpoint_off_the_allowlist_is_refused_and_nothing_is_stored(
    client, app, accounts, push_config, endpoint
):
    member = accounts.register()

    response = register(client, member, subscription(endpoint))

    body = assert_problem(response, 422)
    assert "endpoint" in body["errors"]
    assert devices_of(client, member) == []
    assert stored(app) == []


def test_the_allowlist_comes_from_configuration(client, app, accounts, monkeypatch):
    monkeypatch.setitem(app.config, "WEBPUSH_ALLOWED_HOSTS", ["push.example.org"])
    monkeypatch.setitem(app.config, "WEBPUSH_ALLOW_HTTP", False)
    member = accounts.register()

    accepted = register(client, member, subscription("https://eu.push.example.org/s/1"))
    refused = register(client, member, subscription(FCM + "abc"))

    assert accepted.status_code == 201, accepted.get_json()
    assert_problem(refused, 422)
    assert [row[1] for row in stored(app)] == ["https://eu.push.example.org/s/1"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda b: b["keys"].update(p256dh="not base64!" * 8), "keys", id="p256dh"),
        pytest.param(lambda b: b["keys"].update(auth="short"), "keys", id="auth-short"),
        pytest.param(lambda b: b.pop("keys"), "keys", id="keys-missing"),
        pytest.param(lambda b: b.pop("endpoint"), "endpoint", id="endpoint-missing"),
        pytest.param(lambda b: b.update(kind="apns"), "kind", id="unknown-kind"),
        pytest.param(lambda b: b.update(colour="red"), "colour", id="unknown-field"),
    ],
)
def test_a_malformed_subscription_is_refused(client, app, accounts, push_config, change, field):
    member = accounts.register()
    body = subscription()
    change(body)

    response = register(client, member, body)

    problem = assert_problem(response, 422)
    assert field in problem["errors"], problem["errors"]
    assert stored(app) == []


def _point_not_on_the_curve() -> str:
    # 0x04 || x || y with x, y that satisfy no P-256 equation: right length and charset.
    return b64url(b"\x04" + b"\x01" * 64)


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        pytest.param(
            {"p256dh": _point_not_on_the_curve()},
            "p256dh is not a P-256 point",
            id="p256dh-off-curve",
        ),
        pytest.param(
            {"auth": b64url(os.urandom(12))},
            "auth is 12 bytes, RFC 8291 wants 16",
            id="auth-12-bytes",
        ),
    ],
)
def test_keys_that_web_push_cannot_encrypt_to_are_refused(
    client, app, accounts, push_config, keys, reason
):
    # RFC 8291: p256dh is the user agent's P-256 public key (65-byte uncompressed point) and
    # auth a 16-byte secret. Anything else can never be encrypted to; refuse it up front.
    member = accounts.register()
    body = subscription()
    body["keys"].update(keys)

    response = register(client, member, body)

    problem = assert_problem(response, 422)
    assert "keys" in problem["errors"], (reason, problem["errors"])
    assert stored(app) == []


def test_registering_needs_a_token(client, app, push_config):
    assert_problem(client.post(DEVICES, json=subscription()), 401)
    assert_problem(client.get(DEVICES), 401)
    assert stored(app) == []


# --- forgetting ------------------------------------------------------------------------------


def test_a_member_deletes_their_own_device(client, app, accounts, push_config):
    member = accounts.register()
    gone = register(client, member, subscription()).get_json()
    kept = register(client, member, subscription()).get_json()

    response = client.delete(f"{DEVICES}/{gone['id']}", headers=member.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert [d["id"] for d in devices_of(client, member)] == [kept["id"]]
    assert len(stored(app)) == 1
    assert_problem(client.delete(f"{DEVICES}/{gone['id']}", headers=member.headers), 404)


def test_another_members_device_cannot_be_deleted(client, app, accounts, push_config):
    owner = accounts.register()
    other = accounts.register()
    device = register(client, owner, subscription()).get_json()
    before = stored(app)

    response = client.delete(f"{DEVICES}/{device['id']}", headers=other.headers)

    assert_problem(response, 404)
    assert [d["id"] for d in devices_of(client, owner)] == [device["id"]]
    assert stored(app) == before
    # The same answer as for a device that does not exist.
    missing = assert_problem(client.delete(f"{DEVICES}/no-such-device", headers=other.headers), 404)
    assert missing["detail"] == response.get_json()["detail"]


def test_deleting_needs_a_token(client, app, accounts, push_config):
    owner = accounts.register()
    device = register(client, owner, subscription()).get_json()

    assert_problem(client.delete(f"{DEVICES}/{device['id']}"), 401)
    assert len(stored(app)) == 1


# --- the VAPID key ---------------------------------------------------------------------------


def test_the_vapid_key_is_an_uncompressed_p256_point(client, app):
    response = client.get(f"{DEVICES}/vapid-key")

    assert response.status_code == 200, response.get_json()
    public_key = response.get_json()["public_key"]
    assert "=" not in public_key and "+" not in public_key and "/" not in public_key
    raw = b64url_decode(public_key)
    assert len(raw) == 65
    assert raw[0] == 0x04
    # A real point on P-256...
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    assert point.curve.name == "secp256r1"
    # ...and the public half of the key the app signs its push requests with.
    private = Vapid02.from_pem(app.config["VAPID_PRIVATE_KEY"].encode())
    assert private.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint) == raw


def test_the_vapid_key_needs_no_sign_in_and_is_stable(client, accounts):
    member = accounts.register()

    anonymous = client.get(f"{DEVICES}/vapid-key").get_json()
    signed_in = client.get(f"{DEVICES}/vapid-key", headers=member.headers).get_json()

    assert anonymous == signed_in


def test_device_count_is_unchanged_by_a_refused_registration(client, app, accounts, push_config):
    member = accounts.register()
    register(client, member, subscription())

    assert_problem(register(client, member, subscription("https://evil.example/x")), 422)

    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        assert db.scalar(select(func.count()).select_from(Device)) == 1
    assert len(devices_of(client, member)) == 1
