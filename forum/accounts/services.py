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

from forum.accounts import emails, sessions, throttle, tokens
from forum.accounts.hashing import hash_password, verify_password
from forum.accounts.models import User, new_session_key
from forum.accounts.names import name_problem
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
    """An account, made at once (the command line, tests, moderation's invitations)."""
    return _create(username, email, hash_password(password), **profile)


def _create(username: str, email: str, password_hash: str, **profile) -> User:
    _check_username(username)
    for field in ("display_name", "affiliation"):
        _check_name(field, profile.get(field) or "")
    if find_by_username(username):
        raise AccountError("username", "That username is taken.")
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError("email", "An account with that email address already exists.")
    user = User(username=username, email=email, password_hash=password_hash, **profile)
    db.session.add(user)
    db.session.commit()
    return user


def _check_username(username: str) -> None:
    problem = name_problem(username, "A username")
    if problem:
        raise AccountError("username", problem)
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError("username", "Use 3 to 30 letters, digits, '_' or '-'.")


NAME_FIELDS = {"display_name": "A display name", "affiliation": "An affiliation"}


def _check_name(field: str, value: str) -> None:
    problem = name_problem(value, NAME_FIELDS[field])
    if problem:
        raise AccountError(field, problem)


class LoginThrottled(Exception):
    """Too many failed log-ins for this name or from this address; wait ``seconds``."""

    def __init__(self, seconds: int):
        super().__init__(f"wait {seconds} s")
        self.seconds = seconds


def sign_up(username: str, email: str, password: str) -> None:
    """Make an unconfirmed account and email its confirmation link, or, if the address
    already has an account, email its owner instead; the caller cannot tell which.

    The same sign-up sent again (after "we could not send the email") finds its own
    unconfirmed account and sends the confirmation link again, instead of calling the
    username taken. Raises AccountError for a bad or taken username, mail.MailError if
    the email could not be sent (the account, if new, stays and the next sign-up resends).
    """
    _check_username(username)
    # Hashed before the first query: on SQLite a POST's first query takes the write lock.
    password_hash = hash_password(password)
    email = email.strip().lower()
    owner = db.session.scalar(select(User).where(User.email == email))
    if owner is None:
        if find_by_username(username):
            raise AccountError("username", "That username is taken.")
        try:
            user = _create(username, email, password_hash)
        except (IntegrityError, AccountError):  # the same address or name, at the same moment
            db.session.rollback()
            owner = db.session.scalar(select(User).where(User.email == email))
            if owner is None:
                raise AccountError("username", "That username is taken.") from None
        else:
            emails.send_confirmation(user)
            return
    if owner.username.lower() == username.lower() and not owner.is_confirmed:
        emails.send_confirmation(owner)  # this sign-up again: its email never arrived
        return
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


def reset_password(user: User, new: str, user_agent: str = "") -> str:
    """Set a new password from a reset link; every session, and the link itself, ends.
    Returns the token of a new log-in for the browser that followed the link.

    Following the link proves the address works, so it also confirms it. Raises
    tokens.BadToken(used=True) if the same link was used meanwhile.
    """
    user_id, old_hash = user.id, user.password_hash
    db.session.rollback()  # release the write lock (SQLite) while hashing
    password_hash = hash_password(new)
    user = db.session.get(User, user_id)
    if user is None or user.password_hash != old_hash:
        raise tokens.BadToken(used=True)  # two tabs, one link: the first one won
    user.password_hash = password_hash
    user.session_key = new_session_key()
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    sessions.end_all(user)
    token = sessions.add(user, user_agent)
    db.session.commit()
    return token


def log_in(login: str, password: str, address: str | None, user_agent: str = "") -> User | None:
    """The member these credentials are for, now logged in (a new ``LoginSession``), or None,
    never saying which part was wrong; behind the failed-login throttle (raises LoginThrottled).

    The password is verified between two short transactions, never inside one: on
    SQLite a write transaction holds the database's one write lock, and concurrent
    log-ins waiting for it while a hash ran were answered "database is locked".
    """
    wait = throttle.seconds_to_wait(login, address)
    if wait:
        raise LoginThrottled(wait)
    user = find_by_login(login)
    user_id, stored_hash = (user.id, user.password_hash) if user is not None else (None, None)
    db.session.rollback()  # nothing written yet: end the transaction before the slow part
    if not verify_password(stored_hash, password):
        throttle.record_failure(login, address)
        return None
    throttle.forget_account_failures(login)
    user = db.session.get(User, user_id)
    sessions.start(user, user_agent)
    return user


def authenticate(login: str, password: str) -> User | None:
    """The user whose credentials these are, or None (never saying which part was wrong)."""
    user = find_by_login(login)
    stored_hash = user.password_hash if user is not None else None
    return user if verify_password(stored_hash, password) else None


def update_profile(user: User, *, display_name: str, affiliation: str, bio: str) -> None:
    display_name, affiliation = display_name.strip(), affiliation.strip()
    _check_name("display_name", display_name)
    _check_name("affiliation", affiliation)
    user.display_name = display_name
    user.affiliation = affiliation
    user.bio = bio.strip()
    db.session.commit()


def change_password(user: User, current: str, new: str, user_agent: str = "") -> str:
    """Change the password; every log-in ends, and this browser gets a new one, whose
    token is returned. Both hashes run outside any transaction (see ``log_in``)."""
    user_id, stored_hash = user.id, user.password_hash
    db.session.rollback()
    if not verify_password(stored_hash, current):
        raise AccountError("current_password", "That is not your current password.")
    password_hash = hash_password(new)
    user = db.session.get(User, user_id)
    user.password_hash = password_hash
    user.session_key = new_session_key()  # reset links sent before now stop working
    sessions.end_all(user)
    token = sessions.add(user, user_agent)
    db.session.commit()
    return token


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
