"""``flask --app wsgi search sync`` and ``flask --app wsgi search reindex``.

Both exit non-zero with one line saying why when they cannot do their job (the
index folder is not writable, the database is down, another rebuild runs), so
a cron job or a deploy script notices.
"""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from forum.search import outbox
from forum.search.backend import RebuildRunning, SearchUnavailable, get_backend

search_cli = AppGroup("search", help="Keep the full-text search index in step with the database.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


def _database_error(error: SQLAlchemyError) -> str:
    first = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return f"the database cannot be used: {first}"  # the wording of forum.cli_errors


@search_cli.command("sync")
def sync() -> None:
    """Apply every pending outbox row to the index (what a failed or locked drain left)."""
    try:
        before = outbox.pending_count()
        result = outbox.drain()
    except SQLAlchemyError as error:
        _fail(_database_error(error))
    except SearchUnavailable as error:
        _fail(str(error))
    if result.unavailable:
        _fail(f"{result.error}; nothing applied ({result.pending} pending). "
              "Run `flask search reindex` to build the index.")
    if result.error:
        _fail(f"{result.error}; applied {result.applied} of {before} ({result.pending} pending).")
    click.echo(f"Applied {result.applied} of {before} pending changes; {result.pending} still pending.")


@search_cli.command("reindex")
@click.option("--procs", type=int, default=None,
              help="Processes for the Whoosh rebuild (default: the CPUs, at most 4); "
                   "each takes a part of at least 25,000 rows.")
def reindex(procs: int | None) -> None:
    """Rebuild the index from the database in a fresh folder, then switch to it atomically."""
    started = time.perf_counter()
    options = {"procs": procs or outbox.default_procs()} if get_backend().name == "whoosh" else {}
    bar = _LazyBar("Indexing threads, replies and papers")
    try:
        bar.length = outbox.total_documents_in_database()
        count = outbox.rebuild(progress=bar.update, **options)
    except SQLAlchemyError as error:
        bar.close()
        _fail(_database_error(error))
    except (RebuildRunning, SearchUnavailable) as error:
        bar.close()
        _fail(str(error))
    bar.close()
    click.echo(f"Indexed {count} documents in {time.perf_counter() - started:.1f} s.")


class _LazyBar:
    """A progress bar shown from the first document on, so a rebuild that cannot start
    (locked, unwritable) prints its one line of error and nothing else."""

    def __init__(self, label: str):
        self.label, self.length, self._bar = label, 0, None

    def update(self, done: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=self.length, label=self.label).__enter__()
        self._bar.update(done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def register(app) -> None:
    app.cli.add_command(search_cli)
