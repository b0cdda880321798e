"""Citation downloads, robots.txt and the sitemaps."""
from __future__ import annotations

from flask import Blueprint, Response, abort, url_for

from forum.opendata import cite, sitemap
from forum.threads import queries as thread_queries

bp = Blueprint("opendata", __name__)

# Pages with no value to a search engine, or that only members use.
ROBOTS_DISALLOW = ("/auth/", "/settings", "/notifications", "/moderation", "/report/",
                   "/digest/confirm/", "/digest/unsubscribe/", "/digest/settings", "/t/new",
                   "/search")


@bp.route("/t/<int(max=2147483647):thread_id>/cite.bib")
def cite_thread_bibtex(thread_id: int):
    return _download(cite.bibtex(cite.for_thread(_public_thread(thread_id))),
                     "application/x-bibtex", f"thread-{thread_id}.bib")


@bp.route("/t/<int(max=2147483647):thread_id>/cite.json")
def cite_thread_csl(thread_id: int):
    return _download(cite.csl_json(cite.for_thread(_public_thread(thread_id))),
                     "application/vnd.citationstyles.csl+json", f"thread-{thread_id}.json")


@bp.route("/p/<int(max=2147483647):post_id>/cite.bib")
def cite_post_bibtex(post_id: int):
    return _download(cite.bibtex(cite.for_reply(_public_reply(post_id))),
                     "application/x-bibtex", f"reply-{post_id}.bib")


@bp.route("/p/<int(max=2147483647):post_id>/cite.json")
def cite_post_csl(post_id: int):
    return _download(cite.csl_json(cite.for_reply(_public_reply(post_id))),
                     "application/vnd.citationstyles.csl+json", f"reply-{post_id}.json")


@bp.route("/robots.txt")
def robots():
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW), "",
             f"Sitemap: {url_for('.sitemap_index', _external=True)}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.route("/sitemap.xml")
def sitemap_index():
    return Response(sitemap.index_xml(), mimetype="application/xml")


@bp.route("/sitemaps/<kind>-<int(max=100000):number>.xml")
def sitemap_page(kind: str, number: int):
    if kind not in sitemap.KINDS or number < 1:
        abort(404, description="There is no such sitemap.")
    body = sitemap.page_xml(kind, number)
    if body is None:
        abort(404, description="There is no such sitemap page.")
    return Response(body, mimetype="application/xml")


def _public_thread(thread_id: int):
    thread = thread_queries.thread_with_author(thread_id)
    if thread is None or not thread.is_public:
        abort(404, description="That thread does not exist, or is not public.")
    if thread.is_deleted:
        abort(410, description="This thread was deleted; it can no longer be cited.")
    return thread


def _public_reply(post_id: int):
    post = thread_queries.post_with_thread(post_id)
    if post is None or not (post.is_public and post.thread.is_public):
        abort(404, description="That reply does not exist, or is not public.")
    if post.is_deleted or post.thread.is_deleted:
        abort(410, description="This reply was deleted; it can no longer be cited.")
    return post


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
