"""Account emails, composed from templates/email/account_*.txt and sent through forum.mail.

Each raises ``mail.MailError`` when the message could not be handed over;
callers send after their commit, so a mail failure never undoes an account.
"""
from __future__ import annotations

from flask import current_app, render_template, url_for

from forum import mail
from forum.accounts import tokens


def _site() -> str:
    return current_app.config.get("FORUM_SITE_NAME", "Idea Exchange")


def _send(to: str, subject: str, template: str, **context) -> None:
    text = render_template(f"email/{template}", site_name=_site(), **context)
    mail.send(mail.build_message(to, subject, text))


def _confirm_url(user) -> str:
    return url_for("accounts.confirm_email", token=tokens.confirm_token(user), _external=True)


def send_confirmation(user) -> None:
    _send(user.email, f"Confirm your email address for {_site()}", "account_confirm.txt",
          username=user.username, confirm_url=_confirm_url(user),
          hours=int(tokens.CONFIRM_MAX_AGE.total_seconds() // 3600))


def send_already_registered(user) -> None:
    """To the owner of an address someone tried to register again (the form said nothing)."""
    _send(user.email, f"Someone tried to join {_site()} with your address", "account_exists.txt",
          username=user.username,
          login_url=url_for("accounts.login", _external=True),
          reset_url=url_for("accounts.reset_request", _external=True),
          confirm_url=None if user.is_confirmed else _confirm_url(user),
          hours=int(tokens.CONFIRM_MAX_AGE.total_seconds() // 3600))


def send_password_reset(user) -> None:
    _send(user.email, f"Reset your {_site()} password", "account_reset.txt",
          username=user.username,
          reset_url=url_for("accounts.reset_password", token=tokens.reset_token(user), _external=True),
          minutes=int(tokens.RESET_MAX_AGE.total_seconds() // 60))


def send_no_account(email: str) -> None:
    """A reset asked for an address no account uses: say so to that inbox, not to the asker."""
    _send(email, f"Password reset requested on {_site()}", "account_reset_unknown.txt",
          reset_url=url_for("accounts.reset_request", _external=True),
          register_url=url_for("accounts.register", _external=True))
