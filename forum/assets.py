"""What a page loads: static files under content-hashed names, and code styles only where needed.

Static files are served under names that carry a hash of their content
(``css/site.3f2a9c1b0d4e.css``), with ``Cache-Control: public, max-age=31536000,
immutable``: a browser fetches each version once and never revalidates it, and
a changed file gets a new name, so nobody sees a stale stylesheet after a
deploy. ``url_for("static", filename="css/site.css")`` gives the hashed name,
so templates name files as they are on disk. The plain name still works (old
pages, emails) but is sent ``no-cache``.

The hashes are worked out once when the app starts, from the files on disk.

The syntax-highlighting stylesheet is only needed where a post shows a code
block. Templates print stored post HTML through the ``post_html`` filter,
which notes when the HTML holds highlighted code; ``base.html`` draws the page
content before its ``<head>`` so that it can ask ``page_has_code()`` there.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Flask, abort, current_app, g, send_from_directory
from markupsafe import Markup

ONE_YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"
HASH_LENGTH = 12
# "css/site.3f2a9c1b0d4e.css" -> ("css/site", "3f2a9c1b0d4e", ".css")
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{%d})(?P<suffix>\.[A-Za-z0-9]+)$" % HASH_LENGTH)
CODE_CLASS = 'class="codehilite"'


def build_manifest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (as a URL path) to its content-hashed name."""
    manifest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]
            stem, dot, suffix = name.rpartition(".")
            manifest[name] = f"{stem}.{digest}.{suffix}" if dot and "/" not in suffix else f"{name}.{digest}"
    return manifest


def serve_static(filename: str):
    manifest = current_app.extensions["static_manifest"]
    match = _HASHED.match(filename)
    if match:
        original = match["stem"] + match["suffix"]
        if manifest.get(original) != filename:
            abort(404)  # an old or made-up hash: never serve other content under it
        response = send_from_directory(current_app.static_folder, original, max_age=ONE_YEAR)
        response.headers["Cache-Control"] = IMMUTABLE
        return response
    if filename not in manifest:
        abort(404)
    response = send_from_directory(current_app.static_folder, filename)
    response.headers["Cache-Control"] = "no-cache"
    return response


def post_html(html: str | None) -> Markup:
    """Stored, sanitized post HTML, unescaped; notes whether the page needs the code styles."""
    html = html or ""
    if CODE_CLASS in html:
        g.page_has_code = True
    return Markup(html)


def page_has_code() -> bool:
    return bool(g.get("page_has_code"))


def register(app: Flask) -> None:
    folder = Path(app.static_folder)
    app.extensions["static_manifest"] = build_manifest(folder)
    app.add_url_rule(f"{app.static_url_path}/<path:filename>", endpoint="static", view_func=serve_static)

    @app.url_defaults
    def hashed_static_names(endpoint, values):
        if endpoint == "static" and "filename" in values:
            hashed = app.extensions["static_manifest"].get(values["filename"])
            if hashed:
                values["filename"] = hashed

    app.add_template_filter(post_html)
    app.add_template_global(page_has_code)
