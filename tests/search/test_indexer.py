"""The background indexer: requests commit and return, the outbox is drained beside them,
and a rebuild never runs in a request (forum/search/indexer.py, forum/search/whoosh/backend.py)."""
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select
from whoosh import fields, index as whoosh_index

from forum.extensions import db
from forum.search import indexer, outbox
from forum.search.backend import State, get_backend
from forum.search.models import SearchOutbox
from tests.factories import make_reply, make_thread, make_user

FRESH_WITHIN_S = 2.0  # the promise: a post is searchable this soon after its commit
REBUILD_WITHIN_S = 30.0  # a background rebuild of a few posts, on a busy shared machine


@pytest.fixture
def background(app):
    """The production mode: a daemon thread per process drains the outbox."""
    app.config["SEARCH_INDEXER"] = "background"
    yield app
    indexer.for_app(app).stop()


def _found(client, word: str) -> str:
    response = client.get("/search", query_string={"q": word})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _hold_lock(folder, name: str, mode: str = "ex"):
    """Another process holding one of the index's file locks until it is killed."""
    code = ("import fcntl, os, sys, time\n"
            f"fd = os.open({str(folder / f'.{name}.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
            f"fcntl.flock(fd, fcntl.LOCK_{mode.upper()})\n"
            "print('held', flush=True)\ntime.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_reply_is_found_within_two_seconds_without_indexing_in_the_request(background, client, login):
    with background.app_context():
        author = make_user()
        thread = make_thread(author, title="Kernel methods revisited")
        folder = get_backend().base
    assert indexer.wait_until_indexed(background)
    login(author)
    holder = _hold_lock(folder, "drain")  # another process is applying the outbox
    try:
        started = time.monotonic()
        response = client.post(f"/t/{thread.id}/reply", data={"body": "A quixotic kernel trick"})
        took = time.monotonic() - started
        assert response.status_code in (302, 303)
        assert took < 1.0  # the request did not wait for the writer lock (10 s timeout)
        with background.app_context():
            assert outbox.pending_count() >= 1  # left to the background indexer
    finally:
        holder.kill()
        holder.wait()
    assert indexer.wait_until_indexed(background, timeout=FRESH_WITHIN_S)
    assert "quixotic" in _found(client, "quixotic").lower()


def test_missing_index_answers_503_then_is_rebuilt_in_the_background(background, client):
    with background.app_context():
        make_thread(make_user(), title="Bayesian optimization budgets")
    assert indexer.wait_until_indexed(background)
    with background.app_context():
        backend = get_backend()
        backend.close()
        shutil.rmtree(backend.base)
    response = client.get("/search", query_string={"q": "bayesian"})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "Search is being rebuilt" in response.get_data(as_text=True)
    assert indexer.wait_until_indexed(background, timeout=REBUILD_WITHIN_S)
    assert "Bayesian optimization budgets" in _found(client, "bayesian")


def test_an_older_schema_is_rebuilt_once_in_the_background(background, client):
    with background.app_context():
        make_thread(make_user(), title="Sparse autoencoders")
    assert indexer.wait_until_indexed(background)
    with background.app_context():
        backend = get_backend()
        backend.close()
        old = backend.base / "gen-old"  # what a deploy over the previous release finds
        old.mkdir()
        whoosh_index.create_in(str(old), fields.Schema(key=fields.ID(unique=True, stored=True)))
        (backend.base / "current").write_text("gen-old")
        assert backend.status().state is State.MISSING
    assert client.get("/search", query_string={"q": "sparse"}).status_code == 503
    assert indexer.wait_until_indexed(background, timeout=REBUILD_WITHIN_S)
    assert "Sparse autoencoders" in _found(client, "sparse")


def test_old_generation_keeps_serving_while_a_rebuild_runs(background, client):
    with background.app_context():
        author = make_user()
        thread = make_thread(author, title="Graph transformers")
        folder = get_backend().base
    assert indexer.wait_until_indexed(background)
    rebuilding = _hold_lock(folder, "rebuild")
    generation = _hold_lock(folder, "generation")  # as a rebuild holds both
    try:
        assert "Graph transformers" in _found(client, "graph")
        with background.app_context():
            make_reply(thread, author, "Positional encodings via laplacian eigenvectors")
        deadline = time.monotonic() + FRESH_WITHIN_S
        while "laplacian" not in _found(client, "laplacian").lower():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with background.app_context():  # applied to the old generation, kept for the new one
            assert outbox.pending_count() >= 1
    finally:
        for holder in (generation, rebuilding):
            holder.kill()
            holder.wait()
    assert indexer.wait_until_indexed(background, timeout=REBUILD_WITHIN_S)  # the kept rows drain once free


@pytest.mark.index_at_commit
def test_a_killed_reindex_leaves_nothing_stale(app, runner):
    with app.app_context():
        author = make_user()
        make_thread(author, title="Contrastive pretraining")
        folder = get_backend().base
    holder = _hold_lock(folder, "rebuild")
    try:
        result = runner.invoke(args=["search", "reindex", "--procs", "1"])
        assert result.exit_code != 0
        assert "another rebuild" in result.output
        with app.app_context():
            assert get_backend().is_rebuilding()
    finally:
        holder.kill()  # as `kill -9` on a reindex: its lock dies with it
        holder.wait()
    with app.app_context():
        assert not get_backend().is_rebuilding()
        make_reply(make_thread(author, title="After the crash"), author, "Replies still drain")
        assert outbox.pending_count() == 0  # nothing keeps rows "for a rebuild" any more
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output


def test_drains_from_many_commits_apply_every_row_once(background, client):
    with background.app_context():
        author = make_user()
        thread = make_thread(author, title="Batching")
        for n in range(20):
            make_reply(thread, author, f"Reply marker{n}")
    assert indexer.wait_until_indexed(background, timeout=5)
    with background.app_context():
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
        assert get_backend().doc_count() == 21


def test_unknown_engine_or_postgres_on_sqlite_refuses_to_start(tmp_path):
    from forum import create_app
    from forum.search.backend import SearchBackendRefused
    from tests.conftest import _base_config
    base = {**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'f.db'}"}
    with pytest.raises(SearchBackendRefused, match="not one of whoosh, postgres"):
        create_app({**base, "SEARCH_BACKEND": "elastic"})
    with pytest.raises(SearchBackendRefused, match="needs a PostgreSQL DATABASE_URL"):
        create_app({**base, "SEARCH_BACKEND": "postgres"})
    assert issubclass(SearchBackendRefused, SystemExit)


def test_the_whoosh_patches_are_not_an_import_side_effect():
    code = ("import forum.search.whoosh.index, forum.search.whoosh.backend\n"
            "from whoosh.codec.whoosh3 import W3PerDocReader\n"
            "print(W3PerDocReader.doc_field_length.__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.getcwd(), check=True).stdout.strip()
    assert out.startswith("whoosh")


def test_an_unwritable_index_folder_backs_off_and_keeps_the_rows(background, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    background.config["SEARCH_INDEX_DIR"] = str(blocker / "index")
    with background.app_context():
        make_thread(make_user(), title="Nowhere to index")
    time.sleep(2.0)
    worker = indexer.for_app(background)
    assert worker._thread is not None and worker._thread.is_alive()  # it did not die...
    assert 1 <= worker._failures <= 3  # ...nor spin: 0.5 s, 1 s, 2 s between attempts
    with background.app_context():
        assert outbox.pending_count() >= 1


@pytest.mark.no_search_index  # the first write's rebuild is the one that lingers
def test_a_rebuild_asked_for_while_one_finishes_is_not_lost(background, client, monkeypatch):
    """A search that finds the index unusable while the last rebuild's thread is still
    finishing (its closing drain, say) gets a rebuild: the thread looks again before ending."""
    real_rebuild = outbox.rebuild
    finishing = threading.Event()
    proceed = threading.Event()

    def rebuild_then_linger(*args, **kwargs):
        count = real_rebuild(*args, **kwargs)
        if not finishing.is_set():  # only the first rebuild lingers
            finishing.set()
            proceed.wait(REBUILD_WITHIN_S)
        return count

    monkeypatch.setattr(outbox, "rebuild", rebuild_then_linger)
    with background.app_context():
        make_thread(make_user(), title="Sparse autoencoders")
    assert finishing.wait(REBUILD_WITHIN_S)  # the first rebuild is done, its thread still alive
    with background.app_context():
        backend = get_backend()
        backend.close()
        old = backend.base / "gen-old"
        old.mkdir()
        whoosh_index.create_in(str(old), fields.Schema(key=fields.ID(unique=True, stored=True)))
        (backend.base / "current").write_text("gen-old")
    assert client.get("/search", query_string={"q": "sparse"}).status_code == 503
    proceed.set()
    assert indexer.wait_until_indexed(background, timeout=REBUILD_WITHIN_S)
    assert "Sparse autoencoders" in _found(client, "sparse")


def test_a_search_drains_even_when_its_own_session_holds_the_write_lock(app, caplog):
    """The suite's ``on_search`` mode applies waiting rows at the next search. That search
    may come in the same app context as the writes, whose session has begun again (on
    SQLite IMMEDIATE, with the write lock): the applied rows are deleted in that
    transaction, not on another connection that would wait out the busy timeout and fail."""
    from forum.search.services import search
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Lock holders")
        make_reply(thread, author, "A wombatine remark")
        assert author.id  # the session begins again here (refreshing after the commit)
        with app.test_request_context():
            assert [r.group.thread_id for r in search("wombatine").results] == [thread.id]
        db.session.commit()
        assert outbox.pending_count() == 0
    assert not [r for r in caplog.records if "drain failed" in r.getMessage()]


def test_a_reply_queues_its_own_document_not_its_threads(app):
    """The thread's reply count and last activity are in no document: bumping them queues
    nothing; a change to what a document holds (a vote's score) still does."""
    with app.app_context():
        thread = make_thread(make_user(), "Noise scales", "Does gradient noise help?")
        db.session.commit()  # the read transaction ends: the drain writes (SQLite: one writer)
        outbox.drain()
        post = make_reply(thread, make_user(), "At small batch sizes, yes.")
        queued = set(db.session.scalars(select(SearchOutbox.key)))
        assert queued == {f"post:{post.id}"}
        db.session.commit()
        outbox.drain()
        from forum.threads import votes
        from forum.threads.models import Thread
        votes.cast_vote(make_user(), db.session.get(Thread, thread.id), 1)
        assert set(db.session.scalars(select(SearchOutbox.key))) == {f"thread:{thread.id}"}
