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

``HttpProtocol``, ``Counts`` and ``serve_commands`` are shared with ``bench/twilio_sink.py``.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

RESPONSE_201 = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
RESPONSE_404 = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
PUSH_PREFIX = b"/push/"

# (method, path, lower-cased headers, body) -> the whole response, status line to body.
Handler = Callable[[bytes, bytes, dict[bytes, bytes], bytes], bytes]


class Counts:
    """Per-index counts (an array of N counters), the first time each index was accepted
    (an array of N doubles, 0 = never) and a few totals."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reset()

    def reset(self) -> None:
        self.per_index = array("I", bytes(4 * self.n))
        self.first_at = array("d", bytes(8 * self.n))
        self.accepted = 0
        self.refused = 0
        self.first: float | None = None
        self.last: float | None = None

    def accept(self, index: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if not self.per_index[index]:
            self.first_at[index] = now
        self.per_index[index] += 1
        self.accepted += 1
        if self.first is None:
            self.first = now
        self.last = now

    def stats(self, cpu: float) -> dict[str, Any]:
        distinct = self.n - self.per_index.count(0)
        return {
            "accepted": self.accepted,
            "refused": self.refused,
            "distinct": distinct,
            "duplicates": self.accepted - distinct,  # accepted beyond the first per index
            "first": self.first,
            "last": self.last,
            "cpu": cpu,
        }

    def write_times(self, path: str) -> dict[str, Any]:
        with open(path, "wb") as fh:
            self.first_at.tofile(fh)
        return {"ok": True, "path": path, "n": self.n}


class HttpProtocol(asyncio.Protocol):
    """Just enough HTTP/1.1 for a client with keep-alive: request line, headers, a body of
    ``Content-Length`` bytes (no chunked bodies), any number of requests per connection,
    pipelined or not. Each request is answered by ``handler`` at once."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        assert self.transport is not None
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).split(b"\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            total = end + 4 + length
            if len(self.buffer) < total:
                return  # the body has not all arrived yet
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            method, _, rest = lines[0].partition(b" ")
            path = rest.partition(b" ")[0]
            self.transport.write(self.handler(method, path, headers, body))
            if headers.get(b"connection", b"").lower() == b"close":
                self.transport.close()
                return


def serve_commands(
    loop: asyncio.AbstractEventLoop, commands: dict[str, Callable[[str], dict[str, Any]]]
) -> None:
    """Read commands from stdin on a thread and run each on the loop (so it sees consistent
    counts), answering one JSON line each; ``quit`` or end of stdin stops the loop."""

    async def call(function: Callable[[str], dict[str, Any]], argument: str) -> dict[str, Any]:
        return function(argument)

    def control() -> None:
        for raw in sys.stdin:
            name, _, argument = raw.strip().partition(" ")
            if name == "quit":
                break
            function = commands.get(name)
            if function is None:
                emit({"error": f"unknown command {raw.strip()!r}"})
                continue
            emit(asyncio.run_coroutine_threadsafe(call(function, argument), loop).result())
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=control, name="control", daemon=True).start()


def count_commands(counts: Counts) -> dict[str, Callable[[str], dict[str, Any]]]:
    def reset(_: str) -> dict[str, Any]:
        counts.reset()
        return {"ok": True}

    return {
        "stats": lambda _: counts.stats(time.process_time()),
        "times": counts.write_times,
        "reset": reset,
    }


def listen(loop: asyncio.AbstractEventLoop, handler: Handler) -> tuple[asyncio.AbstractServer, int]:
    """An HttpProtocol server on a free port of 127.0.0.1."""
    server = loop.run_until_complete(
        loop.create_server(lambda: HttpProtocol(handler), "127.0.0.1", 0, backlog=1024)
    )
    return server, server.sockets[0].getsockname()[1]


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
    serve_commands(loop, count_commands(counts))
    emit({"ready": True, "kind": "counting", "port": port, "pid": os.getpid()})
    try:
        loop.run_forever()
    finally:
        server.close()


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
