"""Response headers that make the pages safe to serve.

The Content-Security-Policy allows scripts, styles and fonts from our own
origin only (no inline script: every page keeps its JavaScript in files under
``static/``), forbids framing, plugins and form posts elsewhere. Images in
posts may come from other https sites, since researchers link figures.
"""
import threading
import time

from flask import Flask, current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature

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
    app.session_interface = SessionCookies()

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


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, the same cookie and the same checks, without redoing
    per request what only depends on the keys or on the cookie's own bytes.

    Flask builds a new serializer (and its signers) for every request, and a member's
    browser sends the same cookie on every page (the session changes only when they log
    in or out, or a form stores something): each request derived the key and checked the
    HMAC of a cookie already checked. Here the serializer is kept per signing key, and a
    cookie that verified is kept with its signed payload and timestamp, keyed by the keys
    and its exact text; a cookie seen again is accepted only while its signed timestamp is
    within ``PERMANENT_SESSION_LIFETIME``, as ``loads(max_age=...)`` checks, and its
    payload is decoded afresh (each request gets its own session dict). A cookie never
    verified, altered in any byte, or signed with another key, takes Flask's full path.
    """

    VERIFIED_KEPT = 10_000  # cookies kept per process (one per live browser session)

    def __init__(self) -> None:
        self._serializers: dict = {}
        self._verified: dict = {}

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app: Flask, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()), cookie)
        kept = self._verified.get(key)
        if kept is not None:
            payload, signed_at = kept
            if 0 <= int(time.time()) - signed_at <= max_age:
                return self.session_class(serializer.load_payload(payload))
            self._verified.pop(key, None)  # expired: the full check below refuses it
        try:
            data, signed = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if len(self._verified) >= self.VERIFIED_KEPT:
            self._verified.clear()
        # payload.timestamp.signature: what load_payload read is the text before the timestamp
        self._verified[key] = (cookie.encode().rsplit(b".", 2)[0], int(signed.timestamp()))
        return self.session_class(data)
