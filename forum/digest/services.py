"""Subscribing and leaving: double opt-in by signed link, one-click unsubscribe.

The subscribe form answers the same whatever the address's state (new,
pending, already subscribed), so it reveals nothing about who reads the
digest: each gets the same confirmation email, and confirming an active
subscription changes nothing.
"""
from __future__ import annotations

from flask import current_app, render_template, url_for
from sqlalchemy import select

from forum import mail
from forum.database import utcnow
from forum.digest import tokens
from forum.digest.models import Subscription, new_token
from forum.extensions import db


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find(email: str) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(Subscription.email == normalize_email(email)))


def request_subscription(email: str) -> None:
    """Email a confirmation link to ``email``; raises mail.MailError if it could not be sent."""
    email = normalize_email(email)
    site = current_app.config.get("FORUM_SITE_NAME", "Idea Exchange")
    text = render_template("email/digest_confirm.txt", site_name=site,
                           days=tokens.CONFIRM_MAX_AGE.days,
                           confirm_url=url_for("digest.confirm", token=tokens.confirm_token(email),
                                               _external=True))
    mail.send(mail.build_message(email, f"Confirm your {site} weekly digest subscription", text))


def confirm(token: str) -> Subscription:
    """Activate the subscription the link names; raises tokens.BadToken."""
    email = tokens.read_confirm_token(token)
    subscription = find(email)
    now = utcnow()
    if subscription is None:
        subscription = Subscription(email=email, follows={}, confirmed_at=now)
        db.session.add(subscription)
    elif not subscription.is_active:
        subscription.confirmed_at, subscription.unsubscribed_at = now, None
        subscription.token = new_token()  # links from before the unsubscribe stay dead
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
    subscription.follows = {"tags": tags, "papers": papers}
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
