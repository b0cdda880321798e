"""JSON errors for everything under ``/api/``, with the status codes the pages use."""
from __future__ import annotations

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from forum import ratelimits

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """A refused request: ``ApiError(400, "limit must be between 1 and 100.")``."""

    def __init__(self, code: int, message: str):
        super().__init__(description=message)
        self.code = code


def error_response(status: int, message: str, headers: dict | None = None):
    response = jsonify(error={"status": status, "message": message})
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(error: HTTPException):
    code = error.code or 500
    headers = {}
    if code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(code, error.description or error.name, headers)


def _rate_limited(error):
    seconds = ratelimits.seconds_until_reset()
    return error_response(429, f"Too many API requests. {ratelimits.describe_wait(seconds)}",
                          {"Retry-After": str(seconds)})


def _server_error(error):
    log.exception("api: unexpected error", exc_info=getattr(error, "original_exception", error))
    return error_response(500, "An unexpected error happened on our side. It has been logged.")


def register(bp) -> None:
    # Flask looks for handlers by status code first (the app has some for 400, 429 and 500),
    # so the blueprint names those codes explicitly, then every other HTTP error.
    for code in (400, 404, 405, 406, 410, 413, 422):
        bp.register_error_handler(code, _http_error)
    bp.register_error_handler(429, _rate_limited)
    bp.register_error_handler(500, _server_error)
    bp.register_error_handler(HTTPException, _http_error)
