"""Settings, read from environment variables with safe defaults.

Every setting is an environment variable of the same name and a key that
``create_app(config)`` accepts (the dict wins over the environment). The one
exception in naming is the database: ``DATABASE_URL`` in the environment,
``SQLALCHEMY_DATABASE_URI`` in the config dict.

There is deliberately no default ``SECRET_KEY`` in code: when none is given,
``create_app`` generates one once and keeps it in the instance folder.
"""
from __future__ import annotations

import os

TRUE_WORDS = {"1", "true", "yes", "on"}


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in TRUE_WORDS


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if not value else int(value)


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if not value else float(value)


def normalize_database_url(url: str) -> str:
    """Route PostgreSQL URLs to psycopg 3, whatever scheme the host gave us."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_environment() -> dict:
    """The settings as the environment gives them; None means 'work it out'."""
    database_url = os.environ.get("DATABASE_URL")
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url) if database_url else None,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "FORUM_SITE_NAME": os.environ.get("FORUM_SITE_NAME", "Idea Exchange"),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR") or None,
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", "whoosh"),  # whoosh | postgres
        "SEARCH_INDEXER": os.environ.get("SEARCH_INDEXER", "background"),  # forum/search/indexer.py
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "console"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _env_int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "forum@localhost"),
        "SERVER_NAME": os.environ.get("SERVER_NAME") or None,
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME", "http"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        "GITHUB_TOKEN": os.environ.get("GITHUB_TOKEN") or None,
        "CONTACT_EMAIL": os.environ.get("CONTACT_EMAIL", "").strip() or None,
        "PAGE_CACHE_SECONDS": _env_int("PAGE_CACHE_SECONDS", 5),
        "CONTENT_LICENSE": os.environ.get("CONTENT_LICENSE") or "CC BY 4.0",  # of posts: footer, export
        "NEW_MEMBER_HOLD_POSTS": _env_int("NEW_MEMBER_HOLD_POSTS", 2),
        "NEW_MEMBER_LINK_LIMIT": _env_int("NEW_MEMBER_LINK_LIMIT", 2),
        # argon2id cost; unset means argon2-cffi's defaults (forum/accounts/hashing.py).
        "PASSWORD_HASH_TIME_COST": _env_int("PASSWORD_HASH_TIME_COST", 0) or None,
        "PASSWORD_HASH_MEMORY_KIB": _env_int("PASSWORD_HASH_MEMORY_KIB", 0) or None,
        "PASSWORD_HASH_PARALLELISM": _env_int("PASSWORD_HASH_PARALLELISM", 0) or None,
        # Seconds of CPU one render of user text may take; over it, 422 (forum/markup/budget.py).
        "RENDER_CPU_BUDGET": _env_float("RENDER_CPU_BUDGET", 0.5),
    }


class Defaults:
    """Settings that are not read from the environment."""

    # pool_pre_ping (a "SELECT 1" on every checkout, so a server's dropped connection is
    # replaced) is added for server databases by create_app: a SQLite file has no server.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: a long reply must not expire
    MAX_CONTENT_LENGTH = 1024 * 1024  # 1 MiB: bodies are capped at 50,000 characters anyway
    THREADS_PER_PAGE = 25
    REPLIES_PER_PAGE = 50  # top-level replies (each with its whole subtree) per thread page
    RATELIMIT_KEY_PREFIX = "forum"  # keys in a shared Redis read forum/...
    # A Redis that stops answering costs each request at most this, then limits fall back to memory.
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
