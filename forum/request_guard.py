"""One check in front of every request: text that holds a NUL character is refused.

PostgreSQL cannot store U+0000 in a text column, nor compare a parameter that
holds one ("A string literal cannot contain NUL (0x00) characters"), so a NUL
anywhere a query might use it (a path like ``/u/a%00b``, a search, a login
name, a reply) used to become a 500. No legitimate text here holds one, so
instead of cleaning each field in each form, this runs before every other
``before_request`` function and answers 400 with a message. The form's other
text comes back on the page (NULs removed, secrets left out), so nothing
typed is lost; a request that asked for JSON gets the message as JSON.

Checked: the path, the query string, form fields (names and values) and a
JSON body. Uploaded files are binary and not checked here.
"""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request

from forum.api.errors import error_response as api_error_response
from forum.errors import typed_fields

NUL = "\x00"
MESSAGE = ("Your request contained a NUL character (U+0000), which no text on this site may "
           "hold, so it was not sent. Remove it and try again; anything you typed is below.")


def register(app: Flask) -> None:
    # First of all before_request functions: the others may already query with the text.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_characters)


def refuse_nul_characters():
    if not request_has_nul():
        return None
    if request.path.startswith("/api/"):  # the API's own error shape, whatever was accepted
        return api_error_response(400, MESSAGE)
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(error=MESSAGE), 400
    typed = {name.replace(NUL, ""): value.replace(NUL, "") for name, value in typed_fields().items()}
    return render_template("errors/error.html", code=400, title="Bad request", message=MESSAGE,
                           typed=typed), 400


def request_has_nul() -> bool:
    if NUL in request.path or b"%00" in request.query_string or b"\x00" in request.query_string:
        return True
    if any(NUL in key or NUL in value for key, values in request.args.lists() for value in values):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS") and not request.content_length:
        return False
    if any(NUL in key or NUL in value for key, values in request.form.lists() for value in values):
        return True
    return request.is_json and _json_has_nul(request.get_json(silent=True))


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_json_has_nul(key) or _json_has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False
