"""Child processes in their own session: started, talked to in JSON lines, always stopped.

The parent side is ``Child`` (and ``children``, ``stop_process_group``); the child side is
``emit`` and ``wait_for``: one JSON line per message on stdout, one command per line on
stdin, end of stdin meaning quit, so a child never outlives the bench that started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from benchkit import ROOT


def stop_process_group(process: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM to the process group of ``process`` (a child started in its own session),
    SIGKILL after ``grace`` seconds, and SIGKILL to whatever it left behind in its group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the group of the child we started
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # e.g. workers of a master that died first


class Child:
    """A helper process in its own session that reads commands from stdin and answers with
    JSON lines on stdout; its stderr goes to a log file. ``stop()`` ends it (its whole
    process group) whatever state it is in."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        self.pid = self.process.pid
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout,), name=f"read-{name}", daemon=True
        )
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        """The next JSON line; raises when the child exits or stays silent for ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise RuntimeError(
                    f"{self.name} (pid {self.pid}) said nothing for {timeout:.0f}s; "
                    f"log {self.log_path}:\n{self.tail()}"
                ) from None
            if line is None:
                self.process.wait(timeout=5)
                raise RuntimeError(
                    f"{self.name} (pid {self.pid}) exited with {self.process.returncode}; "
                    f"log {self.log_path}:\n{self.tail()}"
                )
            line = line.strip()
            if line.startswith("{"):
                return dict(json.loads(line))
            # Anything else on stdout (a library printing) goes to the log, not the protocol.
            with open(self.log_path, "a") as fh:
                fh.write(f"[stdout] {line}\n")

    def ask(self, command: str, timeout: float = 60.0) -> dict[str, Any]:
        self.send(command)
        return self.receive(timeout)

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        process = self.process
        if process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                self.send("quit")
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        stop_process_group(process)
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()


@contextlib.contextmanager
def children() -> Iterator[list[Child]]:
    """A list to put started children in; every one is stopped when the block ends."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in reversed(started):
            child.stop()


# --------------------------------------------------------------------------- the child's side


def emit(message: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed: a message to the parent."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def wait_for(command: str) -> None:
    """Block until ``command`` arrives on stdin; ``quit`` or end of stdin exits the process."""
    for raw in sys.stdin:
        line = raw.strip()
        if line == command:
            return
        if line == "quit":
            sys.exit(0)
    sys.exit(0)
