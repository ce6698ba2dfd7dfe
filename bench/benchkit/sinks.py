"""What the dispatch bench's sinks share (``bench/push_sink.py``, ``bench/twilio_sink.py``):
just enough HTTP/1.1 over asyncio, per-index counts, and the stdin commands that read them.

A sink prints one JSON line when it listens, then obeys one command per line on stdin and
answers each with one JSON line: ``stats`` (counts, duplicates, first/last accepted, its
own CPU seconds), ``times PATH`` (the first-accept time of every index, ``time.time()`` as
native doubles, 0 for never, written to PATH), ``reset`` (forget the counts) and ``quit``.
End of stdin means quit.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any

from benchkit.children import emit

# (method, path, lower-cased headers, body) -> the whole response, status line to body.
Handler = Callable[[bytes, bytes, dict[bytes, bytes], bytes], bytes]
Command = Callable[[str], dict[str, Any]]


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


def serve_commands(loop: asyncio.AbstractEventLoop, commands: dict[str, Command]) -> None:
    """Read commands from stdin on a thread and run each on the loop (so it sees consistent
    counts), answering one JSON line each; ``quit`` or end of stdin stops the loop."""

    async def call(function: Command, argument: str) -> dict[str, Any]:
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


def count_commands(counts: Counts) -> dict[str, Command]:
    """``stats``, ``times`` and ``reset`` over ``counts``."""

    def reset(_: str) -> dict[str, Any]:
        counts.reset()
        return {"ok": True}

    return {
        "stats": lambda _: counts.stats(time.process_time()),
        "times": counts.write_times,
        "reset": reset,
    }


def listen(loop: asyncio.AbstractEventLoop, handler: Handler) -> tuple[asyncio.Server, int]:
    """An HttpProtocol server on a free port of 127.0.0.1."""
    server = loop.run_until_complete(
        loop.create_server(lambda: HttpProtocol(handler), "127.0.0.1", 0, backlog=1024)
    )
    return server, server.sockets[0].getsockname()[1]


def serve_counts(
    loop: asyncio.AbstractEventLoop, server: asyncio.Server, counts: Counts, kind: str
) -> None:
    """Say ready (kind, port, pid) and serve until ``quit``: requests on ``server``, the
    commands over ``counts`` on stdin."""
    serve_commands(loop, count_commands(counts))
    port = server.sockets[0].getsockname()[1]
    emit({"ready": True, "kind": kind, "port": port, "pid": os.getpid()})
    try:
        loop.run_forever()
    finally:
        server.close()
