"""Roles: the users CLI and the admins' members page."""
from __future__ import annotations

from sqlalchemy import func, select

from forum.accounts.models import User
from forum.extensions import db
from forum.moderation.models import ModAction
from tests.factories import make_user
from tests.moderation.conftest import make_staff


def _role(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).role


def test_set_role_from_the_command_line(app, runner):
    with app.app_context():
        user = make_user(username="Ada")
    result = runner.invoke(args=["users", "set-role", "ada", "moderator"])
    assert result.exit_code == 0 and "@Ada is now moderator" in result.output
    assert _role(app, user.id) == "moderator"
    again = runner.invoke(args=["users", "set-role", "ada", "moderator"])
    assert again.exit_code == 0 and "already" in again.output
    with app.app_context():
        action = db.session.scalar(select(ModAction))
        assert (action.action, action.moderator_id, action.detail) == ("set_role", None, "member -> moderator")


def test_set_role_refuses_unknown_roles_and_members(app, runner):
    with app.app_context():
        user = make_user(username="grace")
    unknown_role = runner.invoke(args=["users", "set-role", "grace", "overlord"])
    assert unknown_role.exit_code == 1
    assert "Unknown role 'overlord': use member, moderator, admin" in unknown_role.output
    unknown_user = runner.invoke(args=["users", "set-role", "nobody", "admin"])
    assert unknown_user.exit_code == 1 and "no member called 'nobody'" in unknown_user.output
    assert _role(app, user.id) == "member"


def test_the_last_admin_cannot_be_demoted(app, runner):
    with app.app_context():
        admin = make_staff("admin", username="boss")
    result = runner.invoke(args=["users", "set-role", "boss", "member"])
    assert result.exit_code == 1 and "last admin" in result.output
    assert _role(app, admin.id) == "admin"


def test_create_admin_with_options_and_refusal_when_one_exists(app, runner):
    result = runner.invoke(args=["users", "create-admin", "--username", "root", "--email",
                                 "root@example.org", "--password", "a long admin password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "root"))
        assert admin.role == "admin" and admin.is_confirmed and admin.is_approved
        assert admin.check_password("a long admin password")
    second = runner.invoke(args=["users", "create-admin", "--username", "root2", "--email",
                                 "root2@example.org", "--password", "a long admin password"])
    assert second.exit_code == 1 and "already exists" in second.output and "--force" in second.output
    forced = runner.invoke(args=["users", "create-admin", "--username", "root2", "--email",
                                 "root2@example.org", "--password", "a long admin password", "--force"])
    assert forced.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.role == "admin")) == 2


def test_create_admin_prompts_and_checks_its_input(app, runner):
    prompted = runner.invoke(args=["users", "create-admin"],
                             input="first\nfirst@example.org\na long admin password\na long admin password\n")
    assert prompted.exit_code == 0, prompted.output
    taken = runner.invoke(args=["users", "create-admin", "--force", "--username", "first", "--email",
                                "other@example.org", "--password", "a long admin password"])
    assert taken.exit_code == 1 and "taken" in taken.output
    weak = runner.invoke(args=["users", "create-admin", "--force", "--username", "weakling",
                               "--email", "weak@example.org", "--password", "short"])
    assert weak.exit_code == 1 and "at least" in weak.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_admin_changes_roles_on_the_members_page(app, as_user):
    with app.app_context():
        admin = make_staff("admin", username="chief")
        member = make_user(username="helper")
    client = as_user(admin)
    page = client.get("/moderation/members?q=help").get_data(as_text=True)
    assert ">@helper<" in page and f"/moderation/users/{admin.id}" not in page
    response = client.post(f"/moderation/members/{member.id}/role", data={"role": "moderator"})
    assert response.headers["Location"].startswith("/moderation/members")
    assert _role(app, member.id) == "moderator"
    unknown = client.post(f"/moderation/members/{member.id}/role", data={"role": "wizard"})
    assert unknown.status_code == 422 and "Unknown role" in unknown.get_data(as_text=True)
    assert _role(app, member.id) == "moderator"
    assert client.post(f"/moderation/members/999/role", data={"role": "member"}).status_code == 404


def test_the_last_admin_cannot_demote_themselves_but_can_with_a_second_admin(app, as_user):
    with app.app_context():
        admin = make_staff("admin")
        other = make_user()
    client = as_user(admin)
    refused = client.post(f"/moderation/members/{admin.id}/role", data={"role": "member"})
    assert refused.status_code == 409 and "last admin" in refused.get_data(as_text=True)
    assert _role(app, admin.id) == "admin"
    client.post(f"/moderation/members/{other.id}/role", data={"role": "admin"})
    client.post(f"/moderation/members/{admin.id}/role", data={"role": "member"})
    assert _role(app, admin.id) == "member"


def test_moderators_cannot_change_roles(app, as_user):
    with app.app_context():
        moderator, member = make_staff("moderator"), make_user()
    client = as_user(moderator)
    assert client.get("/moderation/members").status_code == 403
    assert client.post(f"/moderation/members/{member.id}/role", data={"role": "admin"}).status_code == 403
    assert _role(app, member.id) == "member"
