"""Error pages in the site's layout. A rejected form never loses what was typed."""
from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

TITLES = {
    400: "Bad request", 401: "Log in required", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 410: "Gone", 413: "Too large", 422: "Check your input",
    429: "Too many requests", 500: "Something went wrong",
}


def register(app) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(500, _server_error)


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    return _page(error.code, error.description)


def _csrf_error(error: CSRFError):
    # What the person typed comes back, so an expired form costs nothing.
    typed = {name: value for name, value in request.form.items()
             if name not in ("csrf_token", "password", "current_password", "new_password")
             and value.strip()}
    message = ("This form was open too long or came from another site, so it was not sent. "
               "Copy what you typed below, reload the page and send it again.")
    return render_template("errors/error.html", code=400, title="Form not sent",
                           message=message, typed=typed), 400


def _server_error(error):
    return _page(500, "An unexpected error happened on our side. It has been logged.")


def _page(code: int, message: str):
    return render_template("errors/error.html", code=code, title=TITLES.get(code, "Error"),
                           message=message, typed={}), code
