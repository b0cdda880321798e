"""Error pages in the site's layout. A rejected form never loses what was typed.

A rate-limited request (429) says when to try again, in words and in a
``Retry-After`` header; a request that asked for JSON (the voting script) gets
JSON with the same message.
"""
from urllib.parse import urlsplit

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum import ratelimits
from forum.accounts.services import safe_next
from forum.extensions import login_manager

SECRET_FIELDS = ("csrf_token", "password", "current_password", "new_password")

TITLES = {
    400: "Bad request", 401: "Log in required", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 410: "Gone", 413: "Too large", 422: "Check your input",
    429: "Too many requests", 500: "Something went wrong",
}


def register(app) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(500, _server_error)
    login_manager.unauthorized_handler(_login_required)


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    return _page(error.code, error.description)


def _csrf_error(error: CSRFError):
    # What the person typed comes back, so an expired form costs nothing.
    typed = typed_fields()
    message = ("This form was open too long or came from another site, so it was not sent. "
               "Copy what you typed below, reload the page and send it again.")
    return render_template("errors/error.html", code=400, title="Form not sent",
                           message=message, typed=typed), 400


def _rate_limited(error: RateLimitExceeded):
    return too_many_requests(ratelimits.seconds_until_reset())


def too_many_requests(seconds: int, message: str = "You have done that too often for now."):
    """The 429 answer: when to try again, what was typed kept, ``Retry-After`` set."""
    wait = ratelimits.describe_wait(seconds)
    if request.accept_mimetypes.best == "application/json":
        response = jsonify(error=f"{message} {wait}", retry_after=seconds)
    else:
        response = render_template("errors/error.html", code=429, title=TITLES[429],
                                   message=f"{message} {wait}", typed=typed_fields())
    return response, 429, {"Retry-After": str(seconds)}


def typed_fields() -> dict[str, str]:
    """What the person typed into the refused form, secrets left out, to show back to them."""
    return {name: value for name, value in request.form.items()
            if name not in SECRET_FIELDS and value.strip()}


def _server_error(error):
    return _page(500, "An unexpected error happened on our side. It has been logged.")


def _page(code: int, message: str):
    return render_template("errors/error.html", code=code, title=TITLES.get(code, "Error"),
                           message=message, typed={}), code


def _login_required():
    """A logged-out visitor asked for a members' page or action.

    A page (GET) sends them to log in and back. Anything else answers 401 with
    what they typed and a link to log in: a redirect would drop the text of a
    reply written while the session ran out.
    """
    if request.method in ("GET", "HEAD"):
        flash("Log in to continue.", "info")
        return redirect(url_for("accounts.login", next=safe_next(request.full_path)))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error="Log in first: this needs an account."), 401
    back = safe_next(request.referrer and _path_of(request.referrer))
    return render_template("errors/error.html", code=401, title=TITLES[401],
                           message="Log in first: this needs an account. Your text is below.",
                           typed=typed_fields(),
                           login_url=url_for("accounts.login", next=back)), 401


def _path_of(url: str) -> str | None:
    """The path of a link back to this site, or None for another site's."""
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
