"""Error pages in the site's layout. A rejected form never loses what was typed.

A rate-limited request (429) says when to try again, in words and in a
``Retry-After`` header; a request that asked for JSON (the voting script) gets
JSON with the same message.
"""
from flask import jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum import ratelimits

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


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    return _page(error.code, error.description)


def _csrf_error(error: CSRFError):
    # What the person typed comes back, so an expired form costs nothing.
    typed = _typed()
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
                                   message=f"{message} {wait}", typed=_typed())
    return response, 429, {"Retry-After": str(seconds)}


def _typed() -> dict[str, str]:
    return {name: value for name, value in request.form.items()
            if name not in SECRET_FIELDS and value.strip()}


def _server_error(error):
    return _page(500, "An unexpected error happened on our side. It has been logged.")


def _page(code: int, message: str):
    return render_template("errors/error.html", code=code, title=TITLES.get(code, "Error"),
                           message=message, typed={}), code
