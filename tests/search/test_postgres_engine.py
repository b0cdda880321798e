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
from tests.factories import PASSWORD, make_reply, make_thread, make_user
from tests.querycount import NOT_COUNTED


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


def test_a_search_and_its_papers_box_cost_two_statements_however_many_threads_match(app):
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
    # the terms analyzed (once for the page and its papers box) with the planner's estimate
    # of the matches (rank every match, or the newest: reads.EXACT_UP_TO), then the page
    # with the papers box
    assert counts == [(2, 3), (2, 15)]


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


# ---------------------------------------------------------------------------
# Past reads.EXACT_UP_TO matching documents: the newest matches ranked, an "about" count


def _common_word_forum(app, threads: int = 30) -> dict[int, str]:
    """``threads`` threads whose every post says "wombat", one (a big one) with many replies,
    written a day apart (thread n on day n, its replies after it); the planner's statistics
    taken. Returns thread id -> title."""
    from datetime import datetime, timedelta, timezone
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    made = {}
    with app.app_context():
        author = make_user()
        for n in range(threads):
            thread = make_thread(author, f"Wombat notes {n}", "A wombat opening.")
            made[thread.id] = thread.title
            for r in range(12 if n == 0 else 1):
                make_reply(thread, author, f"Another wombat, reply {r}.")
            db.session.execute(text(
                "UPDATE search_documents SET created = :day + (post_id IS NOT NULL)::int "
                "* interval '1 hour' WHERE thread_id = :id"),
                {"day": start + timedelta(days=n), "id": thread.id})
        db.session.commit()
        db.session.execute(text("ANALYZE search_documents"))
        db.session.commit()
    return made


def _all_pages(app, query: str, sort: str = "relevance") -> list:
    pages, page = [], 1
    while True:
        with app.test_request_context():
            found = search(query, sort=sort, page=page)
            pages.append((found.total, found.total_exact,
                          [r.group.thread_id for r in found.results], found.has_next))
        if not found.has_next:
            return pages
        page += 1


def test_past_the_cap_the_count_is_about_and_paging_still_reaches_every_thread_once(
        app, monkeypatch, subtests):
    from forum.search.postgres import reads
    made = _common_word_forum(app)
    monkeypatch.setattr(reads, "EXACT_UP_TO", 10)  # about 70 documents match
    for sort in ("relevance", "newest", "top"):  # one forum, read in every order...
        for recent in (25, 4):  # ...and window (4: less than a page of threads: looks further)
            with subtests.test(sort=sort, recent=recent):
                monkeypatch.setattr(reads, "RECENT_MATCHES", recent)
                reads._HISTOGRAMS.clear()
                _every_thread_once_past_the_cap(app, made, sort)


def _every_thread_once_past_the_cap(app, made: dict[int, str], sort: str) -> None:
    pages = _all_pages(app, "wombat", sort)
    total, exact, first, _ = pages[0]
    assert not exact and len(first) == 10  # the first page, from the newest matches only
    assert pages[-1][1] and pages[-1][0] == len(made)  # the last page counted every thread
    listed = [thread for page in pages for thread in page[2]]
    assert sorted(listed) == sorted(made)  # every matching thread, each once
    oldest = min(made)  # thread 0: its matches are the oldest, the big thread's included
    assert oldest not in first and oldest in listed
    with app.test_request_context():
        big = next(r.group for p in range(1, len(pages) + 1)
                   for r in search("wombat", sort=sort, page=p).results if r.group.thread_id == oldest)
    assert big.matches == 13 and len(big.snippets) <= 2  # all its matching documents


def test_past_the_cap_the_newest_first_order_is_exact(app, monkeypatch):
    from forum.search.postgres import reads
    made = _common_word_forum(app)
    with app.test_request_context():
        exact = [r.group.thread_id for p in (1, 2, 3) for r in
                 search("wombat", sort="newest", page=p).results]
    monkeypatch.setattr(reads, "EXACT_UP_TO", 10)
    monkeypatch.setattr(reads, "RECENT_MATCHES", 25)
    reads._HISTOGRAMS.clear()
    pages = _all_pages(app, "wombat", "newest")
    assert [thread for page in pages for thread in page[2]] == exact == sorted(made, reverse=True)


def test_the_page_says_about_when_the_count_is_an_estimate(app, client, monkeypatch):
    from forum.search.postgres import reads
    _common_word_forum(app)
    monkeypatch.setattr(reads, "EXACT_UP_TO", 10)
    monkeypatch.setattr(reads, "RECENT_MATCHES", 25)
    reads._HISTOGRAMS.clear()
    html = client.get("/search", query_string={"q": "wombat"}).get_data(as_text=True)
    assert "About " in html and "threads matched" in html
    monkeypatch.setattr(reads, "EXACT_UP_TO", 10_000)
    html = client.get("/search", query_string={"q": "wombat", "sort": "newest"}).get_data(as_text=True)
    assert "About " not in html and "30 threads matched" in html


def test_the_papers_box_from_the_page_statement_is_the_one_asked_alone(app):
    from tests.search.test_papers import LUTTINGER, MELTING, cite_and_refresh
    cite_and_refresh(app, body=f"Density waves and a Luttinger liquid: arXiv:{LUTTINGER}, {MELTING}",
                     title="Luttinger liquids and density waves")
    with app.test_request_context():
        parsed = parse("liquid OR waves")
        get_backend().search(parsed)  # answers the papers box too, in its statement
        statements = []
        listener = lambda *args: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            boxed = get_backend().search_papers(parsed, limit=3)
            first = get_backend().search_papers(parsed, limit=1)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert statements == []  # both from the page's statement
    with app.test_request_context():
        alone = get_backend().search_papers(parse("liquid OR waves"), limit=3)
    assert [s.key for s in boxed[0]] == [s.key for s in alone[0]] and len(alone[0]) == 2
    assert [s.html for s in boxed[0]] == [s.html for s in alone[0]] and not boxed[1]
    assert first[0] == boxed[0][:1] and first[1]


@pytest.mark.parametrize("query", ["ocelot", '"spotted ocelot"', "ocelot -margay", "tag:cats ocelot",
                                   "ocelot after:2020-01-01 before:2030-01-01", "ocelot in:replies",
                                   "ocel* OR margay", "tag:cats", "the tag:cats"])
def test_the_estimate_asked_with_the_terms_is_the_planners_own(app, query):
    from forum.search.postgres import reads
    from forum.search.postgres.tsquery import translate
    with app.app_context():
        thread = make_thread(make_user(), "Spotted ocelot", "An ocelot and a margay.")
        make_reply(thread, make_user(), "A spotted ocelot again.")
        db.session.execute(text("ANALYZE search_documents"))
        db.session.commit()
        connection = db.session.connection()
        q = translate(connection, parse(query))
        where, params = reads._where(q, q.kind == "paper")
        assert q.estimate is not None
        assert q.estimate == reads._estimate(connection, where, params)


def test_a_reply_post_costs_one_commit_and_a_fixed_number_of_statements(app, client):
    """The round trips of a reply (issue 13's target: p50 <= 50 ms with 4 writers): the
    member and their unread count, the thread, the reply and its submission token, the
    notifications in a savepoint, the thread's counters, the search documents (locks and
    outbox in one statement, the reply's row, its thread's tags and citations, one write),
    the page of the redirect; one commit."""
    with app.app_context():
        member = make_user()
        thread = make_thread(make_user(), "Noise scales", "Does gradient noise help?")
        make_reply(thread, make_user(), "A first reply.")
        thread_id, username = thread.id, member.username
    client.post("/auth/login", data={"login": username, "password": PASSWORD})
    statements, commits = [], []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(NOT_COUNTED):
            statements.append(" ".join(statement.split())[:60])

    def commit(conn):
        commits.append(conn)

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", commit)
    try:
        response = client.post(f"/t/{thread_id}/reply", data={
            "body": "Noise helps at small batch sizes.", "submission_token": "t" * 24})
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", commit)
    assert response.status_code == 302 and "#p" in response.headers["Location"]
    assert len(commits) == 1
    assert len(statements) == 14, "\n".join(statements)
    post_id = response.headers["Location"].rsplit("#p", 1)[1]
    assert keys(app, "batch") == {f"post:{post_id}"}  # committed with it
    with app.app_context():
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0


def test_a_reply_whose_notifications_fail_still_gets_its_document(app):
    from tests.notifications.test_publishing import _refuse_notifications
    with app.app_context():
        thread = make_thread(make_user(), "Kernel methods", "About kernels.")
        _refuse_notifications(db.session.connection(), True)
        db.session.commit()
        try:
            post = make_reply(thread, make_user(), "A ridge regression note.")
        finally:
            db.session.rollback()
            _refuse_notifications(db.session.connection(), False)
            db.session.commit()
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
    assert keys(app, "ridge") == {f"post:{post.id}"}


def test_the_pairs_migration_reanalyzes_existing_documents(app):
    """0023pp: documents written before it get their pairs, and replies and threads their
    words joined by dots or slashes split (from the texts kept beside them); papers, whose
    extra words are not kept, are queued for the indexer."""
    from flask_migrate import downgrade
    with app.app_context():
        thread_id = make_thread(make_user(), "Least squares", "We call torch.linalg.lstsq here.").id
        db.session.remove()  # a migration's ALTER TABLE waits for every open transaction
        downgrade(revision="0022")
        db.session.execute(text(  # as 0022's engine wrote it: no plain_words
            "UPDATE search_documents d SET tsv = setweight(to_tsvector('english', t.title), "
            "'A') || setweight(to_tsvector('english', t.body || ' ' || ''), 'D') "
            "FROM search_texts t WHERE t.key = d.key"))
        db.session.execute(text(
            "INSERT INTO search_documents (key, kind, paper_id, facets, created, score, tsv) "
            "VALUES ('paper:7', 'paper', 7, '{}', now(), 0, to_tsvector('english', 'x'))"))
        db.session.commit()
        found_before = db.session.scalar(text(
            "SELECT count(*) FROM search_documents WHERE tsv @@ plainto_tsquery('english', 'linalg')"))
        db.session.remove()
        upgrade()
        assert found_before == 0
        assert keys(app, "linalg") == {f"thread:{thread_id}"}
        assert keys(app, '"linalg lstsq here"') == {f"thread:{thread_id}"}
        assert db.session.scalar(text("SELECT pairs <> '' FROM search_documents WHERE key = :k"),
                                 {"k": f"thread:{thread_id}"})
        assert set(db.session.scalars(select(SearchOutbox.key))) == {"paper:7"}
