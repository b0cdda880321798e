"""Rows to the JSON the API answers with. Only public fields: see the package docstring."""
from __future__ import annotations

from flask import g, url_for

from forum.templating import quick_external_url
from forum.threads.queries import ReplyRow


def absolute(endpoint: str, **value) -> str:
    """An absolute link with one value, cheap enough for every reply of a long thread."""
    return quick_external_url(endpoint, **value)


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def member_ref(user) -> dict:
    """Built once per member and request: a long thread has many replies by few people."""
    known = g.setdefault("api_member_refs", {})
    if user.id not in known:
        known[user.id] = {"username": user.username, "display_name": user.name,
                          "url": absolute("accounts.profile", username=user.username),
                          "api_url": absolute("api.member", username=user.username)}
    return known[user.id]


def thread_summary(thread, *, tags: bool = True) -> dict:
    return {
        "id": thread.id, "title": thread.title, "author": member_ref(thread.author),
        "created_at": _iso(thread.created_at), "edited_at": _iso(thread.edited_at),
        "last_activity_at": _iso(thread.last_activity_at), "score": thread.score,
        "reply_count": thread.reply_count, "locked": thread.locked, "pinned": thread.pinned,
        "tags": [tag.name for tag in thread.tags] if tags else [],
        "url": absolute("threads.show", thread_id=thread.id),
        "api_url": absolute("api.thread", thread_id=thread.id),
        "feed_url": absolute("feeds.thread", thread_id=thread.id),
    }


def citations(papers: list[str], repos: list[str]) -> dict:
    return {"papers": papers, "repositories": repos}


def reply_tree(rows: list[ReplyRow], cited: dict) -> list[dict]:
    """The depth-first rows of ``queries.reply_tree`` as nested JSON.

    Deleted replies, and held or hidden ones kept only because public replies
    hang below them, become ``{"removed": true, "replies": [...]}``: the
    conversation's shape stays, nothing of the removed text or author does; one with no
    public reply below it is left out.
    """
    roots: list[dict] = []
    stack: list[tuple[int, dict]] = []
    for row in rows:
        node = _reply(row, cited)
        while stack and stack[-1][0] >= row.depth:
            stack.pop()
        (stack[-1][1]["replies"] if stack else roots).append(node)
        stack.append((row.depth, node))
    return _pruned(roots)


def _pruned(nodes: list[dict]) -> list[dict]:
    """Drop removed replies with nothing public below them (their place tells nothing)."""
    kept = []
    for node in nodes:
        node["replies"] = _pruned(node["replies"])
        if node["replies"] or not node.get("removed"):
            kept.append(node)
    return kept


def _reply(row: ReplyRow, cited: dict) -> dict:
    post = row.post
    if row.masked or post.is_deleted or not post.is_public:
        return {"removed": True, "replies": []}
    papers, repos = cited.get(post.id, ([], []))
    return {
        "id": post.id, "parent_id": post.parent_id, "author": member_ref(post.author),
        "stance": post.stance, "score": post.score, "upvotes": post.up_count,
        "downvotes": post.down_count, "created_at": _iso(post.created_at),
        "edited_at": _iso(post.edited_at), "body": post.body, "body_html": post.body_html,
        "citations": citations(papers, repos),
        "url": absolute("threads.permalink", post_id=post.id),
        "replies": [],
    }


def paper(paper) -> dict:
    return {
        "arxiv_id": paper.arxiv_id, "title": paper.title, "authors": paper.authors or [],
        "abstract": paper.abstract, "categories": paper.categories or [],
        "primary_category": paper.primary_category, "published_at": _iso(paper.published_at),
        "updated_at": _iso(paper.updated_at), "doi": paper.doi, "journal_ref": paper.journal_ref,
        "withdrawn": paper.withdrawn, "pending": paper.is_pending, "arxiv_url": paper.abs_url,
        "url": url_for("papers.paper", ident=paper.arxiv_id, _external=True),
        "api_url": url_for("api.paper", arxiv_id=paper.arxiv_id, _external=True),
        "feed_url": url_for("feeds.paper", ident=paper.arxiv_id, _external=True),
    }


def repository(repo) -> dict:
    return {
        "full_name": repo.full_name, "description": repo.description, "stars": repo.stars,
        "language": repo.language, "license": repo.license, "topics": repo.topics or [],
        "pushed_at": _iso(repo.pushed_at), "pending": repo.is_pending,
        "not_found": repo.not_found, "github_url": repo.github_url,
        "url": url_for("papers.repository", owner=repo.owner, name=repo.name, _external=True),
        "api_url": url_for("api.repository", owner=repo.owner, name=repo.name, _external=True),
        "feed_url": url_for("feeds.repository", owner=repo.owner, name=repo.name, _external=True),
    }


def member(user, karma: int, stance_counts: dict, threads: list) -> dict:
    return {
        **member_ref(user), "affiliation": user.affiliation, "bio": user.bio,
        "joined_at": _iso(user.created_at), "karma": karma, "stance_counts": stance_counts,
        "feed_url": absolute("feeds.member", username=user.username),
        "recent_threads": [thread_summary(thread) for thread in threads],
    }
