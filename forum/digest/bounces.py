"""What an SMTP refusal says about an address, and the list of suppressed addresses.

Rules (each a reader might question):

- A permanent refusal of the recipient (a 5xx answer to RCPT TO: "no such
  user", "mailbox disabled") suppresses the address at once: mailing it again
  only hurts the sender's reputation with that provider.
- A temporary refusal (a 4xx to RCPT TO, or any refusal of the message at
  DATA, which may be about the content rather than the address) is retried
  with backoff (``DIGEST_RETRY_BACKOFF_SECONDS``, default 15 minutes, doubled
  per attempt) up to ``DIGEST_MAX_ATTEMPTS``; a delivery given up that way
  counts against the address, and ``DIGEST_SOFT_BOUNCE_LIMIT`` (default 3)
  issues given up in a row suppress it. An accepted digest resets the count.
  So no address is retried every week for ever.
- Trouble of our own (the server unreachable, our login or our sender
  refused) says nothing about the reader: it costs them no attempt.

``mail`` raises ``MailError`` from the ``smtplib`` exception it caught, so the
SMTP reply is read off ``__cause__`` here, by its attributes: ``mail`` stays
the only module that imports ``smtplib``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from forum.database import utcnow
from forum.digest.models import Subscription
from forum.extensions import db

PERMANENT, TEMPORARY, OURS = "permanent", "temporary", "ours"


def kind_of(error: Exception) -> str:
    """``PERMANENT`` (the address is dead), ``TEMPORARY`` (try later) or ``OURS`` (not the reader's)."""
    cause = error.__cause__
    refused = getattr(cause, "recipients", None)  # smtplib.SMTPRecipientsRefused: {address: (code, text)}
    if isinstance(refused, dict):
        codes = [reply[0] for reply in refused.values()]
        return PERMANENT if codes and all(500 <= code < 600 for code in codes) else TEMPORARY
    if cause is None or hasattr(cause, "sender"):  # unreachable, or smtplib.SMTPSenderRefused
        return OURS
    return TEMPORARY


@dataclass(frozen=True)
class Suppression:
    email: str
    suppressed_at: datetime
    reason: str


def suppressions() -> list[Suppression]:
    rows = db.session.execute(select(Subscription.email, Subscription.suppressed_at, Subscription.suppression_reason)
                              .where(Subscription.suppressed_at.is_not(None))
                              .order_by(Subscription.suppressed_at.desc(), Subscription.email)).all()
    db.session.rollback()
    return [Suppression(email, at, reason or "") for email, at, reason in rows]


def lift(email: str) -> bool:
    """Mail this address again from the next issue; False when it is not suppressed."""
    subscription = db.session.scalar(select(Subscription).where(Subscription.email == email.strip().lower(),
                                                                Subscription.suppressed_at.is_not(None)))
    if subscription is None:
        db.session.rollback()
        return False
    subscription.suppressed_at, subscription.suppression_reason, subscription.soft_bounces = None, None, 0
    db.session.commit()
    return True


def suppress(email: str, reason: str) -> bool:
    """Stop mailing an address by hand (a complaint, a bounce report from elsewhere)."""
    subscription = db.session.scalar(select(Subscription).where(Subscription.email == email.strip().lower()))
    if subscription is None:
        db.session.rollback()
        return False
    if subscription.suppressed_at is None:
        subscription.suppressed_at, subscription.suppression_reason = utcnow(), reason
    db.session.commit()
    return True
