"""Reading the query string of an API request: limits, pages, cursors. Bad values answer 400."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from forum.api.errors import ApiError

DEFAULT_LIMIT = 25
MAX_LIMIT = 100  # items per answer: a client that wants more follows ``next``
MAX_QUERY_LENGTH = 500  # characters of a search query (the search page cuts longer ones)
MAX_OFFSET = 10_000  # deeper than this a listing costs more than it helps; search narrows instead
_SALT = "api-cursor-v1"


def limit(args) -> int:
    return bounded_int(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)


def bounded_int(args, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise ApiError(400, f"{name} must be a whole number between {low} and {high}.")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}; got {value}.")
    return value


def choice(args, name: str, allowed, default: str) -> str:
    value = args.get(name, default)
    if value not in allowed:
        raise ApiError(400, f"Unknown {name} {value[:40]!r}: use {', '.join(allowed)}.")
    return value


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_cursor(listing: str, position: int, ranked_at: datetime | None = None) -> str:
    return _serializer().dumps({"l": listing, "p": position,
                                "t": ranked_at.isoformat() if ranked_at else None})


def read_cursor(raw: str | None, listing: str, *, keyset: bool = False) -> tuple[int, datetime | None]:
    """(position, moment the listing was ranked) from a cursor this API made for ``listing``.

    The position is an offset, or with ``keyset`` the last id already given."""
    if not raw:
        return 0, None
    try:
        data = _serializer().loads(raw[:1000])
        position = int(data["p"])
        ranked_at = datetime.fromisoformat(data["t"]) if data.get("t") else None
    except (BadSignature, KeyError, TypeError, ValueError):
        raise ApiError(400, "That cursor is not valid: use the `next` link of a previous answer.")
    if data.get("l") != listing or position < 0:
        raise ApiError(400, "That cursor belongs to another listing: keep the other parameters "
                            "as they were, or start again without a cursor.")
    if not keyset and position > MAX_OFFSET:
        raise ApiError(400, f"Listings go {MAX_OFFSET} items deep; narrow them with a tag or search.")
    return position, ranked_at
