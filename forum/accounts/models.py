"""The User: who can post, and what they tell others about themselves."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.database import UTCDateTime, utcnow
from forum.extensions import db

from forum.accounts.hashing import hash_password, verify_password

ROLES = ("member", "moderator", "admin")


def new_session_key() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80), default="")
    affiliation: Mapped[str] = mapped_column(String(120), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(16), default="member")
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Rotated with the password: reset links carry a fingerprint of it (tokens.py).
    session_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_key)
    # Set when the member follows the emailed link; until then they read but do not post or vote.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Moderation (forum/moderation): a ban may end by itself at ``banned_until``; a
    # member's posts wait for a moderator until ``approved_at`` is set.
    banned_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ban_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # The log-in (a LoginSession row) this object was loaded for, set by accounts/sessions.py.
    # Not columns: one User row has many log-ins, and Flask-Login asks the object for its id.
    login_token = None
    login_id = None
    unread_notifications = None  # counted by the user loader (accounts/sessions.py)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and remember cookies: this log-in's token,
        so ending the log-in (deleting its row) ends every copy of those cookies."""
        if self.login_token is None:
            raise RuntimeError("log in through accounts.sessions.start(), which makes the token")
        return self.login_token

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash or None, password)

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_banned(self) -> bool:
        """Banned now: a ban with an end date ends by itself, with no job to lift it."""
        return self.banned and (self.banned_until is None or self.banned_until > utcnow())

    @property
    def can_participate(self) -> bool:
        """May post, edit, vote and report: confirmed and not banned."""
        return self.is_confirmed and not self.is_banned

    @property
    def is_approved(self) -> bool:
        """Trusted by a moderator: their posts are public at once (moderation/policy.py)."""
        return self.approved_at is not None or self.is_moderator

    # is_active stays UserMixin's True: a banned member still logs in and reads, and is
    # told why (with the reason and end date) when they try to post, vote or report.

    def __repr__(self) -> str:
        return f"<User {self.username}>"


# Usernames are unique whatever their case: "Ada" and "ada" are one person.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class LoginFailure(db.Model):
    """One failed log-in, kept while it counts towards a throttle (accounts/throttle.py).

    ``key`` is a keyed hash of what was throttled ("account:<typed name>" or
    "address:<ip>"), so the table never holds typed names, which are sometimes
    passwords typed into the wrong box, nor addresses in clear.
    """
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


Index("ix_login_failures_key_failed_at", LoginFailure.key, LoginFailure.failed_at)


class LoginSession(db.Model):
    """One log-in: a browser that logged in as a member, until it logs out or the password
    changes. Only a hash of the token is stored, so a copy of this table opens no session."""
    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device: Mapped[str] = mapped_column(String(120), default="")  # "Firefox on Linux"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")
