"""Feed addresses: each page's address with ``.atom`` appended (see the package docstring)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for

from forum.accounts import services as accounts
from forum.feeds import atom, cache, entries
from forum.papers import queries as paper_queries
from forum.papers.arxiv import normalize_arxiv_id
from forum.papers.github import normalize_repo
from forum.search import services as search_services
from forum.threads import queries as thread_queries, ranking
from forum.threads.tags import normalize_tag

bp = Blueprint("feeds", __name__)


@bp.before_request
def refuse_nul():
    """A NUL cannot be in any name or query; PostgreSQL would refuse it with an error."""
    if "\x00" in request.path or any("\x00" in value for value in request.args.values()):
        abort(400, description="NUL characters are not allowed in addresses or parameters.")


@bp.route("/feed.atom")
@cache.shared
def front_page():
    tab, period = _tab_and_period()
    return atom.answer(entries.front_page(tab, period))


@bp.route("/tags/<tag>.atom")
@cache.shared
def tag(tag: str):
    name = normalize_tag(tag)
    if name is None:
        abort(404, description=f"{tag[:40]!r} is not a valid tag.")
    if name != tag:
        return redirect(url_for(".tag", tag=name, **request.args), 301)
    tab, period = _tab_and_period(default="new")
    return atom.answer(entries.front_page(tab, period, tag=name))


@bp.route("/t/<int(max=2147483647):thread_id>.atom")
@cache.shared
def thread(thread_id: int):
    found = thread_queries.thread_for_page(thread_id)
    if found is None or not found.is_public:
        abort(404, description="That thread does not exist, or is not public.")
    if found.is_deleted:
        abort(410, description="This thread was deleted; its feed is gone.")
    return atom.answer(entries.thread_feed(found), found.created_at)


@bp.route("/t/<int(max=2147483647):thread_id>/<slug>.atom")
def thread_with_slug(thread_id: int, slug: str):
    return redirect(url_for(".thread", thread_id=thread_id), 301)


@bp.route("/papers/<path:ident>.atom")
@cache.shared
def paper(ident: str):
    arxiv_id = normalize_arxiv_id(ident)
    if arxiv_id is None:
        abort(404, description=f"{ident[:60]!r} is not an arXiv identifier.")
    if arxiv_id != ident:
        return redirect(url_for(".paper", ident=arxiv_id), 301)
    found = paper_queries.paper_by_arxiv_id(arxiv_id)
    mentions = paper_queries.paper_citations(found.id) if found else []
    name = found.title if found and found.title else f"arXiv:{arxiv_id}"
    feed = entries.citations_feed(f"Debates citing {name}",
                                  url_for(".paper", ident=arxiv_id, _external=True),
                                  url_for("papers.paper", ident=arxiv_id, _external=True), mentions)
    return atom.answer(feed, found.created_at if found else atom.EMPTY_FEED_UPDATED)


@bp.route("/repos/<owner>/<name>.atom")
@cache.shared
def repository(owner: str, name: str):
    full_name = normalize_repo(f"https://github.com/{owner}/{name}")
    if full_name is None:
        abort(404, description=f"{owner}/{name} is not a valid GitHub repository name.")
    found = paper_queries.repo_by_name(full_name)
    mentions = paper_queries.repo_citations(found.id) if found else []
    feed = entries.citations_feed(f"Debates citing {full_name}",
                                  url_for(".repository", owner=owner, name=name, _external=True),
                                  url_for("papers.repository", owner=owner, name=name,
                                          _external=True), mentions)
    return atom.answer(feed, found.created_at if found else atom.EMPTY_FEED_UPDATED)


@bp.route("/u/<username>.atom")
@cache.shared
def member(username: str):
    user = accounts.find_by_username(username)
    if user is None:
        abort(404, description=f"There is no member called {username[:40]!r}.")
    return atom.answer(entries.member_feed(user), user.created_at)


@bp.route("/search.atom")
@cache.shared
def search():
    text = " ".join(request.args.get("q", "").split())
    if not text:
        abort(400, description="Give a query: /search.atom?q=words (the search page's language).")
    outcome = search_services.search(text, sort="newest", page=1)
    if outcome.nothing_to_search:
        abort(400, description=search_services.NOTHING_TO_SEARCH)
    return atom.answer(entries.search_feed(text, outcome))


def _tab_and_period(default: str = "hot") -> tuple[str, str]:
    tab = request.args.get("tab", default)
    period = request.args.get("period", "week")
    if tab not in ranking.TABS or period not in ranking.TOP_PERIODS:
        abort(400, description="Unknown tab or period: use hot, active, new or top "
                               "(top with day, week, month, year or all).")
    return tab, period
