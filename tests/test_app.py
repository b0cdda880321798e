import pytest
from sqlalchemy import func, select, text

from forum import create_app
from forum.accounts.models import User
from forum.extensions import db
from forum.threads.models import Thread
from forum.templating import timeago
from tests.factories import make_thread, make_user


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}
    first = create_app(config)
    key_file = tmp_path.joinpath("instance")  # not used: Flask's instance path is the package's
    second = create_app(config)
    assert first.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) >= 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert not key_file.exists()


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FORUM_SITE_NAME", "Physics Exchange")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("MAIL_PORT", "2525")
    app = create_app()
    assert app.config["FORUM_SITE_NAME"] == "Physics Exchange"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["MAIL_PORT"] == 2525


def test_config_dict_overrides_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FORUM_SITE_NAME", "From env")
    app = create_app({"FORUM_SITE_NAME": "From dict",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["FORUM_SITE_NAME"] == "From dict"


def test_sqlite_connections_are_set_up(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite pragmas only")
    with app.app_context():
        pragmas = {name: db.session.execute(text(f"PRAGMA {name}")).scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000,
                       "synchronous": 1}


def test_sqlite_write_transactions_begin_immediate(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite locking only")
    seen = []
    with app.app_context():
        from sqlalchemy import event
        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cur, statement, *a: seen.append(statement))
        make_user()
    assert "BEGIN IMMEDIATE" in seen


def test_unique_username_index_holds_in_the_database(app):
    from sqlalchemy.exc import IntegrityError
    with app.app_context():
        make_user(username="Ada")
        db.session.add(User(username="ADA", email="other@example.org", password_hash="x"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_error_pages_use_the_layout(app, client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert 'class="site-header"' in response.get_data(as_text=True)
    assert client.post("/").status_code == 405


def test_pages_have_no_inline_script_or_handlers(app, client):
    import re
    page = client.get("/auth/register").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_seed_demo_fills_an_empty_database_once(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert "Demo logins" in result.output
    with app.app_context():
        users = db.session.scalar(select(func.count(User.id)))
        threads = db.session.scalar(select(func.count(Thread.id)))
        bodies = " ".join(db.session.scalars(select(Thread.body)))
    assert users >= 4 and threads >= 3
    assert "arXiv:2603.05451" in bodies and "github.com/" in bodies
    again = runner.invoke(args=["seed-demo"])
    assert "not seeding" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users


@pytest.mark.parametrize("seconds, expected", [
    (5, "just now"), (60, "1 minute ago"), (3 * 3600 + 5, "3 hours ago"),
    (86400, "1 day ago"), (40 * 86400, "1 month ago"), (800 * 86400, "2 years ago"),
])
def test_timeago(seconds, expected):
    from datetime import datetime, timedelta, timezone
    now = datetime(2026, 11, 29, tzinfo=timezone.utc)
    assert timeago(now - timedelta(seconds=seconds), now) == expected


def test_test_grade_password_hashing_is_refused_outside_tests(tmp_path):
    from forum.accounts.hashing import TEST_GRADE, WeakHashingRefused
    with pytest.raises(WeakHashingRefused) as refused:
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'f.db'}",
                    **TEST_GRADE})
    message = str(refused.value)
    assert "test-grade" in message and "\n" not in message


def test_production_keeps_argon2_defaults_and_old_hashes_verify(tmp_path):
    import argon2
    from forum.accounts.hashing import TEST_GRADE, password_hasher
    config = {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'f.db'}"}
    production = password_hasher(create_app(config))
    assert (production.time_cost, production.memory_cost, production.parallelism) == (
        argon2.DEFAULT_TIME_COST, argon2.DEFAULT_MEMORY_COST, argon2.DEFAULT_PARALLELISM)
    cheap = password_hasher(create_app({**config, "TESTING": True, **TEST_GRADE}))
    assert production.verify(cheap.hash("a long passphrase"), "a long passphrase")


def test_seed_demo_gives_an_admin_and_a_moderator_and_says_how_to_make_the_first_admin(app, runner):
    result = runner.invoke(args=["seed-demo"])
    lines = {line.split()[0]: line.split()[-1] for line in result.output.splitlines()
             if line.startswith("  ")}
    assert lines["ada"] == "admin" and lines["grace"] == "moderator" and lines["alan"] == "member"
    assert "users create-admin" in result.output
    with app.app_context():
        roles = dict(db.session.execute(select(User.username, User.role)).all())
    assert roles["ada"] == "admin" and roles["grace"] == "moderator"


@pytest.mark.parametrize("backend, says_terminal", [("console", True), ("file", False)])
def test_check_your_inbox_says_where_the_link_is_with_the_console_backend(app, client, backend,
                                                                           says_terminal):
    app.config["MAIL_BACKEND"] = backend
    page = client.post("/digest", data={"email": "reader@example.org"}).get_data(as_text=True)
    assert "Check your inbox" in page
    assert ("the link is in the terminal" in page) is says_terminal


def test_make_run_takes_port_and_host_from_the_environment():
    from pathlib import Path
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "--host $${HOST:-127.0.0.1}" in run and "--port $${PORT:-5000}" in run


@pytest.mark.parametrize("count, singular, plural_form, expected", [
    (0, "reply", "replies", "0 replies"), (1, "reply", "replies", "1 reply"), (2, "reply", "replies", "2 replies"),
    (1, "point", None, "1 point"), (-1, "point", None, "-1 point"), (-2, "point", None, "-2 points"),
])
def test_plural(count, singular, plural_form, expected):
    from forum.templating import plural
    assert plural(count, singular, plural_form) == expected


@pytest.mark.parametrize("count, stance, expected", [
    (1, "challenges", "1 challenge"), (0, "question", "0 questions"), (1, "supports", "1 support"),
    (2, "evidence", "2 pieces of evidence"), (1, "evidence", "1 piece of evidence"),
])
def test_stance_counts_read_as_english(count, stance, expected):
    from forum.templating import stance_count
    assert stance_count(count, stance) == expected


def test_thread_page_counts_are_grammatical(app, client):
    from tests.factories import make_reply, make_thread
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        make_reply(thread, make_user(), "I disagree.", stance="challenges")
    page = client.get(f"/t/{thread.id}", follow_redirects=True).get_data(as_text=True)
    assert "1 challenge<" in page and "0 questions<" in page and "1 reply<" in page
    assert "1 challenges" not in page and "0 question<" not in page
    assert "<strong>2</strong> participants" in page


@pytest.mark.parametrize("path", ["/t/2147483648", "/t/99999999999999999999/slug", "/p/2147483648",
                                  "/p/2147483648/history", "/moderation/post/9999999999"])
def test_ids_beyond_the_database_columns_are_404_not_500(client, path):
    assert client.get(path).status_code in (404, 302, 401)  # moderation pages ask to log in first


def test_id_lists_match_exactly_the_ids_given_at_any_length(app):
    """database.ids_in: statements built per arity, padded with NULLs that match nothing."""
    from forum.database import id_values, ids_arity, ids_in
    with app.app_context():
        user = make_user()
        ids = [make_thread(user, title=f"Thread {n}").id for n in range(20)]
        for wanted in ([], ids[:1], ids[:8], ids[:9], ids[3:20:2], ids):
            found = db.session.scalars(select(Thread.id).where(ids_in(Thread.id, ids_arity(len(wanted)))),
                                       id_values(wanted)).all()
            assert sorted(found) == sorted(wanted)
    assert [ids_arity(n) for n in (0, 1, 8, 9, 25, 33)] == [8, 8, 8, 16, 32, 64]
