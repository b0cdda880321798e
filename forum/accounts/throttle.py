"""Failed-login throttling, per account name and per address.

After ``ACCOUNT_FAILURES`` failed log-ins for one name, or ``ADDRESS_FAILURES``
from one address, within ``WINDOW``, further attempts are refused (429 with
the wait) before the password is even checked, so guessing stops even when a
guess would be right.

Decisions:
- The account key is the name *as typed* (trimmed, lower-cased), whether or
  not such an account exists: a name that exists and one that does not are
  throttled alike, so the refusal reveals nothing. Throttling by the account
  behind the name instead would tie a username to its email address (lock one,
  see the other locked). So a member can be guessed at through their username
  and their address: 2 x ``ACCOUNT_FAILURES`` per window, and never more than
  ``ADDRESS_FAILURES`` from one address.
- Failures live in the database (``LoginFailure``), so every worker process
  and server sees the same count without Redis. Only failures are written,
  and rows older than the window are deleted as new ones come in.
- Keys are HMACs of the name or address under SECRET_KEY: the table holds
  neither typed names (sometimes a password typed in the wrong box) nor
  addresses in clear.
- A successful log-in forgets the failures of that name (the owner came back),
  not those of the address (an attacker with an account of their own must not
  be able to reset their address's count).
- Throttling lets anyone lock a name out for at most ``WINDOW`` by failing on
  purpose; the owner can still reset their password by email, which logs
  them in. That is the usual price of per-account throttling, and it is small.
- These are not switched off by RATELIMIT_ENABLED: they protect passwords, not
  capacity.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from forum.accounts.models import LoginFailure
from forum.database import utcnow
from forum.extensions import db

ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=15)


def _key(kind: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _keys(login: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(_key("account", login.strip().lower()), ACCOUNT_FAILURES)]
    if address:
        keys.append((_key("address", address), ADDRESS_FAILURES))
    return keys


def seconds_to_wait(login: str, address: str | None, now: datetime | None = None) -> int:
    """0 when this log-in may be tried now, else how many seconds until it may."""
    now = now or utcnow()
    wait = 0
    for key, allowed in _keys(login, address):
        # The allowed-th most recent failure in the window: when it ages out, one try frees up.
        times = db.session.scalars(
            select(LoginFailure.failed_at)
            .where(LoginFailure.key == key, LoginFailure.failed_at > now - WINDOW)
            .order_by(LoginFailure.failed_at.desc()).limit(allowed)).all()
        if len(times) >= allowed:
            wait = max(wait, math.ceil((times[-1] + WINDOW - now).total_seconds()))
    return max(wait, 0)


def record_failure(login: str, address: str | None) -> None:
    now = utcnow()
    db.session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW))
    db.session.add_all(LoginFailure(key=key, failed_at=now) for key, _ in _keys(login, address))
    db.session.commit()


def forget_account_failures(login: str) -> None:
    """Not committed: the successful log-in commits it with its new session row."""
    key = _key("account", login.strip().lower())
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == key))
