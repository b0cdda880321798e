"""Every moderation endpoint is guarded by the blueprint's one before_request."""
from __future__ import annotations

import re

import pytest

from forum.extensions import db
from forum.accounts.models import User
from forum.moderation.views import ADMIN_ENDPOINTS, MEMBER_ENDPOINTS
from tests.factories import make_reply, make_thread, make_user
from tests.moderation.conftest import make_staff


def _routes(app):
    """(endpoint, method, url) for every moderation route, with made-up ids and actions."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("moderation."):
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        url = re.sub(r"<(?:string:)?\w+>", "hide", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _world(app):
    with app.app_context():
        member = make_user(username="member")
        moderator = make_staff("moderator", username="moderator")
        banned = make_user(username="banned")
        thread = make_thread(make_user(username="author"), title="Something to moderate")
        make_reply(thread, member, "A reply.")
        row = db.session.get(User, banned.id)
        row.banned, row.ban_reason = True, "Spam links"
        db.session.commit()
    return member, moderator, banned


def test_the_guarded_routes_exist(app):
    endpoints = {endpoint for endpoint, _, _ in _routes(app)}
    assert MEMBER_ENDPOINTS <= endpoints and ADMIN_ENDPOINTS <= endpoints
    assert len(endpoints - MEMBER_ENDPOINTS) >= 10  # queue, log, pages and actions
    # Only the two report pages are open to members: widening this set needs a reason.
    assert MEMBER_ENDPOINTS == {"moderation.report_thread", "moderation.report_post"}


def test_every_moderation_endpoint_refuses_a_member_and_a_visitor(app, as_user):
    member, moderator, banned = _world(app)
    failures = []
    for endpoint, method, url in _routes(app):
        anonymous = app.test_client().open(url, method=method)
        if method == "GET":
            if anonymous.status_code not in (301, 302, 303) or "/auth/login" not in anonymous.headers["Location"]:
                failures.append(f"{endpoint} {method} anonymous: {anonymous.status_code}")
        elif anonymous.status_code != 401:
            failures.append(f"{endpoint} {method} anonymous: {anonymous.status_code}")
        as_banned = as_user(banned).open(url, method=method)
        if as_banned.status_code != 403 or "Spam links" not in as_banned.get_data(as_text=True):
            failures.append(f"{endpoint} {method} banned: {as_banned.status_code}")
        if endpoint in MEMBER_ENDPOINTS:
            continue
        as_member = as_user(member).open(url, method=method)
        if as_member.status_code != 403:
            failures.append(f"{endpoint} {method} member: {as_member.status_code}")
        if endpoint in ADMIN_ENDPOINTS:
            as_moderator = as_user(moderator).open(url, method=method)
            if as_moderator.status_code != 403:
                failures.append(f"{endpoint} {method} moderator: {as_moderator.status_code}")
    assert not failures, "\n".join(failures)


def test_moderators_reach_the_pages(app, as_user):
    with app.app_context():
        moderator = make_staff("moderator")
        admin = make_staff("admin")
    client = as_user(moderator)
    for url in ("/moderation", "/moderation/log", f"/moderation/users/{moderator.id}"):
        assert client.get(url).status_code == 200, url
    assert as_user(admin).get("/moderation/members").status_code == 200


@pytest.mark.parametrize("role, shows", [("member", False), ("moderator", True)])
def test_header_links_to_the_queue_with_the_open_count(app, as_user, role, shows):
    with app.app_context():
        user = make_staff(role) if role != "member" else make_user()
        newcomer = make_user(new_member=True)
        make_thread(newcomer, title="A held first thread")
    page = as_user(user).get("/settings").get_data(as_text=True)
    assert ('href="/moderation"' in page) is shows
    if shows:
        assert 'class="badge open-items">1<' in page
