"""Command-line failures of the surroundings print one line and exit 1, not a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from forum import create_app
from forum.cli_errors import GUARDED
from tests.conftest import _base_config

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def _flask(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "SECRET_KEY": "cli-test", "MAIL_BACKEND": "console", **env}
    return subprocess.run([*FLASK, *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("command", [
    ["search", "reindex"], ["search", "sync"], ["seed-demo"], ["digest", "preview"],
    ["users", "set-role", "nobody", "admin"],
])
def test_an_unreachable_database_is_one_line(command, tmp_path):
    result = _flask(*command, DATABASE_URL="postgresql://postgres@127.0.0.1:1/unreachable",
                    SERVER_NAME="forum.test",
                    SEARCH_INDEX_DIR=str(tmp_path / "index"))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: the database cannot be used:"), lines
    assert "Connection refused" in lines[0] or "connection" in lines[0].lower()


def test_an_unwritable_index_is_one_line(tmp_path, sqlite_template):
    import shutil
    database = tmp_path / "forum.db"
    shutil.copy(sqlite_template, database)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _flask("search", "reindex", DATABASE_URL=f"sqlite:///{database}",
                    SEARCH_INDEX_DIR=str(blocker / "index"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # The search commands name the folder and why (forum/search/whoosh/backend.py).
    index = blocker / "index"
    assert lines == [f"Error: the search index folder {index} is not writable (Not a directory)"]


def test_every_command_of_the_project_is_guarded(tmp_path):
    app = create_app({**_base_config(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})

    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}")
        elif command.callback is not None:
            yield path, command.callback
    commands = dict(walk(app.cli, "flask"))
    assert len(commands) >= 8
    assert [path for path, callback in commands.items() if not getattr(callback, GUARDED, False)] == []


def test_a_bug_keeps_its_traceback(tmp_path):
    from forum.cli_errors import _one_line_errors
    with pytest.raises(ZeroDivisionError):
        _one_line_errors(lambda: 1 / 0)()
