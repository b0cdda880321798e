"""Send a week's digest to every confirmed subscriber, exactly once.

The bookkeeping (``DigestDelivery``, one row per issue and subscription,
unique) makes reruns safe:

1. ``get_or_create_issue`` creates the week's ``DigestIssue`` (its sections
   are a snapshot, so every run and every retry sends the same content) and
   ``add_deliveries`` a pending delivery for each active subscription that
   has none yet.
2. ``send_issue`` repeatedly *claims* a batch of due deliveries in one short
   transaction (status -> ``sending``, attempts + 1, the Message-ID it will
   carry), hands the batch to ``mail.send_many`` outside any transaction, and
   writes the outcomes (``sent``, or ``failed`` with the error) in the next
   claim's transaction. Claims and outcomes are bulk statements: the same
   number per batch whatever its size (``DIGEST_BATCH_SIZE``, default 200).
   One SMTP connection serves the whole run.
3. ``failed`` deliveries are due again on a later run, until they have had
   ``DIGEST_MAX_ATTEMPTS`` tries (default 5).

A run stopped by an exception, Ctrl-C or SIGTERM (``flask digest send``
turns it into one) books what it sent and puts back what it never handed to
the mail server, so the next run sends exactly the rest. A process killed
outright leaves at most one batch in ``sending``, whose fate is unknown (the
server may have taken some). Those are never sent again automatically: a
duplicate is worse than a gap for a weekly email. The summary counts them as
``interrupted`` so an operator can check the mail log for their Message-IDs,
then ``flask digest requeue`` puts them back. Because claims are atomic
(``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
two overlapping cron runs split the work instead of doubling it.

Speed (``bench/digest.py``, 10,000 subscribers): each distinct digest is
rendered and serialised once and completed per reader
(``forum.digest.message``), so a message costs about 0.3 ms of CPU here,
most of it in ``smtplib``. A Message-ID is made from the delivery's id
(``message_ids``), so SQL can write it for a whole batch at once; a retry of
the same delivery carries the same Message-ID, as a resent copy of one
message should.
"""
from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import String, and_, cast, exists, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from forum import mail
from forum.database import utcnow
from forum.digest import selection
from forum.digest.models import DigestDelivery, DigestIssue, Subscription
from forum.digest.render import Renderer
from forum.extensions import db

# Claims and records run as Core statements on the tables: the ORM's bulk-UPDATE
# machinery costs about a millisecond a statement, several times the SQL itself.
deliveries = DigestDelivery.__table__
subscriptions = Subscription.__table__

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BATCH_SIZE = 200  # deliveries per claim: the most a killed process can leave unknown
NOTHING_MATCHED = "nothing matched this subscriber's follows"


@dataclass
class Summary:
    week: str
    issue_created: bool = False
    deliveries: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # personal digests with nothing matching this week
    interrupted: int = 0
    gave_up: int = 0
    stopped: str | None = None  # why the run stopped early (e.g. SMTP unreachable)
    errors: list[str] = field(default_factory=list)


class NothingToSend(Exception):
    """The week has no activity worth an email."""


def get_or_create_issue(week: str) -> tuple[DigestIssue, bool]:
    """The week's issue, made from the selection when first asked for; NothingToSend if empty."""
    issue = db.session.scalar(select(DigestIssue).where(DigestIssue.week == week))
    if issue is not None:
        return issue, False
    start, end = selection.parse_week(week)
    sections = selection.select_week(start, end, top_n=_config_int("DIGEST_TOP_N", selection.DEFAULT_TOP_N))
    if sections is None:
        db.session.rollback()
        raise NothingToSend(f"Nothing happened in {week}: no digest to send.")
    issue = DigestIssue(week=week, sections=sections)
    db.session.add(issue)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent run made it first
        db.session.rollback()
        return db.session.scalars(select(DigestIssue).where(DigestIssue.week == week)).one(), False
    return issue, True


def add_deliveries(issue: DigestIssue) -> int:
    """A pending delivery for each subscription active when the issue was made that has none yet.

    Later subscribers wait for the next issue rather than get last week's late.
    """
    missing = (select(issue.id, Subscription.id)
               .where(Subscription.confirmed_at <= issue.created_at, Subscription.unsubscribed_at.is_(None),
                      ~exists().where(DigestDelivery.issue_id == issue.id,
                                      DigestDelivery.subscription_id == Subscription.id)))
    result = db.session.execute(
        insert(DigestDelivery).from_select(["issue_id", "subscription_id"], missing)
        .execution_options(synchronize_session=False))
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent run inserted some; theirs are as good
        db.session.rollback()
        return 0
    return result.rowcount or 0


def send_week(week: str, *, progress: Callable[[int], None] | None = None,
              limit: int | None = None) -> Summary:
    """The whole cron job for one week: issue, deliveries, sending."""
    summary = Summary(week=week)
    issue, summary.issue_created = get_or_create_issue(week)
    add_deliveries(issue)
    summary.deliveries = _count(issue, None)
    send_issue(issue, summary, progress=progress, limit=limit)
    summary.interrupted = _count(issue, "sending")
    summary.gave_up = _count(issue, "failed", at_least=_max_attempts())
    return summary


def send_issue(issue: DigestIssue, summary: Summary, *, progress=None, limit: int | None = None) -> None:
    """Claim, send and record batch after batch, over one SMTP connection, until nothing is due."""
    run = _Run(issue, summary, progress, limit)
    results = mail.send_many(run.messages())
    try:
        for _message, error in results:
            run.handed_over(error)
    finally:
        results.close()
        run.finish()


@dataclass(frozen=True)
class MessageIds:
    """Message-IDs ``<prefix><delivery id><suffix>``, built in Python or, for a batch, in SQL."""

    prefix: str
    suffix: str

    def for_delivery(self, delivery_id: int) -> str:
        return f"{self.prefix}{delivery_id}{self.suffix}"

    def sql(self):
        return literal(self.prefix, String) + cast(deliveries.c.id, String) + literal(self.suffix, String)


def message_ids(issue: DigestIssue) -> MessageIds:
    """Unique per issue and delivery: the hash tells apart databases that reuse ids (a dev reset)."""
    salt = hashlib.blake2s(f"{issue.id}|{issue.week}|{issue.created_at.isoformat()}".encode(),
                           digest_size=5).hexdigest()
    domain = mail.message_id_domain(current_app.config)
    return MessageIds(f"<digest.{issue.week}.", f".{salt}@{domain}>")


def claim_batch(issue_id: int, size: int, run_started: datetime,
                ids: MessageIds) -> list[tuple[int, str, dict, str]]:
    """Mark up to ``size`` due deliveries as sending; return (id, email, follows, secret) of each.

    Pending deliveries first, then failed ones due for a retry. Two queries
    rather than one with OR, so that each reads the first rows of its status
    off ``ix_digest_deliveries_due`` in id order and stops at ``size``;
    with the OR, SQLite collects and sorts every remaining row at each claim.
    Commits, and with it whatever the session holds (``_Run`` books the last
    batch's outcomes in the same transaction).
    """
    of_issue = deliveries.c.issue_id == issue_id
    pending = and_(of_issue, deliveries.c.status == "pending")
    retry = and_(of_issue, deliveries.c.status == "failed", deliveries.c.attempts < _max_attempts(),
                 deliveries.c.claimed_at < run_started)  # failures of this run wait for the next
    claimed = _due_ids(pending, size)
    if len(claimed) < size:
        claimed += _due_ids(retry, size - len(claimed))
    if not claimed:
        db.session.commit()
        return []
    db.session.execute(update(deliveries).where(deliveries.c.id.in_(claimed), or_(pending, retry))
                       .values(status="sending", claimed_at=utcnow(), message_id=ids.sql(),
                               attempts=deliveries.c.attempts + 1))
    rows = db.session.execute(
        select(deliveries.c.id, subscriptions.c.email, subscriptions.c.follows, subscriptions.c.token)
        .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
        .where(deliveries.c.id.in_(claimed), deliveries.c.status == "sending")
        .order_by(deliveries.c.id)).all()
    db.session.commit()
    return [tuple(row) for row in rows]


def _due_ids(condition, size: int) -> list[int]:
    query = select(deliveries.c.id).where(condition).order_by(deliveries.c.id).limit(size)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a concurrent run takes the next rows
    return list(db.session.scalars(query))


class _Run:
    """One sending run: feeds ``mail.send_many`` a claimed batch at a time and books the outcomes.

    ``messages()`` is lazy, so by the time it claims the next batch every
    message of the last one has had its outcome (``handed_over``): the
    outcomes are written in the claim's transaction, one per batch.
    """

    def __init__(self, issue: DigestIssue, summary: Summary, progress, limit: int | None):
        # Plain values read once: touching the ORM object after a commit would begin
        # a transaction and hold it across SMTP.
        self.issue_id, self.ids = issue.id, message_ids(issue)
        self.renderer = Renderer(issue.sections, _constant_headers())
        self.mailto = f"mailto:{_unsubscribe_mailto()}?subject=unsubscribe%20"
        self.summary, self.progress, self.limit = summary, progress, limit
        self.batch_size = _config_int("DIGEST_BATCH_SIZE", DEFAULT_BATCH_SIZE)
        self.run_started = utcnow()
        self.claimed = 0
        self.batch: list[tuple] = []
        self.next_row = 0  # rows of the batch before it have been handed to SMTP
        self.in_flight: deque[int] = deque()  # handed to SMTP, outcome not reported yet
        self.outcomes = _Outcomes()
        self.batch_sent = self.batch_failed = 0

    def messages(self) -> Iterator[mail.Message]:
        while self.limit is None or self.claimed < self.limit:
            if self.batch_failed and not self.batch_sent:
                # Every message of the batch failed: the server is down or refuses us. Stop
                # here rather than spend an attempt of every subscriber on the same error.
                self.summary.stopped = self.summary.errors[-1]
                return
            size = self.batch_size if self.limit is None else min(self.batch_size, self.limit - self.claimed)
            self.outcomes.write()  # the last batch's, committed with the next claim
            self.batch, self.next_row = claim_batch(self.issue_id, size, self.run_started, self.ids), 0
            self.outcomes.clear()
            if not self.batch:
                return
            self.claimed += len(self.batch)
            self.batch_sent = self.batch_failed = 0
            while self.next_row < len(self.batch):
                delivery_id, email, follows, secret = self.batch[self.next_row]
                message = self._message(delivery_id, email, follows or {}, secret)
                self.next_row += 1
                if message is None:
                    continue
                self.in_flight.append(delivery_id)
                yield message

    def _message(self, delivery_id: int, email: str, follows: dict, secret: str) -> mail.Message | None:
        template = self.renderer.template_for(follows)
        if template is None:  # a personal digest with nothing matching: nothing to send
            self.outcomes.skipped.append(delivery_id)
            self.summary.skipped += 1
            self._advance()
            return None
        link = self.renderer.unsubscribe_url(secret)
        return template.message(email, self.ids.for_delivery(delivery_id), link,
                                f"<{link}>, <{self.mailto}{secret}>")

    def handed_over(self, error: Exception | None) -> None:
        delivery_id = self.in_flight.popleft()
        if error is None:
            self.summary.sent += 1
            self.batch_sent += 1
            self.outcomes.sent.append(delivery_id)
        else:
            self.summary.failed += 1
            self.batch_failed += 1
            self.summary.errors.append(str(error))
            self.outcomes.failed.setdefault(str(error), []).append(delivery_id)
        self._advance()

    def _advance(self) -> None:
        if self.progress:
            self.progress(1)

    def finish(self) -> None:
        """Book what is known; put back what was claimed but never handed to SMTP.

        Reached on success and on an exception alike (Ctrl-C, a lost database):
        only a message SMTP was busy with when the run broke stays ``sending``.
        """
        never_sent = [row[0] for row in self.batch[self.next_row:]]
        self.batch = []
        db.session.rollback()  # a claim that broke half way; its outcomes are still in self.outcomes
        if never_sent:
            db.session.execute(update(deliveries)
                               .where(deliveries.c.id.in_(never_sent), deliveries.c.status == "sending")
                               .values(status="pending", message_id=None, attempts=deliveries.c.attempts - 1))
        self.outcomes.write()
        db.session.commit()
        self.outcomes.clear()


@dataclass
class _Outcomes:
    """Outcomes not yet written: a few bulk UPDATEs, whatever their number."""

    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[str, list[int]] = field(default_factory=dict)  # error -> deliveries

    def write(self) -> None:
        """Add the UPDATEs to the session's transaction; the caller commits, then clears."""
        now = utcnow()
        if self.sent:
            self._update(self.sent, status="sent", sent_at=now, error=None)
        if self.skipped:
            self._update(self.skipped, status="sent", sent_at=now, error=NOTHING_MATCHED, message_id=None)
        for error, ids in self.failed.items():
            self._update(ids, status="failed", sent_at=None, error=error, message_id=None)

    def clear(self) -> None:
        self.sent, self.skipped, self.failed = [], [], {}

    @staticmethod
    def _update(ids: list[int], **values) -> None:
        db.session.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(**values))


def requeue_interrupted(week: str) -> int:
    """Put deliveries left in ``sending`` by a killed run back to pending (may duplicate those few)."""
    issue = db.session.scalar(select(DigestIssue).where(DigestIssue.week == week))
    if issue is None:
        return 0
    result = db.session.execute(update(DigestDelivery)
                                .where(DigestDelivery.issue_id == issue.id, DigestDelivery.status == "sending")
                                .values(status="pending"))
    db.session.commit()
    return result.rowcount or 0


def _sender() -> str:
    config = current_app.config
    sender = config.get("DIGEST_FROM") or config.get("MAIL_DEFAULT_SENDER")
    if not sender:
        raise mail.MailError("Neither DIGEST_FROM nor MAIL_DEFAULT_SENDER is set: the digest needs a From address.")
    return sender


def _unsubscribe_mailto() -> str:
    return current_app.config.get("DIGEST_UNSUBSCRIBE_MAILTO") or parseaddr(_sender())[1]


def _constant_headers() -> dict[str, str]:
    """The headers every copy shares; each reader's own are To, Message-ID, Date, List-Unsubscribe."""
    domain = mail.message_id_domain(current_app.config)
    return {"From": _sender(), "List-Id": f"Weekly digest <digest.{domain}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _count(issue: DigestIssue, status: str | None, at_least: int | None = None) -> int:
    query = select(func.count()).select_from(DigestDelivery).where(DigestDelivery.issue_id == issue.id)
    if status:
        query = query.where(DigestDelivery.status == status)
    if at_least is not None:
        query = query.where(DigestDelivery.attempts >= at_least)
    count = db.session.scalar(query) or 0
    db.session.commit()
    return count


def _max_attempts() -> int:
    return _config_int("DIGEST_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)


def _config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)
