"""Signed tokens in account emails (itsdangerous, keyed by SECRET_KEY), as in digest/tokens.py.

Nothing is stored: each token is made single-use by binding it to the state
that using it changes.

- Confirmation: the member's id and address, valid for ``CONFIRM_MAX_AGE``.
  Once the address is confirmed the link has done its job: following it again
  says so (``BadToken(used=True)``).
- Password reset: the member's id and a fingerprint of their password hash
  and session key, valid for ``RESET_MAX_AGE``. Setting a password changes
  both, so a used link, or one sent before any later password change, no
  longer matches (``used=True``).

The salts keep the two kinds (and the digest's) from being swapped for each
other.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

CONFIRM_MAX_AGE = timedelta(hours=48)
RESET_MAX_AGE = timedelta(hours=1)


class BadToken(ValueError):
    """A link that cannot be used: tampered or cut short, expired, or already used."""

    def __init__(self, expired: bool = False, used: bool = False):
        self.expired = expired
        self.used = used
        super().__init__("expired" if expired else "used" if used else "invalid")

    @property
    def status(self) -> int:
        return 410 if self.expired or self.used else 400


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"account-{purpose}")


def _load(purpose: str, token: str, max_age: timedelta) -> dict:
    try:
        data = _serializer(purpose).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise BadToken(expired=True) from None
    except BadData:
        raise BadToken() from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadToken()
    return data


def confirm_token(user) -> str:
    return _serializer("confirm").dumps({"u": user.id, "e": user.email})


def read_confirm_token(token: str) -> tuple[int, str]:
    """(user id, address) the link confirms; raises BadToken."""
    data = _load("confirm", token, CONFIRM_MAX_AGE)
    return data["u"], str(data.get("e", ""))


def reset_token(user) -> str:
    return _serializer("reset").dumps({"u": user.id, "f": password_fingerprint(user)})


def read_reset_token(token: str) -> tuple[int, str]:
    """(user id, fingerprint) the link was made for; raises BadToken."""
    data = _load("reset", token, RESET_MAX_AGE)
    return data["u"], str(data.get("f", ""))


def password_fingerprint(user) -> str:
    """Changes whenever the password or the session key does; reveals neither."""
    material = f"{user.password_hash}\x00{user.session_key}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def fingerprint_matches(user, fingerprint: str) -> bool:
    return hmac.compare_digest(password_fingerprint(user), fingerprint)
