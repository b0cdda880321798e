"""``flask --app wsgi search sync`` and ``flask --app wsgi search reindex``."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from forum.search import outbox

search_cli = AppGroup("search", help="Keep the full-text search index in step with the database.")


@search_cli.command("sync")
def sync() -> None:
    """Apply every pending outbox row to the index (what a failed or locked drain left)."""
    before = outbox.pending_count()
    result = outbox.drain()
    click.echo(f"Applied {result.applied} of {before} pending changes; {result.pending} still pending."
               + (f" Last error: {result.error}" if result.error else ""))
    if result.error:
        raise SystemExit(1)


@search_cli.command("reindex")
@click.option("--procs", type=int, default=None, help="Worker processes (default: the cores, up to 4).")
def reindex(procs: int | None) -> None:
    """Rebuild the index from the database in a fresh folder, then switch to it atomically."""
    started = time.perf_counter()
    total = outbox.total_documents_in_database()
    with click.progressbar(length=total, label="Indexing threads, replies and papers") as bar:
        count = outbox.rebuild(progress=bar.update, procs=procs or outbox.default_procs())
    size = outbox.get_index().size_on_disk()
    click.echo(f"Indexed {count} documents in {time.perf_counter() - started:.1f} s "
               f"({size / 1e6:.1f} MB on disk).")


def register(app) -> None:
    app.cli.add_command(search_cli)
