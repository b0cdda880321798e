"""Per-message records of a sending run: "handed to the server" and "accepted by it".

See ``sending.py`` for why they exist. Each is committed on its own, at once,
so a run killed outright leaves the truth about every message but the one in
the SMTP conversation at that moment.
"""
from __future__ import annotations

from sqlalchemy import bindparam, literal_column, select, update

from forum.digest.models import DigestDelivery, Subscription
from forum.extensions import db

deliveries = DigestDelivery.__table__
subscriptions = Subscription.__table__


class Journal:
    """Per-message records, each committed at once, on a DB-API connection of the run's own.

    Raw DB-API statements: SQLAlchemy's execute-and-commit costs ten times the
    SQL here, and these run twice per message. On PostgreSQL the session skips
    the WAL flush at commit (``synchronous_commit off``): what these records
    guard against is this process dying, which such a commit survives.
    """

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.connection = db.engine.raw_connection()
        self.cursor = self.connection.cursor()
        self.postgres = db.engine.dialect.name == "postgresql"
        if self.postgres:
            self.cursor.execute("SET synchronous_commit TO OFF")
            self.connection.commit()
        active = (select(subscriptions.c.id)
                  .where(subscriptions.c.id == deliveries.c.subscription_id,
                         subscriptions.c.unsubscribed_at.is_(None), subscriptions.c.suppressed_at.is_(None))
                  .exists())
        # Constants as SQL literals, so the only parameters are the two named ones.
        self._hand = _compiled(
            update(deliveries).values(status=literal_column("'handed'"))
            .where(deliveries.c.id == bindparam("delivery"), deliveries.c.run_id == bindparam("run"),
                   deliveries.c.status == literal_column("'sending'"), active))
        self._accept = _compiled(
            update(deliveries).values(status=literal_column("'sent'"))
            .where(deliveries.c.id == bindparam("delivery"), deliveries.c.status == literal_column("'handed'")))

    def hand(self, delivery_id: int) -> bool:
        """Record that the message goes to the server now; False if the reader left meanwhile."""
        return self._execute(self._hand, delivery=delivery_id, run=self.run_id) == 1

    def accepted(self, delivery_id: int) -> None:
        self._execute(self._accept, delivery=delivery_id)

    def _execute(self, statement: tuple[str, tuple[str, ...] | None], **values) -> int:
        sql, order = statement
        self.cursor.execute(sql, values if order is None else tuple(values[name] for name in order))
        count = self.cursor.rowcount
        self.connection.commit()
        return count

    def close(self) -> None:
        try:
            if self.postgres:
                self.cursor.execute("RESET synchronous_commit")
                self.connection.commit()
        finally:
            self.connection.close()


def _compiled(statement) -> tuple[str, tuple[str, ...] | None]:
    """SQL text for the DB-API, and the parameter order when the driver's style is positional."""
    compiled = statement.compile(dialect=db.engine.dialect)
    return compiled.string, (tuple(compiled.positiontup) if compiled.positional else None)
