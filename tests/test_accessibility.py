"""Every page type, in a real browser: axe-core finds nothing, nothing overflows a phone,
tap targets are big enough, and no page logs a CSP violation or a script error.

Each page is checked in three looks: desktop light (1280x900), desktop dark (the same
page with the dark colour scheme switched on), and a phone (390x844). axe-core's script comes from the ``axe-playwright-python`` package.
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
from tests.factories import PASSWORD, make_reply, make_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOOKS = {
    "light": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light",
              "is_mobile": True, "has_touch": True},
}
MIN_TARGET = 24  # CSS px, WCAG 2.2 success criterion 2.5.8

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium not installed (apt-get install chromium)"),
]

BODY = """Since arXiv:1706.03762 attention dominates; Mamba (https://github.com/state-spaces/mamba)
claims $O(n)$ cost.

| model | cost |
|---|---:|
| Transformer | $O(n^2)$ |
| Mamba | $O(n)$ |

```python
def attention(q, k, v):
    return softmax(q @ k.T) @ v  # a long comment that makes this line scroll on a narrow phone screen
```
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, sqlite_template):
    folder = tmp_path_factory.mktemp("a11y")
    target = folder / "forum.db"
    shutil.copy(sqlite_template, target)
    app = create_app({"TESTING": True, **TEST_GRADE, "SECRET_KEY": "a11y-test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                      "SEARCH_INDEX_DIR": str(folder / "index"), "MAIL_BACKEND": "file",
                      "MAIL_FILE_DIR": str(folder / "mail"), "RATELIMIT_ENABLED": False,
                      "PAGE_CACHE_SECONDS": 0})
    with app.app_context():
        ada = make_user(username="ada", display_name="Ada Lovelace", bio="Engines and *notes*.")
        grace = make_user(username="grace", role="moderator")
        make_user(username="root", role="admin")
        from forum.threads import services as threads
        thread = threads.start_thread(db.session.get(type(ada), ada.id), "Is attention all you need?",
                                      BODY, tags=["attention"])
        db.session.refresh(thread)
        db.session.expunge(thread)
        first = make_reply(thread, grace, "I challenge this: see @ada's table.", stance="challenges")
        make_reply(thread, ada, "A question back: which tasks?", parent=first, stance="question")
        from forum.moderation import services as moderation
        from forum.threads.models import Post
        moderation.report(db.session.get(type(ada), ada.id), db.session.get(Post, first.id),
                          "This looks like spam to me.")
        spam = make_reply(thread, ada, "Buy cheap GPUs at a discount, limited offer!")
        moderation.set_hidden(db.session.get(type(grace), grace.id), db.session.get(Post, spam.id), True,
                              reason="Advertising unrelated to the debate; hidden per the posting rules "
                                     "(a long reason, as moderators write them)")
        from forum.digest import sending
        sending.get_or_create_issue(_this_week())  # a published issue page to look at
        thread.first_reply_id = first.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    yield f"http://127.0.0.1:{server.server_port}", thread
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _log_in(page, base: str, username: str) -> None:
    page.goto(base + "/auth/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _this_week() -> str:
    from datetime import datetime, timezone
    year, week, _ = datetime.now(timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def _pages(thread) -> dict[str, tuple[str | None, str]]:
    """Page type -> (who is logged in, path)."""
    show = f"/t/{thread.id}/{thread.slug}"
    return {
        "front": (None, "/"), "tags": (None, "/tags"), "tag": (None, "/tags/attention"),
        "thread-visitor": (None, show), "thread-member": ("ada", show),
        "new-thread": ("ada", "/t/new"), "search": (None, "/search?q=attention"),
        "search-help": (None, "/search/help"), "papers": (None, "/papers"),
        "paper": (None, "/papers/1706.03762"), "repository": (None, "/repos/state-spaces/mamba"),
        "profile": (None, "/u/ada"), "settings": ("ada", "/settings"),
        "notifications": ("ada", "/notifications"), "digest-subscribe": (None, "/digest"),
        "digest-archive": (None, "/digest/archive"), "digest-settings": ("ada", "/digest/settings"),
        "moderation-queue": ("grace", "/moderation"), "moderation-log": ("grace", "/moderation/log"),
        "moderation-members": ("root", "/moderation/members"),
        "log-in": (None, "/auth/login"), "sign-up": (None, "/auth/register"),
        "reset": (None, "/auth/reset"), "not-found": (None, "/t/999999"),
        "history": (None, f"/t/{thread.id}/history"),
        "search-filters": (None, "/search?q=tag%3Aattention+author%3Aada+attention"),
        "edit-thread": ("ada", f"/t/{thread.id}/edit"),
        "report": ("grace", f"/report/thread/{thread.id}"),
        "moderation-member": ("root", f"/moderation/users/{thread.author_id}"),
        "tag-member": ("ada", "/tags/attention"), "paper-member": ("ada", "/papers/1706.03762"),
        "digest-issue": (None, f"/digest/{_this_week()}"),
        "reply-history": (None, f"/p/{thread.first_reply_id}/history"),
    }


PAGE_TYPES = list(_pages(type("T", (), {"id": 1, "slug": "x", "author_id": 1, "first_reply_id": 1})).keys())


@pytest.fixture(scope="module")
def contexts(browser, site):
    """One logged-in browser context per look and member, reused by every page of that kind."""
    base, _ = site
    made = {}

    def get(look: str, who: str | None):
        if (look, who) not in made:
            context = browser.new_context(**LOOKS[look])
            if who:
                _log_in(context.new_page(), base, who)
            made[look, who] = context
        return made[look, who]

    yield get
    for context in made.values():
        context.close()


# The rules whose outcome can change with the colour scheme or the layout. The dark look
# differs from the light one only in its stylesheet (same page, same width), so every other
# rule, which reads the document's structure, gives what it gave in light.
STYLE_RULES = ["color-contrast", "link-in-text-block", "target-size", "scrollable-region-focusable"]


@pytest.mark.parametrize("look", ["light", "phone"])
@pytest.mark.parametrize("page_type", PAGE_TYPES)
def test_every_page_passes_axe_fits_and_logs_no_error(site, contexts, page_type, look):
    """Light and phone each load the page; the dark look is the light page with the dark
    colour scheme switched on, checked by the rules that depend on style."""
    base, thread = site
    who, path = _pages(thread)[page_type]
    page = contexts(look, who).new_page()
    problems = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(base + path)
    assert response.status < 500
    looks = [look] if look == "phone" else ["light", "dark"]
    for current in looks:
        options = {"resultTypes": ["violations"]}
        if current == "dark":
            page.emulate_media(color_scheme="dark")
            options["runOnly"] = {"type": "rule", "values": STYLE_RULES}
        results = _axe(page, options)
        assert results.violations_count == 0, f"{current}: {results.generate_report()}"
        width = page.evaluate("document.documentElement.scrollWidth")
        viewport = LOOKS[current]["viewport"]["width"]
        assert width <= viewport, f"{path} is {width}px wide in a {viewport}px window ({current})"
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (look == "light")
    if look == "phone":
        small = page.evaluate(SMALL_TARGETS, MIN_TARGET)
        assert small == [], f"tap targets under {MIN_TARGET}px on {path}: {small}"
    page.close()
    if response.status >= 400:  # Chromium logs the page's own error status; that one is expected
        problems = [p for p in problems if not p.startswith("Failed to load resource")]
    assert problems == [], problems


def _axe(page, options: dict):
    """axe-core's findings on the page as it is drawn now. The script is put in once per page
    (half a megabyte to send and compile), however many times the page is checked."""
    from axe_playwright_python.base import AxeResults
    from axe_playwright_python.sync_playwright import Axe
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(Axe().axe_script)
    return AxeResults(page.evaluate("options => axe.run(document, options)", options))


# Interactive elements smaller than the minimum in either direction, except links inside
# running text (WCAG's "inline" exception) and elements that are not drawn.
SMALL_TARGETS = """(min) => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    if (el.tagName === 'A' && el.closest('p, li, td, th, blockquote, .prose, .snippet, dd, figcaption')
        && style.display === 'inline') continue;
    if (box.width < min || box.height < min)
      small.push(`${el.tagName.toLowerCase()}.${el.className}:"${(el.innerText || el.value || '').slice(0, 20)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return small;
}"""


def test_focus_moves_to_the_first_invalid_field_after_a_form_error(site, browser):
    base, _ = site
    page = browser.new_page()
    page.goto(base + "/auth/register")
    page.get_by_label("Username").fill("ok_name")
    page.get_by_label("Email", exact=True).fill("not-an-address")
    page.get_by_label("Password", exact=True).fill("short")
    page.locator("form").last.evaluate("form => form.noValidate = true")
    with page.expect_navigation():  # the form's answer is a new page; its script moves focus
        page.get_by_role("button", name="Create account").click()
    focused = "document.activeElement && document.activeElement.name"
    try:
        page.wait_for_function(f"({focused}) === 'email'", timeout=10_000)
    finally:
        assert page.evaluate(focused) == "email"
    page.close()


@pytest.mark.parametrize("who", [None, "grace"])
def test_the_header_is_compact_on_a_phone(site, contexts, who):
    base, _ = site
    page = contexts("phone", who).new_page()
    page.goto(base + "/")
    height = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().height")
    page.close()
    assert height <= 120, f"the header takes {height}px of an 844px phone screen"
