"""Jinja filters and globals: relative times with the exact UTC time on hover."""
import re
from datetime import datetime, timezone

from urllib.parse import quote

from flask import current_app, g, request, url_for
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


def time_tag(moment: datetime | None, now: datetime | None = None) -> Markup:
    """``<time>`` saying "3 hours ago", with the exact UTC time on hover.

    Built with an f-string rather than ``Markup.format``, and the hover text cut
    from the ISO form rather than formatted again: a thread page draws hundreds
    of these. Nothing needs escaping: ``timeago`` writes only digits and English
    words, and the other two are dates. A page drawing many may pass ``now``.
    """
    return Markup(time_tag_text(moment, now))


TIME_OPENINGS_KEPT = 20_000  # moments whose opening tag is kept (a few hundred per page)
_time_openings: dict[datetime, tuple[str, datetime]] = {}  # moment -> (opening, in UTC)


def time_tag_text(moment: datetime | None, now: datetime | None = None) -> str:
    """``time_tag`` as a plain ``str``, for code that joins many into one ``Markup``.

    The opening tag (the ISO date and its hover text) depends only on the moment,
    and lists draw the same threads' dates request after request, so it is kept
    per moment (formatting it was most of the cost); "3 hours ago" is worked out
    each time. Equal moments in other time zones are the same instant, so the same
    opening.
    """
    if moment is None:
        return ""
    kept = _time_openings.get(moment)
    if kept is None:
        exact = moment.astimezone(timezone.utc)
        iso = exact.isoformat(timespec="seconds")  # 2026-01-02T03:04:05+00:00
        kept = (f'<time datetime="{iso}" title="{iso[:10]} {iso[11:16]} UTC">', exact)
        if len(_time_openings) >= TIME_OPENINGS_KEPT:
            _time_openings.clear()
        _time_openings[moment] = kept
    return f"{kept[0]}{timeago(kept[1], now)}</time>"


SAMPLE_VALUE = 9081726354  # values no link will hold: each marks where a real value goes


def quick_url(endpoint: str, **values) -> str:
    """``url_for`` for links that differ only in their values, cheap enough for a loop.

    The text around the values is worked out once per process
    (``_kept_link_pieces``) and found again through ``g`` with one lookup per
    call; each call only fills in the values. A thread page draws several links
    per reply and the front page one per thread, and ``url_for`` costs many
    times more than this.
    Values must not be None (``url_for`` leaves those out of the link).
    """
    built = g.setdefault("quick_urls", {})
    key = (endpoint, *values)
    pieces = built.get(key)
    if pieces is None:
        pieces = built[key] = _kept_link_pieces(endpoint, list(values))
    if not pieces:  # a value the route transforms: no place to fill in, so build it each time
        return url_for(endpoint, **values)
    link = pieces[0]
    for name, text in pieces[1:]:
        value = values[name]
        link += (str(value) if type(value) is int else quote(str(value), safe="")) + text
    return link


def fixed_url(endpoint: str, **values) -> str:
    """``url_for`` for a link that is the same on every page (the layout's stylesheets,
    scripts and menu links), built once per process and kept.

    Only for values written in a template, never for values from a request or a
    row: every distinct call is kept for the life of the process.
    """
    key = (request.script_root, endpoint, *values.items())
    links = current_app.extensions.setdefault("fixed_urls", {})
    link = links.get(key)
    if link is None:
        link = links[key] = url_for(endpoint, **values)
    return link


def quick_external_url(endpoint: str, **values) -> str:
    """``url_for(..., _external=True)`` in a request, as cheaply as ``quick_url``."""
    return request.host_url.rstrip("/") + quick_url(endpoint, **values)


def link_around(endpoint: str, *names: str) -> tuple[str, ...]:
    """The texts around the values ``names`` in ``endpoint``'s links, in the link's order:
    ``(before, after)`` for one value, ``(before, between, after)`` for two.

    For a loop that draws the same link for many rows: it builds the link once
    (as ``quick_url`` would) and the loop joins the pieces around each row's
    values, with no call per link. The values must go into the link as they are
    (ids, slugs: nothing to quote).
    """
    pieces = _kept_link_pieces(endpoint, list(names))
    if not pieces or [name for name, _ in pieces[1:]] != list(names):
        raise ValueError(f"{endpoint}: {', '.join(names)} do not appear in the link as given")
    return (pieces[0], *(text for _, text in pieces[1:]))


def _kept_link_pieces(endpoint: str, names: list[str]) -> tuple:
    """``_link_pieces``, worked out once per process for each application root (as
    ``fixed_url``): the cut depends only on the routes and where the site is mounted,
    never on the values, and each page asked again for its tabs', authors' and threads'
    links, each time a ``url_for`` and a regular expression. The keys are endpoint and
    value names written in the code, so the store stays small.
    """
    key = (request.script_root, request.blueprint if endpoint.startswith(".") else None,
           endpoint, *names)
    kept = current_app.extensions.setdefault("link_pieces", {})
    pieces = kept.get(key)
    if pieces is None:
        pieces = kept[key] = _link_pieces(endpoint, names)
    return pieces


def _link_pieces(endpoint: str, names: list[str]) -> tuple:
    """A link cut at its values: (text before the first, (name, text after it), ...)."""
    markers = {str(SAMPLE_VALUE + n): name for n, name in enumerate(names)}
    cut = re.split("(" + "|".join(markers) + ")",
                   url_for(endpoint, **{name: SAMPLE_VALUE + n for n, name in enumerate(names)}))
    if len(cut) != 2 * len(names) + 1:
        return ()  # some value does not appear as given: quick_url falls back to url_for
    return (cut[0], *((markers[marker], text) for marker, text in zip(cut[1::2], cut[2::2])))


# Stances read as nouns in counts: "1 challenge", "0 questions", "2 pieces of evidence".
STANCE_NOUNS = {"supports": ("support", "supports"), "challenges": ("challenge", "challenges"),
                "question": ("question", "questions"), "evidence": ("piece of evidence", "pieces of evidence")}


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``{{ n|plural("reply", "replies") }}`` -> "1 reply", "0 replies", "2 replies"."""
    return f"{count} {singular if count in (1, -1) else (plural_form or singular + 's')}"


def stance_count(count: int, stance: str) -> str:
    return plural(count, *STANCE_NOUNS.get(stance, (stance, stance)))


def is_first_invalid(field) -> bool:
    """True for the first field with an error on the page, which then gets ``autofocus``: after a
    refused form, the cursor is where the first thing to fix is (with or without JavaScript)."""
    if not field.errors or g.get("focused_invalid_field"):
        return False
    g.focused_invalid_field = True
    return True


def register(app) -> None:
    app.add_template_filter(timeago)
    app.add_template_filter(time_tag)
    app.add_template_global(quick_url)
    app.add_template_global(fixed_url)
    app.add_template_global(quick_external_url)  # the listings' feed links, drawn on every page
    app.add_template_global(is_first_invalid)
    app.add_template_filter(plural)
    app.add_template_filter(stance_count)
    from forum.mail import prints_to_terminal
    app.add_template_global(prints_to_terminal, "mail_prints_to_terminal")

    @app.context_processor
    def site():
        return {"site_name": current_app.config["FORUM_SITE_NAME"]}
