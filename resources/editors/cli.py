"""The ``flask users`` commands that need the directory: ``create-staff`` (a staff account is
made bound to an organization), ``list`` (with each account's organization) and ``bind``.
They join the ``users`` group that ``api.accounts`` owns, so the command line is one; the
directory depends on accounts here, never the other way."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from api.accounts import operators
from api.accounts.cli import users_cli
from api.accounts.models import Role
from api.core.db import commit_session, get_session, utcnow
from resources.editors import service


def _fail(error: operators.OperatorError) -> click.ClickException:
    return click.ClickException(str(error))


@click.command("create-staff")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice(["staff", "admin"]), default="staff", show_default=True)
@click.option("--display-name", default=None)
@click.option(
    "--organization",
    "organization_id",
    default=None,
    help="Id of the directory organization whose listings this account edits. "
    "Required for --role staff (a staff account without one can do nothing); "
    "an admin may omit it.",
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
    try:
        account = service.create_staff(
            get_session(),
            username=username,
            password=password,
            role=Role(role),
            organization_id=organization_id,
            display_name=display_name,
            now=utcnow(),
        )
    except operators.OperatorError as error:
        raise _fail(error) from None
    commit_session()
    bound = f", bound to organization {organization_id}" if organization_id else ""
    click.echo(f"created {role} account {account.id}{bound}")


@click.command("list")
@with_appcontext
@click.option(
    "--role",
    "roles",
    type=click.Choice(["staff", "admin"]),
    multiple=True,
    help="Only this role (may be repeated). Default: staff and admins. Members and "
    "mentors are never listed, only counted.",
)
def list_users(roles: tuple[str, ...]) -> None:
    """List staff and admin accounts: id, username, role, organization, disabled, created."""
    db = get_session()
    wanted = tuple(Role(r) for r in roles) or operators.OPERATED_ROLES
    rows = operators.list_staff(db, wanted)
    bound = service.organizations_by_account(db)
    table = [("ID", "USERNAME", "ROLE", "ORGANIZATION", "DISABLED", "CREATED")]
    for row in rows:
        organization = "-"
        if row.id in bound:
            organization_id, name = bound[row.id]
            organization = f"{organization_id} ({name})" if name else organization_id
        disabled = "yes" if row.disabled_at is not None else "no"
        created = row.created_at.strftime("%Y-%m-%d %H:%M UTC")
        table.append((row.id, row.username, row.role, organization, disabled, created))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    counts = operators.count_by_role(db)
    click.echo(
        f"{len(rows)} listed; not listed: {counts[Role.MEMBER]} members, "
        f"{counts[Role.MENTOR]} mentors"
    )


@click.command("bind")
@with_appcontext
@click.argument("username")
@click.option(
    "--organization",
    "organization_id",
    required=True,
    help="Id of the directory organization whose listings this staff account edits.",
)
def bind(username: str, organization_id: str) -> None:
    """Bind a staff account to the organization whose listings it edits (replaces any)."""
    try:
        account, name = service.bind(get_session(), username, organization_id, utcnow())
    except operators.OperatorError as error:
        raise _fail(error) from None
    commit_session()
    click.echo(f"{account.username} now edits the listings of {organization_id} ({name})")


def register() -> None:
    """Add these commands to accounts' ``flask users`` group (idempotent: a second app
    re-adds the same). Each runs in the app context, as the commands an ``AppGroup`` makes
    do."""
    for command in (create_staff, list_users, bind):
        users_cli.add_command(command)
