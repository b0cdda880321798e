"""Subscribing, choosing what to follow and leaving: double opt-in by signed link.

The subscribe form answers the same whatever the address's state (new,
pending, already subscribed), so the page reveals nothing about who reads the
digest. The email differs, since only the address's owner reads it: a new or
lapsed address gets a confirmation link; an address already subscribed gets
its manage link instead (choose tags, papers and threads, or leave), so
anyone on the list can always find the way out, even without last week's
digest at hand.

Email-only subscribers (no account) manage their follows on the page their
digest links to (``manage``), authorised by the same signed token as the
one-click unsubscribe link; members also have ``/digest/settings``.
"""
from __future__ import annotations

import re

from flask import current_app, render_template, url_for
from sqlalchemy import select

from forum import mail
from forum.database import utcnow
from forum.digest import tokens
from forum.digest.models import Subscription, new_token
from forum.extensions import db
from forum.moderation.visibility import public
from forum.papers.arxiv import normalize_arxiv_id
from forum.threads.models import Thread

THREAD_REFERENCE = re.compile(r"^(?:.*/t/)?(\d{1,9})(?:[/?#-].*)?$")  # "123", "/t/123", "https://…/t/123/slug"
MAX_FOLLOWS = 50  # of each kind: a digest of everything is the plain digest


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find(email: str) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(Subscription.email == normalize_email(email)))


def request_subscription(email: str) -> None:
    """Email ``email`` a confirmation link, or its manage link when already subscribed.

    Raises mail.MailError if it could not be sent.
    """
    email = normalize_email(email)
    site = current_app.config.get("FORUM_SITE_NAME", "Idea Exchange")
    subscription = find(email)
    db.session.rollback()
    if subscription is not None and subscription.is_active:
        token = tokens.unsubscribe_token(subscription.token)
        text = render_template("email/digest_already.txt", site_name=site,
                               manage_url=url_for("digest.manage", token=token, _external=True),
                               unsubscribe_url=url_for("digest.unsubscribe", token=token, _external=True))
        mail.send(mail.build_message(email, f"Your {site} weekly digest subscription", text))
        return
    text = render_template("email/digest_confirm.txt", site_name=site,
                           days=tokens.CONFIRM_MAX_AGE.days,
                           confirm_url=url_for("digest.confirm", token=tokens.confirm_token(email),
                                               _external=True))
    mail.send(mail.build_message(email, f"Confirm your {site} weekly digest subscription", text))


def manage_url(subscription: Subscription) -> str:
    return url_for("digest.manage", token=tokens.unsubscribe_token(subscription.token))


def confirm(token: str, follows: dict | None = None) -> Subscription:
    """Activate the subscription the link names, following ``follows`` if any; raises tokens.BadToken.

    Confirming proves the address takes our mail again, so it also lifts a suppression.
    """
    email = tokens.read_confirm_token(token)
    subscription = find(email)
    now = utcnow()
    if subscription is None:
        subscription = Subscription(email=email, follows={}, confirmed_at=now)
        db.session.add(subscription)
    elif not subscription.is_active:
        subscription.confirmed_at, subscription.unsubscribed_at = now, None
        subscription.suppressed_at, subscription.suppression_reason, subscription.soft_bounces = None, None, 0
        subscription.token = new_token()  # links from before the unsubscribe stay dead
    if follows and any(follows.values()):
        subscription.follows = follows
    db.session.commit()
    return subscription


def find_by_unsubscribe_token(token: str) -> Subscription:
    """The subscription an unsubscribe link is for; raises tokens.BadToken."""
    secret = tokens.read_unsubscribe_token(token)
    subscription = db.session.scalar(select(Subscription).where(Subscription.token == secret))
    if subscription is None:
        raise tokens.BadToken()
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = utcnow()
    db.session.commit()


def member_subscription(user) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(
        (Subscription.user_id == user.id) | (Subscription.email == normalize_email(user.email))))


def parse_follows(tags_text: str, papers_text: str, threads_text: str = "") -> tuple[dict, dict[str, str]]:
    """Typed lists to ``{"tags", "papers", "threads"}``, and an error message per bad field."""
    errors: dict[str, str] = {}
    tags = sorted({t.strip().lower() for t in (tags_text or "").split(",") if t.strip()})
    papers, bad = set(), []
    for raw in (p.strip() for p in (papers_text or "").split(",")):
        if raw:
            canonical = normalize_arxiv_id(raw)
            papers.add(canonical) if canonical else bad.append(raw)
    if bad:
        errors["papers"] = f"Not an arXiv id: {', '.join(bad)}."
    wanted, bad = set(), []
    for raw in (t.strip() for t in (threads_text or "").replace("\n", ",").split(",")):
        if raw:
            match = THREAD_REFERENCE.match(raw)
            wanted.add(int(match[1])) if match else bad.append(raw)
    found = set(db.session.scalars(select(Thread.id).where(Thread.id.in_(wanted), public(Thread)))) if wanted else set()
    bad += [str(n) for n in sorted(wanted - found)]
    if bad:
        errors["threads"] = f"No such thread: {', '.join(bad)}. Paste a thread's address or its number."
    for kind, values in (("tags", tags), ("papers", papers), ("threads", found)):
        if len(values) > MAX_FOLLOWS:
            errors[kind] = f"Follow at most {MAX_FOLLOWS} {kind}."
    return {"tags": tags, "papers": sorted(papers), "threads": sorted(found)}, errors


def set_follows(subscription: Subscription, follows: dict) -> None:
    """What an email-only subscriber's digest puts first (through their manage link)."""
    subscription.follows = follows
    db.session.commit()


def set_member_digest(user, on: bool, tags: list[str], papers: list[str]) -> str:
    """Switch a member's digest on or off and keep their follows; returns "on", "off" or "confirm".

    Accounts do not verify addresses, so switching on an address that is not
    already a confirmed subscription still goes through the emailed link
    ("confirm"; raises mail.MailError if it could not be sent).
    """
    subscription = member_subscription(user)
    if subscription is None:
        if not on:
            return "off"
        subscription = Subscription(email=normalize_email(user.email))
        db.session.add(subscription)
    subscription.user_id = user.id
    subscription.follows = {"tags": tags, "papers": papers, "threads": subscription.followed_threads}
    state = "off"
    if on and subscription.is_active:
        state = "on"
    elif on:
        state = "confirm"
    elif subscription.is_active:
        subscription.unsubscribed_at = utcnow()
    db.session.commit()
    if state == "confirm":
        request_subscription(subscription.email)
    return state


FOLLOW_KINDS = ("tags", "papers")


def is_following(user, kind: str, value: str) -> bool:
    """Whether the member's digest follows this tag or paper (False for visitors)."""
    if not user.is_authenticated:
        return False
    subscription = member_subscription(user)
    return subscription is not None and value in (subscription.follows or {}).get(kind, [])


def set_following(user, kind: str, value: str, on: bool) -> str:
    """Follow or stop following one tag or paper from its page; returns "on" (the digest is
    active), "off" (the follow is kept for when the member turns the digest on) or "full".

    A member with no subscription yet gets one that is not confirmed: following never sends
    email by itself; the digest settings page switches the digest on (and confirms).
    """
    if kind not in FOLLOW_KINDS:
        raise ValueError(f"Unknown kind {kind!r}")
    subscription = member_subscription(user)
    if subscription is None:
        subscription = Subscription(email=normalize_email(user.email), user_id=user.id, follows={})
        db.session.add(subscription)
    follows = {k: list(v) for k, v in (subscription.follows or {}).items()}
    values = follows.setdefault(kind, [])
    if on and value not in values:
        if len(values) >= MAX_FOLLOWS:
            db.session.rollback()
            return "full"
        values.append(value)
        values.sort()
    elif not on and value in values:
        values.remove(value)
    subscription.user_id = user.id
    subscription.follows = follows  # a new dict, so the JSON column is written
    db.session.commit()
    return "on" if subscription.is_active else "off"
