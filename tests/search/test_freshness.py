"""The index follows every write: a reply, an edit, a delete, at once; the outbox keeps failures."""
import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.search.backend import get_backend
from forum.search.models import SearchOutbox
from forum.search.services import search
from forum.search.whoosh.wquery import paired_words
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user

pytestmark = pytest.mark.index_at_commit  # what each write does to the index, as it happens


def _keys(app, text):
    with app.test_request_context():
        outcome = search(text)
        return {k for r in outcome.results for k in r.group.keys}


def test_new_reply_is_findable_when_the_request_returns(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Kernel methods revisited")
    login(author)
    client.post(f"/t/{thread.id}/reply", data={"body": "Gaussian processes with a zebraic kernel"})
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
    assert _keys(app, "zebraic") == {f"post:{post.id}"}
    page = client.get("/search?q=zebraic").get_data(as_text=True)
    assert "Kernel methods revisited" in page and ">zebraic</mark>" in page


def test_edit_replaces_old_text_and_delete_vanishes(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Optimizers compared")
        post = make_reply(thread, author, "Adam with quokka warmup")
    assert _keys(app, "quokka") == {f"post:{post.id}"}
    login(author)
    client.post(f"/p/{post.id}/edit", data={"body": "Adam with wombat warmup"})
    assert _keys(app, "quokka") == set()
    assert _keys(app, "wombat") == {f"post:{post.id}"}
    client.post(f"/p/{post.id}/delete", data={})
    assert _keys(app, "wombat") == set()


def test_thread_edit_and_delete(app):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Contrastive pretraining", body="About SimCLR.")
        make_reply(thread, author, "A reply about SimCLR too.")
    assert len(_keys(app, "simclr")) == 2
    with app.app_context():
        threads.edit_thread(db.session.get(Thread, thread.id), "Contrastive learning", "About BYOL.")
    assert _keys(app, "byol") == {f"thread:{thread.id}"}
    with app.app_context():
        threads.delete_thread(db.session.get(Thread, thread.id))
    assert _keys(app, "byol") == set() and _keys(app, "simclr") == set()


def test_locked_index_keeps_rows_and_sync_applies_them(app, runner):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Locked index")
        index = get_backend().index
        held = index.writer()  # another process's writer, as under gunicorn
        index.writer_timeout = 0.1
        try:
            make_reply(thread, author, "Platypus regularization")
        finally:
            held.cancel()
        assert db.session.scalar(select(func.count(SearchOutbox.id))) >= 1
    assert _keys(app, "platypus") == set()
    result = runner.invoke(args=["search", "sync"])
    assert "0 still pending" in result.output, result.output
    assert len(_keys(app, "platypus")) == 1


def test_rolled_back_change_leaves_no_outbox_row(app):
    with app.app_context():
        author = make_user()
        db.session.add(Thread(author_id=author.id, title="Never saved", body="x", body_html="x"))
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0


def test_reindex_rebuilds_into_a_fresh_folder(app, runner):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Diffusion models for molecules")
        make_reply(thread, author, "Equivariant denoisers")
        old = get_backend().index._read_pointer()
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert "Indexed 2 documents" in result.output, result.output
    with app.app_context():
        assert get_backend().index._read_pointer() != old
    assert len(_keys(app, "equivariant")) == 1


def test_missing_index_is_rebuilt_not_500(app, client, tmp_path):
    import shutil
    with app.app_context():
        author = make_user()
        make_thread(author, title="Bayesian optimization budgets")
        base = get_backend().index.base
        get_backend().index.close()
    shutil.rmtree(base)
    response = client.get("/search?q=bayesian")
    assert response.status_code == 200
    assert "Bayesian optimization budgets" in response.get_data(as_text=True)


def test_corrupt_index_is_rebuilt_not_500(app, client):
    with app.app_context():
        author = make_user()
        make_thread(author, title="Sparse autoencoders")
        index = get_backend().index
        folder = index.base / index._read_pointer()
        index.close()
    for toc in folder.glob("*.toc"):
        toc.write_bytes(b"garbage")
    response = client.get("/search?q=autoencoders")
    assert response.status_code == 200
    assert "Sparse autoencoders" in response.get_data(as_text=True)


def test_reindex_pairs_only_common_words_and_still_finds_every_phrase(app, runner, monkeypatch):
    """A rebuild pairs the words of at least PAIRED_MIN_DOCS documents; a phrase with a rarer
    word is found by its words and checked on the text, and so are replies written after."""
    monkeypatch.setattr("forum.search.whoosh.index.PAIRED_MIN_DOCS", 3)
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Neural network pruning", body="Pruning a neural network.")
        for body in ("A neural network, sparse pruning.", "Lottery tickets in a neural network.",
                     "Sparse lottery network pruning, neural."):
            make_reply(thread, author, body)
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert "Indexed 4 documents" in result.output, result.output
    with app.app_context():
        reader = get_backend().index.searcher().reader()
        assert paired_words(reader.schema) == {"neural", "network", "prune"}
        assert set(reader.field_terms("shingles")) == {"neural network", "network prune",
                                                        "prune neural", "prune prune"}
        make_reply(db.session.get(Thread, thread.id), author, "Lottery tickets win again.")
    assert len(_keys(app, '"neural network"')) == 3  # the thread and two replies
    assert len(_keys(app, '"lottery tickets"')) == 2  # not paired: checked on the text
    assert _keys(app, '"tickets lottery"') == set()
    assert len(_keys(app, '"network pruning"')) == 2  # the thread and the last reply
    assert len(_keys(app, '"neural network sparse"')) == 1


def test_reindex_gives_spelling_words_once_a_chunk_and_corrections_still_work(app, runner,
                                                                              monkeypatch):
    monkeypatch.setattr("forum.search.whoosh.index.SPELLING_CHUNK", 2)
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Gaussian kernels", body="Kernel choice for a GP.")
        for body in ("Gaussian kernel again.", "Gaussian kernels everywhere.",
                     "A Gaussian kennel?", "Gaussians and kernels."):
            make_reply(thread, author, body)
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert "Indexed 5 documents" in result.output, result.output
    with app.app_context():
        index = get_backend().index
        reader = index.searcher().reader()
        assert reader.doc_frequency("spelling", "gaussian") == 2  # once in 1-2, once in 3-4
        assert reader.doc_frequency("spelling", "gaussians") == 1  # the fifth
        assert reader.doc_frequency("spelling", "kennel") == 1
        assert index.suggest(["gausian", "kernal"]) == {"gausian": "gaussian", "kernal": "kernel"}
    assert len(_keys(app, "gaussi*")) == 5  # "gaussians" is found from the unstemmed words
