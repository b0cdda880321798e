"""``flask digest send | preview | requeue | suppressions``.

``send`` refuses the week still in progress unless ``--force``: the Monday
cron must never mail half a week because its clock or its ``--week`` was off.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from forum.database import utcnow
from forum.digest import bounces, render, runs, selection, sending
from forum.digest.models import Subscription
from forum.extensions import db
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
@click.option("--force", is_flag=True, help="Send the week still in progress (normally refused).")
def send_command(week: str, dry_run: bool, force: bool) -> None:
    """Send the week's digest to every confirmed subscriber, exactly once (safe to rerun from cron)."""
    end = selection.parse_week(week)[1]
    if end > utcnow() and not force and not dry_run:
        raise click.UsageError(f"{week} is still in progress (it ends {end:%a %Y-%m-%d %H:%M} UTC): its digest "
                               "would miss the rest of the week. Pass --force to send it anyway.")
    try:
        render.check_server_name()
        if dry_run:
            return _dry_run(week)
        with _sigterm_interrupts(), click.progressbar(length=_due_estimate(), show_pos=True,
                                                      label=f"Sending digest {week}") as bar:
            summary = sending.send_week(week, progress=bar.update)
    except sending.NothingToSend as error:
        click.echo(str(error))
        return
    except runs.Interrupted as interrupt:
        raise click.ClickException(f"Stopped before the end by {interrupt.signal_name}. What was not handed to "
                                   "the mail server goes out on the next run.") from None
    except KeyboardInterrupt:
        raise click.ClickException("Stopped before the end (Ctrl-C). What was not handed to the mail server "
                                   "goes out on the next run.") from None
    except (render.NoServerName, MailError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Digest {week}: {summary.sent} sent, {summary.failed} failed (retried later), "
               f"{summary.bounced} refused for good (address suppressed), {summary.cancelled} cancelled "
               f"(unsubscribed meanwhile); {summary.deliveries} subscribers in this issue.")
    for group in summary.left:
        click.echo(_describe(group, week))
    if summary.gave_up:
        click.echo(f"{summary.gave_up} deliveries failed {sending.max_attempts()} times and are given up.")
    if summary.stopped:
        raise click.ClickException(f"Stopped early, nothing of a batch went out: {summary.stopped}")


def _describe(group: runs.LeftBehind, week: str) -> str:
    """One run's deliveries in another's report: what they are, and what to do."""
    name = f"Run #{group.run_id}" if group.run_id else "An earlier run"
    if group.is_running:
        return (f"{name} is still running (last seen {group.last_seen:%H:%M:%S} UTC) "
                f"with {group.held} deliveries in hand.")
    parts = [f"{name} {group.state}, leaving {group.held} deliveries unsettled:"]
    if group.accepted:
        parts.append(f"{group.accepted} accepted by the mail server;")
    if group.never_sent:
        parts.append(f"{group.never_sent} never sent;")
    if group.unknown:
        parts.append(f"1 being handed over at that moment, which may have gone out (look for "
                     f"{group.unknown[0]} in the mail server's log).")
    parts.append(f"`flask digest requeue --week {week}` books the accepted and puts back the never sent"
                 + (" (add --unknown to send the uncertain one again, only if the log lacks it)."
                    if group.unknown else "."))
    return " ".join(parts)


@contextmanager
def _sigterm_interrupts():
    """SIGTERM (systemd stopping the unit, a cron timeout) stops the run like Ctrl-C.

    The run then books what was sent, puts back what it never handed to the
    mail server and records that SIGTERM stopped it, instead of dying with a
    whole claimed batch left unknown.
    """
    if threading.current_thread() is not threading.main_thread():  # signals need the main thread
        yield
        return

    def interrupt(signum, frame):
        raise runs.Interrupted("SIGTERM")
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@digest_cli.command("requeue")
@_week_option
@click.option("--unknown", is_flag=True,
              help="Also the one per stopped run whose fate is unknown (only once the mail log shows "
                   "it did not go out).")
def requeue_command(week: str, unknown: bool) -> None:
    """Settle what stopped runs left: book what the server accepted, put back what never went out."""
    result = runs.requeue(week, include_unknown=unknown)
    click.echo(f"Digest {week}: {result.put_back} deliveries put back (the next `flask digest send` sends "
               f"them), {result.booked_sent} booked as sent (the mail server had accepted them).")
    if result.unknown_left:
        click.echo(f"{result.unknown_left} left alone: being handed over when their run stopped, they may have "
                   "gone out (check the mail log, then add --unknown).")
    if result.running:
        click.echo(f"{result.running} left alone: a run is still sending them.")


@digest_cli.command("suppressions")
@click.option("--lift", "lift", multiple=True, metavar="EMAIL",
              help="Mail this address again from the next issue (repeatable).")
def suppressions_command(lift: tuple[str, ...]) -> None:
    """List the addresses the digest no longer mails because they refused it; --lift one to resume."""
    if lift:
        for email in lift:
            if not bounces.lift(email):
                raise click.ClickException(f"{email} is not suppressed.")
            click.echo(f"Lifted: {email} gets the digest again from the next issue.")
        return
    found = bounces.suppressions()
    for entry in found:
        click.echo(f"{entry.email}\t{entry.suppressed_at:%Y-%m-%d %H:%M} UTC\t{entry.reason}")
    click.echo(f"{len(found)} suppressed address{'es' if len(found) != 1 else ''}."
               + (" Lift one with --lift EMAIL." if found else ""))


def _due_estimate() -> int:
    count = db.session.scalar(select(func.count()).select_from(Subscription)
                              .where(Subscription.confirmed_at.is_not(None),
                                     Subscription.unsubscribed_at.is_(None),
                                     Subscription.suppressed_at.is_(None))) or 0
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
               f"about {_due_estimate()} subscribers.")
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
    rendered = render.render(sections, "preview-token")
    click.echo(f"Subject: {rendered.subject}\n")
    click.echo(rendered.html if html else rendered.text)


def register(app: Flask) -> None:
    app.cli.add_command(digest_cli)
