"""Two gunicorn workers on one SQLite database and one Whoosh index, four people replying at
once: every reply is found within 2 s, no 500, no lock timeout (the background indexer,
forum/search/indexer.py, under real processes). Listens on 127.0.0.1 only; bounded in time."""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from forum import create_app
from forum.search import outbox
from tests.conftest import _base_config
from tests.factories import PASSWORD, make_thread, make_user

WRITERS = 4
REPLIES_EACH = 8
FRESH_WITHIN_S = 2.0
START_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """One person: a cookie, and requests that never follow redirects."""

    def __init__(self, port: int):
        self.port, self.cookie = port, ""

    def request(self, method: str, path: str, form: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        connection.close()
        return response.status, text


@pytest.fixture
def served(sqlite_template, tmp_path):
    database = tmp_path / "forum.db"
    shutil.copy(sqlite_template, database)
    config = {**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"}
    app = create_app(config)
    with app.app_context():
        people = [make_user() for _ in range(WRITERS)]
        thread = make_thread(people[0], title="Concurrent replies")
    with app.app_context():  # after the writes' session has ended (SQLite: one writer)
        # A deployed forum has its index (`flask search reindex`); with none, the workers'
        # first searches answer 503 while one is built, which is not what this test is about.
        outbox.rebuild()
    served_config = {**config, "SEARCH_INDEXER": "background"}
    port = _free_port()
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--timeout", "30", "--graceful-timeout", "2", f"forum:create_app({served_config!r})"],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if Browser(port).request("GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.1)
    yield port, people, thread
    os.killpg(server.pid, signal.SIGTERM)
    try:
        _, errors = server.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        _, errors = server.communicate()
    print(errors[-6000:])  # shown by pytest when the test fails
    assert "LockError" not in errors and "database is locked" not in errors, errors[-2000:]
    assert "Traceback" not in errors, errors[-4000:]


def test_four_writers_two_workers_every_reply_found_within_two_seconds(served):
    port, people, thread = served
    failures: list[str] = []
    late: list[tuple[str, float]] = []

    def write(number: int, person) -> None:
        browser = Browser(port)
        status, _ = browser.request("POST", "/auth/login",
                                    {"login": person.username, "password": PASSWORD})
        if status not in (302, 303):
            failures.append(f"login {status}")
            return
        for n in range(REPLIES_EACH):
            word = f"quokka{number}x{n}"
            status, _ = browser.request("POST", f"/t/{thread.id}/reply", {"body": f"On {word}."})
            if status not in (302, 303):
                failures.append(f"reply {status}")
                continue
            committed = time.monotonic()
            while True:
                status, page = browser.request("GET", f"/search?q={word}")
                if status != 200:
                    failures.append(f"search {status}")
                    break
                if f"<mark>{word}</mark>" in page:
                    break
                if time.monotonic() - committed > FRESH_WITHIN_S:
                    late.append((word, time.monotonic() - committed))
                    break
                time.sleep(0.05)

    writers = [threading.Thread(target=write, args=(n, person)) for n, person in enumerate(people)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert not any(w.is_alive() for w in writers)
    assert failures == []
    assert late == []
