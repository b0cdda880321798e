"""The PostgreSQL engine's own promises: documents written in the changing transaction,
rebuilds beside the live tables, the rebuild lock, the owed-rebuild state, the setting's
refusal on SQLite, and a fixed number of statements per search."""
from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, func, select, text

from forum import create_app
from forum.extensions import db
from forum.search import outbox
from forum.search.backend import (RebuildRunning, SearchBackendRefused, SearchUnavailable, State,
                                  get_backend)
from forum.search.models import SearchOutbox
from forum.search.postgres import rebuild as rebuilding
from forum.search.postgres.models import SearchDocument, SearchText
from forum.search.postgres.writes import REBUILD_LOCK
from forum.search.query import parse
from forum.search.services import search
from tests.conftest import _base_config, _empty_tables, _migrated
from tests.factories import make_reply, make_thread, make_user


@pytest.fixture
def app(postgres_database, tmp_path):
    app = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": postgres_database,
                      "SEARCH_BACKEND": "postgres"})
    with app.app_context():
        if postgres_database not in _migrated:
            upgrade()
            _migrated.add(postgres_database)
        _empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def keys(app, query: str) -> set[str]:
    with app.test_request_context():
        return {k for r in search(query).results for k in r.group.keys}


def test_postgres_engine_refuses_sqlite_in_one_line(tmp_path):
    with pytest.raises(SearchBackendRefused) as refused:
        create_app({**_base_config(tmp_path), "SEARCH_BACKEND": "postgres",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'forum.db'}"})
    assert "\n" not in str(refused.value) and "PostgreSQL" in str(refused.value)


def test_documents_commit_with_the_change_and_leave_no_outbox_row(app):
    with app.app_context():
        thread = make_thread(make_user(), "Kernel methods", "About **kernels**.")
        post = make_reply(thread, make_user(), "A kernel ridge regression note.")
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
        assert set(db.session.scalars(select(SearchDocument.key))) == {
            f"thread:{thread.id}", f"post:{post.id}"}
        assert db.session.get(SearchText, f"post:{post.id}").body.startswith("A kernel ridge")
    assert keys(app, "ridge") == {f"post:{post.id}"}


def test_a_rolled_back_change_leaves_no_document(app):
    with app.app_context():
        thread = make_thread(make_user(), "Kernel methods", "About kernels.")
    with app.app_context():
        from forum.threads.models import Thread
        db.session.get(Thread, thread.id).title = "Kernel tricks"
        db.session.flush()
        db.session.rollback()
    assert keys(app, "tricks") == set() and keys(app, "methods") == {f"thread:{thread.id}"}


def test_rebuild_recreates_everything_and_reindex_command_reports(app):
    with app.app_context():
        thread = make_thread(make_user(), "Capybara habitats", "Field notes.")
        make_reply(thread, make_user(), "A capybara by the river.")
        db.session.execute(text("DELETE FROM search_documents; DELETE FROM search_texts; "
                                "INSERT INTO search_state (id, needs_rebuild) VALUES (1, true)"))
        db.session.commit()
        assert get_backend().status().state is State.MISSING
    with app.test_request_context(), pytest.raises(SearchUnavailable):
        get_backend().search(parse("capybara"))
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 documents" in result.output
    with app.app_context():
        assert get_backend().status().state is State.READY
        assert db.session.scalar(select(func.count()).select_from(SearchDocument)) == 2
    assert len(keys(app, "capybara")) == 2


def test_a_second_rebuild_is_refused_while_one_runs(app):
    with app.app_context():
        holder = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with holder.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": rebuilding.RUNNING_LOCK})
            with pytest.raises(RebuildRunning):
                get_backend().rebuild()
            result = app.test_cli_runner().invoke(args=["search", "reindex"])
            assert result.exit_code != 0 and "rebuild" in result.output.lower()
        holder.dispose()


def test_changes_during_a_rebuild_are_kept_and_applied_to_the_new_tables(app):
    with app.app_context():
        thread = make_thread(make_user(), "Axolotl care", "Opening post.")
        holder = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with holder.connect() as connection:  # the locks a running rebuild holds
            for lock in (rebuilding.RUNNING_LOCK, REBUILD_LOCK):
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock})
            post = make_reply(thread, make_user(), "Axolotl gills regrow.")
            assert outbox.pending_count() >= 1  # kept for the rebuild's swap
            connection.execute(text("SELECT pg_advisory_unlock_all()"))
        holder.dispose()
    assert keys(app, "gills") == {f"post:{post.id}"}  # the live table has it already
    with app.app_context():
        get_backend().rebuild()
        assert outbox.pending_count() == 0
    assert keys(app, "gills") == {f"post:{post.id}"}


def test_a_search_costs_four_statements_however_many_threads_match(app):
    with app.app_context():
        author = make_user()
        for n in range(3):  # enough results that did-you-mean is not asked either way
            make_thread(author, f"Ocelot {n}", "Ocelot.")
    counts = []
    for extra in (0, 12):
        with app.app_context():
            for n in range(extra):
                make_thread(author, f"More ocelot {n}", "Another ocelot.")
        with app.test_request_context():
            statements = []
            listener = lambda *args: statements.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                parsed = parse("ocelot")
                page = get_backend().search(parsed)
                get_backend().search_papers(parsed)
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            counts.append((len(statements), page.total))
    # the terms analyzed (once for the page and its papers box), the planner's estimate of
    # the matches (rank every match, or the newest: reads.EXACT_UP_TO), the page, the papers
    assert counts == [(4, 3), (4, 15)]


def test_concurrent_writers_of_one_thread_all_get_their_documents(app):
    import threading

    from forum.accounts.models import User
    from forum.threads import services as threads
    from forum.threads.models import Thread
    with app.app_context():
        thread = make_thread(make_user(), "Busy thread", "Opening post.")
        writers = [make_user() for _ in range(4)]
    errors: list[BaseException] = []

    def write(writer, number):
        try:
            with app.app_context():
                for n in range(5):
                    threads.reply(db.session.get(Thread, thread.id), db.session.get(User, writer.id),
                                  f"Concurrent okapi note {number}-{n}.")
                db.session.remove()
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    workers = [threading.Thread(target=write, args=(w, i)) for i, w in enumerate(writers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors and not any(worker.is_alive() for worker in workers)
    assert len(keys(app, "okapi")) == 20
    with app.app_context():
        assert outbox.pending_count() == 0
