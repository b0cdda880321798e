"""``/search``: open to everyone, results grouped by thread; ``/search/help``: the query language."""
from flask import Blueprint, current_app, redirect, render_template, request, url_for

from forum.search import indexer, services
from forum.search.backend import SearchUnavailable
from forum.search.chips import filter_chips

bp = Blueprint("search", __name__)


@bp.before_app_request
def _indexer_runs():
    """Every process that serves requests drains the outbox beside them (forum/search/indexer.py)."""
    indexer.ensure_running(current_app._get_current_object())


@bp.route("/search")
def search():
    if "within" in request.args:  # a scoped box (tag or paper page): fold its filter into q
        return redirect(url_for(".search", **services.scoped_query(request.args)))
    text = request.args.get("q", "")
    page, page_note = services.clean_page(request.args.get("page"))
    sort = request.args.get("sort", "relevance")
    try:
        outcome = services.search(text, sort=sort, page=page) if text.strip() else None
    except SearchUnavailable:  # rebuilt in the background meanwhile (forum.search.indexer)
        return (render_template("search/rebuilding.html", q=text), 503,
                {"Retry-After": str(services.RETRY_AFTER_S)})
    notes = ([page_note] if page_note else []) + (outcome.notes if outcome else [])
    return render_template("search/results.html", q=text, sort=sort, outcome=outcome,
                           notes=notes, sorts=services.SORTS, chips=filter_chips(text))


@bp.route("/search/help")
def help():
    return render_template("search/help.html")
