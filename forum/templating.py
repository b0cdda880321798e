"""Jinja filters and globals: relative times with the exact UTC time on hover."""
from datetime import datetime, timezone

from urllib.parse import quote

from flask import current_app, g, url_for
from markupsafe import Markup, escape

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

    Built with an f-string rather than ``Markup.format``: a page draws hundreds of
    these and ``format`` costs several times more. Only ``timeago`` is text, and it
    is escaped; the other two are formatted dates.
    """
    if moment is None:
        return Markup("")
    exact = moment.astimezone(timezone.utc)
    return Markup(f'<time datetime="{exact.isoformat(timespec="seconds")}" '
                  f'title="{exact.strftime("%Y-%m-%d %H:%M UTC")}">{escape(timeago(exact))}</time>')


_SAMPLE = 9081726354  # a value no link will hold: it marks where the real one goes


def quick_url(endpoint: str, **values) -> str:
    """``url_for`` with exactly one value, cheap enough for a loop of a thousand.

    The first call in a request builds the link with a marker value and keeps the
    text around it; every later call for the same endpoint only fills in the
    value. A thread page draws several links per reply, and ``url_for`` costs
    about twenty times more than this.
    """
    (name, value), = values.items()
    built = g.setdefault("quick_urls", {})
    parts = built.get((endpoint, name))
    if parts is None:
        parts = built[(endpoint, name)] = url_for(endpoint, **{name: _SAMPLE}).split(str(_SAMPLE))
    return quote(str(value), safe="").join(parts)


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
    app.add_template_global(is_first_invalid)
    app.add_template_filter(plural)
    app.add_template_filter(stance_count)
    from forum.mail import prints_to_terminal
    app.add_template_global(prints_to_terminal, "mail_prints_to_terminal")

    @app.context_processor
    def site():
        return {"site_name": current_app.config["FORUM_SITE_NAME"]}
