"""``flask users``: the accounts only operators manage (staff and admins), and switching any
account off and on. Members' accounts are never listed, only counted."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from api.accounts import operators
from api.accounts.models import Role
from api.core.db import commit_session, get_session, utcnow

users_cli = AppGroup("users", help="Staff and admin accounts; disabling any account.")


def _fail(error: operators.OperatorError) -> click.ClickException:
    return click.ClickException(str(error))


@users_cli.command("create-staff")
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
        account = operators.create_staff(
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


@users_cli.command("list")
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
    table = [("ID", "USERNAME", "ROLE", "ORGANIZATION", "DISABLED", "CREATED")]
    for row in rows:
        organization = "-"
        if row.organization_id is not None:
            organization = row.organization_id
            if row.organization_name:
                organization += f" ({row.organization_name})"
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


@users_cli.command("bind")
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
        account, name = operators.bind(get_session(), username, organization_id, utcnow())
    except operators.OperatorError as error:
        raise _fail(error) from None
    commit_session()
    click.echo(f"{account.username} now edits the listings of {organization_id} ({name})")


@users_cli.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Switch an account off: every session ends at once and signing in is refused
    (with the answer a wrong password gets). Undo with 'flask users enable'."""
    try:
        account, ended = operators.disable(get_session(), username, utcnow())
    except operators.OperatorError as error:
        raise _fail(error) from None
    commit_session()
    click.echo(f"disabled {account.role.value} account {account.username}; {ended} sessions ended")


@users_cli.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Let a disabled account sign in again (its ended sessions stay ended)."""
    try:
        account = operators.enable(get_session(), username, utcnow())
    except operators.OperatorError as error:
        raise _fail(error) from None
    commit_session()
    click.echo(f"enabled {account.role.value} account {account.username}")
