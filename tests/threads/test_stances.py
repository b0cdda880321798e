import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.threads.models import Post
from tests.factories import make_reply, make_thread, make_user


def test_reply_with_a_stance_shows_a_badge(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Stances here")
    login(author)
    client.post(f"/t/{thread.id}/reply", data={"body": "I disagree", "stance": "challenges"})
    with app.app_context():
        assert db.session.scalar(select(Post.stance)) == "challenges"
    page = client.get(f"/t/{thread.id}/stances-here").get_data(as_text=True)
    assert 'class="stance stance-challenges">challenges</span>' in page
    assert 'name="stance"' in page and '<option value="evidence">' in page


def test_reply_without_a_stance(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
    login(author)
    client.post(f"/t/{thread.id}/reply", data={"body": "Neutral", "stance": ""})
    with app.app_context():
        assert db.session.scalar(select(Post.stance)) is None


def test_invalid_stance_is_refused_and_the_text_kept(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
    login(author)
    response = client.post(f"/t/{thread.id}/reply", data={"body": "My careful words", "stance": "agrees"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a stance from the list" in page and "My careful words" in page


def test_header_counts_stances_and_participants_and_filters(app, client):
    with app.app_context():
        a, b, c = make_user(), make_user(), make_user()
        thread = make_thread(a, title="Summary thread")
        first = make_reply(thread, b, "Support one", stance="supports")
        make_reply(thread, c, "Support two", stance="supports", parent=first)
        make_reply(thread, b, "A question here", stance="question")
        make_reply(thread, c, "No stance at all")
    page = client.get(f"/t/{thread.id}/summary-thread").get_data(as_text=True)
    assert "<strong>3</strong> participants" in page
    assert ">2 supports</a>" in page and ">1 question</a>" in page and ">0 challenges</a>" in page
    filtered = client.get(f"/t/{thread.id}/summary-thread?stance=supports").get_data(as_text=True)
    assert "Support one" in filtered and "Support two" in filtered
    assert "A question here" not in filtered and "No stance at all" not in filtered
    assert "in reply to" in filtered and "show all replies" in filtered
    bad = client.get(f"/t/{thread.id}/summary-thread?stance=agrees")
    assert bad.status_code == 400 and "Unknown stance" in bad.get_data(as_text=True)


def test_header_counts_papers_and_repositories_cited(app, client):
    with app.app_context():
        a, b = make_user(), make_user()
        thread = make_thread(a, title="Citing thread",
                             body="See arXiv:1706.03762 and https://github.com/karpathy/nanoGPT")
        make_reply(thread, b, "Also arXiv:2312.00752 and again arXiv:1706.03762")
    page = client.get(f"/t/{thread.id}/citing-thread").get_data(as_text=True)
    assert ('<a href="#cited-papers">2 papers</a> and <a href="#cited-repos">1 repository</a> cited'
            in page)
