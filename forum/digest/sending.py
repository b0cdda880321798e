"""Send a week's digest to every confirmed subscriber, exactly once.

The bookkeeping (``DigestDelivery``, one row per issue and subscription,
unique) makes reruns safe:

1. ``get_or_create_issue`` creates the week's ``DigestIssue`` (its sections
   are a snapshot, so every run and every retry sends the same content) and
   ``add_deliveries`` a pending delivery for each active subscription that
   has none yet.
2. Each ``send_week`` is a ``DigestRun``. It repeatedly *claims* a batch of
   due deliveries in one short transaction (status -> ``sending``, its run,
   attempts + 1, the Message-ID it will carry; the run's heartbeat), hands
   the batch to ``mail.send_many`` outside any transaction, and writes the
   outcomes in the next claim's transaction. Claims and outcomes are bulk
   statements: the same number per batch whatever its size
   (``DIGEST_BATCH_SIZE``, default 200). One SMTP connection serves the run.
3. Per message, on a connection of the run's own (``journal.py``): just
   before sending, a check that the reader is still subscribed (and not
   suppressed), so an unsubscribe between the claim and the send, or before
   a retry, is honoured and the delivery is ``cancelled``; just after, the
   message's fate (its ``stage``), committed at once. Why: after a crash
   ``requeue`` knows which rows the server accepted and which never reached
   it, and sends no duplicate; only one row per run (the message in the SMTP
   conversation when the process died) is unknown.
4. Refusals (``bounces.py``): permanent ones suppress the address; temporary
   ones are retried with backoff until ``DIGEST_MAX_ATTEMPTS`` (default 5);
   our own trouble (server unreachable) puts the batch back and stops.

A run stopped by an exception, Ctrl-C or SIGTERM (``flask digest send``
turns it into ``Interrupted``) books what it sent, puts back what it never
handed to the mail server (leaving ``sending`` only a message SMTP was busy with), and records how it ended, so the next run can say
"interrupted by SIGTERM" rather than guess at a crash, and can tell another
run that is still alive (its heartbeat is fresh) from one that died.
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
from forum.digest import bounces, journal, outcomes, selection
from forum.digest.outcomes import max_attempts
from forum.digest.models import DigestDelivery, DigestIssue, DigestRun, Subscription
from forum.digest.render import Renderer
from forum.digest.runs import Interrupted, LeftBehind, finish_run, left_behind, start_run
from forum.extensions import db

# Claims and records run as Core statements on the tables: the ORM's bulk-UPDATE
# machinery costs about a millisecond a statement, several times the SQL itself.
deliveries = DigestDelivery.__table__
subscriptions = Subscription.__table__

DEFAULT_BATCH_SIZE = 200  # deliveries per claim


@dataclass
class Summary:
    week: str
    issue_created: bool = False
    run_id: int | None = None
    deliveries: int = 0
    sent: int = 0
    failed: int = 0  # temporary refusals, retried later
    bounced: int = 0  # permanent refusals: the address is suppressed
    cancelled: int = 0  # unsubscribed or suppressed before their turn
    gave_up: int = 0
    stopped: str | None = None  # why the run stopped early (e.g. SMTP unreachable)
    errors: list[str] = field(default_factory=list)
    left: list[LeftBehind] = field(default_factory=list)

    @property
    def interrupted(self) -> int:
        """Deliveries left by runs that are not running any more."""
        return sum(group.held for group in self.left if not group.is_running)


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
                      Subscription.suppressed_at.is_(None),
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
    """The whole cron job for one week: issue, deliveries, one run of sending."""
    summary = Summary(week=week)
    issue, summary.issue_created = get_or_create_issue(week)
    add_deliveries(issue)
    summary.deliveries = _count(issue.id, None)
    send_issue(issue, summary, progress=progress, limit=limit)
    summary.left = left_behind(issue.id, exclude_run=summary.run_id)
    summary.gave_up = _count(issue.id, "failed", at_least=max_attempts())
    return summary


def send_issue(issue: DigestIssue, summary: Summary, *, progress=None, limit: int | None = None) -> None:
    """One run: claim, send and record batch after batch over one SMTP connection, until nothing is due."""
    summary.run_id = run_id = start_run(issue.id)
    outcome = "completed"
    try:
        run = _Run(issue, run_id, summary, progress, limit)
        results = mail.send_many(run.messages())
        try:
            for _message, error in results:
                run.handed_over(error)
        finally:
            results.close()
            run.finish()
        if summary.stopped:
            outcome = f"stopped: {summary.stopped}"
    except Interrupted as interrupt:
        outcome = f"interrupted by {interrupt.signal_name}"
        raise
    except KeyboardInterrupt:
        outcome = "interrupted by Ctrl-C"
        raise
    except Exception as error:
        outcome = f"stopped: {type(error).__name__}: {error}"
        raise
    finally:
        finish_run(run_id, outcome)


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


def claim_batch(issue_id: int, run_id: int, size: int, run_started: datetime,
                ids: MessageIds) -> list[tuple[int, int, str, dict, str, int]]:
    """Mark up to ``size`` due deliveries as sending by ``run_id``.

    Returns (delivery id, subscription id, email, follows, secret, attempts) of each.

    Pending deliveries first, then failed ones whose backoff has passed. Two
    queries rather than one with OR, so that each reads the first rows of its
    status off ``ix_digest_deliveries_due`` in id order and stops at ``size``;
    with the OR, SQLite collects and sorts every remaining row at each claim.
    Commits, and with it whatever the session holds (``_Run`` books the last
    batch's outcomes in the same transaction) and the run's heartbeat.
    """
    now = utcnow()
    db.session.execute(update(DigestRun).where(DigestRun.id == run_id).values(heartbeat_at=now))
    of_issue = deliveries.c.issue_id == issue_id
    pending = and_(of_issue, deliveries.c.status == "pending")
    retry = and_(of_issue, deliveries.c.status == "failed", deliveries.c.attempts < max_attempts(),
                 or_(deliveries.c.retry_at.is_(None), deliveries.c.retry_at <= now),
                 deliveries.c.claimed_at < run_started)  # failures of this run wait for the next
    claimed = _due_ids(pending, size)
    if len(claimed) < size:
        claimed += _due_ids(retry, size - len(claimed))
    if not claimed:
        db.session.commit()
        return []
    db.session.execute(update(deliveries).where(deliveries.c.id.in_(claimed), or_(pending, retry))
                       .values(status="sending", claimed_at=now, message_id=ids.sql(), run_id=run_id,
                               stage=None, attempts=deliveries.c.attempts + 1))
    rows = db.session.execute(
        select(deliveries.c.id, subscriptions.c.id, subscriptions.c.email, subscriptions.c.follows,
               subscriptions.c.token, deliveries.c.attempts)
        .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
        .where(deliveries.c.id.in_(claimed), deliveries.c.status == "sending", deliveries.c.run_id == run_id)
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

    def __init__(self, issue: DigestIssue, run_id: int, summary: Summary, progress, limit: int | None):
        # Plain values read once: touching the ORM object after a commit would begin
        # a transaction and hold it across SMTP.
        self.issue_id, self.run_id, self.ids = issue.id, run_id, message_ids(issue)
        self.renderer = Renderer(issue.sections, _constant_headers())
        self.mailto = f"mailto:{_unsubscribe_mailto()}?subject=unsubscribe%20"
        self.summary, self.progress, self.limit = summary, progress, limit
        self.batch_size = _config_int("DIGEST_BATCH_SIZE", DEFAULT_BATCH_SIZE)
        self.run_started = utcnow()
        self.claimed = 0
        self.batch: list[tuple] = []
        self.next_row = 0  # rows of the batch before it have been dealt with
        self.in_flight: deque[tuple[int, int]] = deque()  # (delivery, attempts) handed, outcome not read yet
        self.outcomes = outcomes.Outcomes()
        self.batch_sent = self.batch_trouble = 0
        self.journal = journal.Journal()

    def messages(self) -> Iterator[mail.Message]:
        while self.limit is None or self.claimed < self.limit:
            if self.batch_trouble and not self.batch_sent:
                # Nothing of the batch went out and the server (or our side) was the trouble:
                # stop rather than spend every subscriber's attempt on the same error.
                self.summary.stopped = self.summary.errors[-1]
                return
            size = self.batch_size if self.limit is None else min(self.batch_size, self.limit - self.claimed)
            self.outcomes.write()  # the last batch's, committed with the next claim
            self.batch, self.next_row = claim_batch(self.issue_id, self.run_id, size, self.run_started,
                                                    self.ids), 0
            self.outcomes.clear()
            if not self.batch:
                return
            self.claimed += len(self.batch)
            self.batch_sent = self.batch_trouble = 0
            while self.next_row < len(self.batch):
                delivery_id, subscription_id, email, follows, secret, attempts = self.batch[self.next_row]
                message = self._message(delivery_id, email, follows or {}, secret)
                if not self.journal.is_wanted(subscription_id):  # left (or suppressed) since the claim
                    self.journal.record(delivery_id, journal.CANCELLED)
                    self.next_row += 1
                    self.outcomes.cancelled.append(delivery_id)
                    self.summary.cancelled += 1
                    self._advance()
                    continue
                self.next_row += 1
                self.in_flight.append((delivery_id, attempts))
                yield message

    def _message(self, delivery_id: int, email: str, follows: dict, secret: str) -> mail.Message:
        token = self.renderer.reader_token(secret)
        link = self.renderer.unsubscribe_url(token)
        return self.renderer.template_for(follows).message(
            email, self.ids.for_delivery(delivery_id), token, f"<{link}>, <{self.mailto}{secret}>")

    def handed_over(self, error: Exception | None) -> None:
        delivery_id, attempts = self.in_flight.popleft()
        self.journal.record(delivery_id, journal.ACCEPTED if error is None else journal.REFUSED)
        if error is None:
            self.summary.sent += 1
            self.batch_sent += 1
            self.outcomes.sent.append(delivery_id)
            self._advance()
            return
        self.summary.errors.append(str(error))
        kind = bounces.kind_of(error)
        if kind == bounces.PERMANENT:
            self.summary.bounced += 1
            self.outcomes.bounced.setdefault(str(error), []).append(delivery_id)
        elif kind == bounces.OURS:
            self.batch_trouble += 1
            self.outcomes.not_sent.append(delivery_id)
        else:
            self.summary.failed += 1
            self.batch_trouble += 1
            self.outcomes.failed.setdefault((str(error), attempts), []).append(delivery_id)
        self._advance()

    def _advance(self) -> None:
        if self.progress:
            self.progress(1)

    def finish(self) -> None:
        """Book what is known; put back what was claimed but never handed to SMTP.

        Reached on success and on an exception alike (Ctrl-C, SIGTERM, a lost
        database): only a message SMTP was busy with when the run broke stays
        ``sending``, its fate unknown.
        """
        self.outcomes.not_sent += [row[0] for row in self.batch[self.next_row:]]
        self.batch = []
        try:
            db.session.rollback()  # a claim that broke half way; its outcomes are still in self.outcomes
            self.outcomes.write(run_id=self.run_id)
            db.session.commit()
            self.outcomes.clear()
        finally:
            self.journal.close()


# -- settings and small helpers ---------------------------------------------------

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


def _count(issue_id: int, status: str | None, at_least: int | None = None) -> int:
    query = select(func.count()).select_from(DigestDelivery).where(DigestDelivery.issue_id == issue_id)
    if status:
        query = query.where(DigestDelivery.status == status)
    if at_least is not None:
        query = query.where(DigestDelivery.attempts >= at_least)
    count = db.session.scalar(query) or 0
    db.session.commit()
    return count


def _config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)
