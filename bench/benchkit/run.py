"""A bench script's life: signals, the temporary folder, common options, the JSON file."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from benchkit import DEFAULT_POSTGRES_URL, log

T = TypeVar("T")
F = TypeVar("F")


def sigterm_as_interrupt() -> None:
    """SIGTERM and SIGHUP end the run through the finally blocks, like Ctrl-C does."""

    def _terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)


def run_main(main: Callable[[], int | None], cleaned: str = "database dropped") -> None:
    """``sys.exit(main())``, with SIGTERM and SIGHUP raised as KeyboardInterrupt, and an
    interrupt reported (``cleaned``: what the finally blocks undid) and exiting 130."""
    sigterm_as_interrupt()
    try:
        sys.exit(main())
    except KeyboardInterrupt as interrupt:
        log(f"interrupted ({interrupt or 'Ctrl-C'}); {cleaned}")
        sys.exit(130)


@contextlib.contextmanager
def temporary_folder(name: str, keep: bool = False) -> Iterator[Path]:
    """A folder ``homeward-<name>-bench-*`` for the run's files, removed when the block ends
    (an interrupt included) unless ``keep``: then its path is logged."""
    folder = Path(tempfile.mkdtemp(prefix=f"homeward-{name}-bench-"))
    try:
        yield folder
    finally:
        if keep:
            log(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def add_postgres_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="admin URL of the server that gets the throwaway database",
    )


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, help="also write the results to this file")


def add_backend_arguments(
    parser: argparse.ArgumentParser,
    choices: tuple[str, ...] = ("sqlite", "postgresql", "both"),
    default: str = "both",
    json: bool = True,
) -> None:
    """--database (sqlite, postgresql or both), --postgres-url and (with ``json``) --json."""
    parser.add_argument("--database", choices=choices, default=default)
    add_postgres_argument(parser)
    if json:
        add_json_argument(parser)


def backends(options: argparse.Namespace) -> tuple[str, ...]:
    """The databases ``--database`` chose, in the order they run."""
    return ("sqlite", "postgresql") if options.database == "both" else (options.database,)


def for_each_backend(
    options: argparse.Namespace, name: str, run: Callable[[str, argparse.Namespace, Path, str], T]
) -> list[T]:
    """``run(backend, options, workdir, vapid_pem)`` for each backend chosen, in a temporary
    folder that is removed afterwards (an interrupt included)."""
    from benchkit.apps import new_vapid_private_key

    sigterm_as_interrupt()
    with temporary_folder(name) as workdir:
        vapid = new_vapid_private_key()
        return [run(backend, options, workdir, vapid) for backend in backends(options)]


def merged(runs: list[tuple[list[T], F]]) -> tuple[list[T], list[F]]:
    """The results of every backend's run in one list, and their facts in another."""
    return [result for results, _ in runs for result in results], [facts for _, facts in runs]


def write_json(path: Path | None, data: Any) -> None:
    """The results as JSON in ``path`` (its folder made), when the option was given."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    log(f"wrote {path}")
