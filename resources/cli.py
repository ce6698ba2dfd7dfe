"""``flask resources``: importing and exporting the directory.

    flask resources import PATH... [--source NAME]
    flask resources export PATH [--format json|tabular|both]

Register with ``app.cli.add_command(resources_cli)``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from resources.hsds.export import export_json, export_tabular
from resources.hsds.importers import import_paths

resources_cli = AppGroup("resources", help="Import and export the directory (HSDS).")


class _Bar:
    """``import_paths``'s progress as a click progress bar on stderr: data rows read out
    of all rows, with the file being read and how many files are done."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.files = 0
        self.done = 0
        self.current = ""

    def begin(self, files: int, rows: int) -> None:
        self.files = files
        self.bar = click.progressbar(
            length=max(rows, 1),
            label="Importing",
            file=sys.stderr,
            show_pos=True,
            update_min_steps=max(1, rows // 500),
            item_show_func=lambda item: item,
        )
        self.bar.__enter__()

    def file(self, label: str) -> None:
        if not label.startswith("writing "):
            self.done += 1
        self.current = f"{label} (file {min(self.done, self.files)} of {self.files})"
        if self.bar is not None:
            self.bar.update(0, self.current)

    def advance(self, rows: int) -> None:
        if self.bar is not None and rows:
            self.bar.update(rows, self.current)

    def end(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@resources_cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", default=None, help="Name of the source (default: each path's name).")
def import_command(paths: tuple[Path, ...], source: str | None) -> None:
    """Import HSDS 3.0 JSON, HSDS tabular, HSDS 1.x CSV or Ohana CSV directories.

    The layout of each directory is read from its files' column names. A progress bar
    (rows and files) goes to stderr. Good rows are kept and committed; each rejected row
    is printed as file:line: reason. Exit code 1 when a file could not be read at all,
    else 0 (even with rejected rows)."""
    database = current_app.extensions["homeward.db"]
    bar = _Bar()
    try:
        with database.sessionmaker.begin() as db:
            summary = import_paths(db, paths, source=source, progress=bar)
    finally:
        bar.end()
    for reject in sorted(summary.rejects, key=lambda r: (r.file, str(r.line).zfill(9))):
        click.echo(str(reject))
    for note in summary.notes:
        click.echo(f"note: {note}")
    for label, reason in summary.failed:
        click.echo(f"{label}: {reason}", err=True)
    for line in summary.lines():
        click.echo(line)
    total = summary.total
    click.echo(
        f"rows read {total.read}, created {total.created}, updated {total.updated}, "
        f"unchanged {total.unchanged}, rejected {total.rejected}"
    )
    if summary.failed:
        raise SystemExit(1)


@resources_cli.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "form", type=click.Choice(["json", "tabular", "both"]), default="both")
def export_command(path: Path, form: str) -> None:
    """Export the directory as HSDS 3.0: JSON files into PATH (or PATH/json with both),
    a tabular package into PATH (or PATH/tabular with both)."""
    database = current_app.extensions["homeward.db"]
    with database.sessionmaker() as db:
        if form in ("json", "both"):
            target = path / "json" if form == "both" else path
            counts = export_json(db, target)
            click.echo(f"JSON into {target}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if form in ("tabular", "both"):
            target = path / "tabular" if form == "both" else path
            files = export_tabular(db, target)
            click.echo(f"tabular into {target}: {len(files)} CSV files and datapackage.json")
