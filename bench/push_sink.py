"""The Web Push sink for bench/dispatch_throughput.py: where the pushes go, in its own process.

    .venv/bin/python bench/push_sink.py --subscriptions N --subscriptions-file PATH \
        [--kind counting|fake]

Two kinds:

* ``counting`` (the default, and the cheap one): an asyncio HTTP/1.1 server that parses just
  enough of each request (request line, ``Content-Length``), answers ``201 Created`` to
  ``POST /push/<n>`` for ``0 <= n < N`` and counts, per ``n``, how often it was posted. It
  does not check VAPID and does not decrypt: the dispatcher still signs and encrypts every
  message (all subscriptions share one valid P-256 key pair and auth secret, so encryption
  works as usual), the sink just does not look inside.
* ``fake``: ``tests/fakes/push_service.PushService``, the project's real-protocol fake. It
  verifies the VAPID JWT and decrypts every payload (a P-256 ECDH, an ECDSA verify and an
  AES-GCM decrypt per message), which costs a few CPU-milliseconds per push on the same
  cores the dispatchers use. Use it to check that what the dispatcher sends is really a
  valid Web Push, not to measure the dispatcher.

It writes the N subscriptions (``[endpoint, p256dh, auth]``, index = ``n``) to
``--subscriptions-file`` and prints one JSON line with its port. Then it obeys one command
per line on stdin and answers each with one JSON line on stdout: ``stats`` (counts,
duplicates, missing, first/last accepted push, its own CPU seconds), ``reset`` (forget the
counts; the subscriptions stay) and ``quit``. End of stdin means quit, so a sink never
outlives the benchmark that started it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import threading
import time
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

RESPONSE_201 = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
RESPONSE_404 = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
PUSH_PREFIX = b"/push/"


class Counts:
    """Per-subscription counts (an array of N counters) and a few totals."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reset()

    def reset(self) -> None:
        self.per_index = array("I", bytes(4 * self.n))
        self.accepted = 0
        self.refused = 0
        self.first: float | None = None
        self.last: float | None = None

    def accept(self, index: int) -> None:
        self.per_index[index] += 1
        self.accepted += 1
        now = time.time()
        if self.first is None:
            self.first = now
        self.last = now

    def stats(self, cpu: float) -> dict[str, Any]:
        distinct = self.n - self.per_index.count(0)
        return {
            "accepted": self.accepted,
            "refused": self.refused,
            "distinct": distinct,
            "duplicates": self.accepted - distinct,  # pushes beyond the first per subscription
            "subscriptions_pushed_twice_or_more": sum(1 for c in self.per_index if c > 1),
            "first": self.first,
            "last": self.last,
            "cpu": cpu,
        }


# --------------------------------------------------------------------------- counting sink


class _CountingProtocol(asyncio.Protocol):
    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            length = 0
            lines = head.split(b"\r\n")
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
                    break
            total = end + 4 + length
            if len(self.buffer) < total:
                return  # the body has not all arrived yet
            del self.buffer[:total]
            method, _, rest = lines[0].partition(b" ")
            path = rest.partition(b" ")[0]
            assert self.transport is not None
            self.transport.write(self._answer(method, path))

    def _answer(self, method: bytes, path: bytes) -> bytes:
        if method == b"POST" and path.startswith(PUSH_PREFIX):
            tail = path[len(PUSH_PREFIX) :]
            if tail.isdigit():
                index = int(tail)
                if index < self.counts.n:
                    self.counts.accept(index)
                    return RESPONSE_201
        self.counts.refused += 1
        return RESPONSE_404


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
    server = loop.run_until_complete(
        loop.create_server(lambda: _CountingProtocol(counts), "127.0.0.1", 0, backlog=1024)
    )
    port = server.sockets[0].getsockname()[1]
    p256dh, auth = p256_subscription_keys()
    base = f"http://127.0.0.1:{port}/push/"
    write_subscriptions(
        options.subscriptions_file,
        ([f"{base}{i}", p256dh, auth] for i in range(options.subscriptions)),
    )

    def command(line: str) -> dict[str, Any]:
        if line == "stats":
            return counts.stats(time.process_time())
        if line == "reset":
            counts.reset()
            return {"ok": True}
        return {"error": f"unknown command {line!r}"}

    def control() -> None:
        for raw in sys.stdin:
            line = raw.strip()
            if line == "quit":
                break
            future = asyncio.run_coroutine_threadsafe(_call(command, line), loop)
            emit(future.result())
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=control, name="control", daemon=True).start()
    emit({"ready": True, "kind": "counting", "port": port, "pid": os.getpid()})
    try:
        loop.run_forever()
    finally:
        server.close()


async def _call(function: Any, line: str) -> Any:
    return function(line)  # runs on the loop thread, so it sees consistent counts


# --------------------------------------------------------------------------- the project's fake


def run_fake(options: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
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
    emit({"ready": True, "kind": "fake", "port": port, "pid": os.getpid()})
    try:
        for raw in sys.stdin:
            line = raw.strip()
            if line == "quit":
                break
            if line == "reset":
                service.clear()
                emit({"ok": True})
            elif line == "stats":
                counts = Counts(options.subscriptions)
                for message in service.received:
                    counts.per_index[index_of[message.subscription_id]] += 1
                    counts.accepted += 1
                    counts.first = message.at if counts.first is None else counts.first
                    counts.last = message.at
                counts.refused = sum(1 for a in service.attempts if a.status >= 300)
                emit(counts.stats(time.process_time()))
            else:
                emit({"error": f"unknown command {line!r}"})
    finally:
        service.stop()


# --------------------------------------------------------------------------- plumbing


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


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
