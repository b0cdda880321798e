"""``/search``: open to everyone, results grouped by thread; ``/search/help``: the query language."""
from flask import Blueprint, render_template, request

from forum.search import services

bp = Blueprint("search", __name__)


@bp.route("/search")
def search():
    text = request.args.get("q", "")
    page, page_note = services.clean_page(request.args.get("page"))
    sort = request.args.get("sort", "relevance")
    outcome = services.search(text, sort=sort, page=page) if text.strip() else None
    notes = ([page_note] if page_note else []) + (outcome.notes if outcome else [])
    return render_template("search/results.html", q=text, sort=sort, outcome=outcome,
                           notes=notes, sorts=services.SORTS)


@bp.route("/search/help")
def help():
    return render_template("search/help.html")
