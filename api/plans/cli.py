"""``flask plans templates load [PATH]``: load plan templates from data files."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from api.core.db import get_session, utcnow
from api.plans import templates

plans_cli = AppGroup("plans", help="The reentry plan: templates.")
templates_cli = AppGroup("templates", help="Starter plan templates.")
plans_cli.add_command(templates_cli)


@templates_cli.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def load(path: Path | None) -> None:
    """Load templates from PATH (a .json file or a folder of them; the shipped folder if
    none). All files are checked first: one bad file loads nothing."""
    db = get_session()
    try:
        done = templates.load(db, path or templates.SHIPPED, utcnow())
    except templates.TemplateError as error:
        db.rollback()
        raise click.ClickException(str(error)) from error
    db.commit()
    for template_id, state in done:
        click.echo(f"{template_id}: {state}")
