"""Sending runs: each ``flask digest send`` records itself, so runs can read each other.

A run's heartbeat (written with each claim) and how it ended (completed,
interrupted by SIGTERM or Ctrl-C, stopped by an error) let a run or
``flask digest requeue`` tell apart deliveries another live run is sending
right now, deliveries a run left when a signal stopped it, and deliveries a
run killed outright left behind. Rows still ``sending`` never reached the
mail server; rows ``handed`` may have (see ``journal.py``).
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import false, insert, or_, select, update

from forum.database import utcnow
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
    """Deliveries of this issue another run holds: still sending, or left by its end."""

    run_id: int | None
    state: str  # "running", "interrupted by SIGTERM", "stopped without finishing", ...
    last_seen: datetime | None
    never_handed: int = 0  # still "sending": never reached the server, safe to requeue
    unknown: list[str] = field(default_factory=list)  # Message-IDs "handed": look them up in the mail log

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
    """Deliveries still ``sending`` or ``handed`` by other runs, per run, with how each run stands."""
    rows = db.session.execute(
        select(deliveries.c.run_id, deliveries.c.status, deliveries.c.message_id,
               runs.c.finished_at, runs.c.outcome, runs.c.heartbeat_at)
        .outerjoin(runs, runs.c.id == deliveries.c.run_id)
        .where(deliveries.c.issue_id == issue_id, deliveries.c.status.in_(("sending", "handed")),
               or_(deliveries.c.run_id.is_(None), deliveries.c.run_id != (exclude_run or 0)))
        .order_by(deliveries.c.run_id, deliveries.c.id)).all()
    db.session.commit()
    now, groups = utcnow(), {}
    for run_id, status, message_id, finished_at, outcome, heartbeat_at in rows:
        group = groups.get(run_id)
        if group is None:
            group = groups[run_id] = LeftBehind(run_id, _state(now, finished_at, outcome, heartbeat_at),
                                                finished_at or heartbeat_at)
        if status == "sending":
            group.never_handed += 1
        else:
            group.unknown.append(message_id)
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
    unknown_left: int = 0  # "handed" rows left alone: their fate is unknown
    running: int = 0  # rows of a run that is still alive, left alone


def requeue(week: str, include_unknown: bool = False) -> Requeued:
    """Put back deliveries of runs that ended that never reached the mail server.

    Those still ``sending`` were never handed over: sending them again cannot
    duplicate. Those ``handed`` may have been accepted: only with
    ``include_unknown``, once the mail server's log shows they were not.
    A live run's rows are left alone (its per-message check would skip them anyway).
    """
    result = Requeued()
    issue = db.session.scalar(select(DigestIssue).where(DigestIssue.week == week))
    if issue is None:
        db.session.rollback()
        return result
    groups = left_behind(issue.id)
    ended = [group.run_id for group in groups if not group.is_running]
    result.running = sum(group.never_handed + len(group.unknown) for group in groups if group.is_running)
    if not ended:
        return result
    statuses = ("sending", "handed") if include_unknown else ("sending",)
    of_ended = or_(deliveries.c.run_id.in_([r for r in ended if r is not None]),
                   deliveries.c.run_id.is_(None) if None in ended else false())
    done = db.session.execute(update(deliveries)
                              .where(deliveries.c.issue_id == issue.id, deliveries.c.status.in_(statuses), of_ended)
                              .values(status="pending", message_id=None, run_id=None,
                                      attempts=deliveries.c.attempts - 1))
    db.session.commit()
    result.put_back = done.rowcount or 0
    if not include_unknown:
        result.unknown_left = sum(len(group.unknown) for group in groups if not group.is_running)
    return result
