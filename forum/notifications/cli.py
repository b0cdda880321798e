"""``flask notifications send``: the hourly notification email (run it from cron)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from forum.mail import MailError
from forum.notifications import emails

notifications_cli = AppGroup("notifications", help="Notification emails.")


@notifications_cli.command("send")
def send_command() -> None:
    """Email each opted-in member their new unread notifications, in one message, at most hourly."""
    try:
        emails.check_server_name()
        members = emails.due_members()
        with click.progressbar(length=len(members), label="Emailing notifications",
                               show_pos=True) as bar:
            summary = emails.send_to(members, progress=bar.update)
    except (emails.NoServerName, MailError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Notification emails: {summary.sent} sent ({summary.notifications} notifications), "
               f"{summary.failed} failed, {summary.skipped} with nothing left to send; "
               f"{summary.due} members were due.")
    if summary.failed and not summary.sent:
        raise click.ClickException(f"Every message failed (they will be retried next run): "
                                   f"{summary.errors[-1]}")


def register(app: Flask) -> None:
    app.cli.add_command(notifications_cli)
