"""Every ``flask --app wsgi ...`` command of the project fails in one line, not a traceback.

A command whose database is unreachable, or whose search index folder cannot
be written, used to print some 150 lines of traceback, with the cause at the
bottom. Cron mails and operators need the cause first: these failures are
about the surroundings, not bugs, so each becomes one line on stderr naming
what failed and why, and exit status 1. Anything else (a bug) keeps its
traceback. ``register`` wraps the callback of every command and sub-command
in ``app.cli`` once, after every package has added its commands, so a new
command is covered without doing anything. (``flask db ...`` belongs to
Flask-Migrate and is not in ``app.cli``; Alembic reports its own errors.)
"""
from __future__ import annotations

from functools import wraps

import click
from flask import Flask
from sqlalchemy.exc import InterfaceError, OperationalError

from forum.search.backend import RebuildRunning, SearchUnavailable
from forum.search.whoosh.index import IndexMissing, IndexUnavailable

GUARDED = "_forum_one_line_errors"


def register(app: Flask) -> None:
    guard(app.cli)


def guard(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            guard(sub)
    callback = command.callback
    if callback is not None and not getattr(callback, GUARDED, False):
        command.callback = _one_line_errors(callback)


def describe(error: BaseException) -> str | None:
    """The one line for an error of the surroundings, or None for anything else (a bug)."""
    if isinstance(error, (OperationalError, InterfaceError)):  # unreachable, refused, no schema
        cause = _first_line(error.orig if error.orig is not None else error)
        return f"Error: the database cannot be used: {cause}"
    if isinstance(error, (IndexUnavailable, IndexMissing, SearchUnavailable, RebuildRunning)):
        return f"Error: the search index cannot be used: {_first_line(error)}"
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"Error: {error.strerror or _first_line(error)}{where}"
    return None


def _one_line_errors(callback):
    @wraps(callback)
    def wrapped(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:
            line = describe(error)
            if line is None:
                raise
            click.echo(line, err=True)
            raise SystemExit(1) from None
    setattr(wrapped, GUARDED, True)
    return wrapped


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]
