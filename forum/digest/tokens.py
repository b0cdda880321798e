"""Signed tokens in digest links (itsdangerous, keyed by SECRET_KEY).

- Confirmation: the address itself, signed and timestamped, valid for
  ``CONFIRM_MAX_AGE``; nothing is stored until the link is followed, so the
  subscribe form writes no row for an address that never confirms.
- Unsubscribe: the subscription's random ``token`` signed without expiry (a
  digest from last year must still let its reader leave). Rotating the stored
  token voids every link already sent.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

CONFIRM_MAX_AGE = timedelta(days=3)


class BadToken(ValueError):
    def __init__(self, expired: bool = False):
        self.expired = expired
        super().__init__("expired" if expired else "invalid")


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"digest-{purpose}")


def confirm_token(email: str) -> str:
    return _serializer("confirm").dumps(email)


def read_confirm_token(token: str) -> str:
    from itsdangerous import SignatureExpired
    try:
        return _serializer("confirm").loads(token, max_age=int(CONFIRM_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise BadToken(expired=True) from None
    except BadData:
        raise BadToken() from None


def unsubscribe_token(secret: str) -> str:
    return unsubscribe_serializer().dumps(secret)


def unsubscribe_serializer() -> URLSafeTimedSerializer:
    """For signing many unsubscribe tokens in a row (``dumps``) without rebuilding the serializer."""
    return _serializer("unsubscribe")


def read_unsubscribe_token(token: str) -> str:
    try:
        return _serializer("unsubscribe").loads(token)
    except BadData:
        raise BadToken() from None
