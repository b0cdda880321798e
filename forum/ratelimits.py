"""How often each action may be done, in one place.

Each rule is a ready decorator; put it right under the route decorator:

    @bp.post("/t/<int:thread_id>/report")
    @ratelimits.reporting
    @login_required
    def report(thread_id): ...

Limits count POST requests only (reading a form is free), per member when
logged in and per address otherwise (``forum.limiter.user_or_address``).
Accounts younger than ``NEW_ACCOUNT_AGE`` get the stricter numbers: most spam
comes from accounts made minutes before, and a real newcomer rarely posts more
than a few times in their first day. A refused request gets the 429 page from
``forum/errors.py``, which says when to try again.

Failed log-ins are throttled separately, per account name and per address,
in ``forum/accounts/throttle.py``; the limits here only stop floods.

Why these numbers (moving windows, "N per period" in any such period):
- posting (new thread, reply, edit): one share of "6 per minute" lets a
  member fix typos in quick edits; "60 per hour" is more than any debate needs.
- voting: reading a thread and voting on its replies is fast; 30 a minute
  allows that, while scripted vote rings need far more.
- log in, register, reset request, subscribe, resend confirmation: each sends
  email or checks a password hash, so both the address and (for mail) the
  recipient are limited, to keep us from being used to flood an inbox.
"""
from __future__ import annotations

import math
import time
from datetime import timedelta

from flask import request
from flask_login import current_user

from forum.database import utcnow
from forum.extensions import limiter

NEW_ACCOUNT_AGE = timedelta(days=1)

POSTING = "6 per minute; 60 per hour"
POSTING_NEW_ACCOUNT = "2 per minute; 10 per hour"
VOTING = "30 per minute; 500 per day"
VOTING_NEW_ACCOUNT = "10 per minute; 100 per day"
REPORTING = "10 per hour; 50 per day"
REPORTING_NEW_ACCOUNT = "3 per hour; 10 per day"
LOGIN = "10 per minute; 100 per hour"
REGISTER = "5 per hour; 20 per day"
RESET_REQUEST = "5 per hour"
RESET_PER_RECIPIENT = "3 per hour"  # whoever asks: the inbox owner is the one to protect
SUBSCRIBE = "5 per hour"
RESEND_CONFIRMATION = "3 per hour"
# The read-only JSON API, per address: a client paging through every thread at one request a
# second stays well under it; a scraper hammering it does not. Pages and feeds are not limited.
API = "120 per minute; 3000 per hour"


def is_new_account() -> bool:
    """True when the logged-in member joined less than ``NEW_ACCOUNT_AGE`` ago."""
    return bool(current_user.is_authenticated
                and utcnow() - current_user.created_at < NEW_ACCOUNT_AGE)


def _by_age(established: str, new: str):
    def limit() -> str:
        return new if is_new_account() else established
    return limit


def _recipient() -> str:
    """The email address a form asks us to write to, as the key of a per-recipient limit."""
    return "to:" + (request.form.get("email") or "").strip().lower()


def _shared(limit, scope: str):
    return limiter.shared_limit(limit, scope=scope, methods=["POST"])


posting = _shared(_by_age(POSTING, POSTING_NEW_ACCOUNT), "posting")
voting = _shared(_by_age(VOTING, VOTING_NEW_ACCOUNT), "voting")
reporting = _shared(_by_age(REPORTING, REPORTING_NEW_ACCOUNT), "reporting")
login = _shared(LOGIN, "login")
register = _shared(REGISTER, "register")
subscribe = _shared(SUBSCRIBE, "subscribe")
resend_confirmation = _shared(RESEND_CONFIRMATION, "resend-confirmation")
# Unlike the others this counts reads; it decorates the API blueprint (forum/api/views.py).
api = limiter.shared_limit(API, scope="api", methods=["GET", "HEAD"])


def reset_request(view):
    """Per asking address, and per recipient so nobody's inbox can be flooded from many addresses."""
    view = limiter.shared_limit(RESET_PER_RECIPIENT, scope="reset-recipient", methods=["POST"],
                                key_func=_recipient)(view)
    return _shared(RESET_REQUEST, "reset-request")(view)


def seconds_until_reset() -> int:
    """How long the refused request must wait, from the limit it broke (at least 1 s)."""
    broken = limiter.current_limit
    if broken is None:
        return 60
    return max(1, math.ceil(broken.window.reset_time - time.time()))


def describe_wait(seconds: int) -> str:
    """ "Try again in 40 seconds." / "in 3 minutes" / "in 2 hours": rounded up, never "0"."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        amount, unit = seconds, "second"
    elif seconds < 2 * 3600:
        amount, unit = math.ceil(seconds / 60), "minute"
    else:
        amount, unit = math.ceil(seconds / 3600), "hour"
    return f"Try again in {amount} {unit}{'s' if amount != 1 else ''}."
