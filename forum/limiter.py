"""The limiter itself: Flask-Limiter with one storage per app, and the key every limit counts by.

Flask-Limiter keeps its storage, its on/off switch and its key prefix on the
extension object, so with one module-level ``limiter`` the last app to call
``init_app`` would count (or stop counting) for every app in the process: two
apps in one test, or a test app with limits on next to one with limits off,
would share or lose their counters. ``PerAppLimiter`` keeps those few
attributes in ``app.extensions["forum_limiter"]`` and reads them from the
current app, so each app counts in its own storage: memory by default, Redis
when ``REDIS_URL`` is set (shared by every worker process that points at it).

The rules (which routes, how many) live in ``forum/ratelimits.py``; this module
only makes the extension that counts them.
"""
from __future__ import annotations

from flask import current_app, has_app_context, request
from flask_limiter import Limiter
from flask_login import current_user

_STATE_KEY = "forum_limiter"


def user_or_address() -> str:
    """Members are counted by account (so a shared campus address is not one bucket), others by address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr or 'unknown'}"


class _PerApp:
    """An attribute of the limiter whose value belongs to the current app."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, limiter, owner=None):
        if limiter is None:
            return self
        return limiter._state()[self.name]

    def __set__(self, limiter, value) -> None:
        limiter._state()[self.name] = value


class PerAppLimiter(Limiter):
    enabled = _PerApp()
    _storage = _PerApp()
    _limiter = _PerApp()
    _key_prefix = _PerApp()
    _storage_dead = _PerApp()
    _fallback_limiter = _PerApp()
    _fallback_storage = _PerApp()

    def __init__(self, *args, **kwargs) -> None:
        self.__dict__["_binding"] = None  # the app being initialised, if any
        self.__dict__["_unbound"] = {}
        super().__init__(*args, **kwargs)
        # What the constructor set is every app's starting point.
        self.__dict__["_defaults"] = dict(self.__dict__["_unbound"])

    def init_app(self, app) -> None:
        state = app.extensions[_STATE_KEY] = {**self.__dict__["_defaults"], "_fallback_storage": None}
        self.__dict__["_binding"] = state
        try:
            super().init_app(app)
        finally:
            self.__dict__["_binding"] = None

    def _state(self) -> dict:
        binding = self.__dict__.get("_binding")
        if binding is not None:
            return binding
        if has_app_context():
            state = current_app.extensions.get(_STATE_KEY)
            if state is not None:
                return state
        return self.__dict__["_unbound"]
