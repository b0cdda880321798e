"""The optional notification email: one message per member, at most one an hour.

``flask notifications send`` (cron, hourly) calls ``due_members`` then
``send_to``. For each member it first *claims* in one short transaction: it
moves ``last_emailed_at`` to now only if the member is still due (a
conditional UPDATE, so two overlapping runs cannot both email one person) and
marks the member's unread, not yet emailed notifications as emailed. It then
sends outside any transaction, over one SMTP connection for the whole run
(``mail.send_many``). A message that fails is *released*: its notifications
and the member's last emailed time go back as they were, so the next run
retries. A process killed between claim and send loses that one email (the
notifications stay unread on the site); we prefer that to emailing twice.

Only members with a confirmed email address are emailed. Notifications read
on the site before the run are not emailed; a member with
a great many gets the newest ``MAX_LISTED`` listed and a count of the rest.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import joinedload

from forum import mail
from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.notifications.models import Notification, NotificationSettings

EMAIL_INTERVAL = timedelta(hours=1)  # the most one member hears from us
MAX_LISTED = 50  # notifications listed in one email; the rest are counted
EXCERPT_CHARS = 200


class NoServerName(RuntimeError):
    """Links in an email must be absolute, which needs SERVER_NAME outside a request."""


@dataclass
class Summary:
    due: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # nothing left when their turn came (read meanwhile, or another run took them)
    notifications: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Claim:
    user_id: int
    email: str
    name: str
    items: list[dict]
    more: int  # unread notifications beyond MAX_LISTED, emailed as a count
    notification_ids: list[int]
    previous_emailed_at: datetime | None


def check_server_name() -> None:
    if not current_app.config.get("SERVER_NAME"):
        raise NoServerName("SERVER_NAME is not set: notification emails need absolute links. "
                           "Set SERVER_NAME (e.g. forum.example.org) and PREFERRED_URL_SCHEME=https.")


def _is_due(now: datetime):
    # Only confirmed addresses: an unconfirmed one may belong to someone who never signed up.
    return (NotificationSettings.email_enabled.is_(True),
            or_(NotificationSettings.last_emailed_at.is_(None),
                NotificationSettings.last_emailed_at <= now - EMAIL_INTERVAL),
            exists().where(User.id == NotificationSettings.user_id,
                           User.email_confirmed_at.is_not(None)))


def _waiting(user_id_column):
    return exists().where(Notification.user_id == user_id_column, Notification.read_at.is_(None),
                          Notification.emailed_at.is_(None))


def due_members(now: datetime | None = None) -> list[int]:
    """Members who opted in, were not emailed within the hour, and have something new and unread."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(NotificationSettings.user_id)
        .where(*_is_due(now), _waiting(NotificationSettings.user_id))
        .order_by(NotificationSettings.user_id)))
    db.session.rollback()
    return ids


def send_to(user_ids: list[int], *, now: datetime | None = None,
            progress: Callable[[int], None] | None = None) -> Summary:
    check_server_name()
    now = now or utcnow()
    summary = Summary(due=len(user_ids))
    claims: dict[int, Claim] = {}

    def messages() -> Iterator:
        for user_id in user_ids:
            claim = claim_for(user_id, now)
            if claim is None:
                summary.skipped += 1
                if progress:
                    progress(1)
                continue
            message = compose(claim)
            claims[id(message)] = claim
            yield message

    results = mail.send_many(messages())
    try:
        for message, error in results:
            claim = claims.pop(id(message))
            if error is None:
                summary.sent += 1
                summary.notifications += len(claim.notification_ids)
            else:
                release(claim)
                summary.failed += 1
                summary.errors.append(str(error))
            if progress:
                progress(1)
    finally:
        results.close()
    return summary


def claim_for(user_id: int, now: datetime) -> Claim | None:
    """Take the member's hourly slot and their waiting notifications, in one short transaction."""
    previous = db.session.scalar(select(NotificationSettings.last_emailed_at)
                                 .where(NotificationSettings.user_id == user_id))
    taken = db.session.execute(
        update(NotificationSettings)
        .where(NotificationSettings.user_id == user_id, *_is_due(now),
               _waiting(NotificationSettings.user_id))
        .values(last_emailed_at=now).execution_options(synchronize_session=False))
    if not taken.rowcount:
        db.session.rollback()
        return None
    notifications = list(db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None),
               Notification.emailed_at.is_(None))
        .options(joinedload(Notification.actor), joinedload(Notification.thread),
                 joinedload(Notification.post))
        .order_by(Notification.id.desc())))
    email, username, display_name = db.session.execute(
        select(User.email, User.username, User.display_name).where(User.id == user_id)).one()
    ids = [notification.id for notification in notifications]
    claim = Claim(user_id=user_id, email=email, name=display_name or username,
                  items=[_item(n) for n in notifications[:MAX_LISTED]],
                  more=max(len(notifications) - MAX_LISTED, 0), notification_ids=ids,
                  previous_emailed_at=previous)
    db.session.execute(update(Notification).where(Notification.id.in_(ids))
                       .values(emailed_at=now).execution_options(synchronize_session=False))
    db.session.commit()
    return claim


def release(claim: Claim) -> None:
    """A message that did not go: put things back so the next run tries again."""
    db.session.execute(update(Notification).where(Notification.id.in_(claim.notification_ids))
                       .values(emailed_at=None).execution_options(synchronize_session=False))
    db.session.execute(update(NotificationSettings)
                       .where(NotificationSettings.user_id == claim.user_id)
                       .values(last_emailed_at=claim.previous_emailed_at)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _item(notification: Notification) -> dict:
    """What one line of the email needs, as plain data (the session may be gone when rendering)."""
    if notification.post_id is not None:
        url = url_for("threads.permalink", post_id=notification.post_id, _external=True)
    else:
        url = url_for("threads.show", thread_id=notification.thread_id, _external=True)
    return {"who": notification.actor.name, "what": notification.phrase,
            "where": notification.where, "excerpt": notification.excerpt(EXCERPT_CHARS), "url": url}


def compose(claim: Claim):
    site = current_app.config.get("FORUM_SITE_NAME", "Idea Exchange")
    count = len(claim.notification_ids)
    subject = f"{count} new notification{'' if count == 1 else 's'} on {site}"
    context = {"subject": subject, "site_name": site, "name": claim.name, "items": claim.items,
               "more": claim.more, "count": count,
               "list_url": url_for("notifications.index", _external=True),
               "settings_url": url_for("accounts.settings", _external=True, _anchor="notifications-heading")}
    return mail.build_message(claim.email, subject, render_template("email/notifications.txt", **context),
                              render_template("email/notifications.html", **context),
                              headers={"Auto-Submitted": "auto-generated"})
