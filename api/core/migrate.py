"""Alembic, driven from the app's own configuration: ``flask db upgrade`` and friends."""

from __future__ import annotations

import click
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.engine import Connection

from api.core.db import get_db
from api.core.extensions import this_app

db_cli = AppGroup("db", help="Database migrations (Alembic).")


# Search indexes each backend builds its own way (see 0004_directory): not in the models.
BACKEND_SEARCH_OBJECTS = ("search_fts", "search_tsv", "ix_search_documents_tsv")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """What autogenerate and the model check compare: all but the search indexes."""
    return not (reflected and name is not None and name.startswith(BACKEND_SEARCH_OBJECTS))


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", "api:migrations")
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    config.attributes["engine"] = app.extensions["homeward.db"].engine
    return config


def head_revision(app: Flask) -> str | None:
    return ScriptDirectory.from_config(alembic_config(app)).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app), revision)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_cmd(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    upgrade(this_app(), revision)


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_cmd(revision: str) -> None:
    """Migrate the database down to REVISION."""
    command.downgrade(alembic_config(this_app()), revision)


@db_cli.command("current")
def current_cmd() -> None:
    """Print the database's revision and the code's head."""
    with get_db().engine.connect() as connection:
        click.echo(f"database: {current_revision(connection)}")
    click.echo(f"head:     {head_revision(this_app())}")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def revision_cmd(message: str, autogenerate: bool) -> None:
    """Write a new migration, compared against the models when --autogenerate."""
    command.revision(
        alembic_config(this_app()),
        message=message,
        autogenerate=autogenerate,
    )


@db_cli.command("check")
def check_cmd() -> None:
    """Fail when the models differ from what the migrations build."""
    command.check(alembic_config(this_app()))
