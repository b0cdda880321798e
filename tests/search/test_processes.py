"""Two worker processes posting at once (as under gunicorn): no crash on Whoosh's lock, no lost update."""
import multiprocessing
import shutil
import sys

from forum import create_app
from forum.search import outbox
from forum.search.backend import get_backend
from forum.search.services import search
from tests.conftest import _base_config
from tests.factories import make_thread, make_user

POSTS_PER_PROCESS = 50


def _post_replies(config: dict, thread_id: int, author_id: int, worker: int, shim: list) -> None:
    sys.path[:0] = shim  # the same import path as the test process
    from forum.accounts.models import User
    from forum.extensions import db
    from forum.threads import services
    from forum.threads.models import Thread
    app = create_app(config)
    with app.app_context():
        for n in range(POSTS_PER_PROCESS):
            thread = db.session.get(Thread, thread_id)
            author = db.session.get(User, author_id)
            services.reply(thread, author, f"Worker{worker} note{worker}x{n} on lockfree indexing")
            db.session.remove()


def test_two_processes_fifty_posts_each_all_found(sqlite_template, tmp_path):
    target = tmp_path / "forum.db"
    shutil.copy(sqlite_template, target)
    config = {**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
              "SEARCH_INDEXER": "inline"}  # each process applies its own writes
    app = create_app(config)
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Concurrent indexing")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_post_replies,
                               args=(config, thread.id, author.id, w, list(sys.path)))
               for w in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with app.app_context():
        assert outbox.pending_count() == 0  # every drain got the lock in time: nothing left over
        index = get_backend().index
        assert index.doc_count() == 1 + 2 * POSTS_PER_PROCESS
    with app.test_request_context():
        for worker in (1, 2):
            for n in range(POSTS_PER_PROCESS):
                outcome = search(f"note{worker}x{n}")
                assert len(outcome.results) == 1, (worker, n)
                assert len(outcome.results[0].group.keys) == 1
