from forum.accounts.models import User
from forum.extensions import db
from tests.factories import PASSWORD, make_reply, make_thread, make_user


def test_profile_lists_threads_and_replies(app, client):
    with app.app_context():
        user = make_user(username="grace", display_name="Grace Hopper", affiliation="Navy")
        thread = make_thread(user, title="Compilers for everyone")
        make_reply(thread, user, "I answer myself.")
    page = client.get("/u/GRACE").get_data(as_text=True)
    assert "Grace Hopper" in page and "Navy" in page
    assert "Compilers for everyone" in page and "Reply in" in page


def test_missing_profile_is_404(app, client):
    response = client.get("/u/nobody")
    assert response.status_code == 404
    assert "There is no member called" in response.get_data(as_text=True)


def test_settings_update_profile(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/settings", data={"display_name": "Ada L.", "affiliation": "Lab",
                                              "bio": "Engines.", "save_profile": "Save profile"})
    assert response.headers["Location"] == "/settings"
    with app.app_context():
        saved = db.session.get(User, user.id)
        assert (saved.display_name, saved.affiliation, saved.bio) == ("Ada L.", "Lab", "Engines.")


def test_password_change_needs_current_password(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/settings", data={"current_password": "not it at all",
                                              "new_password": "a brand new secret",
                                              "change_password": "Change password"})
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)


def test_password_change_ends_other_sessions(app, login):
    with app.app_context():
        user = make_user()
    other = app.test_client()
    other.post("/auth/login", data={"login": user.username, "password": PASSWORD})
    assert f"@{user.username}" in other.get("/").get_data(as_text=True)
    this = app.test_client()
    this.post("/auth/login", data={"login": user.username, "password": PASSWORD})
    response = this.post("/settings", data={"current_password": PASSWORD,
                                            "new_password": "a brand new secret",
                                            "change_password": "Change password"})
    assert response.headers["Location"] == "/settings"
    assert f"@{user.username}" in this.get("/").get_data(as_text=True)
    assert f"@{user.username}" not in other.get("/").get_data(as_text=True)


def test_settings_needs_login(app, client):
    response = client.get("/settings")
    assert response.headers["Location"].startswith("/auth/login?next=")
