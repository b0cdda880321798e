"""Subscribing, confirming, leaving and reading the digest on the web."""
from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from forum.digest import sending, tokens
from forum.digest.models import Subscription
from forum.extensions import db
from tests.digest.helpers import busy_week, subscribe
from tests.factories import make_user


def confirm_link(message) -> str:
    return re.search(r"https://forum\.test(/digest/confirm/\S+)", message.get_content())[1]


def test_double_opt_in_through_the_emailed_link(mail_app, smtp_server):
    client = mail_app.test_client()
    response = client.post("/digest", data={"email": "Ada@Example.org"})
    assert response.status_code == 200 and b"Check your inbox" in response.data
    [message] = smtp_server.messages
    assert message["To"] == "ada@example.org"
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)) is None  # nothing stored before confirming
    link = confirm_link(message)
    page = client.get(link)
    assert page.status_code == 200 and b"Confirm my subscription" in page.data
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)) is None  # a GET never writes
    assert b"subscribed" in client.post(link).data
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)).is_active


def test_a_repeated_subscribe_emails_the_manage_and_unsubscribe_links(mail_app, smtp_server):
    with mail_app.app_context():
        subscribe("known@example.org")
    client = mail_app.test_client()
    assert client.post("/digest", data={"email": "Known@Example.org"}).status_code == 200
    [message] = smtp_server.messages
    text = message.get_content()
    assert message["To"] == "known@example.org" and "already subscribed" in text
    manage = re.search(r"https://forum\.test(/digest/manage/\S+)", text)[1]
    leave = re.search(r"https://forum\.test(/digest/unsubscribe/\S+)", text)[1]
    assert b"known@example.org" in client.get(manage).data
    assert client.post(leave).status_code == 200
    with mail_app.app_context():
        assert not db.session.scalar(select(Subscription)).is_active


def test_the_confirmation_link_also_chooses_what_to_follow(mail_app, smtp_server):
    client = mail_app.test_client()
    client.post("/digest", data={"email": "new@example.org"})
    link = confirm_link(smtp_server.messages[0])
    assert "choose the tags, papers and threads" in smtp_server.messages[0].get_content()
    bad = client.post(link, data={"tags": "ml", "papers": "nonsense", "threads": ""})
    assert bad.status_code == 422 and b"Not an arXiv id: nonsense" in bad.data and b'value="ml"' in bad.data
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)) is None  # nothing confirmed on a bad form
    client.post(link, data={"tags": "ML, theory", "papers": "", "threads": ""})
    with mail_app.app_context():
        subscription = db.session.scalar(select(Subscription))
        assert subscription.is_active and subscription.follows["tags"] == ["ml", "theory"]


def test_confirming_again_lifts_a_suppression(mail_app, smtp_server):
    from forum.digest import bounces
    with mail_app.app_context():
        subscribe("back@example.org")
        bounces.suppress("back@example.org", "550 mailbox disabled")
        assert not db.session.scalar(select(Subscription)).is_active
    client = mail_app.test_client()
    client.post("/digest", data={"email": "back@example.org"})  # not active: a confirmation link
    client.post(confirm_link(smtp_server.messages[0]))
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)).is_active


def test_confirmed_page_links_to_choosing_follows(mail_app, smtp_server):
    client = mail_app.test_client()
    client.post("/digest", data={"email": "new@example.org"})
    page = client.post(confirm_link(smtp_server.messages[0])).get_data(as_text=True)
    manage = re.search(r'href="(/digest/manage/[^"]+)"', page)[1]
    assert "new@example.org" in client.get(manage).get_data(as_text=True)


@pytest.mark.parametrize("data, status, message", [
    ({"tags": "ml", "papers": "not-a-paper", "threads": ""}, 422, "Not an arXiv id: not-a-paper"),
    ({"tags": "", "papers": "", "threads": "999999"}, 422, "No such thread: 999999"),
    ({"tags": "", "papers": "", "threads": "the best one"}, 422, "No such thread: the best one"),
    ({"tags": "", "papers": "", "threads": "99999999999999"}, 422, "No such thread: 99999999999999"),
    ({"tags": "x" * 501, "papers": "", "threads": ""}, 422, "Field cannot be longer than 500 characters"),
])
def test_manage_page_refuses_bad_follows_and_keeps_the_input(mail_app, data, status, message):
    with mail_app.app_context():
        subscribe("reader@example.org")
        secret = db.session.scalar(select(Subscription.token))
    with mail_app.test_request_context():
        link = f"/digest/manage/{tokens.unsubscribe_token(secret)}"
    response = mail_app.test_client().post(link, data=data)
    assert response.status_code == status and message in response.get_data(as_text=True)
    for value in data.values():
        assert value[:40] in response.get_data(as_text=True)
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)).follows == {}


def test_manage_page_follows_threads_by_address_and_refuses_forged_links(mail_app):
    from tests.factories import make_thread, make_user
    with mail_app.app_context():
        subscribe("reader@example.org")
        secret = db.session.scalar(select(Subscription.token))
        thread = make_thread(make_user(), title="Worth following")
    with mail_app.test_request_context():
        link = f"/digest/manage/{tokens.unsubscribe_token(secret)}"
    client = mail_app.test_client()
    saved = client.post(link, data={"tags": "", "papers": "",
                                    "threads": f"https://forum.test/t/{thread.id}/worth-following"})
    assert saved.status_code == 302
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)).follows["threads"] == [thread.id]
    assert client.get("/digest/manage/nonsense").status_code == 404
    assert client.post(link[:-3] + "abc", data={"tags": "spam"}).status_code == 404


def test_manage_page_needs_csrf(mail_app):
    mail_app.config["WTF_CSRF_ENABLED"] = True
    with mail_app.app_context():
        subscribe("reader@example.org")
        secret = db.session.scalar(select(Subscription.token))
    with mail_app.test_request_context():
        link = f"/digest/manage/{tokens.unsubscribe_token(secret)}"
    response = mail_app.test_client().post(link, data={"tags": "ml"})
    assert response.status_code in (400, 422)
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)).follows == {}


def test_already_subscribed_gets_the_same_answer(mail_app, smtp_server):
    with mail_app.app_context():
        subscribe("known@example.org")
    client = mail_app.test_client()
    known = client.post("/digest", data={"email": "known@example.org"})
    new = client.post("/digest", data={"email": "new@example.org"})
    assert known.status_code == new.status_code == 200
    # The pages differ only in the address (and the CSRF token, signed with the time).
    def same(page: bytes, address: bytes) -> bytes:
        return re.sub(rb'name="csrf_token" value="[^"]*"', b"", page.replace(address, b"X@"))
    assert same(known.data, b"known@") == same(new.data, b"new@")


@pytest.mark.parametrize("typed, message", [
    ("", b"Enter your email address."),
    ("not-an-address", b"Enter a valid email address"),
])
def test_bad_address_is_refused_and_kept(mail_app, smtp_server, typed, message):
    response = mail_app.test_client().post("/digest", data={"email": typed})
    assert response.status_code == 422 and message in response.data
    assert f'value="{typed}"'.encode() in response.data or not typed
    assert smtp_server.messages == []


def test_mail_server_down_is_a_clear_503_that_keeps_the_address(mail_app, smtp_server):
    mail_app.config["MAIL_PORT"] = 1
    response = mail_app.test_client().post("/digest", data={"email": "ada@example.org"})
    assert response.status_code == 503
    assert b"could not send the confirmation email" in response.data and b"ada@example.org" in response.data


def test_expired_and_tampered_confirmation_links(mail_app):
    class OldSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - tokens.CONFIRM_MAX_AGE.total_seconds() - 60)

    old = URLSafeTimedSerializer("test-secret", salt="digest-confirm", signer=OldSigner).dumps("a@example.org")
    client = mail_app.test_client()
    expired = client.get(f"/digest/confirm/{old}")
    assert expired.status_code == 410 and b"expired" in expired.data
    assert client.post(f"/digest/confirm/{old}").status_code == 410
    with mail_app.test_request_context():
        good = tokens.confirm_token("a@example.org")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    assert client.get(f"/digest/confirm/{tampered}").status_code == 404
    forged = URLSafeTimedSerializer("wrong-key", salt="digest-confirm").dumps("victim@example.org")
    assert client.post(f"/digest/confirm/{forged}").status_code == 404
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)) is None


def test_tampered_unsubscribe_link_changes_nothing(mail_app):
    with mail_app.app_context():
        subscribe("stay@example.org")
        secret = db.session.scalar(select(Subscription.token))
    with mail_app.test_request_context():
        good = tokens.unsubscribe_token(secret)
    client = mail_app.test_client()
    assert client.post(f"/digest/unsubscribe/{good[:-2]}xx").status_code == 404
    assert client.post("/digest/unsubscribe/nonsense").status_code == 404
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription)).is_active
    assert client.post(f"/digest/unsubscribe/{good}").status_code == 200
    assert b"already unsubscribed" in client.get(f"/digest/unsubscribe/{good}").data


def test_footer_form_on_every_page(client):
    for path in ("/", "/digest/archive", "/auth/login"):
        page = client.get(path).get_data(as_text=True)
        assert 'class="footer-subscribe"' in page and 'action="/digest"' in page


def test_preview_archive_issue_page_and_feed(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe("reader@example.org")
        sending.send_week(week)
    client = mail_app.test_client()
    assert b"Scaling laws are overrated" in client.get("/digest/preview").data
    archive = client.get("/digest/archive").get_data(as_text=True)
    assert f"/digest/{week}" in archive
    assert b"Scaling laws are overrated" in client.get(f"/digest/{week}").data
    assert client.get("/digest/2001-W01").status_code == 404
    feed = client.get("/digest/feed.atom")
    assert feed.mimetype == "application/atom+xml"
    assert f"https://forum.test/digest/{week}".encode() in feed.data


def test_member_switches_digest_on_and_off_in_settings(mail_app, smtp_server, login):
    with mail_app.app_context():
        member = make_user()
    client = mail_app.test_client()
    client.post("/auth/login", data={"login": member.username, "password": "correct horse battery"})
    assert client.get("/digest/settings").status_code == 200
    response = client.post("/digest/settings", data={"enabled": "y", "tags": "ML, Theory",
                                                      "papers": "arXiv:2301.12345v2"})
    assert response.status_code == 302
    [message] = smtp_server.messages  # the address is confirmed by email first
    client.post(confirm_link(message))
    with mail_app.app_context():
        subscription = db.session.scalar(select(Subscription))
        assert subscription.is_active and subscription.user_id == member.id
        assert subscription.follows == {"tags": ["ml", "theory"], "papers": ["2301.12345"], "threads": []}
    client.post("/digest/settings", data={"tags": "", "papers": ""})
    with mail_app.app_context():
        assert not db.session.scalar(select(Subscription)).is_active
    bad = client.post("/digest/settings", data={"enabled": "y", "papers": "not-a-paper"})
    assert bad.status_code == 422 and b"Not an arXiv id: not-a-paper" in bad.data


def test_settings_need_login(client):
    assert client.get("/digest/settings").status_code == 302
