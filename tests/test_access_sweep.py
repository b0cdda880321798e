"""The access sweep: every route that changes state, tried by those who may not use it.

Each POST route of the app is listed in ACTIONS with who may use it. The test
tries each one anonymously, as another member, as a banned member and without
a CSRF token (as someone who could otherwise use it), and checks that each
attempt is refused with the right status and that not one row of the database
changed. A new POST route that is not listed fails the test, so no route can
be added without saying who may use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from forum.accounts import sessions
from forum.accounts.models import User
from forum.extensions import db
from forum.threads.models import Thread
from tests.factories import make_reply, make_thread, make_user

ANYONE = "anyone"        # open to visitors (log in, subscribe...): only CSRF is checked
MEMBER = "member"        # any logged-in member
OWNER = "owner"          # the member whose thread, reply or notification it is (or staff)
MODERATOR = "moderator"  # moderators and admins
ADMIN = "admin"          # admins only


@dataclass
class Action:
    url: Callable[[dict], str]
    who: str
    data: dict = field(default_factory=dict)
    banned_refused: bool = True  # a banned member may not do it (post, vote, report...)
    stranger_status: int = 403   # what another member gets when it is not theirs
    csrf_exempt: str = ""        # why no CSRF token is needed, when none is


ACTIONS: dict[str, Action] = {
    # accounts
    "accounts.register": Action(lambda w: "/auth/register", ANYONE,
                                {"username": "newcomer", "email": "new@example.org",
                                 "password": "a long new password", "confirm": "a long new password"}),
    "accounts.login": Action(lambda w: "/auth/login", ANYONE,
                             {"login": "owner", "password": "correct horse battery"}),
    "accounts.logout": Action(lambda w: "/auth/logout", ANYONE),
    "accounts.reset_request": Action(lambda w: "/auth/reset", ANYONE, {"email": "owner@example.org"}),
    "accounts.reset_password": Action(lambda w: "/auth/reset/not-a-token", ANYONE,
                                      {"password": "another long password",
                                       "confirm": "another long password"}),
    "accounts.confirm_email": Action(lambda w: "/auth/confirm/not-a-token", ANYONE),
    "accounts.resend_confirmation": Action(lambda w: "/auth/confirm/resend", MEMBER,
                                           banned_refused=False),
    "accounts.settings": Action(lambda w: "/settings", MEMBER,
                                {"display_name": "Changed", "save_profile": "1"},
                                banned_refused=False),
    "accounts.end_other_sessions": Action(lambda w: "/settings/sessions/end-others", MEMBER,
                                          banned_refused=False),
    # threads
    "threads.new": Action(lambda w: "/t/new", MEMBER,
                          {"title": "A new debate here", "body": "Body of it."}),
    "threads.edit": Action(lambda w: f"/t/{w['thread']}/edit", OWNER,
                           {"title": "Edited title here", "body": "Edited."}),
    "threads.delete": Action(lambda w: f"/t/{w['thread']}/delete", OWNER),
    "threads.reply": Action(lambda w: f"/t/{w['thread']}/reply", MEMBER, {"body": "A reply."}),
    "threads.vote_thread": Action(lambda w: f"/t/{w['thread']}/vote", MEMBER, {"value": "up"}),
    "threads.edit_post": Action(lambda w: f"/p/{w['reply']}/edit", OWNER, {"body": "Edited."}),
    "threads.delete_post": Action(lambda w: f"/p/{w['reply']}/delete", OWNER),
    "threads.vote_post": Action(lambda w: f"/p/{w['reply']}/vote", MEMBER, {"value": "up"}),
    # digest
    "digest.subscribe": Action(lambda w: "/digest", ANYONE, {"email": "reader@example.org"}),
    "digest.confirm": Action(lambda w: "/digest/confirm/not-a-token", ANYONE),
    "digest.unsubscribe": Action(
        lambda w: "/digest/unsubscribe/not-a-token", ANYONE,
        csrf_exempt="RFC 8058 one-click: mail clients POST with no session; the signed token "
                    "in the URL is the authority"),
    "digest.manage": Action(lambda w: "/digest/manage/not-a-token", ANYONE, {"tags": "ml"}),
    "digest.settings": Action(lambda w: "/digest/settings", MEMBER, {"enabled": "y"},
                              banned_refused=False),
    "digest.follow": Action(lambda w: "/digest/follow/tags", MEMBER, {"value": "ml", "on": "1"},
                            banned_refused=False),
    # notifications
    "notifications.read_all": Action(lambda w: "/notifications/read-all", MEMBER,
                                     banned_refused=False),
    "notifications.email_setting": Action(lambda w: "/settings/notifications", MEMBER,
                                          {"email": "y"}, banned_refused=False),
    "notifications.watch": Action(lambda w: f"/t/{w['other_thread']}/watch", MEMBER,
                                  banned_refused=False),
    "notifications.unwatch": Action(lambda w: f"/t/{w['thread']}/unwatch", MEMBER,
                                    banned_refused=False),
    "notifications.mute": Action(lambda w: f"/t/{w['thread']}/mute", MEMBER,
                                 banned_refused=False),
    # moderation: reports by members; everything else by staff (the blueprint checks first)
    "moderation.report_thread": Action(lambda w: f"/report/thread/{w['other_thread']}", MEMBER,
                                       {"reason": "Spam in this thread"}),
    "moderation.report_post": Action(lambda w: f"/report/post/{w['reply']}", MEMBER,
                                     {"reason": "Spam in this reply"}),
    "moderation.act_on_thread": Action(lambda w: f"/moderation/thread/{w['thread']}/lock",
                                       MODERATOR, {"reason": "Cooling off"}),
    "moderation.act_on_post": Action(lambda w: f"/moderation/post/{w['reply']}/hide", MODERATOR,
                                     {"reason": "Off topic"}),
    "moderation.dismiss": Action(lambda w: f"/moderation/reports/{w['report']}/dismiss",
                                 MODERATOR, {"reason": "Not spam"}),
    "moderation.ban": Action(lambda w: f"/moderation/users/{w['ids']['owner']}/ban", MODERATOR,
                             {"reason": "Spam, again"}),
    "moderation.act_on_member": Action(
        lambda w: f"/moderation/users/{w['ids']['banned']}/unban", MODERATOR,
        {"reason": "Served the ban"}),
    "moderation.set_role": Action(lambda w: f"/moderation/members/{w['ids']['owner']}/role",
                                  ADMIN, {"role": "moderator"}),
}


def test_every_state_changing_route_is_in_the_sweep(app):
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert posting - ACTIONS.keys() == set(), "say who may use these routes in ACTIONS"
    assert ACTIONS.keys() - posting == set(), "these routes are gone: remove them from ACTIONS"


def test_every_route_refuses_those_who_may_not_use_it(app):
    world = _build_world(app)
    failures: list[str] = []
    for endpoint, action in sorted(ACTIONS.items()):
        url = action.url(world)
        for attempt, who, csrf, expected in _attempts(action):
            before = _snapshot(app)
            status = _post(app, world, who, url, action.data, csrf=csrf)
            changed = _snapshot(app) != before
            if status not in expected or changed:
                failures.append(f"{endpoint} {attempt}: answered {status} (expected "
                                f"{'/'.join(map(str, expected))}){', and changed the database' if changed else ''}")
    assert not failures, "\n".join(failures)


def _attempts(action: Action):
    """(what is tried, as whom, with a CSRF token?, the statuses that count as refused)."""
    rightful = {ANYONE: None, MEMBER: "member", OWNER: "owner", MODERATOR: "moderator",
                ADMIN: "admin"}[action.who]
    if not action.csrf_exempt:
        yield "without a CSRF token", rightful, False, {400}
    if action.who == ANYONE:
        return
    yield "anonymously", None, True, {401}
    if action.who in (OWNER, MODERATOR, ADMIN):
        yield "as another member", "member", True, {action.stranger_status}
    if action.who == ADMIN:
        yield "as a moderator", "moderator", True, {403}
    if action.banned_refused:
        yield "as a banned member", "banned", True, {403}


def _build_world(app) -> dict:
    with app.app_context():
        owner = make_user(username="owner")
        member = make_user(username="member")
        banned = make_user(username="banned")
        moderator = make_user(username="moderator")
        admin = make_user(username="admin")
        thread = make_thread(owner, title="The owner's debate")
        other_thread = make_thread(member, title="Another member's debate")
        reply = make_reply(thread, owner, "The owner's own reply.")
        make_reply(thread, member, "@owner an answer, which notifies the owner.", parent=reply)
        from forum.notifications.models import Notification
        notification = db.session.scalar(select(Notification.id).where(
            Notification.user_id == owner.id))
        from forum.moderation import services as moderation
        report = moderation.report(db.session.get(User, member.id),
                                   db.session.get(Thread, thread.id), "Looks like spam").id
        for user, role in ((moderator, "moderator"), (admin, "admin")):
            db.session.get(User, user.id).role = role
        db.session.commit()
        moderation.ban(db.session.get(User, moderator.id), db.session.get(User, banned.id),
                       "Spam links in every reply")
        keys = {name: sessions.start(db.session.get(User, user.id)) for name, user in (
            ("owner", owner), ("member", member), ("banned", banned),
            ("moderator", moderator), ("admin", admin))}
        ids = {name: user.id for name, user in (
            ("owner", owner), ("member", member), ("banned", banned),
            ("moderator", moderator), ("admin", admin))}
    assert notification is not None
    return {"keys": keys, "ids": ids, "report": report, "thread": thread.id, "other_thread": other_thread.id,
            "reply": reply.id, "notification": notification}


def _post(app, world: dict, who: str | None, url: str, data: dict, *, csrf: bool) -> int:
    client = app.test_client()
    if who is not None:
        with client.session_transaction() as session:
            session["_user_id"] = world["keys"][who]
            session["_fresh"] = True
    app.config["WTF_CSRF_ENABLED"] = not csrf  # "with a token" = the CSRF check passes
    try:
        return client.post(url, data=data).status_code
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def _snapshot(app) -> dict[str, list]:
    """Every row of every table, in a stable order."""
    with app.app_context():
        with db.engine.connect() as conn:
            return {table.name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
                    for table in db.metadata.sorted_tables}
