"""``/api/v1/...``: the read-only JSON API (see the package docstring and ``/api/openapi.json``)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from sqlalchemy.orm import selectinload

from forum import ratelimits
from forum.accounts import services as accounts
from forum.api import errors, listings, openapi, params, serialize
from forum.api.errors import ApiError
from forum.database import utcnow
from forum.extensions import db
from forum.feeds import cache
from forum.papers import queries as paper_queries
from forum.papers.arxiv import normalize_arxiv_id
from forum.papers.github import normalize_repo
from forum.search import services as search_services
from forum.threads import queries as thread_queries, ranking
from forum.threads.models import Thread
from forum.threads.tags import normalize_tag

bp = Blueprint("api", __name__, url_prefix="/api")
errors.register(bp)
ratelimits.api(bp)

REPLIES_PER_PAGE = 100  # top-level replies (each with its subtree) per thread answer


@bp.before_app_request
def answer_unrouted_api_requests_in_json():
    """/api/nothing-here or a POST: routing failed, so no blueprint handler would run; the
    site's HTML error page is no answer for an API client. (Runs before routing errors are raised.)"""
    error = request.routing_exception
    if error is not None and request.path.startswith("/api/"):
        if getattr(error, "code", None) == 405:
            return errors.error_response(405, "The API is read-only: use GET.",
                                         {"Allow": ", ".join(error.valid_methods or ["GET"])})
        if getattr(error, "code", None) == 404:
            return errors.error_response(404, "There is nothing at this address; "
                                              "see /api/openapi.json.")
    return None


@bp.before_request
def refuse_odd_requests():
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for key, value in request.args.items(multi=True)):
        raise ApiError(400, "NUL characters are not allowed in addresses or parameters.")
    if request.headers.get("Accept") and request.accept_mimetypes.quality("application/json") == 0:
        raise ApiError(406, "This API answers only JSON: accept application/json.")


@bp.after_request
def allow_any_origin(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/openapi.json")
@cache.shared
def openapi_document():
    return jsonify(openapi.document())


@bp.get("/v1/threads")
@cache.shared
def threads():
    tab = params.choice(request.args, "tab", ranking.TABS, "hot")
    period = params.choice(request.args, "period", tuple(ranking.TOP_PERIODS), "week")
    tag = request.args.get("tag")  # "tag=" is no tag as stored: 400, as the schema says
    if tag is not None and normalize_tag(tag) != tag:
        raise ApiError(400, f"{tag[:40]!r} is not a tag as stored: lower case letters, digits, "
                            "'-' and '.'.")
    limit = params.limit(request.args)
    listing = f"threads:{tab}:{period}:{tag or ''}"
    offset, ranked_at = params.read_cursor(request.args.get("cursor"), listing)
    ranked_at = ranked_at or utcnow()
    rows = db.session.scalars(
        thread_queries.front_page(tab, now=ranked_at, period=period, tag=tag, limit=limit + 1,
                                  offset=offset, deleted=False)
        .options(selectinload(Thread.tags))).unique().all()
    next_url = None
    if len(rows) > limit:
        next_url = _next(params.make_cursor(listing, offset + limit, ranked_at))
    return jsonify(threads=[serialize.thread_summary(thread) for thread in rows[:limit]],
                   next=next_url)


@bp.get("/v1/threads/<int(max=2147483647):thread_id>")
@cache.shared
def thread(thread_id: int):
    found = thread_queries.thread_for_page(thread_id)
    if found is None or not found.is_public:
        raise ApiError(404, "That thread does not exist, or is not public.")
    if found.is_deleted:
        raise ApiError(410, "This thread was deleted.")
    sort = params.choice(request.args, "sort", ranking.REPLY_SORTS, "best")
    page = params.bounded_int(request.args, "page", 1, 1, 100_000)
    tree = thread_queries.reply_tree(found.id, page, REPLIES_PER_PAGE, sort=sort,
                                     thread_author_id=found.author_id, viewer=None, with_source=True)
    body_cites, reply_cites = listings.thread_citations(found.id)
    next_url = _next_page(page + 1) if tree.page < tree.pages and page == tree.page else None
    return jsonify(thread={
        **serialize.thread_summary(found), "body": found.body, "body_html": found.body_html,
        "citations": serialize.citations(*body_cites),
        "stance_counts": tree.stance_counts, "participants": tree.participants,
        "replies_page": tree.page, "replies_pages": tree.pages,
        "replies": serialize.reply_tree(tree.rows, reply_cites) if page == tree.page else [],
    }, next=next_url)


@bp.get("/v1/papers")
@cache.shared
def papers():
    limit = params.limit(request.args)
    before, _ = params.read_cursor(request.args.get("cursor"), "papers", keyset=True)
    rows = listings.cited_papers(before or None, limit + 1)
    next_url = _next(params.make_cursor("papers", rows[limit - 1].id)) if len(rows) > limit else None
    return jsonify(papers=[serialize.paper(paper) for paper in rows[:limit]], next=next_url)


@bp.get("/v1/papers/<path:arxiv_id>")
@cache.shared
def paper(arxiv_id: str):
    canonical = normalize_arxiv_id(arxiv_id)
    if canonical is None:
        raise ApiError(404, f"{arxiv_id[:60]!r} is not an arXiv identifier.")
    found = paper_queries.paper_by_arxiv_id(canonical)
    if found is None:
        raise ApiError(404, f"No debate here cites arXiv:{canonical} yet.")
    mentions = paper_queries.paper_citations(found.id)
    debates = listings.public_threads({mention.thread_id for mention in mentions})
    return jsonify(paper={**serialize.paper(found),
                          "debates": [serialize.thread_summary(thread) for thread in debates]})


@bp.get("/v1/repositories")
@cache.shared
def repositories():
    limit = params.limit(request.args)
    before, _ = params.read_cursor(request.args.get("cursor"), "repositories", keyset=True)
    rows = listings.cited_repositories(before or None, limit + 1)
    next_url = (_next(params.make_cursor("repositories", rows[limit - 1].id))
                if len(rows) > limit else None)
    return jsonify(repositories=[serialize.repository(repo) for repo in rows[:limit]],
                   next=next_url)


@bp.get("/v1/repositories/<owner>/<name>")
@cache.shared
def repository(owner: str, name: str):
    full_name = normalize_repo(f"https://github.com/{owner}/{name}")
    if full_name is None:
        raise ApiError(404, f"{owner[:40]}/{name[:100]} is not a valid GitHub repository name.")
    found = paper_queries.repo_by_name(full_name)
    if found is None:
        raise ApiError(404, f"No debate here cites {full_name} yet.")
    mentions = paper_queries.repo_citations(found.id)
    debates = listings.public_threads({mention.thread_id for mention in mentions})
    return jsonify(repository={**serialize.repository(found),
                               "debates": [serialize.thread_summary(t) for t in debates]})


@bp.get("/v1/members/<username>")
@cache.shared
def member(username: str):
    user = accounts.find_by_username(username)
    if user is None:
        raise ApiError(404, f"There is no member called {username[:40]!r}.")
    recent = db.session.scalars(thread_queries.threads_by(user.id).limit(10)).all()
    tagged = {thread.id: thread for thread in listings.public_threads(t.id for t in recent)}
    return jsonify(member=serialize.member(
        user, thread_queries.karma_of(user.id), thread_queries.stance_counts_of(user.id),
        [tagged[t.id] for t in recent if t.id in tagged]))


@bp.get("/v1/search")
@cache.shared
def search():
    raw = request.args.get("q", "")
    text = " ".join(raw.split())
    if not text:
        raise ApiError(400, "Give a query in q (the search page's language, e.g. q=tag:rl reward).")
    if len(raw) > params.MAX_QUERY_LENGTH:  # the page cuts it with a note; the API refuses it
        raise ApiError(400, f"A query is at most {params.MAX_QUERY_LENGTH} characters; "
                            f"got {len(raw)}.")
    sort = params.choice(request.args, "sort", search_services.SORTS, "relevance")
    page = params.bounded_int(request.args, "page", 1, 1, search_services.MAX_PAGE)
    outcome = search_services.search(text, sort=sort, page=page)
    public = {t.id for t in listings.public_threads(
        r.thread.id for r in outcome.results if r.thread is not None)}
    # The index can lag a moment behind a moderator: only snippets of replies public now.
    public_posts = listings.public_post_ids(
        s.post_id for r in outcome.results for s in r.group.snippets if s.post_id)
    results = []
    for result in outcome.results:
        if result.paper is not None:
            results.append({"kind": "paper", "paper": serialize.paper(result.paper.paper),
                            "citing_threads": result.paper.citing_threads})
        elif result.thread is not None and result.thread.id in public:
            results.append({"kind": "thread", "thread": serialize.thread_summary(result.thread),
                            "matches": [{"kind": s.kind, "post_id": s.post_id, "snippet_html": s.html}
                                        for s in result.group.snippets
                                        if s.post_id is None or s.post_id in public_posts]})
    next_url = _next_page(page + 1) if outcome.has_next and page < search_services.MAX_PAGE else None
    # A query of only common words finds nothing, with a note saying why (as the page does).
    return jsonify(query=text, sort=sort, page=page, results=results,
                   suggestion=outcome.suggestion, notes=list(outcome.notes), next=next_url)


def _next(cursor: str) -> str:
    args = {**request.args.to_dict(), "cursor": cursor}
    return url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)


def _next_page(page: int) -> str:
    args = {**request.args.to_dict(), "page": page}
    return url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)

