"""Which threads make a week's digest (read-only: nothing here writes).

A week is an ISO week, Monday 00:00 to the next Monday 00:00 UTC; callers pass
its bounds (``week_bounds``), so selection never asks the clock.

Only public content counts, in the one sense the whole forum uses
(``forum.moderation.visibility.public``: not held, hidden or deleted, and not
in a thread that is). Everything is read through the models of the packages
that own them.

The activity score of a thread for the week, ``activity_score``:

    score = REPLY_WEIGHT * new replies + PARTICIPANT_WEIGHT * distinct participants
            + VOTE_WEIGHT * votes cast

counting only what happened inside the week (public replies written, people
who wrote the thread or a reply that week, up- and down-votes cast that week
on the thread or its public replies). Why these weights: a reply is the unit
of debate; several people arguing is worth more than two trading messages, so
each participant adds on top of their replies; a vote is cheap, so it counts
least, and a down-vote is still activity. Only the week counts, so a thread
started years ago but revived this week competes on equal terms with a new one.

Sections (``select_week``): ``top`` (at most ``DIGEST_TOP_N``, default 10,
threads with replies or votes this week, best first), ``new`` (threads
started this week, best first), ``papers`` (arXiv papers cited by the week's
active threads, most discussed first) and ``pool``: every thread active that
week, best first (at most ``POOL_MAX``), from which personal digests pick.
The result is a JSON-ready dict, stored as the issue's snapshot; ``None``
when the week has nothing worth sending.

Personal digests (``personalize``): a subscriber who follows tags, papers or
threads first gets the week's best of what they follow, picked from the whole
pool (a niche tag active that week always shows, however low it ranks
overall), then the global top fills the digest up to ``top_n`` threads, and
the new debates not shown yet follow. Why fill rather than send only matches:
a reader who follows a quiet tag should still hear of the week's big debates,
and a digest is never empty because a follow was quiet.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, func, or_, select

from forum.digest.excerpt import excerpt
from forum.extensions import db
from forum.moderation.visibility import public
from forum.papers.models import Paper, PaperMention
from forum.papers.queries import cited_titles
from forum.threads.models import Post, Tag, Thread, Vote

REPLY_WEIGHT = 3
PARTICIPANT_WEIGHT = 2
VOTE_WEIGHT = 1
DEFAULT_TOP_N = 10
NEW_DEBATES_MAX = 10
PAPERS_MAX = 5
# Threads kept in an issue's snapshot for personal digests: a research forum's busiest
# week stays far below this; the cap only bounds the stored JSON.
POOL_MAX = 2000

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
    reply_count, people = _replies_in_week(start, end)
    votes = _votes_in_week(start, end)
    rows = db.session.execute(
        select(Thread.id, Thread.title, Thread.body_html, Thread.author_id, Thread.created_at,
               Thread.reply_count)
        .where(public(Thread), or_(Thread.id.in_(set(reply_count) | set(votes)),
                                   and_(Thread.created_at >= start, Thread.created_at < end)))).all()
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
            "id": row.id, "title": row.title, "excerpt": excerpt(row.body_html),
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
    if not top and not new:
        return None
    return {"week": week_label(start), "start": start.isoformat(), "top_n": top_n,
            "top": top, "new": new, "papers": _most_discussed(items)[:PAPERS_MAX],
            "pool": items[:POOL_MAX]}


def personalize(sections: dict, follows: dict) -> dict:
    """The digest of one subscriber: the best of what they follow, then the global best.

    ``follows`` is ``{"tags": [...], "papers": [...], "threads": [...]}``; with
    nothing followed the global digest is returned as is.
    """
    tags = {t.lower() for t in follows.get("tags") or ()}
    papers = set(follows.get("papers") or ())
    threads = {int(t) for t in follows.get("threads") or ()}
    if not (tags or papers or threads):
        return sections

    def matches(item: dict) -> bool:
        return (item["id"] in threads or bool(tags & {t.lower() for t in item["tags"]})
                or bool(papers & {p["arxiv_id"] for p in item["papers"]}))

    top_n = int(sections.get("top_n") or DEFAULT_TOP_N)
    pool = sections.get("pool") or _unique(sections["top"] + sections["new"])  # issues made before the pool
    followed = [item for item in pool if matches(item)][:top_n]
    shown = {item["id"] for item in followed}
    fill = [item for item in sections["top"] if item["id"] not in shown][:max(0, top_n - len(followed))]
    shown |= {item["id"] for item in fill}
    cited = _most_discussed(followed)
    cited_ids = {paper["arxiv_id"] for paper in cited}
    return {**sections, "pool": [], "followed": followed, "top": fill,
            "new": [item for item in sections["new"] if item["id"] not in shown],
            "papers": (cited + [p for p in sections["papers"] if p["arxiv_id"] not in cited_ids])[:PAPERS_MAX],
            "follows": {"tags": sorted(tags), "papers": sorted(papers), "threads": len(threads)}}


def _most_discussed(items: list[dict]) -> list[dict]:
    """Papers cited by the items that were new or replied to, by replies then threads."""
    discussed: dict[str, dict] = {}
    for item in items:
        if not (item["replies"] or item["is_new"]):
            continue
        for paper in item["papers"]:
            entry = discussed.setdefault(paper["arxiv_id"], {**paper, "threads": [], "replies": 0})
            entry["threads"].append({"id": item["id"], "title": item["title"]})
            entry["replies"] += item["replies"]
    return sorted(discussed.values(), key=lambda p: (-p["replies"], -len(p["threads"]), p["arxiv_id"]))


def _replies_in_week(start: datetime, end: datetime) -> tuple[dict[int, int], dict[int, set[int]]]:
    """Public replies written in the week: their number and their authors, per thread."""
    count: dict[int, int] = defaultdict(int)
    people: dict[int, set[int]] = defaultdict(set)
    for thread_id, author_id in db.session.execute(
            select(Post.thread_id, Post.author_id).join(Thread, Thread.id == Post.thread_id)
            .where(Post.created_at >= start, Post.created_at < end, public(Post))):
        count[thread_id] += 1
        people[thread_id].add(author_id)
    return count, people


def _votes_in_week(start: datetime, end: datetime) -> dict[int, int]:
    """Votes cast in the week per thread, on the public thread itself or its public replies."""
    thread_id = func.coalesce(Vote.thread_id, Post.thread_id)
    rows = db.session.execute(
        select(thread_id, func.count())
        .select_from(Vote)
        .outerjoin(Post, Post.id == Vote.post_id)
        .join(Thread, Thread.id == thread_id)
        .where(Vote.created_at >= start, Vote.created_at < end, public(Thread),
               or_(Vote.post_id.is_(None), public(Post)))
        .group_by(thread_id)).all()
    return {thread: count for thread, count in rows}


def _tags_of(thread_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    for thread_id, name in db.session.execute(
            select(Thread.id, Tag.name).join(Thread.tags)
            .where(Thread.id.in_(thread_ids)).order_by(Tag.name)):
        result[thread_id].append(name)
    return result


def _papers_of(thread_ids: list[int]) -> dict[int, list[dict]]:
    """Papers each thread cites *publicly* (the papers package's one rule), by arXiv id;
    ``title`` None while the paper's details are pending."""
    if not thread_ids:
        return {}
    return {thread_id: [{"arxiv_id": p.arxiv_id, "title": p.title or None}
                        for p in sorted(papers, key=lambda p: p.arxiv_id)]
            for thread_id, papers in cited_titles(thread_ids, limit=None).items()}


def _unique(items: list[dict]) -> list[dict]:
    seen: set[int] = set()
    return [item for item in items if not (item["id"] in seen or seen.add(item["id"]))]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
