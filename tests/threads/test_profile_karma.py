from forum.extensions import db
from forum.threads import votes
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user


def test_profile_shows_karma_and_stance_counts(app, client):
    with app.app_context():
        author, a, b = make_user(username="karmic"), make_user(), make_user()
        thread = make_thread(author)
        other = make_thread(a)
        one = make_reply(other, author, "Yes", stance="supports")
        make_reply(other, author, "Why?", stance="question")
        make_reply(other, author, "Also yes", stance="supports")
        for voter in (a, b):
            votes.cast_vote(db.session.get(type(voter), voter.id), db.session.get(Thread, thread.id), 1)
        votes.cast_vote(db.session.get(type(a), a.id), db.session.get(Post, one.id), -1)
    page = client.get("/u/karmic").get_data(as_text=True)
    assert "<strong>1</strong> karma" in page
    assert "2 supports" in page and "1 question" in page and "0 challenges" in page
