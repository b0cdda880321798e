"""Small pieces of HTML that a thread page draws once per reply, built in Python.

A thread page draws a vote box and a byline for each of hundreds of replies,
and the front page a byline and tag links for every thread. As Jinja macros
most of their cost would be the macro machinery (a new context per call);
these functions draw the same markup as plain Python. Every value that comes
from a person is escaped here; the result is ``Markup``, safe to insert as it is.

A whole reply (``reply_article``) is drawn here too, for the same reason: the
thread page's loop over hundreds of replies was most of its request, spent in
Jinja's per-call and per-attribute machinery rather than in the markup. What
every reply on a page shares (the viewer, their votes, their last visit, the
links cut around an id) is worked out once per request in ``ReplyPage``.
Permissions are still the models' predicates, asked of each reply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone

from flask import url_for
from markupsafe import Markup, escape

from forum import pagecache
from forum.assets import post_html
from forum.opendata.cite import cite_box_around
from forum.templating import link_around, quick_url, time_tag


def byline(user, moment) -> Markup:
    """The author's name linked to their profile, their affiliation, and when."""
    return Markup(f'{_author(user)}\n  · {time_tag(moment)}')


def _author(user, profile_url: str | None = None) -> str:
    """The linked name and affiliation; ``profile_url``, the profile's link, when the caller
    has it at hand."""
    affiliation = (f' <span class="affiliation">({escape(user.affiliation)})</span>'
                   if user.affiliation else "")
    if profile_url is None:
        profile_url = quick_url("accounts.profile", username=user.username)
    return f'<a class="author" href="{profile_url}">{escape(user.name)}</a>{affiliation}'


def tag_links(names) -> Markup:
    """A thread's tag names as links to their listings (nothing when it has none)."""
    items = "".join(f'<li><a class="tag" href="{quick_url("threads.tag", tag=name)}">'
                    f'{escape(name)}</a></li>' for name in names)
    return Markup(f'<ul class="tags" aria-label="Tags">{items}</ul>') if items else Markup("")


def vote_box(target, kind: str, my_vote: int | None, viewer, action: str | None = None,
             token: str | None = None) -> Markup:
    """Up/down buttons for those who may vote; everyone else sees the score alone.

    The buttons are a plain form POST; static/js/votes.js sends it without
    reloading. Those who cannot vote get no form, so no CSRF token is drawn.
    ``action``, the form's link, and ``token``, the CSRF token, may be given by
    a caller that has them at hand.
    """
    if not target.can_be_voted_on_by(viewer):
        return Markup(f'<div class="vote-form" data-vote="0">'
                      f'<span class="score" aria-label="score">{int(target.score)}</span></div>')
    if action is None:
        action = (url_for("threads.vote_thread", thread_id=target.id) if kind == "thread"
                  else quick_url("threads.vote_post", post_id=target.id))
    up, down = ("true" if my_vote == 1 else "false"), ("true" if my_vote == -1 else "false")
    return Markup(
        f'<form method="post" action="{action}" class="vote-form" data-vote="{int(my_vote or 0)}">\n'
        f'  <input type="hidden" name="csrf_token" value="{token or pagecache.csrf_token()}">\n'
        f'  <button type="submit" name="value" value="up" class="vote-up" aria-pressed="{up}" '
        f'aria-label="Vote up" title="Vote up (again to take it back)">▲</button>\n'
        f'  <span class="score" aria-label="score">{int(target.score)}</span>\n'
        f'  <button type="submit" name="value" value="down" class="vote-down" aria-pressed="{down}" '
        f'aria-label="Vote down" title="Vote down (again to take it back)">▼</button>\n'
        f'</form>')


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is reading, as the models' permission predicates ask about them.

    Those predicates run several times per reply; asked of a ``User``, each
    question is a property that works its answer out again (``is_banned`` reads
    the clock, ``can_participate`` asks two more). The answers cannot change
    while one page is drawn, so they are worked out once, here.
    """

    is_authenticated: bool
    id: int | None
    is_moderator: bool
    is_banned: bool
    can_participate: bool

    @classmethod
    def of(cls, user) -> Viewer:
        if not user.is_authenticated:
            return cls(False, None, False, False, False)
        return cls(True, user.id, user.is_moderator, user.is_banned, user.can_participate)


@dataclass
class ReplyPage:
    """What every reply on one thread page shares, worked out once per request."""

    viewer: Viewer  # what the permission predicates ask about the reader, answered once
    viewer_id: int | None  # None for a visitor
    my_votes: dict
    last_read: datetime | None
    stance: str | None  # the page's ?stance= filter: parent links then go to permalinks
    can_reply: bool
    can_report: bool
    is_moderator: bool
    reply_url: str  # the reply form's link, up to the parent's id
    links: dict[str, tuple[str, str]]  # endpoint -> the link's text around a post id
    cite_pieces: tuple[str, ...]  # a reply's cite box cut around its id
    now: datetime  # what "3 hours ago" counts from: one clock reading for the whole page
    authors: dict[int, str] = field(default_factory=dict)  # author id -> name and affiliation

    @classmethod
    def build(cls, thread, tree, viewer, my_votes: dict, last_read: datetime | None) -> ReplyPage:
        signed_in = viewer.is_authenticated
        return cls(
            viewer=Viewer.of(viewer), viewer_id=viewer.id if signed_in else None, my_votes=my_votes,
            last_read=last_read, stance=tree.stance,
            can_reply=thread.can_be_replied_to_by(viewer), can_report=signed_in,
            is_moderator=signed_in and viewer.is_moderator,
            reply_url=str(escape(url_for("threads.reply", thread_id=thread.id, parent=""))),
            links={endpoint: link_around(endpoint, "post_id") for endpoint in POST_LINKS},
            cite_pieces=cite_box_around("post"), now=datetime.now(timezone.utc))

    @cached_property
    def csrf(self) -> str:
        """The forms' CSRF token, asked for once: only pages with a form need one."""
        return pagecache.csrf_token()

    def link(self, endpoint: str, post_id: int) -> str:
        before, after = self.links[endpoint]
        return f"{before}{post_id}{after}"

    def author(self, user) -> str:
        """The author's linked name and affiliation (as in ``byline``), drawn once per author:
        a long thread has many replies by few people."""
        html = self.authors.get(user.id)
        if html is None:
            html = self.authors[user.id] = _author(user)
        return html


# The links a reply may carry, each to a page of that reply.
POST_LINKS = ("threads.permalink", "threads.vote_post", "threads.post_history", "threads.edit_post",
              "threads.delete_post", "moderation.report_post", "moderation.post")

_MASKED = '\n    <p class="deleted">[not public: hidden by a moderator or awaiting approval]</p>\n  </article>'
_REASON = ('<input type="text" name="reason" required minlength="3" maxlength="1000" '
           'placeholder="Reason (audit log)" aria-label="Reason for deleting (audit log)">')
# Between replies: the blank lines the template's loop drew, so the page's bytes stay as they were.
_BEFORE, _AFTER = "\n  \n  \n  ", "\n  \n  "


def reply_articles(rows, page: ReplyPage) -> Markup:
    """Every reply of the page, in order (see ``reply_article``)."""
    return Markup("".join([f"{_BEFORE}{reply_article(row, page)}{_AFTER}" for row in rows]))


def reply_article(row, page: ReplyPage) -> str:
    """One reply's ``<article>`` (escaped HTML): its meta line, parent link, body, cite box
    and actions, each line as the thread template drew it.

    A held or hidden reply the viewer may not see (``row.masked``) is a placeholder.
    """
    post = row.post
    post_id = post.id
    opening = f'<article class="reply depth-{row.indent}" id="{post.anchor}">'
    if row.masked:
        return opening + _MASKED
    viewer = page.viewer
    deleted = post.is_deleted
    meta = [
        "" if deleted else vote_box(post, "post", page.my_votes.get(f"post:{post_id}"), viewer,
                                    page.link("threads.vote_post", post_id), page.csrf),
        '<span class="deleted">[deleted]</span>' if deleted
        else f"{page.author(post.author)}\n  · {time_tag(post.created_at, page.now)}",
        f'<span class="stance stance-{escape(post.stance)}">{escape(post.stance)}</span>'
        if post.stance and not deleted else "",
        '<span class="badge new-reply">new</span>'
        if page.last_read and post.created_at > page.last_read and post.author_id != page.viewer_id
        else "",
        f' · <a class="edited" href="{page.link("threads.post_history", post_id)}" title="edited '
        f'{post.edited_at.strftime("%Y-%m-%d %H:%M UTC")}: see the history">edited</a>'
        if post.edited_at and not deleted else "",
        ' · <span class="badge">awaiting approval</span>' if post.is_held else "",
        ' · <span class="badge">hidden by a moderator</span>' if post.is_hidden else "",
        f'· <a class="permalink" href="#{post.anchor}" aria-label="Permalink to this reply">#</a>',
        f' · <a class="report" href="{page.link("moderation.report_post", post_id)}">Report</a>'
        if page.can_report and not deleted and post.author_id != page.viewer_id else "",
        f' · <a href="{page.link("moderation.post", post_id)}">Moderate</a>' if page.is_moderator else "",
    ]
    parent = row.parent
    in_reply_to = ""
    if (row.shows_parent_link or page.stance) and parent:
        target = page.link("threads.permalink", parent.id) if page.stance else f"#{parent.anchor}"
        in_reply_to = (f'\n      <p class="in-reply-to">in reply to <a href="{target}">'
                       f'@{escape(parent.author.username)}</a></p>\n    ')
    if deleted:
        body = '\n      <p class="deleted">[deleted]</p>\n    '
    else:
        cite = str(post_id).join(page.cite_pieces) if post.is_public else ""
        reply = (f'<a class="reply-link" data-parent="{post_id}" href="{page.reply_url}{post_id}">Reply</a>'
                 if page.can_reply else "")
        body = (f'\n      <div class="prose">{post_html(post.body_html)}</div>\n      {cite}\n'
                f'      <div class="actions">\n        {reply}\n        {_edit_actions(post, page)}'
                f'\n      </div>\n    ')
    meta_lines = "\n      ".join(meta)
    return (f'{opening}\n    <div class="meta">\n      {meta_lines}\n    </div>\n    {in_reply_to}'
            f'\n    {body}\n  </article>')


def _edit_actions(post, page: ReplyPage) -> str:
    """Edit and Delete, for those ``can_be_edited_by`` allows; a moderator deleting
    someone else's reply gives a reason (``needs_reason_from``)."""
    viewer = page.viewer
    if not post.can_be_edited_by(viewer):
        return ""
    reason = _REASON if post.needs_reason_from(viewer) else ""
    return (f'\n          <a href="{page.link("threads.edit_post", post.id)}">Edit</a>\n'
            f'          <form method="post" action="{page.link("threads.delete_post", post.id)}" class="inline">\n'
            f'            <input type="hidden" name="csrf_token" value="{page.csrf}">\n'
            f'            {reason}\n'
            f'            <button type="submit" class="link-button danger" data-confirm="Delete this reply?">'
            f'Delete</button>\n          </form>\n        ')


def register(app) -> None:
    app.add_template_global(byline)
    app.add_template_global(vote_box)
    app.add_template_global(tag_links)
    app.add_template_global(reply_articles)
