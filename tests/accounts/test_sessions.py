"""Server-side log-ins: logging out ends the session everywhere its cookies were copied."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from forum.accounts import sessions
from forum.accounts.models import LoginSession, User
from forum.database import utcnow
from forum.extensions import db
from tests.factories import PASSWORD, make_user

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def _logged_in(app, user, user_agent=FIREFOX, remember=False):
    client = app.test_client()
    data = {"login": user.username, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data, headers={"User-Agent": user_agent})
    assert response.headers["Location"] == "/"
    return client


def _opens_settings(client) -> bool:
    return client.get("/settings").status_code == 200


def _copy(client, names, app):
    """A second browser holding copies of ``client``'s cookies (as a thief would)."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        thief.set_cookie(name, cookie.value)
    return thief


def test_a_copied_session_cookie_stops_working_after_logout(app):
    with app.app_context():
        user = make_user()
    browser = _logged_in(app, user)
    thief = _copy(browser, ["session"], app)
    assert _opens_settings(thief)
    browser.post("/auth/logout")
    assert not _opens_settings(browser)
    assert not _opens_settings(thief)


def test_a_copied_remember_cookie_stops_working_after_logout(app):
    with app.app_context():
        user = make_user()
    browser = _logged_in(app, user, remember=True)
    thief = _copy(browser, ["remember_token"], app)  # no session cookie: the remember one logs in
    assert _opens_settings(thief)
    browser.post("/auth/logout")
    assert not _opens_settings(_copy(thief, ["remember_token"], app))


def test_logging_out_ends_only_that_log_in(app):
    with app.app_context():
        user = make_user()
    laptop, phone = _logged_in(app, user), _logged_in(app, user, SAFARI)
    laptop.post("/auth/logout")
    assert _opens_settings(phone)
    with app.app_context():
        assert [row.device for row in sessions.active(db.session.get(User, user.id))] == [
            "Safari on iPhone"]


def test_settings_lists_log_ins_and_logs_out_of_the_others(app):
    with app.app_context():
        user = make_user()
    phone = _logged_in(app, user, SAFARI)
    laptop = _logged_in(app, user, FIREFOX)
    page = laptop.get("/settings").get_data(as_text=True)
    assert "Firefox on Linux <strong>(this browser)</strong>" in page
    assert "Safari on iPhone" in page and "Log out of the others" in page
    response = laptop.post("/settings/sessions/end-others")
    assert response.headers["Location"].startswith("/settings")
    assert "Logged out of 1 other session." in laptop.get("/settings").get_data(as_text=True)
    assert not _opens_settings(phone)
    assert _opens_settings(laptop)
    assert "Log out of the others" not in laptop.get("/settings").get_data(as_text=True)


def test_password_change_ends_every_other_log_in_and_keeps_this_one(app):
    with app.app_context():
        user = make_user()
    other = _logged_in(app, user, SAFARI, remember=True)
    stolen = _copy(other, ["remember_token"], app)
    this = _logged_in(app, user)
    response = this.post("/settings", data={"current_password": PASSWORD,
                                            "new_password": "a brand new secret",
                                            "change_password": "Change password"})
    assert response.headers["Location"] == "/settings"
    assert _opens_settings(this)
    assert not _opens_settings(other) and not _opens_settings(stolen)
    with app.app_context():
        assert len(sessions.active(db.session.get(User, user.id))) == 1


def test_password_reset_ends_every_log_in(app):
    from forum.accounts import tokens
    with app.app_context():
        user = make_user()
        link = f"/auth/reset/{tokens.reset_token(db.session.get(User, user.id))}"
    other = _logged_in(app, user)
    stranger = app.test_client()
    response = stranger.post(link, data={"password": "another long password"})
    assert response.headers["Location"] == "/"
    assert not _opens_settings(other)
    assert _opens_settings(stranger)  # the browser that reset is logged in afresh
    with app.app_context():
        assert len(sessions.active(db.session.get(User, user.id))) == 1


def _statements(app, client, path):
    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return [s for s in seen if s.lstrip().upper().startswith("UPDATE")]


def test_page_views_write_last_seen_at_most_every_few_minutes(app):
    with app.app_context():
        user = make_user()
    browser = _logged_in(app, user)
    assert _statements(app, browser, "/settings") == []  # just seen: no write at all
    long_ago = utcnow() - sessions.LAST_SEEN_EVERY - timedelta(minutes=1)
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=long_ago))
        db.session.commit()
    updates = _statements(app, browser, "/settings")
    assert len(updates) == 1 and "login_sessions" in updates[0]
    with app.app_context():
        seen = db.session.scalar(select(LoginSession.last_seen_at))
        assert seen > long_ago + timedelta(minutes=1)
    assert _statements(app, browser, "/settings") == []


def test_a_log_in_unused_for_too_long_has_ended(app):
    with app.app_context():
        user = make_user()
    browser = _logged_in(app, user)
    with app.app_context():
        db.session.execute(update(LoginSession).values(
            last_seen_at=utcnow() - sessions.IDLE_LIMIT - timedelta(days=1)))
        db.session.commit()
    assert not _opens_settings(browser)


def test_the_table_keeps_no_usable_token(app):
    with app.app_context():
        user = make_user()
    browser = _logged_in(app, user)
    with app.app_context():
        stored = db.session.scalar(select(LoginSession.token_hash))
    thief = app.test_client()
    with thief.session_transaction() as session:
        session["_user_id"] = stored  # the hash from a leaked backup is not a token
        session["_fresh"] = True
    assert not _opens_settings(thief)
    assert _opens_settings(browser)


@pytest.mark.parametrize("user_agent, device", [
    (FIREFOX, "Firefox on Linux"),
    (SAFARI, "Safari on iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome on macOS"),
    ("curl/8.5.0", "curl"),
    ("", "Unknown device"),
    ("weird\u202eagent\r\n" + "x" * 200, "weirdagent" + "x" * 50),
])
def test_describe_device(user_agent, device):
    assert sessions.describe_device(user_agent) == device


def test_a_session_cookie_checked_once_is_checked_again_on_every_change(app, monkeypatch):
    """forum.security.SessionCookies keeps cookies that verified: the same bytes under the
    same key open the session, anything else takes the full check (and fails)."""
    import time as clock

    with app.app_context():
        user = make_user()
    browser = _logged_in(app, user)
    cookie = browser.get_cookie("session").value
    assert _opens_settings(browser) and _opens_settings(browser)  # the second one is kept
    assert cookie in {key[-1] for key in app.session_interface._verified}

    payload, signed_at, signature = cookie.rsplit(".", 2)
    forged = app.test_client()
    forged.set_cookie("session", f"{payload}.{signed_at}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}")
    assert not _opens_settings(forged)

    key = app.secret_key
    app.secret_key = "another key"  # kept under the old key: refused under the new one
    try:
        assert not _opens_settings(_copy(browser, ["session"], app))
    finally:
        app.secret_key = key
    assert _opens_settings(browser)

    later = clock.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(clock, "time", lambda: later)  # past its lifetime: expired, kept or not
    assert not _opens_settings(_copy(browser, ["session"], app))
