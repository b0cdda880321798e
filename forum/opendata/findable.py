"""What a page tells search engines and link previews about itself.

Thread, paper and profile pages add a canonical link, a meta description and
OpenGraph tags through ``templates/opendata/_head.html``; thread pages add
schema.org ``DiscussionForumPosting`` JSON-LD, the markup search engines read
for forum threads. The JSON-LD is emitted with Jinja's ``tojson``, which
escapes ``<``, ``>`` and ``&``, so no text in it can close its script
element; the Content-Security-Policy (``script-src 'self'``) does not apply to
it because a browser never executes ``application/ld+json``.
"""
from __future__ import annotations

import re

from flask import current_app, url_for
from markupsafe import Markup

from forum.templating import quick_external_url

DESCRIPTION_LENGTH = 200  # characters: what result pages and previews show, roughly
JSON_LD_COMMENTS = 20  # replies described in a thread's JSON-LD; the page itself holds the rest
# Block elements end a phrase (a space); inline ones (links, emphasis) sit inside a sentence.
_BLOCK_TAGS = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|pre|blockquote|table|tr|td|th|hr)\b[^>]*>",
                         re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def plain_excerpt(html: str | None, length: int = DESCRIPTION_LENGTH) -> str:
    """Stored, sanitized post HTML to one line of text, cut at a word."""
    text = _TAGS.sub("", _BLOCK_TAGS.sub(" ", html or ""))
    text = Markup(_SPACE.sub(" ", text)).unescape().strip()
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def _person(user) -> dict:
    return {"@type": "Person", "name": user.name,
            "url": quick_external_url("accounts.profile", username=user.username)}


def thread_json_ld(thread, rows) -> dict:
    """``DiscussionForumPosting`` for a thread and the first replies drawn on its page.

    The replies' links are ``quick_external_url``s: two per reply, each ``url_for`` costs more.
    """
    data = {
        "@context": "https://schema.org", "@type": "DiscussionForumPosting",
        "@id": url_for("threads.show", thread_id=thread.id, _external=True),
        "url": url_for("threads.show", thread_id=thread.id, slug=thread.slug, _external=True),
        "headline": thread.title, "text": plain_excerpt(thread.body_html, 1000),
        "datePublished": thread.created_at.isoformat(),
        "dateModified": (thread.edited_at or thread.created_at).isoformat(),
        "author": _person(thread.author),
        "keywords": [tag.name for tag in thread.tags],
        "isPartOf": {"@type": "WebSite", "name": current_app.config["FORUM_SITE_NAME"],
                     "url": url_for("threads.index", _external=True)},
        "interactionStatistic": [
            {"@type": "InteractionCounter", "interactionType": "https://schema.org/CommentAction",
             "userInteractionCount": thread.reply_count},
            {"@type": "InteractionCounter", "interactionType": "https://schema.org/LikeAction",
             "userInteractionCount": max(thread.score, 0)}],
    }
    comments = []
    for row in rows:
        post = row.post
        if row.masked or post.is_deleted or not post.is_public:
            continue
        comments.append({
            "@type": "Comment", "url": quick_external_url("threads.permalink", post_id=post.id),
            "text": plain_excerpt(post.body_html, 1000), "datePublished": post.created_at.isoformat(),
            "author": _person(post.author)})
        if len(comments) == JSON_LD_COMMENTS:
            break
    if comments:
        data["comment"] = comments
    return data


def content_license() -> str:
    return current_app.config.get("CONTENT_LICENSE") or "CC BY 4.0"


def register(app) -> None:
    from forum.opendata.cite import cite_box
    app.add_template_global(cite_box)
    app.add_template_filter(plain_excerpt)
    app.add_template_global(thread_json_ld)
    app.add_template_global(content_license)
