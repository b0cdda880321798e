"""Per-message records of a sending run: what became of each message, as it happens.

Why: a batch's outcomes are booked in bulk with the next claim, so a process
killed outright (kill -9, the machine going down) would leave its whole
batch ``sending``, accepted and unsent alike, and any requeue would send
duplicates. So each message's fate is also written the moment it is known,
in its own tiny committed statement: ``stage`` 1 accepted by the server,
2 refused, 3 not sent because the reader left. A run handles its batch in id
order, so after a kill the first row still without a stage is the only one
whose fate is unknown (it was in the SMTP conversation, or about to be);
every row after it never reached the server.

The same connection answers the send-time check, just before each message:
is the reader still subscribed, and not suppressed?

Why raw DB-API statements on a connection of the run's own: SQLAlchemy's
execute-and-commit costs ten times the SQL here, and these run per message.
``stage`` is in no index, so an update rewrites one page. On PostgreSQL the
session skips the WAL flush at commit (``synchronous_commit off``): what
these records guard against is this process dying, which such a commit
survives.
"""
from __future__ import annotations

from sqlalchemy import bindparam, literal_column, select, update

from forum.digest.models import DigestDelivery, Subscription
from forum.extensions import db

deliveries = DigestDelivery.__table__
subscriptions = Subscription.__table__

ACCEPTED, REFUSED, CANCELLED = 1, 2, 3


class Journal:
    def __init__(self):
        self.connection = db.engine.raw_connection()
        self.cursor = self.connection.cursor()
        self.postgres = db.engine.dialect.name == "postgresql"
        if self.postgres:
            self.cursor.execute("SET synchronous_commit TO OFF")
            self.connection.commit()
        self._record = _compiled(update(deliveries).values(stage=bindparam("stage"))
                                 .where(deliveries.c.id == bindparam("delivery"),
                                        deliveries.c.status == literal_column("'sending'")))
        self._active = _compiled(select(subscriptions.c.id)
                                 .where(subscriptions.c.id == bindparam("subscription"),
                                        subscriptions.c.unsubscribed_at.is_(None),
                                        subscriptions.c.suppressed_at.is_(None)))

    def is_wanted(self, subscription_id: int) -> bool:
        """Whether the reader is still subscribed (and not suppressed), read now."""
        self._execute(self._active, subscription=subscription_id)
        found = self.cursor.fetchone() is not None
        self.connection.commit()  # end the read, so no snapshot is held across SMTP
        return found

    def record(self, delivery_id: int, stage: int) -> None:
        self._execute(self._record, delivery=delivery_id, stage=stage)
        self.connection.commit()

    def _execute(self, statement: tuple[str, tuple[str, ...] | None], **values) -> None:
        sql, order = statement
        self.cursor.execute(sql, values if order is None else tuple(values[name] for name in order))

    def close(self) -> None:
        try:
            if self.postgres:
                self.connection.rollback()
                self.cursor.execute("RESET synchronous_commit")
                self.connection.commit()
        finally:
            self.connection.close()


def _compiled(statement) -> tuple[str, tuple[str, ...] | None]:
    """SQL text for the DB-API, and the parameter order when the driver's style is positional."""
    compiled = statement.compile(dialect=db.engine.dialect)
    return compiled.string, (tuple(compiled.positiontup) if compiled.positional else None)
