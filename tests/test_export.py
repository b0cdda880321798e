"""``flask export PATH``: every public thing as JSON Lines, nothing private, in constant memory."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import event, insert, select, update

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.opendata import export as exporter
from forum.threads import services, votes
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def forum(app):
    with app.app_context():
        ada = make_user(username="ada", display_name="Ada Lovelace", affiliation="Engine Lab")
        grace = make_user(username="grace")
        thread = services.start_thread(db.session.get(User, ada.id), "Attention or not?",
                                       "See arXiv:1706.03762 and https://github.com/karpathy/nanoGPT",
                                       "attention cs.lg")
        reply = make_reply(thread, grace, "Mamba: arXiv:2312.00752", stance="challenges")
        votes.cast_vote(db.session.get(User, grace.id), db.session.get(Thread, thread.id), 1)
        votes.cast_vote(db.session.get(User, ada.id), db.session.get(Post, reply.id), -1)
        hidden = make_reply(thread, grace, "HIDDEN-TEXT")
        deleted = make_reply(thread, grace, "DELETED-TEXT")
        held_thread = make_thread(grace, title="HELD-THREAD")
        gone_thread = make_thread(grace, title="DELETED-THREAD")
        make_reply(gone_thread, ada, "REPLY-IN-DELETED-THREAD arXiv:2404.06654")
        now = utcnow()
        db.session.execute(update(Post).where(Post.id == hidden.id).values(hidden_at=now))
        db.session.execute(update(Post).where(Post.id == deleted.id).values(deleted_at=now))
        db.session.execute(update(Thread).where(Thread.id == held_thread.id).values(held_at=now))
        db.session.execute(update(Thread).where(Thread.id == gone_thread.id).values(deleted_at=now))
        db.session.commit()
        return {"thread": thread.id, "reply": reply.id}


def test_export_writes_public_content_as_json_lines(runner, forum, tmp_path, app):
    app.config["CONTENT_LICENSE"] = "CC BY-SA 4.0"
    out = tmp_path / "dump"
    result = runner.invoke(args=["export", str(out)])
    assert result.exit_code == 0, result.output
    assert ("Exported 1 threads, 1 replies, 2 members, 2 papers, 1 repositories to "
            f"{out}.") in result.output
    (thread,) = read(out / "threads.jsonl")
    assert thread["title"] == "Attention or not?" and thread["author"] == "ada"
    assert thread["tags"] == ["attention", "cs.lg"]
    assert thread["cites_papers"] == ["1706.03762"]
    assert thread["cites_repositories"] == ["karpathy/nanoGPT"]
    assert (thread["score"], thread["upvotes"], thread["downvotes"]) == (1, 1, 0)
    assert thread["body"].startswith("See arXiv:1706.03762") and "<a " in thread["body_html"]
    (reply,) = read(out / "replies.jsonl")
    assert reply["stance"] == "challenges" and reply["cites_papers"] == ["2312.00752"]
    assert (reply["score"], reply["upvotes"], reply["downvotes"]) == (-1, 0, 1)
    assert reply["thread_id"] == forum["thread"] and reply["url"].endswith(f"/p/{forum['reply']}")
    members = {m["username"]: m for m in read(out / "members.jsonl")}
    assert members["ada"] == {"username": "ada", "display_name": "Ada Lovelace",
                              "affiliation": "Engine Lab", "bio": "",
                              "joined_at": members["ada"]["joined_at"], "url": "/u/ada"}
    assert {p["arxiv_id"] for p in read(out / "papers.jsonl")} == {"1706.03762", "2312.00752"}
    assert [r["full_name"] for r in read(out / "repositories.jsonl")] == ["karpathy/nanoGPT"]
    readme = (out / "README.md").read_text()
    assert "CC BY-SA 4.0" in readme and "threads.jsonl" in readme and "| 1 |" in readme
    everything = "".join(path.read_text() for path in out.glob("*.jsonl"))
    for secret in ("HIDDEN-TEXT", "DELETED-TEXT", "HELD-THREAD", "DELETED-THREAD",
                   "REPLY-IN-DELETED-THREAD", "2404.06654", "@example.org", "argon2",
                   "password", "session_key", "role"):
        assert secret not in everything, secret


def test_urls_are_absolute_when_the_site_address_is_known(runner, forum, tmp_path, app):
    app.config.update(SERVER_NAME="forum.example", PREFERRED_URL_SCHEME="https")
    assert runner.invoke(args=["export", str(tmp_path / "d")]).exit_code == 0
    (thread,) = read(tmp_path / "d" / "threads.jsonl")
    assert thread["url"] == f"https://forum.example/t/{forum['thread']}"


def test_export_reads_in_keyset_batches_so_memory_stays_constant(app, tmp_path):
    """Queries grow with batches, never with rows; each batch holds at most the batch size."""
    app.config["EXPORT_BATCH_SIZE"] = 3
    with app.app_context():
        author = make_user()
        now = utcnow()
        db.session.execute(insert(Thread), [
            {"title": f"Bulk thread {n}", "body": "b", "body_html": "<p>b</p>",
             "author_id": author.id, "created_at": now, "last_activity_at": now, "score": 0,
             "reply_count": 0, "locked": False, "pinned": False} for n in range(10)])
        db.session.commit()
        statements = []

        def record(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("SELECT") and "FROM threads" in statement:
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            batches = exporter._thread_lines()
            first = next(batches)
            assert len(first) == 3 and len(statements) == 1  # lazy: one batch read so far
            sizes = [len(first)] + [len(batch) for batch in batches]
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert sizes == [3, 3, 3, 1]
        batch_reads = [s for s in statements if "LIMIT" in s.upper()]
        assert len(batch_reads) == 4
        summary = exporter.export(tmp_path / "dump")
        assert summary.counts["threads"] == 10


def test_progress_is_reported_per_batch(app, forum, tmp_path):
    app.config["EXPORT_BATCH_SIZE"] = 1
    reported = []
    with app.app_context():
        total = exporter.total_rows()
        exporter.export(tmp_path / "dump", progress=reported.append)
        assert db.session.scalar(select(Thread.id).where(Thread.id == forum["thread"]))
    assert total == 4 and sum(reported) == 4 and set(reported) == {1}
