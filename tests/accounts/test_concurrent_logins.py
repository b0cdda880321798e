"""Concurrent log-ins on SQLite: none may fail with "database is locked".

SQLite has one write lock for the whole database, and our POST requests take it
with their first query (BEGIN IMMEDIATE). A log-in that verified its password
inside that transaction held the lock for the whole hash, so a burst of log-ins
queued behind one another until the busy timeout ran out and some got a 500.
The test serves the app from a real threaded server on 127.0.0.1 and sends a
burst of log-ins at once, with a hash cost calibrated so that the burst, if
serialized, would outlast the busy timeout; every request has a time limit.
"""
from __future__ import annotations

import http.client
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher
from werkzeug.serving import make_server

from forum import create_app
from forum.database import BUSY_TIMEOUT_MS
from forum.extensions import db
from tests.conftest import _base_config
from tests.factories import PASSWORD, make_user

LOGINS = 32
MEMORY_KIB = 64
REQUEST_TIMEOUT_SECONDS = 60


def _time_cost_for(seconds: float) -> int:
    """The argon2 time cost (at 64 KiB) one hash of which takes about ``seconds`` here."""
    cost = 64
    while True:
        started = time.perf_counter()
        PasswordHasher(time_cost=cost, memory_cost=MEMORY_KIB, parallelism=1).hash("x")
        took = time.perf_counter() - started
        if took >= 0.02 or cost > 1_000_000:
            return max(1, int(cost * seconds / took))
        cost *= 4


@pytest.fixture
def served(tmp_path, sqlite_template):
    target = tmp_path / "forum.db"
    shutil.copy(sqlite_template, target)
    # Serialized, the burst would take twice the busy timeout.
    per_hash = 2 * BUSY_TIMEOUT_MS / 1000 / LOGINS
    app = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                      "PASSWORD_HASH_TIME_COST": _time_cost_for(per_hash),
                      "PASSWORD_HASH_MEMORY_KIB": MEMORY_KIB, "PASSWORD_HASH_PARALLELISM": 1})
    with app.app_context():
        users = [make_user().username for _ in range(4)]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, users
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


def _log_in(port: int, username: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request("POST", "/auth/login",
                           body=urlencode({"login": username, "password": PASSWORD}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_a_burst_of_log_ins_on_sqlite_all_succeed(served):
    port, users = served
    with ThreadPoolExecutor(max_workers=LOGINS) as pool:
        statuses = list(pool.map(lambda n: _log_in(port, users[n % len(users)]), range(LOGINS)))
    assert statuses == [302] * LOGINS, f"statuses: {sorted(statuses)}"
