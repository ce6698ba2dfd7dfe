"""``flask users``: accounts only operators may create."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from api.accounts import service
from api.accounts.models import Role
from api.db import commit_session, get_session, utcnow
from api.errors import Problem

users_cli = AppGroup("users", help="Accounts that only operators create.")


@users_cli.command("create-staff")
@click.argument("username")
@click.option("--role", type=click.Choice(["staff", "admin"]), default="staff", show_default=True)
@click.option("--display-name", default=None)
@click.option(
    "--organization",
    "organization_id",
    default=None,
    help="Id of the directory organization whose listings this staff account edits.",
)
@click.password_option(
    help="Prompted for (twice) when not given; or set HOMEWARD_PASSWORD.",
    envvar="HOMEWARD_PASSWORD",
)
def create_staff(
    username: str,
    role: str,
    display_name: str | None,
    organization_id: str | None,
    password: str,
) -> None:
    """Create a staff or admin account (they cannot register themselves)."""
    if organization_id is not None:
        from resources.models import Organization

        if get_session().get(Organization, organization_id) is None:
            raise click.ClickException(f"there is no organization {organization_id!r}")
    try:
        account = service.create_account(
            get_session(),
            username=username,
            password=password,
            role=Role(role),
            now=utcnow(),
            display_name=display_name,
            organization_id=organization_id,
        )
    except Problem as problem:
        raise click.ClickException(problem.detail) from None
    commit_session()
    click.echo(f"created {role} account {account.id}")
