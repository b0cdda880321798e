"""Fixtures: a fresh app per test, on SQLite and on PostgreSQL.

Every test that asks for ``app`` (or ``client``) runs twice: on a SQLite file
of its own and on PostgreSQL. The schema comes from the real migrations, run
once per session and backend (so the tests also prove the migrations): for
SQLite a migrated template file is copied over the process's database file
before each test; for PostgreSQL the tables are emptied between tests. PostgreSQL is found through ``TEST_DATABASE_URL``
(``.ci/run`` exports it) or at the local default; without a reachable server
those runs are skipped with the reason.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text

from forum import create_app
from forum.accounts.hashing import TEST_GRADE
from forum.extensions import db

pytest_plugins = ["tests.mailserver"]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Apps that a test builds with settings of its own index inline as well: a background indexer
# thread outliving its test would query the database while the next test empties it (on
# PostgreSQL, TRUNCATE then deadlocks). Tests of the background indexer ask for it explicitly.
os.environ.setdefault("SEARCH_INDEXER", "on_search")


# Modules whose tests each run for seconds (servers, subprocesses, a browser, fuzzing). They
# are collected first so that, under `pytest -n 2`, they start while the other worker still has
# plenty to do: left to the end, one of them keeps a worker busy while the other sits idle.
SLOW_FIRST = ("tests/search/test_processes.py", "tests/search/test_two_hosts.py",
              "tests/search/test_gunicorn.py", "tests/api/test_openapi.py",
              "tests/test_cli_errors.py", "tests/test_browser.py",
              "tests/search/test_postgres_engine.py",
              "tests/search/test_indexer.py")


def pytest_collection_modifyitems(config, items):
    """Every worker collects the same order (xdist requires it); only the order changes."""
    root = Path(str(config.rootpath))
    slow = {str(root / name) for name in SLOW_FIRST}
    items.sort(key=lambda item: str(item.path) not in slow)  # stable: the rest keep their order


def _share_url_builders() -> None:
    """Compile each route's URL builder once per test process, not once per app.

    The suite builds a new app for nearly every test, and werkzeug compiles two
    small Python functions per route from an AST as each app registers its
    ~90 routes: 90% of ``create_app``'s time. The generated function depends
    only on the rule's parsed parts and defaults (the rule itself is its first
    argument), so apps can share it; this changes nothing a test can observe.
    """
    from werkzeug.routing.rules import Rule
    compile_builder = Rule._compile_builder
    compiled: dict = {}

    def shared(self, append_unknown=True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        builder = compiled.get(key)
        if builder is None:
            builder = compiled[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = shared


class _SharedBytecodeCache(BytecodeCache):
    """Jinja's compiled templates, kept in memory for every app of the test process.

    Each app has its own Jinja environment, which would parse and compile every
    template it draws again; Jinja's own bytecode cache (keyed by template name
    and source checksum) lets the next app load the code instead.
    """

    def __init__(self):
        self.codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.codes:
            bucket.bytecode_from_string(self.codes[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.codes[bucket.key] = bucket.bytecode_to_string()


def _share_compiled_templates() -> None:
    cache = _SharedBytecodeCache()
    create_environment = Flask.create_jinja_environment

    def with_shared_cache(self):
        environment = create_environment(self)
        environment.bytecode_cache = cache
        return environment

    Flask.create_jinja_environment = with_shared_cache


# The SQLite file that the ``database_url`` fixture lays afresh for each test of this process.
_SHARED_SQLITE_URLS: set[str] = set()
_SHARED_ENGINES: dict = {}  # options -> engine


def _share_engines() -> None:
    """One SQLAlchemy engine per database for the whole test process.

    Each engine keeps its own cache of compiled statements, so an engine per
    test compiles every statement again (a fifth of a database test's CPU).
    Apps built for the same PostgreSQL database, or for this process's SQLite
    file (``_fresh_sqlite`` lays a new copy of the template there for each
    test, after the last test's connections closed), with the same options
    therefore get the same engine; each test still gets its own app, session
    and empty database. Other SQLite files a test makes get engines of their own.
    """
    from flask_sqlalchemy import SQLAlchemy
    make_engine = SQLAlchemy._make_engine

    def shared(self, bind_key, options, app):
        url = str(options.get("url"))
        if not (url.startswith("postgresql") or url in _SHARED_SQLITE_URLS):
            return make_engine(self, bind_key, options, app)
        key = repr(sorted((name, str(value)) for name, value in options.items()))
        if key not in _SHARED_ENGINES:
            _SHARED_ENGINES[key] = make_engine(self, bind_key, options, app)
        return _SHARED_ENGINES[key]

    SQLAlchemy._make_engine = shared


_share_url_builders()
_share_compiled_templates()
_share_engines()


def _postgres_url() -> str:
    from forum.config import normalize_database_url
    url = normalize_database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL))
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1"... under `pytest -n N`
    return _database_of_worker(url, worker) if worker else url


def _database_of_worker(url: str, worker: str) -> str:
    """Each pytest-xdist worker gets its own PostgreSQL database beside the one given (the
    suite drops the schema of the database it uses, so two workers cannot share one)."""
    from sqlalchemy.engine import make_url
    given = make_url(url)
    name = f"{given.database}_{worker}"
    try:
        engine = create_engine(given, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                {"name": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception:  # no server: the fixture below skips with the reason
        return url
    return given.set(database=name).render_as_string(hide_password=False)


def _base_config(tmp_path) -> dict:
    return {
        "TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
        "SEARCH_INDEX_DIR": str(tmp_path / "index"), "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": str(tmp_path / "mail"), "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None, **TEST_GRADE,
        # A test's writes are indexed when it first searches (as ``inline`` would have indexed
        # them at each commit): most tests never search, and a Whoosh commit per write cost
        # them more than anything else they did. Tests of indexing itself ask for ``inline``.
        "SEARCH_INDEXER": "on_search",
    }


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-template")
    url = f"sqlite:///{folder / 'template.db'}"
    app = create_app({**_base_config(folder), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return folder / "template.db"


@pytest.fixture(scope="session")
def postgres_database():
    url = _postgres_url()
    try:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            # Tests never need a commit to survive a crash of the server: not waiting for the
            # WAL on disk makes each commit about ten times cheaper (for connections made from now).
            conn.execute(text(f'ALTER DATABASE "{engine.url.database}" SET synchronous_commit TO off'))
        engine.dispose()
    except Exception as error:  # any reason the server cannot be used
        pytest.skip(f"PostgreSQL not reachable at {url} ({type(error).__name__}); "
                    "set TEST_DATABASE_URL to run the PostgreSQL half of the suite")
    return url


@pytest.fixture(scope="session")
def sqlite_file(tmp_path_factory) -> Path:
    """This test process's SQLite database file, laid afresh for each test."""
    target = tmp_path_factory.mktemp("sqlite") / "forum.db"
    _SHARED_SQLITE_URLS.add(f"sqlite:///{target}")
    return target


def _fresh_sqlite(template: Path, target: Path) -> None:
    """A new file (a new inode) in place of the last test's, and none of its WAL: a
    connection the last test left open keeps the old file and cannot touch this one; the
    shared engines' pools are emptied first, so none hands out a connection to the old file."""
    for engine in _SHARED_ENGINES.values():
        if engine.dialect.name == "sqlite":
            engine.dispose()
    for leftover in ("-wal", "-shm", "-journal"):
        Path(f"{target}{leftover}").unlink(missing_ok=True)
    staging = target.with_name(target.name + ".new")
    shutil.copy(template, staging)
    os.replace(staging, target)


def fresh_sqlite_url(request) -> str:
    """This process's SQLite file, laid afresh from the migrated template, for this test."""
    target = request.getfixturevalue("sqlite_file")
    _fresh_sqlite(request.getfixturevalue("sqlite_template"), target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    if request.param == "sqlite":
        return fresh_sqlite_url(request)
    return request.getfixturevalue("postgres_database")


@pytest.fixture(scope="session")
def empty_search_index(tmp_path_factory, sqlite_template) -> Path:
    """The Whoosh index of an empty forum, built once: each test's app starts with a copy.

    Otherwise a test's first write finds no index and rebuilds one from the database (the
    designed path, which tests/search tests for itself): a tenth of a second per test."""
    from forum.search import outbox
    from forum.search.backend import get_backend
    folder = tmp_path_factory.mktemp("search-index")
    shutil.copy(sqlite_template, folder / "forum.db")
    app = create_app({**_base_config(folder), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'forum.db'}"})
    with app.app_context():
        outbox.rebuild()
        get_backend(app).close()
        db.engine.dispose()
    return folder / "index"


def copy_empty_search_index(request, app: Flask) -> None:
    """Give a Whoosh app the empty forum's index (see ``empty_search_index``), unless the
    test is marked ``no_search_index``."""
    if (app.config.get("SEARCH_BACKEND", "whoosh") == "whoosh"
            and request.node.get_closest_marker("no_search_index") is None):
        shutil.copytree(request.getfixturevalue("empty_search_index"), app.config["SEARCH_INDEX_DIR"])


_migrated: set[str] = set()


@pytest.fixture
def app(request, database_url, tmp_path):
    app = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": database_url})
    if request.node.get_closest_marker("index_at_commit"):
        app.config["SEARCH_INDEXER"] = "inline"
    copy_empty_search_index(request, app)
    if database_url.startswith("postgresql"):
        with app.app_context():
            if database_url not in _migrated:
                upgrade()  # an empty PostgreSQL database, built by the same migrations
                _migrated.add(database_url)
            _empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        if db.engine not in _SHARED_ENGINES.values():  # shared ones keep their connections
            db.engine.dispose()


def _empty_tables() -> None:
    """Delete every row (children first) and restart every sequence at 1.

    Not TRUNCATE: it gives each of the thirty tables a new file and waits for
    them on disk, about half a second per test whatever the tables hold, where
    DELETE of the few rows a test wrote costs milliseconds.
    """
    deletes = "; ".join(f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.exec_driver_sql(deletes)
        conn.exec_driver_sql("SELECT setval(c.oid, 1, false) FROM pg_class c "
                             "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    def _login(user, password="correct horse battery", **extra):
        return client.post("/auth/login", data={"login": user.username, "password": password, **extra})
    return _login
