"""The forum seen from outside: citing a debate, the open data export, and what
search engines and link previews read (robots.txt, sitemaps, canonical links,
descriptions, OpenGraph, schema.org JSON-LD).

``register(app)`` adds the blueprint, the ``export`` command and the template
helpers; the feeds live in ``forum/feeds`` and the JSON API in ``forum/api``.
"""
from __future__ import annotations


def register(app) -> None:
    from forum.opendata import cli, findable
    from forum.opendata.views import bp
    app.register_blueprint(bp)
    cli.register(app)
    findable.register(app)
