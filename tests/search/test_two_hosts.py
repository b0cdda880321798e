"""Past one machine: two web hosts on one PostgreSQL database with ``SEARCH_BACKEND=postgres``.

Each host is its own process (a werkzeug server on 127.0.0.1, its own instance
folder, its own connection pool); they share nothing but the database. A reply
written through one is found through the other at once: no wait, no retry,
since the search document commits with the reply (``SEARCH_INDEXER=off``: no
background drain could have done it). The servers stop by
themselves after ``SERVER_LIFETIME_S`` whatever happens to the test.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
from flask_migrate import upgrade

from forum import create_app
from forum.accounts.hashing import TEST_GRADE
from forum.extensions import db
from tests.conftest import _empty_tables, _migrated
from tests.factories import PASSWORD, make_thread, make_user

ROOT = Path(__file__).resolve().parents[2]
SERVER_LIFETIME_S = 90
START_TIMEOUT_S = 60

LAUNCHER = textwrap.dedent("""
    import json, sys, threading
    import flask
    config, instance = json.loads(sys.argv[1]), sys.argv[2]
    # a host of its own: its own instance folder, as on another machine
    flask.Flask.auto_find_instance_path = lambda self: instance
    from werkzeug.serving import make_server
    from forum import create_app
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Timer(float(sys.argv[3]), server.shutdown).start()  # never outlive the test
    print(server.server_port, flush=True)
    server.serve_forever()
""")


@pytest.fixture
def database(postgres_database, tmp_path):
    url = postgres_database
    app = create_app({"TESTING": True, "SECRET_KEY": "two-hosts", **TEST_GRADE,
                      "SQLALCHEMY_DATABASE_URI": url, "SEARCH_BACKEND": "postgres",
                      "SEARCH_INDEX_DIR": str(tmp_path / "unused-index")})
    with app.app_context():
        if url not in _migrated:
            upgrade()
            _migrated.add(url)
        _empty_tables()
    yield app
    with app.app_context():
        db.engine.dispose()


def start_host(url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    folder.mkdir()
    config = {"TESTING": True, "SECRET_KEY": "shared-by-every-host", "WTF_CSRF_ENABLED": False,
              "RATELIMIT_ENABLED": False, "MAIL_BACKEND": "file",
              "MAIL_FILE_DIR": str(folder / "mail"), "SQLALCHEMY_DATABASE_URI": url,
              "SEARCH_BACKEND": "postgres", "SEARCH_INDEXER": "off", **TEST_GRADE}
    process = subprocess.Popen([sys.executable, "-c", LAUNCHER, json.dumps(config), str(folder),
                                str(SERVER_LIFETIME_S)], cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env={"PYTHONPATH": str(ROOT)})
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), "the host did not start"
    except BaseException:
        process.kill()
        raise
    return process, f"http://127.0.0.1:{port}"


def post(browser, url: str, data: dict) -> None:
    with browser.open(url, data=urlencode(data).encode(), timeout=20) as response:
        assert response.status == 200  # after the redirect (errors raise HTTPError)


def test_a_reply_through_one_host_is_found_through_the_other_at_once(database, tmp_path):
    with database.app_context():
        author = make_user()
        thread = make_thread(author, "Shared database, two hosts", "Opening post.")
    url = database.config["SQLALCHEMY_DATABASE_URI"]
    hosts = [start_host(url, tmp_path / name) for name in ("host-a", "host-b")]
    try:
        (_, first), (_, second) = hosts
        for writer, reader, word in ((first, second, "quetzalcoatl"), (second, first, "axolotl")):
            browser = build_opener(HTTPCookieProcessor(CookieJar()))  # follows redirects
            post(browser, f"{writer}/auth/login", {"login": author.username, "password": PASSWORD})
            post(browser, f"{writer}/t/{thread.id}/reply",
                 {"body": f"A reply about the {word} written here."})
            with build_opener().open(f"{reader}/search?{urlencode({'q': word})}",
                                     timeout=20) as page:
                html = page.read().decode()
            assert "Shared database, two hosts" in html and f">{word}</mark>" in html
    finally:
        for process, _ in hosts:
            process.terminate()
            process.wait(timeout=10)
