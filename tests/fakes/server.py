"""The part every protocol double shares: an HTTP server in a daemon thread on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class BackgroundServer:
    """Start/stop, context manager and ``base_url`` for a double. Subclasses name their
    server and handler classes and the attribute the handler finds the double under."""

    server_class: type[ThreadingHTTPServer]
    handler_class: type[BaseHTTPRequestHandler]
    owner_attribute: str
    thread_prefix: str

    def _setup_server(self, host: str) -> None:
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is None:
            server = self.server_class((self._host, 0), self.handler_class)
            setattr(server, self.owner_attribute, self)
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.thread_prefix}-{server.server_address[1]}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() or use 'with'")
        return f"http://{self._host}:{self._server.server_port}"
