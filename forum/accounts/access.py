"""``confirmed_required``: members post and vote only once their email address is confirmed.

Put it under ``login_required`` (so a visitor is first asked to log in):

    @bp.route("/t/new", methods=["GET", "POST"])
    @login_required
    @confirmed_required
    def new(): ...

An unconfirmed member gets a 403 page that says why, offers to resend the
link, and shows what they typed; a request for JSON gets the reason as JSON.
"""
from __future__ import annotations

from functools import wraps

from flask import jsonify, render_template, request
from flask_login import current_user

from forum.accounts.forms import ConfirmForm
from forum.errors import typed_fields

MESSAGE = "Confirm your email address first: follow the link we emailed you when you joined."


def confirmed_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.is_authenticated and not current_user.is_confirmed:
            return refuse_unconfirmed()
        return view(*args, **kwargs)
    return wrapped


def refuse_unconfirmed():
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=MESSAGE), 403
    return render_template("accounts/unconfirmed.html", message=MESSAGE, typed=typed_fields(),
                           form=ConfirmForm(),
                           back=request.full_path.rstrip("?") if request.method == "GET" else None), 403
