"""The Web Push sink for bench/dispatch_throughput.py: where the pushes go, in its own process.

    .venv/bin/python bench/push_sink.py --subscriptions N --subscriptions-file PATH \
        [--kind counting|fake]

Two kinds:

* ``counting`` (the default, and the cheap one): an asyncio HTTP/1.1 server with keep-alive
  that parses just enough of each request (request line, headers, ``Content-Length`` body),
  answers ``201 Created`` at once to ``POST /push/<n>`` for ``0 <= n < N`` and counts, per
  ``n``, how often it was posted and when first. It does not check VAPID and does not
  decrypt: the sender still signs and encrypts every message (all subscriptions share one
  valid P-256 key pair and auth secret, so encryption works as usual), the sink just does
  not look inside.
* ``fake``: ``tests/fakes/push_service.PushService``, the project's real-protocol fake. It
  verifies the VAPID JWT and decrypts every payload (a P-256 ECDH, an ECDSA verify and an
  AES-GCM decrypt per message), which costs a few CPU-milliseconds per push on the same
  cores the senders use. Use it to check that what the dispatcher sends is really a valid
  Web Push, not to measure the dispatcher.

It writes the N subscriptions (``[endpoint, p256dh, auth]``, index = ``n``) to
``--subscriptions-file`` and prints one JSON line with its port. Then it obeys one command
per line on stdin and answers each with one JSON line on stdout (``serve_commands``):
``stats`` (counts, duplicates, first/last accepted push, its own CPU seconds), ``times PATH``
(writes the first-accept time of every index, ``time.time()`` as native doubles, 0 for
never, to PATH), ``reset`` (forget the counts) and ``quit``. End of stdin means quit, so a
sink never outlives the benchmark that started it.

The HTTP server, the counts and the commands are ``benchkit.sinks``, shared with
``bench/twilio_sink.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from benchkit.children import emit
from benchkit.sinks import Counts, Handler, listen, serve_counts

RESPONSE_201 = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
RESPONSE_404 = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
PUSH_PREFIX = b"/push/"


# --------------------------------------------------------------------------- counting sink


def push_handler(counts: Counts) -> Handler:
    def handle(method: bytes, path: bytes, _headers: dict[bytes, bytes], _body: bytes) -> bytes:
        if method == b"POST" and path.startswith(PUSH_PREFIX):
            tail = path[len(PUSH_PREFIX) :]
            if tail.isdigit() and int(tail) < counts.n:
                counts.accept(int(tail))
                return RESPONSE_201
        counts.refused += 1
        return RESPONSE_404

    return handle


def p256_subscription_keys() -> tuple[str, str]:
    """One valid (p256dh, auth) pair, base64url, as a browser would hand out."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return b64(point), b64(secrets.token_bytes(16))


def run_counting(options: argparse.Namespace) -> None:
    counts = Counts(options.subscriptions)
    loop = asyncio.new_event_loop()
    server, port = listen(loop, push_handler(counts))
    p256dh, auth = p256_subscription_keys()
    base = f"http://127.0.0.1:{port}/push/"
    write_subscriptions(
        options.subscriptions_file,
        ([f"{base}{i}", p256dh, auth] for i in range(options.subscriptions)),
    )
    serve_counts(loop, server, counts, "counting")


# --------------------------------------------------------------------------- the project's fake


def run_fake(options: argparse.Namespace) -> None:
    from tests.fakes.push_service import PushService

    service = PushService().start()
    index_of: dict[str, int] = {}
    rows = []
    for i in range(options.subscriptions):
        subscription = service.new_subscription()
        index_of[PushService.subscription_id(subscription)] = i
        rows.append(
            [subscription["endpoint"], subscription["keys"]["p256dh"], subscription["keys"]["auth"]]
        )
    write_subscriptions(options.subscriptions_file, rows)
    port = int(service.base_url.rsplit(":", 1)[1])

    def counted() -> Counts:
        counts = Counts(options.subscriptions)
        for message in service.received:
            counts.accept(index_of[message.subscription_id], message.at)
        counts.refused = sum(1 for a in service.attempts if a.status >= 300)
        return counts

    emit({"ready": True, "kind": "fake", "port": port, "pid": os.getpid()})
    try:
        for raw in sys.stdin:
            name, _, argument = raw.strip().partition(" ")
            if name == "quit":
                break
            if name == "reset":
                service.clear()
                emit({"ok": True})
            elif name == "stats":
                emit(counted().stats(time.process_time()))
            elif name == "times":
                emit(counted().write_times(argument))
            else:
                emit({"error": f"unknown command {raw.strip()!r}"})
    finally:
        service.stop()


def write_subscriptions(path: Path, rows: Any) -> None:
    with open(path, "w") as fh:
        json.dump(list(rows), fh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("counting", "fake"), default="counting")
    parser.add_argument("--subscriptions", type=int, required=True)
    parser.add_argument("--subscriptions-file", type=Path, required=True)
    options = parser.parse_args()
    if options.kind == "counting":
        run_counting(options)
    else:
        run_fake(options)


if __name__ == "__main__":
    main()
