"""``flask --app wsgi users ...``: members' roles from the command line.

The commands live with the accounts they change; the rules they apply (the
last admin, the audit log row) are moderation's services, called as a view would.

- ``users set-role <username> <role>``: give a member a role (member, moderator,
  admin). An unknown role or member is an error (exit code 1). The last admin
  cannot be demoted here either: create or promote another admin first.
- ``users create-admin``: make a new admin account, confirmed and trusted,
  for the first start of a forum. It asks for the username, email and password
  (the password twice, hidden) unless given as options. It refuses when an
  admin already exists, because on a running forum the usual need is to
  promote an existing member (``set-role``), and a second admin made by
  mistake is a standing risk; ``--force`` creates one anyway (say, when the
  only admin lost access to their email).

Both write a row in the moderation audit log with no moderator (the command line).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from forum.accounts import services as accounts
from forum.accounts.models import ROLES
from forum.moderation import services

users_cli = AppGroup("users", help="Members' roles: moderators and admins.")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role")
def set_role(username: str, role: str) -> None:
    """Give USERNAME the ROLE member, moderator or admin."""
    if role not in ROLES:
        raise click.ClickException(f"Unknown role {role!r}: use {', '.join(ROLES)}.")
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"There is no member called {username!r}.")
    try:
        changed = services.set_role(None, user, role)
    except services.ModerationError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"@{user.username} is now {role}." if changed else f"@{user.username} already was {role}.")


@users_cli.command("create-admin")
@click.option("--username", prompt=True, help="The new admin's username.")
@click.option("--email", prompt=True, help="The new admin's email address.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (asked for, hidden, when not given).")
@click.option("--force", is_flag=True, help="Create it even though an admin already exists.")
def create_admin(username: str, email: str, password: str, force: bool) -> None:
    """Create an admin account (refused when an admin exists, unless --force)."""
    from forum.accounts.passwords import password_problem
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise click.ClickException(problem)
    try:
        user = services.create_admin(username, email, password, force=force)
    except services.ModerationError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created admin @{user.username} <{user.email}>. Log in at /auth/login.")


def register(app) -> None:
    app.cli.add_command(users_cli)
