"""A rebuild on several processes writes the index one process writes: the same documents,
in the same order, with the same terms, postings, columns and stored fields."""
import shutil

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index

from forum.database import utcnow
from forum.extensions import db
from forum.search import documents, outbox
from forum.search.backend import get_backend
from forum.search.whoosh import backend as whoosh_backend
from forum.threads.models import Post
from tests.factories import bulk_replies, make_reply, make_thread, make_user
from tests.search.test_bulk import _assert_same_index


def _forum(app) -> int:
    """Threads and replies (some deleted), the rows a rebuild reads; returns their count."""
    with app.app_context():
        authors = [make_user(), make_user()]
        threads = [make_thread(authors[n % 2], title=f"Thread {n} on kernel methods",
                               body=f"Opening post {n}: *gradient* descent and naïve Bayes")
                   for n in range(7)]
        ids = []
        for n, thread in enumerate(threads):
            ids += bulk_replies(thread, authors, 9 + 3 * n,
                                body="Reply {n} on the gradient of a Gaussian kernel, self-attention")
        make_reply(threads[0], authors[0], "A late reply about straße and İstanbul")
        db.session.execute(update(Post).where(Post.id.in_(ids[5::11])).values(deleted_at=utcnow()))
        db.session.commit()
        with outbox._reader() as session:
            return documents.count_all(session)


def _reader(app, copy_to):
    """The live generation's reader, on a copy (the next rebuild removes the folder)."""
    index = get_backend().index
    shutil.copytree(index.base / index._read_pointer(), copy_to)
    return whoosh_index.open_dir(str(copy_to)).reader()


def test_documents_parts_cut_the_rows_in_order_without_gaps(app):
    total = _forum(app)
    with app.app_context():
        reading = db.engine.execution_options(forum_read_only=True)
        factory = lambda: Session(reading)  # noqa: E731
        whole = [doc["key"] for doc in documents.iter_all(factory)]
        for count in (1, 2, 3, 5):
            with factory() as session:
                runs = documents.parts(session, count)
            assert len(runs) == count and runs[0][0] == (0, 0) and runs[-1][1] is None
            cut = [[doc["key"] for doc in documents.iter_all(factory, *run)] for run in runs]
            assert sum(cut, []) == whole
            if count > 1:  # threads, then replies: about total / count rows each
                assert all(len(part) > 0 for part in cut), [len(part) for part in cut]
    assert total > 40


@pytest.mark.parametrize("procs", [2, 3])
def test_a_rebuild_on_several_processes_writes_what_one_process_writes(app, monkeypatch, procs,
                                                                      tmp_path):
    _forum(app)
    with app.app_context():
        outbox.rebuild(procs=1)  # and the outbox drained: the next rebuilds are alone
        assert outbox.pending_count() == 0
        one = outbox.rebuild(procs=1)
        theirs = _reader(app, tmp_path / "one")
        monkeypatch.setattr(whoosh_backend, "PART_MIN_ROWS", 10)
        assert outbox.rebuild(procs=procs) == one
        ours = _reader(app, tmp_path / "several")
        assert len(ours.leaf_readers()) == procs  # a segment per process
        _assert_same_documents(theirs, ours, one)
        folder = get_backend().index.base / get_backend().index._read_pointer()
        assert not list(folder.glob("part-*"))  # the parts' segments moved, their folders gone


def _assert_same_documents(theirs, ours, count):
    """The same index, segments aside: each term's postings (by document number across
    segments), statistics, lengths, columns and stored fields. The ``spelling`` field
    gives each word once per chunk of documents, and each process starts its own chunks:
    the same words, not always from the same documents."""
    _assert_same_index(theirs, ours, count, term_statistics=False, skip_fields=("spelling",))
