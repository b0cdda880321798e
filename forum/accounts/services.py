"""Account use cases: register, authenticate, update profile, change password."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from forum.accounts.models import User, new_session_key
from forum.extensions import db

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,30}$")


class AccountError(ValueError):
    """A rule about accounts was broken; ``field`` names the form field to blame."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def find_by_login(login: str) -> User | None:
    """A user by username or email address, whatever its case."""
    login = login.strip()
    if "@" in login:
        return db.session.scalar(select(User).where(User.email == login.lower()))
    return find_by_username(login)


def register(username: str, email: str, password: str, **profile) -> User:
    if not USERNAME_PATTERN.match(username):
        raise AccountError("username", "Use 3 to 30 letters, digits, '_' or '-'.")
    if find_by_username(username):
        raise AccountError("username", "That username is taken.")
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError("email", "An account with that email address already exists.")
    user = User(username=username, email=email, **profile)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(login: str, password: str) -> User | None:
    """The user whose credentials these are, or None (never saying which part was wrong)."""
    user = find_by_login(login)
    if user is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        User(password_hash="").set_password(password)
        return None
    return user if user.check_password(password) else None


def update_profile(user: User, *, display_name: str, affiliation: str, bio: str) -> None:
    user.display_name = display_name.strip()
    user.affiliation = affiliation.strip()
    user.bio = bio.strip()
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError("current_password", "That is not your current password.")
    user.set_password(new)
    user.session_key = new_session_key()  # every other session now fails to load
    db.session.commit()


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects).

    Only a path starting with a single "/" not followed by "/" or "\\" passes:
    browsers read "//evil.example" and "/\\evil.example" as other hosts.
    Control characters are refused too, since browsers strip them first.
    """
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    return target
