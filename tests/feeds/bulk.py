"""Big threads made with bulk inserts, for query-count tests of feeds and the API."""
from __future__ import annotations

from sqlalchemy import insert, update

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.papers.models import Paper, PaperMention
from forum.threads import services
from forum.threads.models import Post, Thread


def thread_with(size: int, authors: list[User], tags: str = "cs.lg nlp") -> Thread:
    """A tagged thread with ``size`` replies (a third nested), each citing one paper."""
    thread = services.start_thread(db.session.get(User, authors[0].id), f"Thread of {size}",
                                   "Body citing arXiv:1706.03762", tags)
    now = utcnow()
    paper_id = db.session.scalar(db.select(Paper.id).where(Paper.arxiv_id == "1706.03762"))
    ids: list[int] = []
    for n in range(size):  # plain inserts: a thousand replies through the service would be slow
        parent = ids[-1] if ids and n % 3 else None
        ids.append(db.session.execute(insert(Post).values(
            thread_id=thread.id, parent_id=parent, author_id=authors[n % len(authors)].id,
            body=f"Reply {n}", body_html=f"<p>Reply {n}</p>", stance=("supports", None)[n % 2],
            score=n % 5, up_count=n % 5, down_count=0, created_at=now).returning(Post.id)).scalar_one())
    db.session.execute(insert(PaperMention), [
        {"paper_id": paper_id, "thread_id": thread.id, "post_id": post_id,
         "source_key": f"post:{post_id}", "created_at": now} for post_id in ids])
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(reply_count=size))
    db.session.commit()
    return db.session.get(Thread, thread.id)
