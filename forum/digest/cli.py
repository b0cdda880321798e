"""``flask digest send``, ``flask digest preview`` and ``flask digest requeue``."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup

from forum.database import utcnow
from forum.digest import render, selection, sending
from forum.mail import MailError

digest_cli = AppGroup("digest", help="The weekly digest email.")


def _week_option(function):
    return click.option("--week", metavar="YYYY-Www", callback=_check_week,
                        help="ISO week to send, e.g. 2026-W48 (default: the last complete week).")(function)


def _check_week(ctx, param, value: str | None) -> str:
    if value is None:
        return selection.last_complete_week(utcnow())
    try:
        start, _end = selection.parse_week(value)
    except selection.BadWeek as error:
        raise click.BadParameter(str(error)) from None
    if start > utcnow():
        raise click.BadParameter(f"{value} has not started yet.")
    return selection.week_label(start)


@digest_cli.command("send")
@_week_option
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and write nothing.")
def send_command(week: str, dry_run: bool) -> None:
    """Send the week's digest to every confirmed subscriber, exactly once (safe to rerun from cron)."""
    try:
        render.check_server_name()
        if dry_run:
            return _dry_run(week)
        with _sigterm_interrupts(), click.progressbar(length=_due_estimate(week), show_pos=True,
                                                      label=f"Sending digest {week}") as bar:
            summary = sending.send_week(week, progress=bar.update)
    except sending.NothingToSend as error:
        click.echo(str(error))
        return
    except KeyboardInterrupt:
        raise click.ClickException("Stopped before the end. What was not handed to the mail server "
                                   "goes out on the next run.") from None
    except (render.NoServerName, MailError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Digest {week}: {summary.sent} sent, {summary.failed} failed, "
               f"{summary.skipped} with nothing matching their follows; "
               f"{summary.deliveries} subscribers in this issue.")
    if summary.interrupted:
        click.echo(f"{summary.interrupted} deliveries were interrupted by an earlier crash and are not "
                   "resent automatically (they may have gone out): look for their Message-IDs in the "
                   f"mail server's log, then `flask digest requeue --week {week}` to send them again.")
    if summary.gave_up:
        click.echo(f"{summary.gave_up} deliveries failed {sending._max_attempts()} times and are given up.")
    if summary.stopped:
        raise click.ClickException(f"Stopped early, every message failed: {summary.stopped}")


@contextmanager
def _sigterm_interrupts():
    """SIGTERM (systemd stopping the unit, a cron timeout) stops the run like Ctrl-C.

    The run then books what was sent and puts back what it never handed to the
    mail server, instead of dying with a whole claimed batch left unknown.
    """
    if threading.current_thread() is not threading.main_thread():  # signals need the main thread
        yield
        return
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@digest_cli.command("requeue")
@_week_option
def requeue_command(week: str) -> None:
    """Send again the deliveries a crashed run left unknown (only once the mail log shows they did not go out)."""
    count = sending.requeue_interrupted(week)
    click.echo(f"Digest {week}: {count} interrupted deliveries put back; the next `flask digest send` sends them.")


def _due_estimate(week: str) -> int:
    from sqlalchemy import func, select
    from forum.digest.models import Subscription
    from forum.extensions import db
    count = db.session.scalar(select(func.count()).select_from(Subscription)
                              .where(Subscription.confirmed_at.is_not(None),
                                     Subscription.unsubscribed_at.is_(None))) or 0
    db.session.rollback()
    return count


def _dry_run(week: str) -> None:
    start, end = selection.parse_week(week)
    sections = selection.select_week(start, end)
    if sections is None:
        click.echo(f"Nothing happened in {week}: no digest would be sent.")
        return
    click.echo(f"Digest {week} (dry run, nothing sent): {len(sections['top'])} top debates, "
               f"{len(sections['new'])} new, {len(sections['papers'])} papers; "
               f"about {_due_estimate(week)} subscribers.")
    for item in sections["top"]:
        click.echo(f"  {item['score']:>4}  {item['title']}")


@digest_cli.command("preview")
@_week_option
@click.option("--html", is_flag=True, help="Print the HTML part instead of the text part.")
def preview_command(week: str, html: bool) -> None:
    """Print the week's digest as it would be emailed."""
    try:
        render.check_server_name()
    except render.NoServerName as error:
        raise click.ClickException(str(error)) from None
    start, end = selection.parse_week(week)
    sections = selection.select_week(start, end)
    if sections is None:
        click.echo(f"Nothing happened in {week}: no digest would be sent.")
        return
    rendered = render.render(sections, "https://example.invalid/unsubscribe")
    click.echo(f"Subject: {rendered.subject}\n")
    click.echo(rendered.html if html else rendered.text)


def register(app: Flask) -> None:
    app.cli.add_command(digest_cli)
