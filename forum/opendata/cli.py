"""``flask --app wsgi export PATH``: the open data dump (see ``export.py``)."""
from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from forum.opendata import export as exporter


def register(app) -> None:
    app.cli.add_command(export_command)


@click.command("export")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_command(path: Path) -> None:
    """Write every public thread, reply, profile and cited work to PATH as JSON Lines."""
    started = time.monotonic()
    with click.progressbar(length=exporter.total_rows(), label="Exporting",
                           show_pos=True) as bar:
        summary = exporter.export(path, progress=bar.update)
    click.echo(f"{summary.line()} ({time.monotonic() - started:.1f} s)")
