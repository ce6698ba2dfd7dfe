"""A TCP proxy on 127.0.0.1 that a test can cut and restore: what a database restart (or a
network partition) looks like to the app, without touching the real database server.

``cut()`` resets every open connection and refuses new ones (the listening socket is
closed, so connecting gets "connection refused", as from a server that is down);
``restore()`` listens again on the same port. Byte streams are forwarded untouched.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from typing import Any, Self


def _reset(sock: socket.socket) -> None:
    """Close with an RST (linger 0), as a crashed or restarted peer does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``. Start/stop and context manager like
    the HTTP doubles in ``tests/fakes/server.py``; ``port`` stays the same across cuts."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._cut = False
        self.accepted = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is None:
            self._listen()
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_listener()
        self._reset_connections()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- what tests do -----------------------------------------------------------------------

    def cut(self) -> None:
        """Reset every connection through the proxy and refuse new ones."""
        with self._lock:
            self._cut = True
        self._close_listener()
        self._reset_connections()

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        with self._lock:
            self._cut = False
        self._listen()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections) // 2

    # -- inside ------------------------------------------------------------------------------

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(128)
            listener.setblocking(False)
            self.port = listener.getsockname()[1]
            self._listener = listener

    def _close_listener(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _reset_connections(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, set()
        for sock in connections:
            _reset(sock)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._stopping.wait(0.02)
                continue
            try:
                ready = selectors.DefaultSelector()
                with ready:
                    ready.register(listener, selectors.EVENT_READ)
                    if not ready.select(timeout=0.05):
                        continue
                client, _ = listener.accept()
            except (OSError, ValueError):  # closed by cut() meanwhile
                continue
            self._open(client)

    def _open(self, client: socket.socket) -> None:
        client.setblocking(True)
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self._cut:
                _reset(client)
                _reset(upstream)
                return
            self._connections.update((client, upstream))
            self.accepted += 1
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(client, selectors.EVENT_READ)
                selector.register(upstream, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    if client.fileno() == -1 or upstream.fileno() == -1:
                        return  # reset by cut()
                    for key, _ in selector.select(timeout=0.1):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(65536)
                        if not data:
                            return
                        peers[source].sendall(data)
        except (OSError, ValueError):
            return  # reset by cut(), or the peer went away
        finally:
            with self._lock:
                self._connections.discard(client)
                self._connections.discard(upstream)
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()
