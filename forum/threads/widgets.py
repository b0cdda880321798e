"""Small pieces of HTML that a thread page draws once per reply, built in Python.

A thread page draws a vote box and a byline for each of hundreds of replies,
and the front page a byline and tag links for every thread. As Jinja macros
most of their cost would be the macro machinery (a new context per call);
these functions draw the same markup as plain Python. Every value that comes from a person is escaped here; the result is
``Markup``, safe to insert as it is.
"""
from __future__ import annotations

from flask import url_for
from markupsafe import Markup, escape

from forum import pagecache
from forum.templating import quick_url, time_tag


def byline(user, moment) -> Markup:
    """The author's name linked to their profile, their affiliation, and when."""
    affiliation = (f' <span class="affiliation">({escape(user.affiliation)})</span>'
                   if user.affiliation else "")
    return Markup(f'<a class="author" href="{quick_url("accounts.profile", username=user.username)}">'
                  f'{escape(user.name)}</a>{affiliation}\n  · {time_tag(moment)}')


def tag_links(names) -> Markup:
    """A thread's tag names as links to their listings (nothing when it has none)."""
    items = "".join(f'<li><a class="tag" href="{quick_url("threads.tag", tag=name)}">'
                    f'{escape(name)}</a></li>' for name in names)
    return Markup(f'<ul class="tags" aria-label="Tags">{items}</ul>') if items else Markup("")


def vote_box(target, kind: str, my_vote: int | None, viewer) -> Markup:
    """Up/down buttons for those who may vote; everyone else sees the score alone.

    The buttons are a plain form POST; static/js/votes.js sends it without
    reloading. Those who cannot vote get no form, so no CSRF token is drawn.
    """
    if not target.can_be_voted_on_by(viewer):
        return Markup(f'<div class="vote-form" data-vote="0">'
                      f'<span class="score" aria-label="score">{int(target.score)}</span></div>')
    action = (url_for("threads.vote_thread", thread_id=target.id) if kind == "thread"
              else quick_url("threads.vote_post", post_id=target.id))
    up, down = ("true" if my_vote == 1 else "false"), ("true" if my_vote == -1 else "false")
    return Markup(
        f'<form method="post" action="{action}" class="vote-form" data-vote="{int(my_vote or 0)}">\n'
        f'  <input type="hidden" name="csrf_token" value="{pagecache.csrf_token()}">\n'
        f'  <button type="submit" name="value" value="up" class="vote-up" aria-pressed="{up}" '
        f'aria-label="Vote up" title="Vote up (again to take it back)">▲</button>\n'
        f'  <span class="score" aria-label="score">{int(target.score)}</span>\n'
        f'  <button type="submit" name="value" value="down" class="vote-down" aria-pressed="{down}" '
        f'aria-label="Vote down" title="Vote down (again to take it back)">▼</button>\n'
        f'</form>')


def register(app) -> None:
    app.add_template_global(byline)
    app.add_template_global(vote_box)
    app.add_template_global(tag_links)
