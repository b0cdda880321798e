"""Fixtures: a fresh app per test, on SQLite and on PostgreSQL.

Every test that asks for ``app`` (or ``client``) runs twice: on a SQLite file
of its own and on PostgreSQL. The schema comes from the real migrations, run
once per session and backend (so the tests also prove the migrations): for
SQLite a migrated template file is copied per test; for PostgreSQL the tables
are emptied between tests. PostgreSQL is found through ``TEST_DATABASE_URL``
(``.ci/run`` exports it) or at the local default; without a reachable server
those runs are skipped with the reason.
"""
from __future__ import annotations

import os
import shutil

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
os.environ.setdefault("SEARCH_INDEXER", "inline")


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


def _share_postgres_engines() -> None:
    """One SQLAlchemy engine per PostgreSQL database for the whole test process.

    Each engine keeps its own cache of compiled statements, so an engine per
    test compiles every statement again (a fifth of a database test's CPU).
    Apps built for the same PostgreSQL URL and options therefore get the same
    engine; each test still gets its own app, session and emptied tables.
    SQLite keeps an engine per test: each test has its own database file.
    """
    from flask_sqlalchemy import SQLAlchemy
    make_engine = SQLAlchemy._make_engine
    engines: dict = {}

    def shared(self, bind_key, options, app):
        url = options.get("url")
        if not str(url).startswith("postgresql"):
            return make_engine(self, bind_key, options, app)
        key = repr(sorted((name, str(value)) for name, value in options.items()))
        if key not in engines:
            engines[key] = make_engine(self, bind_key, options, app)
        return engines[key]

    SQLAlchemy._make_engine = shared


_share_url_builders()
_share_compiled_templates()
_share_postgres_engines()


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
        "SEARCH_INDEXER": "inline",  # index right after each commit, so tests see writes at once
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        target = tmp_path / "forum.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    return request.getfixturevalue("postgres_database")


_migrated: set[str] = set()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": database_url})
    if database_url.startswith("postgresql"):
        with app.app_context():
            if database_url not in _migrated:
                upgrade()  # an empty PostgreSQL database, built by the same migrations
                _migrated.add(database_url)
            _empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
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
