"""A rebuild and the outbox read threads and replies as plain rows; the documents are the ones
``thread_document``/``post_document`` build from the ORM objects."""
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from forum.extensions import db
from forum.moderation import services as moderation
from forum.search import documents
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_user


def test_a_rebuild_reads_the_same_reply_documents_as_the_outbox(app):
    with app.app_context():
        member, moderator = make_user(username="ada"), make_user(role="moderator")
        newcomer = make_user(new_member=True)
        tagged = threads.start_thread(member, "Tagged", "Opening with arXiv:1706.03762.",
                                      tags=["rl", "nlp"])
        plain = threads.start_thread(member, "Plain", "Nothing cited.")
        doomed = threads.start_thread(member, "Doomed", "Going away.")
        replies = [make_reply(tagged, member, "See https://github.com/openai/gym and "
                                              "arXiv:2301.12345 **here**.", stance="evidence"),
                   make_reply(tagged, newcomer, "Held for approval."),
                   make_reply(plain, moderator, "A <b>plain</b> &amp; simple reply."),
                   make_reply(plain, member, "Hidden soon."),
                   make_reply(plain, member, "Deleted soon."),
                   make_reply(doomed, member, "In a deleted thread.")]
        moderation.set_hidden(moderator, db.session.get(Post, replies[3].id), True)
        threads.delete_post(db.session.get(Post, replies[4].id))
        threads.delete_thread(db.session.get(Thread, doomed.id))
        # ids read now, the read ended: the session below holds SQLite's lock
        opening_ids, reply_ids = [tagged.id, plain.id, doomed.id], [r.id for r in replies]
        db.session.rollback()
        with Session(db.engine) as session:
            read = [d for d in documents.iter_all(lambda: Session(db.engine)) if d["kind"] == "reply"]
            built = [d for _, d in documents.for_keys(
                session, [(f"post:{i}", "update") for i in reply_ids]) if d is not None]
            posts = session.scalars(select(Post).where(Post.id.in_(reply_ids))
                                    .order_by(Post.id).options(
                selectinload(Post.author), selectinload(Post.thread).selectinload(Thread.tags))).all()
            _, papers, repos = documents._extras_of(session, {p.thread_id for p in posts})
            orm = [documents.post_document(p, papers, repos) for p in posts]
            opened = [documents.thread_document(t, papers, repos) for t in session.scalars(
                select(Thread).where(Thread.id.in_(opening_ids))
                .order_by(Thread.id).options(selectinload(Thread.author), selectinload(Thread.tags)))]
            as_keys = documents.for_keys(session, [(f"thread:{i}", "update") for i in opening_ids])
    assert read == built == [d for d in orm if d is not None]
    assert [d for _, d in as_keys] == opened and opened[2] is None
    assert [d["post_id"] for d in read] == [reply_ids[0], reply_ids[2]]
    assert read[0]["tags"] == ["nlp", "rl"] and read[0]["papers"] and read[0]["repos"]


def test_plain_text_collapses_whitespace_as_the_regular_expressions_did():
    """``plain_text`` skips steps and strips lines with ``str`` methods; the result is what
    the two substitutions it replaced give, on every mix of spaces and line breaks."""
    import random
    import re
    from html import unescape

    from forum.search.documents import _BLOCK_TAG, _TAG, plain_text

    def reference(html):
        text = unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", html)))
        text = re.sub(r"[ \t\r\f\v]+", " ", text)
        return re.sub(r"\s*\n\s*", "\n", text).strip()

    pieces = ["a", "bc", " ", "  ", "\n", "\t", "\r", "\f", "\v", "\xa0", "\u2003", "\x1c",
              "\x85", "\u2028", "<p>", "</p>", "<br>", "<em>", "&amp;", "&nbsp;"]
    rng = random.Random(3)
    for _ in range(20_000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        assert plain_text(html) == reference(html), repr(html)


def test_documents_are_in_composed_form_and_the_migration_requeues_older_ones(app):
    """Documents hold their text in NFC, whatever form it was typed in (``query.canonical``).
    Migration 0025 queues the rows indexed before that whose text is in another form, and
    only those: not ASCII text, not text already composed."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import delete

    from forum.search.models import SearchOutbox
    path = Path(__file__).resolve().parents[2] / "migrations/versions/0025_search_composed_text.py"
    spec = importlib.util.spec_from_file_location("composed_text", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with app.app_context():
        member = make_user()
        decomposed = threads.start_thread(member, "Kernels after Scho\u0308lkopf", "Plain body.")
        composed = threads.start_thread(member, "Causal work of Sch\u00f6lkopf", "Jan\u00e7ing too.")
        ascii_only = threads.start_thread(member, "Plain", "Nothing special.")
        reply = make_reply(ascii_only, member, "Cafe\u0301 au lait")
        built = dict(documents.for_keys(db.session, [(f"thread:{decomposed.id}", "update"),
                                                     (f"post:{reply.id}", "update")]))
        assert built[f"thread:{decomposed.id}"]["title"] == "Kernels after Sch\u00f6lkopf"
        assert built[f"post:{reply.id}"]["body"] == "Caf\u00e9 au lait"
        db.session.execute(delete(SearchOutbox))
        assert migration.queue_documents(db.session.connection()) == 2
        queued = set(db.session.scalars(select(SearchOutbox.key)))
        expected = {f"thread:{decomposed.id}", f"post:{reply.id}"}  # not composed.id, ascii_only.id
        db.session.commit()
    assert queued == expected
