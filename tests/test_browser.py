"""The pages as a person sees them, in headless Chromium driven by Playwright.

Skipped (with the reason) where Debian's Chromium is not installed; `make test`
installs it when it can.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from forum import create_app
from forum.accounts.hashing import TEST_GRADE
from forum.extensions import db
from tests.factories import PASSWORD, make_reply, make_thread, make_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium not installed (apt-get install chromium)"),
]


@pytest.fixture
def live_server(sqlite_template, tmp_path):
    target = tmp_path / "forum.db"
    shutil.copy(sqlite_template, target)
    app = create_app({"SECRET_KEY": "browser-test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index"), "MAIL_BACKEND": "file",
                      "MAIL_FILE_DIR": str(tmp_path / "mail"), "RATELIMIT_ENABLED": False,
                      "TESTING": True, **TEST_GRADE})
    with app.app_context():
        author = make_user(username="ada")
        thread = make_thread(author, title="A long-running debate about attention",
                             body="See arXiv:1706.03762 and $e^{i\\pi}+1=0$.\n\n```python\nprint('hi')\n```")
        parent = None
        for n in range(9):
            parent = make_reply(thread, author, f"Nested point number {n} " + "word " * 40, parent=parent)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    yield f"http://127.0.0.1:{server.server_port}", thread
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_thread_page_fits_a_phone_and_breaks_no_policy(live_server, browser, tmp_path):
    base, thread = live_server
    page = browser.new_page(viewport={"width": 375, "height": 800})
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{base}/t/{thread.id}/{thread.slug}")
    assert page.locator("h1").inner_text() == "A long-running debate about attention"
    assert page.locator("math").count() >= 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide on a 375px phone"
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert problems == []  # no CSP violation, no script error


def test_keyboard_focus_is_visible(live_server, browser):
    base, _ = live_server
    page = browser.new_page()
    page.goto(base + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


def join_and_confirm(page, base: str, mail_dir: Path, username: str) -> None:
    """Sign up through the form, follow the emailed link and log in, as a newcomer does."""
    page.goto(base + "/auth/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email", exact=True).fill(f"{username}@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    assert page.locator("h1").inner_text() == "Check your inbox"
    page.goto(_emailed_link(mail_dir, f"{username}@example.org", "/auth/confirm/"))
    page.get_by_role("button", name="Confirm my address").click()
    assert page.locator("h1").inner_text() == "Your address is confirmed"
    page.goto(base + "/auth/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _emailed_link(mail_dir: Path, to: str, path: str) -> str:
    """The link to ``path`` in the newest email to ``to`` (the app writes .eml files in tests)."""
    import re
    from email import message_from_bytes
    from email.policy import default
    for file in sorted(mail_dir.glob("*.eml"), reverse=True):
        message = message_from_bytes(file.read_bytes(), policy=default)
        if message["To"] == to:
            return re.search(r"https?://\S+" + re.escape(path) + r"\S+", message.get_content()).group(0)
    raise AssertionError(f"no email to {to} in {mail_dir}")


def test_a_whole_debate_without_javascript(live_server, browser, tmp_path):
    base, _ = live_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    join_and_confirm(page, base, tmp_path / "mail", "grace")
    page.get_by_role("link", name="New thread").click()
    page.get_by_label("Title", exact=True).fill("Compilers should explain themselves")
    page.get_by_label("Body", exact=True).fill("Error messages are **interfaces**.")
    page.get_by_role("button", name="Preview").click()
    assert page.locator(".preview strong").inner_text() == "interfaces"
    assert page.get_by_label("Body", exact=True).input_value() == "Error messages are **interfaces**."
    page.get_by_role("button", name="Post thread").click()
    assert page.locator("h1").inner_text() == "Compilers should explain themselves"
    page.get_by_role("textbox", name="Your reply").fill("Agreed, with a *caveat*.")
    page.get_by_role("button", name="Post reply").click()
    assert page.locator(".reply .prose em").inner_text() == "caveat"
    context.close()


def test_reply_opens_under_the_reply_with_javascript(live_server, browser):
    base, thread = live_server
    page = browser.new_page()
    page.goto(base + "/auth/login")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/t/{thread.id}/{thread.slug}")
    first = page.locator("article.reply").first
    first.locator("a.reply-link").click()
    assert page.url.startswith(f"{base}/t/{thread.id}/{thread.slug}")  # stayed on the page
    form = first.locator("form.inline-reply")
    assert form.count() == 1
    assert form.locator("textarea").evaluate("el => el === document.activeElement")
    parent_id = first.get_attribute("id").removeprefix("p")
    assert form.locator("input[name=parent_id]").input_value() == parent_id
    form.locator("textarea").fill("An answer written right under the reply.")
    form.get_by_role("button", name="Post reply").click()
    page.wait_for_load_state()
    new = page.locator("article.reply", has_text="An answer written right under the reply.")
    assert new.count() == 1
    assert "in reply to" in new.inner_text() or new.get_attribute("class") != first.get_attribute("class")


def test_without_javascript_reply_opens_its_own_page(live_server, browser):
    base, thread = live_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base + "/auth/login")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/t/{thread.id}/{thread.slug}")
    page.locator("article.reply").first.locator("a.reply-link").click()
    assert "/reply?parent=" in page.url
    context.close()
