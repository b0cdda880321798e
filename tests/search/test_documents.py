"""A rebuild reads replies as plain rows; the documents are the ones the outbox builds."""
from sqlalchemy.orm import Session

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
        with Session(db.engine) as session:
            read = [d for d in documents.iter_all(lambda: Session(db.engine)) if d["kind"] == "reply"]
            built = [d for _, d in documents.for_keys(
                session, [(f"post:{r.id}", "update") for r in replies]) if d is not None]
    assert read == built
    assert [d["post_id"] for d in read] == [replies[0].id, replies[2].id]
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
