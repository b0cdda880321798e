"""Which threads make a week's digest (read-only: nothing here writes).

A week is an ISO week, Monday 00:00 to the next Monday 00:00 UTC; callers pass
its bounds (``week_bounds``), so selection never asks the clock.

The activity score of a thread for the week, ``activity_score``:

    score = REPLY_WEIGHT * new replies + PARTICIPANT_WEIGHT * distinct participants
            + VOTE_WEIGHT * votes cast

counting only what happened inside the week (replies written, people who
wrote the thread or a reply that week, up- and down-votes cast on the thread
or its replies that week; votes only where the votes table exists). Why these
weights: a reply is the unit of debate; several people arguing is worth more
than two trading messages, so each participant adds on top of their replies;
a vote is cheap, so it counts least, and a down-vote is still activity. Only
the week counts, so a thread started years ago but revived this week competes
on equal terms with a new one. Deleted threads and deleted replies never
count and never appear.

Sections (``select_week``): ``top`` (at most ``DIGEST_TOP_N``, default 10,
threads with a positive score, best first), ``new`` (threads started this
week, best first), ``papers`` (arXiv papers mentioned by the week's active
threads, most discussed first; only where paper links exist). The result is a
JSON-ready dict, stored as the issue's snapshot; ``None`` when the week has
nothing worth sending. ``personalize`` keeps what matches a subscriber's
follows.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, func, or_, select

from forum.extensions import db

REPLY_WEIGHT = 3
PARTICIPANT_WEIGHT = 2
VOTE_WEIGHT = 1
DEFAULT_TOP_N = 10
NEW_DEBATES_MAX = 10
PAPERS_MAX = 5
EXCERPT_CHARS = 240

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


class BadWeek(ValueError):
    """A week label that is not an existing ISO week like 2026-W48."""


def parse_week(label: str) -> tuple[datetime, datetime]:
    """``"2026-W48"`` -> (Monday 00:00 UTC, next Monday 00:00 UTC); BadWeek otherwise."""
    match = WEEK_PATTERN.match((label or "").strip().upper())
    if not match:
        raise BadWeek(f"{label!r} is not an ISO week; write it like 2026-W48.")
    year, week = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise BadWeek(f"{label!r} does not exist: {year} has no week {week}.") from None
    return week_bounds(monday)


def week_bounds(day: date) -> tuple[datetime, datetime]:
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=7)


def week_label(moment: date | datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(now: datetime) -> str:
    """The week a cron run on ``now`` should send: the one that ended most recently."""
    return week_label(now.astimezone(timezone.utc) - timedelta(days=7))


def activity_score(replies: int, participants: int, votes: int) -> int:
    return REPLY_WEIGHT * replies + PARTICIPANT_WEIGHT * participants + VOTE_WEIGHT * votes


def select_week(start: datetime, end: datetime, top_n: int = DEFAULT_TOP_N) -> dict | None:
    tables = db.metadata.tables
    threads, posts = tables["threads"], tables["posts"]
    in_week = lambda column: and_(column >= start, column < end)  # noqa: E731

    replies = db.session.execute(
        select(posts.c.thread_id, posts.c.author_id)
        .join(threads, threads.c.id == posts.c.thread_id)
        .where(in_week(posts.c.created_at), posts.c.deleted_at.is_(None),
               threads.c.deleted_at.is_(None), *_public(posts), *_public(threads))).all()
    reply_count: dict[int, int] = defaultdict(int)
    people: dict[int, set[int]] = defaultdict(set)
    for thread_id, author_id in replies:
        reply_count[thread_id] += 1
        people[thread_id].add(author_id)
    votes = _votes_in_week(start, end)

    candidate_ids = set(reply_count) | set(votes)
    rows = db.session.execute(
        select(threads.c.id, threads.c.title, threads.c.body, threads.c.author_id,
               threads.c.created_at, threads.c.reply_count)
        .where(threads.c.deleted_at.is_(None), *_public(threads),
               or_(threads.c.id.in_(candidate_ids), in_week(threads.c.created_at)))).all()
    if not rows:
        return None
    ids = [row.id for row in rows]
    tags, papers = _tags_of(ids), _papers_of(ids)

    items = []
    for row in rows:
        is_new = start <= _aware(row.created_at) < end
        if is_new:
            people[row.id].add(row.author_id)
        item = {
            "id": row.id, "title": row.title, "excerpt": _excerpt(row.body),
            "created_at": _aware(row.created_at).isoformat(), "is_new": is_new,
            "replies": reply_count[row.id], "participants": len(people[row.id]),
            "votes": votes.get(row.id, 0), "total_replies": row.reply_count,
            "tags": tags.get(row.id, []), "papers": papers.get(row.id, []),
        }
        item["score"] = activity_score(item["replies"], item["participants"], item["votes"])
        items.append(item)
    items.sort(key=lambda item: (-item["score"], item["created_at"], item["id"]))

    top = [item for item in items if item["replies"] or item["votes"]][:top_n]
    new = [item for item in items if item["is_new"]][:NEW_DEBATES_MAX]
    return _sections(start, top, new, items)


def _sections(start: datetime, top: list, new: list, items: list) -> dict | None:
    if not top and not new:
        return None
    discussed: dict[str, dict] = {}
    for item in items:
        if not (item["replies"] or item["is_new"]):
            continue
        for paper in item["papers"]:
            entry = discussed.setdefault(paper["arxiv_id"], {**paper, "threads": [], "replies": 0})
            entry["threads"].append({"id": item["id"], "title": item["title"]})
            entry["replies"] += item["replies"]
    papers = sorted(discussed.values(), key=lambda p: (-p["replies"], -len(p["threads"]), p["arxiv_id"]))
    return {"week": week_label(start), "start": start.isoformat(),
            "top": top, "new": new, "papers": papers[:PAPERS_MAX]}


def personalize(sections: dict, tags: list[str], papers: list[str]) -> dict | None:
    """Only the threads (and papers) a subscriber follows; None when none match."""
    if not tags and not papers:
        return sections
    tags_set, papers_set = {t.lower() for t in tags}, set(papers)

    def matches(item: dict) -> bool:
        return (bool(tags_set & {t.lower() for t in item["tags"]})
                or bool(papers_set & {p["arxiv_id"] for p in item["papers"]}))

    kept = {**sections,
            "top": [i for i in sections["top"] if matches(i)],
            "new": [i for i in sections["new"] if matches(i)],
            "papers": [p for p in sections["papers"] if p["arxiv_id"] in papers_set]}
    return kept if kept["top"] or kept["new"] else None


def _public(table) -> list:
    """Held (awaiting a moderator) and hidden posts are never in a digest."""
    return [table.c[name].is_(None) for name in ("held_at", "hidden_at") if name in table.c]


def _votes_in_week(start: datetime, end: datetime) -> dict[int, int]:
    """Votes cast in the week per thread, on the thread or its replies; {} without a votes table."""
    tables = db.metadata.tables
    votes = tables.get("votes")
    if votes is None:
        return {}
    posts = tables["posts"]
    thread_of_vote = func.coalesce(votes.c.thread_id, posts.c.thread_id)
    rows = db.session.execute(
        select(thread_of_vote, func.count())
        .select_from(votes.outerjoin(posts, posts.c.id == votes.c.post_id))
        .where(votes.c.created_at >= start, votes.c.created_at < end)
        .group_by(thread_of_vote)).all()
    return {thread_id: count for thread_id, count in rows if thread_id is not None}


def _tags_of(thread_ids: list[int]) -> dict[int, list[str]]:
    tables = db.metadata.tables
    if "thread_tags" not in tables or "tags" not in tables or not thread_ids:
        return {}
    links, tags = tables["thread_tags"], tables["tags"]
    result: dict[int, list[str]] = defaultdict(list)
    for thread_id, name in db.session.execute(
            select(links.c.thread_id, tags.c.name).join(tags, tags.c.id == links.c.tag_id)
            .where(links.c.thread_id.in_(thread_ids)).order_by(tags.c.name)):
        result[thread_id].append(name)
    return result


def _papers_of(thread_ids: list[int]) -> dict[int, list[dict]]:
    """Papers each thread cites *publicly* (the papers package's one rule), by arXiv id."""
    if not thread_ids:
        return {}
    try:
        from forum.papers.queries import cited_titles
    except ImportError:  # the digest works without the papers package
        return {}
    return {thread_id: [{"arxiv_id": p.arxiv_id, "title": p.title or f"arXiv:{p.arxiv_id}"}
                        for p in sorted(papers, key=lambda p: p.arxiv_id)]
            for thread_id, papers in cited_titles(thread_ids, limit=None).items()}


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
