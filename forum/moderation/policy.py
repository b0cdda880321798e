"""What members may do, checked by the threads services: bans, new-member holds, link limits.

This module imports only the User model, so ``forum.threads`` can call it
without an import cycle (``moderation.services`` builds on ``threads``).

Decisions (the issue left them open):

- A ban keeps the member logged in: they read as anyone does, and posting,
  editing, voting or reporting answers 403 with the reason and the end date.
  A ban with an end date ends by itself at that moment (``User.is_banned``).
- New members: while a member is not approved, their threads and replies are
  held for a moderator (``NEW_MEMBER_HOLD_POSTS``, default 2). A moderator
  approves a post (it is published) or the member (all their held posts are
  published and later ones are not held). Once ``NEW_MEMBER_HOLD_POSTS`` of a
  member's posts have been approved the member is approved automatically, so
  in the usual case exactly their first N posts wait; a spammer's posts keep
  waiting however many they send. 0 turns holds off.
- Links: a member younger than a day who is not approved may put at most
  ``NEW_MEMBER_LINK_LIMIT`` (default 2) links to other sites in one post;
  links to this forum's own pages (mentions, cited papers) do not count.
  Every rendered link has rel="nofollow ugc" anyway (forum/markup.py).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import wraps

from flask import current_app
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from forum.database import utcnow

DEFAULT_HOLD_POSTS = 2
DEFAULT_LINK_LIMIT = 2
NEW_MEMBER_AGE = timedelta(days=1)  # younger than this, an unapproved member's links are limited
EXTERNAL_LINK = re.compile(r"<a\s[^>]*href=\"https?://", re.IGNORECASE)


class Banned(Forbidden):
    """A banned member tried to take part; the error page shows why and until when."""

    def __init__(self, reason: str, until: datetime | None):
        self.reason = reason
        self.until = until
        super().__init__(description=ban_message(reason, until))


def ban_message(reason: str, until: datetime | None) -> str:
    end = (f"until {until.strftime('%Y-%m-%d %H:%M UTC')}" if until is not None
           else "with no end date")
    because = f" Reason: {reason}" if reason else ""
    return (f"Your account is banned {end}: you can read, but not post, edit, vote "
            f"or report.{because}")


def ensure_can_participate(user) -> None:
    """Raise ``Banned`` (a 403 that says why) if ``user`` may not post, edit, vote or report."""
    if user.is_banned:
        raise Banned(user.ban_reason, user.banned_until)


def participation_required(view):
    """Refuse a banned member before the view draws a form they could not send."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.is_authenticated:
            ensure_can_participate(current_user)
        return view(*args, **kwargs)
    return wrapped


def hold_posts_setting() -> int:
    return int(current_app.config.get("NEW_MEMBER_HOLD_POSTS", DEFAULT_HOLD_POSTS))


def should_hold(user) -> bool:
    """Whether a new post by ``user`` waits in the moderation queue before it is public."""
    return hold_posts_setting() > 0 and not user.is_approved


def count_external_links(body_html: str) -> int:
    return len(EXTERNAL_LINK.findall(body_html))


def link_limit_error(user, body_html: str, now: datetime | None = None) -> str | None:
    """The message refusing a new member's post with too many links, or None when it may go."""
    if user.is_approved or (now or utcnow()) - user.created_at >= NEW_MEMBER_AGE:
        return None
    limit = int(current_app.config.get("NEW_MEMBER_LINK_LIMIT", DEFAULT_LINK_LIMIT))
    found = count_external_links(body_html)
    if found <= limit:
        return None
    allowed = f"{limit} link{'s' if limit != 1 else ''}"
    return (f"During their first day, new members may include at most {allowed} to other "
            f"sites in a post; this one has {found}. Remove some, or post them tomorrow.")
