"""Send a week's digest to every confirmed subscriber, exactly once.

The bookkeeping (``DigestDelivery``, one row per issue and subscription,
unique) makes reruns safe:

1. ``prepare_issue`` creates the week's ``DigestIssue`` (its sections are a
   snapshot, so every run and every retry sends the same content) and a
   pending delivery for each active subscription that has none yet.
2. ``send_issue`` repeatedly *claims* a batch of due deliveries in one short
   transaction (status -> ``sending``, attempts + 1), then sends the batch
   outside any transaction over one SMTP connection (``mail.send_many``), and
   records each outcome (``sent`` with the Message-ID, or ``failed`` with the
   error) in short transactions every ``RECORD_EVERY`` messages.
3. ``failed`` deliveries are due again on a later run, until they have had
   ``DIGEST_MAX_ATTEMPTS`` tries (default 5).

A process killed mid-batch leaves at most ``RECORD_EVERY`` deliveries in
``sending`` whose fate is unknown (the server may have taken them). They are
never sent again automatically: a duplicate is worse than a gap for a weekly
email, and the summary counts them as ``interrupted`` so an operator can check
the mail log (``requeue_interrupted`` puts them back). Everything else resumes
where it stopped. Because claims are atomic (``BEGIN IMMEDIATE`` on SQLite,
``FOR UPDATE SKIP LOCKED`` on PostgreSQL), two overlapping cron runs split the
work instead of doubling it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.policy import default as default_policy

from flask import current_app
from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from forum import mail
from forum.database import utcnow
from forum.digest import selection
from forum.digest.models import DigestDelivery, DigestIssue, Subscription
from forum.digest.render import Renderer
from forum.extensions import db

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BATCH_SIZE = 200
RECORD_EVERY = 20  # outcomes written per transaction: the most a crash can leave unknown
# The List-Unsubscribe URL is one word longer than 78 characters; under the default
# policy the email package would rewrite it as an RFC 2047 encoded word, which mail
# clients do not decode in that header (and folding it costs more than the whole
# rest of the message). RFC 5322 allows lines up to 998 characters.
DIGEST_POLICY = default_policy.clone(max_line_length=998)


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
    renderer = Renderer(issue.sections)
    run_started = utcnow()
    batch_size = _config_int("DIGEST_BATCH_SIZE", DEFAULT_BATCH_SIZE)
    while limit is None or summary.sent + summary.failed + summary.skipped < limit:
        room = batch_size if limit is None else min(batch_size, limit - summary.sent - summary.failed - summary.skipped)
        claimed = claim_batch(issue.id, room, run_started)
        if not claimed:
            return
        before_sent, before_failed = summary.sent, summary.failed
        _send_batch(issue, claimed, renderer, summary, progress)
        if summary.sent == before_sent and summary.failed > before_failed:
            # Every message of the batch failed: the server is down or refuses us. Stop
            # here rather than spend an attempt of every subscriber on the same error.
            summary.stopped = summary.errors[-1] if summary.errors else "every message failed"
            return


def claim_batch(issue_id: int, size: int, run_started: datetime) -> list[tuple[int, str, dict, str]]:
    """Mark up to ``size`` due deliveries as sending; return (id, email, follows, secret) of each."""
    due = and_(DigestDelivery.issue_id == issue_id, or_(
        DigestDelivery.status == "pending",
        and_(DigestDelivery.status == "failed", DigestDelivery.attempts < _max_attempts(),
             DigestDelivery.claimed_at < run_started)))  # failures of this run wait for the next
    query = select(DigestDelivery.id).where(due).order_by(DigestDelivery.id).limit(size)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        db.session.rollback()
        return []
    db.session.execute(update(DigestDelivery).where(DigestDelivery.id.in_(ids), due)
                       .values(status="sending", claimed_at=utcnow(),
                               attempts=DigestDelivery.attempts + 1)
                       .execution_options(synchronize_session=False))
    rows = db.session.execute(
        select(DigestDelivery.id, Subscription.email, Subscription.follows, Subscription.token)
        .join(Subscription, Subscription.id == DigestDelivery.subscription_id)
        .where(DigestDelivery.id.in_(ids), DigestDelivery.status == "sending")
        .order_by(DigestDelivery.id)).all()
    db.session.commit()
    return [tuple(row) for row in rows]


def _send_batch(issue, claimed, renderer: Renderer, summary: Summary, progress) -> None:
    pending: list[tuple[int, str, str | None, str | None]] = []  # (id, status, error, message id)
    by_message: dict[int, int] = {}

    def messages() -> Iterator:
        for delivery_id, email, follows, secret in claimed:
            follows = follows or {}
            rendered, link = renderer.for_subscriber(follows.get("tags", []), follows.get("papers", []), secret)
            if rendered is None:  # a personal digest with nothing matching: nothing to send
                pending.append((delivery_id, "sent", "nothing matched this subscriber's follows", None))
                summary.skipped += 1
                continue
            message = mail.build_message(email, rendered.subject, rendered.text, rendered.html,
                                         headers=_list_headers(link, secret))
            message.policy = DIGEST_POLICY
            by_message[id(message)] = delivery_id
            yield message

    results = mail.send_many(messages())
    try:
        for message, error in results:
            delivery_id = by_message.pop(id(message))
            if error is None:
                summary.sent += 1
                pending.append((delivery_id, "sent", None, message["Message-ID"]))
            else:
                summary.failed += 1
                summary.errors.append(str(error))
                pending.append((delivery_id, "failed", str(error), None))
            if progress:
                progress(1)
            if len(pending) >= RECORD_EVERY:
                _record(pending)
    finally:
        results.close()
        _record(pending)


def _record(outcomes: list) -> None:
    if not outcomes:
        return
    now = utcnow()
    for delivery_id, status, error, message_id in outcomes:
        db.session.execute(update(DigestDelivery).where(DigestDelivery.id == delivery_id)
                           .values(status=status, error=error, message_id=message_id,
                                   sent_at=now if status == "sent" else None)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    outcomes.clear()


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


def _list_headers(link: str, secret: str) -> dict[str, str]:
    config = current_app.config
    sender = config.get("DIGEST_FROM") or config.get("MAIL_DEFAULT_SENDER")
    mailto = config.get("DIGEST_UNSUBSCRIBE_MAILTO") or sender
    domain = (config.get("SERVER_NAME") or "localhost").split(":")[0]
    return {
        "From": sender,
        "List-Id": f"Weekly digest <digest.{domain}>",
        "List-Unsubscribe": f"<{link}>, <mailto:{mailto}?subject=unsubscribe%20{secret}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _count(issue: DigestIssue, status: str | None, at_least: int | None = None) -> int:
    from sqlalchemy import func
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
