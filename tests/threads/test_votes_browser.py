"""Voting with JavaScript: the score changes in place, without reloading the page."""
from __future__ import annotations

from tests.test_browser import CHROMIUM_ARGS, browser, join_and_confirm, live_server, pytestmark  # noqa: F401 (fixtures)


def test_vote_with_javascript_updates_in_place(live_server, browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect
    base, thread = live_server
    page = browser.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    join_and_confirm(page, base, tmp_path / "mail", "voter")
    page.goto(f"{base}/t/{thread.id}/{thread.slug}")
    page.evaluate("window.notReloaded = true")
    first = page.locator(".reply .vote-form").first
    first.get_by_role("button", name="Vote up").click()
    expect(first).to_have_attribute("data-vote", "1")
    assert first.locator(".score").inner_text() == "1"
    assert first.get_by_role("button", name="Vote up").get_attribute("aria-pressed") == "true"
    first.get_by_role("button", name="Vote down").click()
    expect(first).to_have_attribute("data-vote", "-1")
    assert first.locator(".score").inner_text() == "-1"
    assert page.evaluate("window.notReloaded") is True  # the same page: no reload happened
    assert problems == []
