"""Sending runs: each ``flask digest send`` records itself, so runs can read each other.

A run's heartbeat (written with each claim) and how it ended (completed,
interrupted by SIGTERM or Ctrl-C, stopped by an error) let a run or
``flask digest requeue`` tell apart deliveries another live run is sending
right now, deliveries a run left when a signal stopped it, and deliveries a
run killed outright left behind. Of the rows a dead run left ``sending``,
the journal (``journal.py``) says which the server accepted; of the rest,
the first without a recorded fate may have gone out, and the others never
reached the server.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, false, insert, or_, select, true, update

from forum.database import utcnow
from forum.digest.journal import ACCEPTED
from forum.digest.models import DigestDelivery, DigestIssue, DigestRun
from forum.extensions import db

deliveries = DigestDelivery.__table__
runs = DigestRun.__table__

# A run whose heartbeat (one per claim) is older than this has died: a batch takes at
# most its size times the SMTP timeout, far less than this in practice.
RUN_STALE_AFTER = timedelta(minutes=10)


class Interrupted(KeyboardInterrupt):
    """A signal stopped the run (``flask digest send`` raises it on SIGTERM)."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass
class LeftBehind:
    """Deliveries of this issue that another run holds, or left ``sending`` when it ended."""

    run_id: int | None
    state: str  # "running", "interrupted by SIGTERM", "stopped without finishing (...)", ...
    last_seen: datetime | None
    accepted: int = 0  # the server took them (journal): booked as sent by requeue
    never_sent: int = 0  # never reached the server: requeue puts them back
    unknown: list[str] = field(default_factory=list)  # Message-IDs to look up in the mail log
    held: int = 0  # all its rows still "sending"

    @property
    def is_running(self) -> bool:
        return self.state == "running"


def start_run(issue_id: int) -> int:
    now = utcnow()
    run_id = db.session.execute(insert(runs).values(
        issue_id=issue_id, process=f"{socket.gethostname()} pid {os.getpid()}",
        started_at=now, heartbeat_at=now)).inserted_primary_key[0]
    db.session.commit()
    return run_id


def finish_run(run_id: int, outcome: str) -> None:
    db.session.rollback()
    db.session.execute(update(runs).where(runs.c.id == run_id).values(finished_at=utcnow(), outcome=outcome[:2000]))
    db.session.commit()


def left_behind(issue_id: int, exclude_run: int | None = None) -> list[LeftBehind]:
    """Deliveries still ``sending`` by other runs, per run, with how each run stands."""
    rows = db.session.execute(
        select(deliveries.c.run_id, deliveries.c.stage, deliveries.c.message_id,
               runs.c.finished_at, runs.c.outcome, runs.c.heartbeat_at)
        .outerjoin(runs, runs.c.id == deliveries.c.run_id)
        .where(deliveries.c.issue_id == issue_id, deliveries.c.status == "sending",
               or_(deliveries.c.run_id.is_(None), deliveries.c.run_id != (exclude_run or 0)))
        .order_by(deliveries.c.run_id, deliveries.c.id)).all()
    db.session.commit()
    now, groups = utcnow(), {}
    for run_id, stage, message_id, finished_at, outcome, heartbeat_at in rows:
        group = groups.get(run_id)
        if group is None:
            group = groups[run_id] = LeftBehind(run_id, _state(now, finished_at, outcome, heartbeat_at),
                                                finished_at or heartbeat_at)
        group.held += 1
        if stage == ACCEPTED:
            group.accepted += 1
        elif stage is None and not group.unknown:  # the first without a fate: it may have gone out
            group.unknown.append(message_id)
        else:  # refused, cancelled, or after the unknown one: never went out
            group.never_sent += 1
    return list(groups.values())


def _state(now: datetime, finished_at, outcome: str | None, heartbeat_at) -> str:
    if finished_at is not None:
        return outcome or "finished"
    if heartbeat_at is not None and now - heartbeat_at < RUN_STALE_AFTER:
        return "running"
    return "stopped without finishing (killed, or the machine went down)"


@dataclass
class Requeued:
    put_back: int = 0
    booked_sent: int = 0  # accepted by the server before their run died
    unknown_left: int = 0  # fate unknown: left alone unless asked
    running: int = 0  # rows of a run that is still alive, left alone


def requeue(week: str, include_unknown: bool = False) -> Requeued:
    """Settle what runs that ended left ``sending``: book the accepted, put back the never sent.

    Sending those again cannot duplicate. The one row per run whose fate is
    unknown is put back only with ``include_unknown``, once the mail
    server's log shows it was not accepted. A live run's rows are left alone.
    """
    result = Requeued()
    issue = db.session.scalar(select(DigestIssue).where(DigestIssue.week == week))
    if issue is None:
        db.session.rollback()
        return result
    groups = left_behind(issue.id)
    result.running = sum(group.held for group in groups if group.is_running)
    ended = [group for group in groups if not group.is_running]
    unknown = {message_id for group in ended for message_id in group.unknown}
    of_ended = or_(deliveries.c.run_id.in_([g.run_id for g in ended if g.run_id is not None]),
                   deliveries.c.run_id.is_(None) if any(g.run_id is None for g in ended) else false())
    left = and_(deliveries.c.issue_id == issue.id, deliveries.c.status == "sending", of_ended)
    result.booked_sent = db.session.execute(
        update(deliveries).where(left, deliveries.c.stage == ACCEPTED)
        .values(status="sent", sent_at=utcnow(), error=None)).rowcount or 0
    keep = [] if include_unknown else sorted(unknown)
    result.put_back = db.session.execute(
        update(deliveries).where(left, deliveries.c.message_id.not_in(keep) if keep else true())
        .values(status="pending", message_id=None, run_id=None, stage=None,
                attempts=deliveries.c.attempts - 1)).rowcount or 0
    db.session.commit()
    result.unknown_left = len(keep)
    return result
