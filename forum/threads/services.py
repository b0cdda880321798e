"""Thread and reply use cases. One use case, one function, one commit.

Counters on the thread (reply count, last activity) are changed with SQL
increments in the same transaction as the reply, never read-modify-write,
so concurrent replies cannot lose an update. Every edit first keeps the
version it replaces as a ``Revision``; an edit that changes nothing is refused.
Votes live in ``votes.py``.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.markup import RenderTooComplex
from forum.moderation import policy
from forum.notifications.services import post_published, reply_published
from forum.threads.models import STANCES, Post, Revision, Tag, Thread, thread_tags
from forum.threads import submissions
from forum.threads.rendering import render_post_body
from forum.threads.tags import TagError, parse_tags, tags_named

TITLE_LENGTH = (5, 200)
BODY_MAX_LENGTH = 50_000


class PostingError(ValueError):
    """A request that cannot be carried out; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def start_thread(author: User, title: str, body: str, tags: str | list[str] | None = None, *,
                 submission_token: str | None = None) -> Thread:
    """A new thread; a new member's waits for a moderator (``held_at``, see moderation/policy.py).
    The same ``submission_token`` sent again returns the thread it made (submissions.py)."""
    policy.ensure_can_participate(author)
    earlier = submissions.earlier_thread(author.id, submission_token)
    if earlier is not None:
        return earlier
    names = _tag_names(tags)
    body_html = _within_link_limit(author, _rendered(body))
    thread = Thread(author=author, title=title.strip(), body=body, body_html=body_html,
                    held_at=utcnow() if policy.should_hold(author) else None)
    author_id = author.id
    try:
        thread.tags = tags_named(names)
        db.session.add(thread)
        submissions.record(author_id, submission_token, thread)
        db.session.commit()
    except IntegrityError:  # the same form, sent twice at the same moment: the other one won
        db.session.rollback()
        if not submissions.is_valid_token(submission_token):
            raise
        return _already_sent(submissions.earlier_thread(author_id, submission_token))
    if thread.is_public:  # a held thread is announced when a moderator approves it
        post_published(thread)
    return thread


def edit_thread(thread: Thread, title: str, body: str,
                tags: str | list[str] | None = None, *, editor_id: int | None = None) -> Thread:
    """Change a thread; ``tags=None`` keeps its tags. The old title and body become a Revision
    (``editor_id``: who edited, when it may be a moderator rather than the author)."""
    _refuse_if_deleted(thread, "This thread was deleted and can no longer be edited.")
    names = None if tags is None else _tag_names(tags)
    title = title.strip()
    text_changed = title != thread.title or body != thread.body
    tags_changed = names is not None and sorted(names) != tag_names_of(thread.id)
    if not text_changed and not tags_changed:
        raise PostingError("Nothing changed: edit the title, body or tags, or go back.", 422)
    if text_changed:
        body_html = _within_link_limit(_author_of(thread), _rendered(body))  # refused: nothing staged
        now = utcnow()
        db.session.add(Revision(thread_id=thread.id, title=thread.title, body=thread.body,
                                written_at=thread.edited_at or thread.created_at, replaced_at=now,
                                replaced_by_id=editor_id))
        thread.title = title
        thread.body = body
        thread.body_html = body_html
        thread.edited_at = now
    if tags_changed:
        _set_tags(thread.id, names)
    db.session.commit()
    return thread


def delete_thread(thread: Thread) -> None:
    """Soft delete: the thread shows "[deleted]" and its replies stay readable."""
    if thread.deleted_at is None:
        thread.deleted_at = utcnow()
        db.session.commit()


def reply(thread: Thread, author: User, body: str, *, parent_id: int | None = None,
          stance: str | None = None, submission_token: str | None = None,
          before_commit: Callable[[Post], None] | None = None) -> Post:
    """A reply; the same ``submission_token`` sent again returns the reply it made.

    ``before_commit`` is called with the new reply (it has its id) in its transaction: the
    view reads there where the reply lands, for its redirect, at no transaction of its own
    (on PostgreSQL a BEGIN and a ROLLBACK, two round trips; on SQLite a POST's transaction
    takes the write lock, which a read after the commit would have queued for again).

    The token is not looked up first: every reply would pay that query for the rare copy
    sent again. A copy stops at the token's unique key (below) and gets the reply made;
    a copy refused here first (the thread locked since, say) gets it too, as before."""
    policy.ensure_can_participate(author)
    try:
        parent = _reply_allowed(thread, author, parent_id, stance)
        body_html = _within_link_limit(author, _rendered(body))
    except PostingError:
        earlier = submissions.earlier_reply(author.id, submission_token, thread.id)
        if earlier is not None:
            return earlier
        raise
    now = utcnow()
    held = policy.should_hold(author)
    post = Post(thread=thread, parent_id=parent_id, author=author, body=body,
                body_html=body_html, stance=stance, created_at=now, held_at=now if held else None)
    author_id, thread_id = author.id, thread.id
    try:
        db.session.add(post)
        submissions.record(author_id, submission_token, post)
        db.session.flush()  # a second copy of the same form stops here (unique token)
        if post.is_public:  # a held reply is announced when a moderator approves it
            # In this transaction (in a savepoint: a failure there loses no reply), so the
            # reply costs one commit; before the UPDATE below, which locks the thread's row
            # until the commit, so concurrent replies to the thread wait no longer for it.
            reply_published(post, thread, parent)
        if before_commit is not None:
            before_commit(post)
        if not held:  # the reply count and activity count public replies only
            db.session.execute(
                update(Thread).where(Thread.id == thread_id)
                .values(reply_count=Thread.reply_count + 1, last_activity_at=now)
            )
        _commit_keeping(post, thread)
    except IntegrityError:  # the same form sent again, or twice at once: the token is taken
        db.session.rollback()
        if not submissions.is_valid_token(submission_token):
            raise
        return _already_sent(submissions.earlier_reply(author_id, submission_token, thread_id))
    # The counters were changed in SQL: read again when asked for.
    db.session.expire(thread, ["reply_count", "last_activity_at"])
    return post


def _reply_allowed(thread: Thread, author: User, parent_id: int | None,
                   stance: str | None) -> Post | None:
    """The reply answered (None at the top level); PostingError when this reply is refused."""
    _refuse_if_deleted(thread, "This thread was deleted; it takes no new replies.")
    if not thread.can_be_seen_by(author):
        raise PostingError("That thread does not exist.", 404)
    if thread.locked:
        raise PostingError("This thread is locked; it takes no new replies.", 403)
    if stance is not None and stance not in STANCES:
        raise PostingError(f"Unknown stance {stance!r}.", 400)
    if parent_id is None:
        return None
    parent = db.session.get(Post, parent_id)
    if parent is None or parent.thread_id != thread.id or not parent.can_be_seen_by(author):
        raise PostingError("The reply you answered is not part of this thread.", 400)
    return parent


KEEP = object()  # "leave this as it is", where None is a meaningful value


def edit_post(post: Post, body: str, *, stance: str | None | object = KEEP,
              editor_id: int | None = None) -> Post:
    """Change a reply's body (and stance, unless KEEP). The old body becomes a Revision."""
    _refuse_if_deleted(post, "This reply was deleted and can no longer be edited.")
    if stance is not KEEP and stance is not None and stance not in STANCES:
        raise PostingError(f"Unknown stance {stance!r}.", 400)
    stance_changed = stance is not KEEP and stance != post.stance
    if body == post.body and not stance_changed:
        raise PostingError("Nothing changed: edit the text, or go back.", 422)
    body_changed = body != post.body
    # Rendered first: a text refused (too complex, too many links) stages nothing.
    body_html = _within_link_limit(_author_of(post), _rendered(body)) if body_changed else None
    # A change of stance alone is an edit too: the history shows "Stance: Supports -> Challenges".
    now = utcnow()
    db.session.add(Revision(post_id=post.id, body=post.body, stance=post.stance,
                            written_at=post.edited_at or post.created_at, replaced_at=now,
                            replaced_by_id=editor_id))
    post.edited_at = now
    if body_changed:
        post.body = body
        post.body_html = body_html
    if stance_changed:
        post.stance = stance
    db.session.commit()
    return post


def delete_post(post: Post) -> None:
    """Soft delete: the reply shows "[deleted]" and the replies below it stay."""
    if post.deleted_at is not None:
        return
    post.deleted_at = utcnow()
    if post.is_public:  # held and hidden replies were never counted
        db.session.execute(
            update(Thread).where(Thread.id == post.thread_id)
            .values(reply_count=Thread.reply_count - 1)
        )
    db.session.commit()


def _commit_keeping(*written) -> None:
    """Commit, keeping what ``written`` hold (this transaction wrote them: what they hold is
    what committed) and expiring everything else in the session, as a commit does.

    The view reads the new reply and its thread to build the redirect to it: kept, that costs
    no query to read again what was just written (one round trip each, at every reply)."""
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit
    kept = {id(obj) for obj in written}
    for obj in list(session.identity_map.values()):
        if id(obj) not in kept:
            session.expire(obj)


def _already_sent(earlier):
    if earlier is None:
        raise PostingError("This form was already sent; reload the page to write another.", 409)
    return earlier


def tag_names_of(thread_id: int) -> list[str]:
    return list(db.session.scalars(
        select(Tag.name).join(thread_tags, thread_tags.c.tag_id == Tag.id)
        .where(thread_tags.c.thread_id == thread_id).order_by(Tag.name)))


def _set_tags(thread_id: int, names: list[str]) -> None:
    """Replace a thread's tags with plain statements (the relationship may not be loaded)."""
    db.session.execute(delete(thread_tags).where(thread_tags.c.thread_id == thread_id))
    tags = tags_named(names)
    if tags:
        db.session.execute(thread_tags.insert(), [{"thread_id": thread_id, "tag_id": tag.id}
                                                  for tag in tags])


def _tag_names(tags: str | list[str] | None) -> list[str]:
    try:
        return parse_tags(tags if isinstance(tags, str) or tags is None else " ".join(tags))
    except TagError as error:
        raise PostingError(error.message, 422) from None


def _rendered(body: str) -> str:
    """The stored HTML; text too complex to render within the CPU budget is refused (422)."""
    try:
        return render_post_body(body)
    except RenderTooComplex as error:
        raise PostingError(error.sentence, 422) from None


def _within_link_limit(author: User, body_html: str) -> str:
    message = policy.link_limit_error(author, body_html)
    if message:
        raise PostingError(message, 422)
    return body_html


def _author_of(target: Thread | Post) -> User:
    return db.session.get(User, target.author_id)  # usually already in the session


def _refuse_if_deleted(target, message: str) -> None:
    if target.deleted_at is not None:
        raise PostingError(message, 410)
