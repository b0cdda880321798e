"""Jinja filters and globals: relative times with the exact UTC time on hover."""
import re
from datetime import datetime, timezone

from urllib.parse import quote

from flask import current_app, g, url_for
from markupsafe import Markup

UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400),
         ("day", 86400), ("hour", 3600), ("minute", 60))


def timeago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    for name, size in UNITS:
        if seconds >= size:
            count = seconds // size
            return f"{count} {name}{'s' if count != 1 else ''} ago"
    return "just now"


def time_tag(moment: datetime | None) -> Markup:
    """``<time>`` saying "3 hours ago", with the exact UTC time on hover.

    Built with an f-string rather than ``Markup.format``, and the hover text cut
    from the ISO form rather than formatted again: a thread page draws hundreds
    of these. Nothing needs escaping: ``timeago`` writes only digits and English
    words, and the other two are dates.
    """
    if moment is None:
        return Markup("")
    exact = moment.astimezone(timezone.utc)
    iso = exact.isoformat(timespec="seconds")  # 2026-01-02T03:04:05+00:00
    return Markup(f'<time datetime="{iso}" title="{iso[:10]} {iso[11:16]} UTC">'
                  f'{timeago(exact)}</time>')


_SAMPLE = 9081726354  # values no link will hold: each marks where a real value goes


def quick_url(endpoint: str, **values) -> str:
    """``url_for`` for links that differ only in their values, cheap enough for a loop.

    The first call in a request for an endpoint and set of names builds the link
    with marker values and keeps the text between them; every later call only
    fills in the values. A thread page draws several links per reply and the
    front page one per thread, and ``url_for`` costs many times more than this.
    Values must not be None (``url_for`` leaves those out of the link).
    """
    built = g.setdefault("quick_urls", {})
    key = (endpoint, *values)
    pieces = built.get(key)
    if pieces is None:
        pieces = built[key] = _link_pieces(endpoint, list(values))
    if not pieces:  # a value the route transforms: no place to fill in, so build it each time
        return url_for(endpoint, **values)
    link = pieces[0]
    for name, text in pieces[1:]:
        value = values[name]
        link += (str(value) if type(value) is int else quote(str(value), safe="")) + text
    return link


def _link_pieces(endpoint: str, names: list[str]) -> tuple:
    """A link cut at its values: (text before the first, (name, text after it), ...)."""
    markers = {str(_SAMPLE + n): name for n, name in enumerate(names)}
    cut = re.split("(" + "|".join(markers) + ")",
                   url_for(endpoint, **{name: _SAMPLE + n for n, name in enumerate(names)}))
    if len(cut) != 2 * len(names) + 1:
        return ()  # some value does not appear as given: quick_url falls back to url_for
    return (cut[0], *((markers[marker], text) for marker, text in zip(cut[1::2], cut[2::2])))


def register(app) -> None:
    app.add_template_filter(timeago)
    app.add_template_filter(time_tag)
    app.add_template_global(quick_url)

    @app.context_processor
    def site():
        return {"site_name": current_app.config["FORUM_SITE_NAME"]}
