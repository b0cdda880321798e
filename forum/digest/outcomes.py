"""Booking a batch's outcomes: a few bulk UPDATEs per batch, whatever its size.

The refusal rules of ``bounces.py`` land here as SQL: a permanent refusal
suppresses the address; a temporary one sets the delivery's ``retry_at``
(``DIGEST_RETRY_BACKOFF_SECONDS``, doubled per attempt) and, once
``DIGEST_MAX_ATTEMPTS`` are spent, counts against the address
(``DIGEST_SOFT_BOUNCE_LIMIT`` issues in a row suppress it); an accepted
digest resets that count.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, select, true, update

from forum.database import utcnow
from forum.digest.models import DigestDelivery, Subscription
from forum.extensions import db

deliveries = DigestDelivery.__table__
subscriptions = Subscription.__table__

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BACKOFF = timedelta(minutes=15)  # doubled per attempt: 15 min, 30 min, 1 h, 2 h
DEFAULT_SOFT_BOUNCE_LIMIT = 3  # issues given up in a row before the address is suppressed
UNSUBSCRIBED = "the reader unsubscribed (or was suppressed) before it went out"


@dataclass
class Outcomes:
    """Outcomes not yet written: a few bulk UPDATEs, whatever their number."""

    sent: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    not_sent: list[int] = field(default_factory=list)  # known not to have gone out: pending again
    bounced: dict[str, list[int]] = field(default_factory=dict)  # error -> deliveries
    failed: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # (error, attempts) -> deliveries

    def write(self, run_id: int | None = None) -> None:
        """Add the UPDATEs to the session's transaction; the caller commits, then clears."""
        now = utcnow()
        if self.sent:
            self._update(self.sent, status="sent", sent_at=now, error=None, retry_at=None)
            _update_subscriptions(self.sent, subscriptions.c.soft_bounces > 0, soft_bounces=0)
        if self.cancelled:
            self._update(self.cancelled, status="cancelled", error=UNSUBSCRIBED, message_id=None)
        if self.not_sent:
            db.session.execute(update(deliveries)
                               .where(deliveries.c.id.in_(self.not_sent), deliveries.c.status == "sending",
                                      (deliveries.c.run_id == run_id) if run_id else true())
                               .values(status="pending", message_id=None, attempts=deliveries.c.attempts - 1))
        for error, ids in self.bounced.items():
            self._update(ids, status="bounced", error=error, message_id=None)
            _update_subscriptions(ids, subscriptions.c.suppressed_at.is_(None),
                                  suppressed_at=now, suppression_reason=f"permanent refusal: {error}")
        for (error, attempts), ids in self.failed.items():
            self._update(ids, status="failed", error=error, message_id=None,
                         retry_at=now + _backoff() * 2 ** max(attempts - 1, 0))
            if attempts >= max_attempts():  # given up: counts against the address
                _update_subscriptions(ids, True, soft_bounces=subscriptions.c.soft_bounces + 1)
                _update_subscriptions(ids, and_(subscriptions.c.suppressed_at.is_(None),
                                                subscriptions.c.soft_bounces >= _soft_bounce_limit()),
                                      suppressed_at=now,
                                      suppression_reason=f"temporary refusals in {_soft_bounce_limit()} "
                                                         f"issues in a row, the last: {error}")

    def clear(self) -> None:
        self.sent, self.cancelled, self.not_sent, self.bounced, self.failed = [], [], [], {}, {}

    @staticmethod
    def _update(ids: list[int], **values) -> None:
        db.session.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(**values))


def _update_subscriptions(delivery_ids: list[int], condition, **values) -> None:
    """UPDATE the subscriptions of these deliveries."""
    of_deliveries = select(deliveries.c.subscription_id).where(deliveries.c.id.in_(delivery_ids))
    db.session.execute(update(subscriptions).where(subscriptions.c.id.in_(of_deliveries), condition)
                       .values(**values))


def max_attempts() -> int:
    return _config_int("DIGEST_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)


def _backoff() -> timedelta:
    seconds = current_app.config.get("DIGEST_RETRY_BACKOFF_SECONDS")
    return DEFAULT_RETRY_BACKOFF if seconds is None else timedelta(seconds=float(seconds))


def _soft_bounce_limit() -> int:
    return _config_int("DIGEST_SOFT_BOUNCE_LIMIT", DEFAULT_SOFT_BOUNCE_LIMIT)


def _config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)
