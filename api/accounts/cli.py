"""``flask users``: the accounts only operators manage (staff and admins), and switching any
account off and on. Members' accounts are never listed, only counted.

``create-staff``, ``list`` and ``bind`` join this group from the directory
(``resources/editors/cli.py``): a staff account is bound to an organization of the directory,
which accounts know nothing of."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from api.accounts import operators
from api.core.db import commit_session, get_session, utcnow

users_cli = AppGroup("users", help="Staff and admin accounts; disabling any account.")


def _fail(error: operators.OperatorError) -> click.ClickException:
    return click.ClickException(str(error))


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
