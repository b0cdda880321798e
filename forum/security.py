"""Response headers that make the pages safe to serve.

The Content-Security-Policy allows scripts, styles and fonts from our own
origin only (no inline script: every page keeps its JavaScript in files under
``static/``), forbids framing, plugins and form posts elsewhere. Images in
posts may come from other https sites, since researchers link figures.
"""
import threading

from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",  # for browsers older than frame-ancestors
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def register(app: Flask) -> None:
    @app.after_request
    def set_security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


SIGNED_CSRF_KEPT = 10_000  # signed tokens kept per process (one per live browser session)
_signed_csrf: dict[tuple[str, str], str] = {}
_signed_csrf_lock = threading.Lock()


def csrf_token() -> str:
    """Flask-WTF's ``generate_csrf()``, signed once per session token per process.

    ``generate_csrf`` signs the session's raw token again on every request (an
    HMAC and a timestamp), and every page a member opens asks for it. With
    ``WTF_CSRF_TIME_LIMIT = None`` the timestamp is never checked, so the
    signed form of one raw token from earlier is exactly as valid: it is kept,
    keyed by the signing key and the raw token, and the check on every form
    (``CSRFProtect``, ``validate_csrf``: signature and equality with the
    session's raw token) is unchanged. With a time limit set, or no raw token
    in the session yet (a new visitor: one is made and stored), it is
    ``generate_csrf`` itself.
    """
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    signed = g.get(field)
    if signed is not None:
        return signed
    raw = session.get(field)
    if config.get("WTF_CSRF_TIME_LIMIT", 3600) is not None or not isinstance(raw, str):
        return generate_csrf()
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, raw)
    signed = _signed_csrf.get(key)
    if signed is None:
        signed = generate_csrf()
        with _signed_csrf_lock:
            if len(_signed_csrf) >= SIGNED_CSRF_KEPT:
                _signed_csrf.clear()
            _signed_csrf[key] = signed
    setattr(g, field, signed)  # where generate_csrf and Flask-WTF's forms look first
    return signed
