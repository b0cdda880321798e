"""Account use cases: sign up and confirm, log in, reset a password, profile and password.

What the pages reveal about who has an account (decided here, tested in
tests/accounts):
- Sign-up answers "check your inbox" whether or not the address already has
  an account, and logs nobody in; the owner of a taken address gets an email
  saying someone tried (with a fresh confirmation link if theirs is still
  unconfirmed). Both paths hash a password and send one email, so they also
  take about as long.
- A taken *username* is reported as taken: usernames are public on profile
  pages anyway, so saying so reveals nothing, and the person can pick another
  without waiting for an email.
- Log-in says "Wrong username, email or password" for every failure, and the
  failed-login throttle (throttle.py) counts typed names whether or not they
  exist.
- The reset form always answers "if an account exists for that address, we
  sent a link"; an address without an account is told so by email (so the
  same work happens on both paths and a person who forgot which address they
  used learns it in their own inbox).
"""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from forum.accounts import emails, throttle, tokens
from forum.accounts.models import User, new_session_key
from forum.database import utcnow
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


class LoginThrottled(Exception):
    """Too many failed log-ins for this name or from this address; wait ``seconds``."""

    def __init__(self, seconds: int):
        super().__init__(f"wait {seconds} s")
        self.seconds = seconds


def sign_up(username: str, email: str, password: str) -> None:
    """Make an unconfirmed account and email its confirmation link, or, if the address
    already has an account, email its owner instead; the caller cannot tell which.

    Raises AccountError for a bad or taken username, mail.MailError if the email
    could not be sent (the account, if new, stays and the next sign-up resends).
    """
    if not USERNAME_PATTERN.match(username):
        raise AccountError("username", "Use 3 to 30 letters, digits, '_' or '-'.")
    if find_by_username(username):
        raise AccountError("username", "That username is taken.")
    owner = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if owner is None:
        try:
            user = register(username, email, password)
        except (IntegrityError, AccountError):  # the same address or name, at the same moment
            db.session.rollback()
            owner = db.session.scalar(select(User).where(User.email == email.strip().lower()))
            if owner is None:
                raise AccountError("username", "That username is taken.") from None
        else:
            emails.send_confirmation(user)
            return
    User(password_hash="").set_password(password)  # the same hashing work as a new account
    emails.send_already_registered(owner)


def user_for_confirm_token(token: str) -> User:
    """The member a confirmation link is for, if it can still be used; raises tokens.BadToken."""
    user_id, email = tokens.read_confirm_token(token)
    user = db.session.get(User, user_id)
    if user is None or user.email != email:
        raise tokens.BadToken()
    if user.is_confirmed:
        raise tokens.BadToken(used=True)
    return user


def confirm_email(token: str) -> User:
    """Follow a confirmation link: the member may now post and vote. Raises tokens.BadToken."""
    user = user_for_confirm_token(token)
    user.email_confirmed_at = utcnow()
    db.session.commit()
    return user


def resend_confirmation(user: User) -> bool:
    """Email a fresh confirmation link; False when the address is already confirmed."""
    if user.is_confirmed:
        return False
    emails.send_confirmation(user)
    return True


def request_password_reset(email: str) -> None:
    """Email a reset link to the account with this address, or say to the address that
    there is none. Raises mail.MailError when the email could not be sent."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        emails.send_no_account(email)
    else:
        emails.send_password_reset(user)


def user_for_reset_token(token: str) -> User:
    """The member a reset link is for, if it is unused and fresh; raises tokens.BadToken."""
    user_id, fingerprint = tokens.read_reset_token(token)
    user = db.session.get(User, user_id)
    if user is None:
        raise tokens.BadToken()
    if not tokens.fingerprint_matches(user, fingerprint):
        raise tokens.BadToken(used=True)  # the password changed since: used, or superseded
    return user


def reset_password(user: User, new: str) -> None:
    """Set a new password from a reset link; every session, and the link itself, ends.

    Following the link proves the address works, so it also confirms it.
    """
    user.set_password(new)
    user.session_key = new_session_key()
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    db.session.commit()


def log_in(login: str, password: str, address: str | None) -> User | None:
    """``authenticate`` behind the failed-login throttle; raises LoginThrottled."""
    wait = throttle.seconds_to_wait(login, address)
    if wait:
        raise LoginThrottled(wait)
    user = authenticate(login, password)
    if user is None:
        throttle.record_failure(login, address)
    else:
        throttle.forget_account_failures(login)
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
