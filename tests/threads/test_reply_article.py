"""Each reply on a thread page, as threads/widgets.py draws it: what a person wrote is
escaped, and each link appears for exactly those the models' predicates allow."""
import re

import pytest

from tests.factories import make_reply, make_thread, make_user

HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_AFFILIATION = '"><img src=x onerror=alert(1)> & Co'


def _article(page: str, post_id: int) -> str:
    found = re.search(rf'<article class="reply depth-\d+" id="p{post_id}">(.*?)</article>', page, re.S)
    assert found, f"reply {post_id} is not on the page"
    return found.group(1)


@pytest.fixture
def debate(app):
    """A thread with a reply by a member with a hostile name, and a reply to it by another."""
    with app.app_context():
        hostile = make_user(username="hostile", display_name=HOSTILE_NAME,
                            affiliation=HOSTILE_AFFILIATION)
        other = make_user(username="other")
        moderator = make_user(username="moderator", role="moderator")
        thread = make_thread(other, title="Escaping")
        first = make_reply(thread, hostile, "First point.", stance="supports")
        answer = make_reply(thread, other, "An answer.", parent=first, stance="challenges")
    return {"hostile": hostile, "other": other, "moderator": moderator, "thread": thread,
            "first": first, "answer": answer}


def test_a_hostile_display_name_and_affiliation_are_escaped(client, debate):
    page = client.get(f"/t/{debate['thread'].id}/escaping").get_data(as_text=True)
    article = _article(page, debate["first"].id)
    assert "<script>" not in page.split("</head>", 1)[1].replace('<script src="', "")
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in article
    assert ('<span class="affiliation">(&#34;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; Co)</span>'
            in article)
    assert "<img src=x" not in page


@pytest.mark.parametrize("who, on_own, on_other", [
    # who: (report link, moderate link, edit and delete, reason box, reply link, vote form)
    (None, None, (False, False, False, False, False, False)),
    ("hostile", (False, False, True, False, True, False), (True, False, False, False, True, True)),
    ("moderator", None, (True, True, True, True, True, True)),
])
def test_links_follow_the_viewer_s_permissions(client, login, debate, who, on_own, on_other):
    if who:
        login(debate[who])
    page = client.get(f"/t/{debate['thread'].id}/escaping").get_data(as_text=True)
    first, answer = debate["first"].id, debate["answer"].id
    for post_id, expected in ((first, on_own), (answer, on_other)):
        if expected is None:
            continue
        article = _article(page, post_id)
        drawn = (f'href="/report/post/{post_id}"' in article,
                 f'href="/moderation/post/{post_id}"' in article,
                 f'href="/p/{post_id}/edit"' in article and f'action="/p/{post_id}/delete"' in article,
                 'name="reason"' in article,
                 f'class="reply-link" data-parent="{post_id}"' in article,
                 f'action="/p/{post_id}/vote"' in article)
        assert drawn == expected, (who, post_id)


def test_a_banned_member_sees_replies_without_forms(app, client, login, debate):
    with app.app_context():
        banned = make_user(username="banned", banned=True)
    login(banned)
    page = client.get(f"/t/{debate['thread'].id}/escaping").get_data(as_text=True)
    article = _article(page, debate["first"].id)
    assert 'class="vote-form" data-vote="0"><span class="score"' in article
    assert "reply-link" not in article and "/edit" not in article


def test_a_stance_filter_links_each_reply_to_its_parent_s_permalink(client, debate):
    first, answer = debate["first"].id, debate["answer"].id
    page = client.get(f"/t/{debate['thread'].id}/escaping?stance=challenges").get_data(as_text=True)
    assert f'id="p{first}"' not in page
    assert (f'<p class="in-reply-to">in reply to <a href="/p/{first}">@hostile</a></p>'
            in _article(page, answer))
    assert 'class="stance stance-challenges">challenges</span>' in _article(page, answer)
    page = client.get(f"/t/{debate['thread'].id}/escaping").get_data(as_text=True)
    assert "in-reply-to" not in _article(page, answer)  # shallow and unfiltered: its indent says it


def test_code_in_a_reply_alone_brings_the_code_stylesheet(app, client):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Plain thread", body="No code in the thread itself.")
        make_reply(thread, author, "```python\nprint('hi')\n```")
    page = client.get(f"/t/{thread.id}/plain-thread").get_data(as_text=True)
    assert re.search(r'<link rel="stylesheet" href="/static/css/code\.[0-9a-f]+\.css">', page)
