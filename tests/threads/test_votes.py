import threading

import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.threads import votes
from forum.threads.models import Post, Thread, Vote
from tests.factories import make_reply, make_thread, make_user


def _vote(user, target, value):
    target = db.session.get(type(target), target.id)
    return votes.cast_vote(db.session.get(type(user), user.id), target, value)


def test_vote_toggle_and_switch(app):
    with app.app_context():
        author, voter = make_user(), make_user()
        thread = make_thread(author)
        post = make_reply(thread, author)
        assert _vote(voter, post, 1) == votes.VoteResult(score=1, vote=1)
        assert _vote(voter, post, 1) == votes.VoteResult(score=0, vote=0)  # again: taken back
        assert _vote(voter, post, -1) == votes.VoteResult(score=-1, vote=-1)
        assert _vote(voter, post, 1) == votes.VoteResult(score=1, vote=1)  # other way: switched
        saved = db.session.get(Post, post.id)
        assert (saved.score, saved.up_count, saved.down_count) == (1, 1, 0)
        assert db.session.scalar(select(func.count(Vote.id))) == 1
        assert _vote(voter, thread, -1) == votes.VoteResult(score=-1, vote=-1)
        assert db.session.get(Thread, thread.id).score == -1


def test_no_votes_on_own_or_deleted_posts(app):
    with app.app_context():
        author, voter = make_user(), make_user()
        thread = make_thread(author)
        post = make_reply(thread, author)
        with pytest.raises(votes.VoteError) as own:
            _vote(author, post, 1)
        assert own.value.status == 403
        from forum.threads import services
        services.delete_post(db.session.get(Post, post.id))
        with pytest.raises(votes.VoteError) as gone:
            _vote(voter, post, 1)
        assert gone.value.status == 410
        with pytest.raises(votes.VoteError):
            _vote(voter, thread, 2)


def test_vote_by_form_post_redirects_back(app, client, login):
    with app.app_context():
        author, voter = make_user(), make_user()
        thread = make_thread(author, title="Votes here")
        post = make_reply(thread, author)
    login(voter)
    response = client.post(f"/p/{post.id}/vote", data={"value": "up"})
    assert response.headers["Location"] == f"/t/{thread.id}/votes-here#p{post.id}"
    response = client.post(f"/t/{thread.id}/vote", data={"value": "down"})
    assert response.headers["Location"] == f"/t/{thread.id}/votes-here#top"
    page = client.get(f"/t/{thread.id}/votes-here").get_data(as_text=True)
    assert 'aria-pressed="true"' in page and 'class="vote-form"' in page
    with app.app_context():
        assert db.session.get(Post, post.id).score == 1
        assert db.session.get(Thread, thread.id).score == -1


def test_vote_answers_json_to_the_script(app, client, login):
    with app.app_context():
        author, voter = make_user(), make_user()
        thread = make_thread(author)
    login(voter)
    headers = {"Accept": "application/json"}
    response = client.post(f"/t/{thread.id}/vote", data={"value": "up"}, headers=headers)
    assert response.get_json() == {"score": 1, "vote": 1}
    response = client.post(f"/t/{thread.id}/vote", data={"value": "up"}, headers=headers)
    assert response.get_json() == {"score": 0, "vote": 0}
    response = client.post(f"/t/{thread.id}/vote", data={"value": "sideways"}, headers=headers)
    assert response.status_code == 400 and "up" in response.get_json()["error"]


@pytest.mark.parametrize("path, data, status, message", [
    ("/p/999/vote", {"value": "up"}, 404, "does not exist"),
    ("/t/999/vote", {"value": "up"}, 404, "does not exist"),
    ("THREAD", {"value": "maybe"}, 400, "A vote is"),
    ("THREAD", {}, 400, "A vote is"),
    ("OWN", {"value": "up"}, 403, "cannot vote on what you wrote"),
    ("DELETED", {"value": "up"}, 410, "takes no votes"),
])
def test_bad_votes_get_a_clear_4xx(app, client, login, path, data, status, message):
    with app.app_context():
        author, voter = make_user(), make_user()
        thread = make_thread(author)
        mine = make_reply(thread, voter)
        gone = make_reply(thread, author)
        from forum.threads import services
        services.delete_post(db.session.get(Post, gone.id))
    path = {"THREAD": f"/t/{thread.id}/vote", "OWN": f"/p/{mine.id}/vote",
            "DELETED": f"/p/{gone.id}/vote"}.get(path, path)
    login(voter)
    response = client.post(path, data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_logged_out_vote_is_refused_with_a_way_to_log_in(app, client):
    with app.app_context():
        thread = make_thread(make_user())
    response = client.post(f"/t/{thread.id}/vote", data={"value": "up"},
                           headers={"Referer": f"http://localhost/t/{thread.id}"})
    assert response.status_code == 401
    assert f'href="/auth/login?next=/t/{thread.id}"' in response.get_data(as_text=True)
    script = client.post(f"/t/{thread.id}/vote", data={"value": "up"},
                         headers={"Accept": "application/json"})
    assert script.status_code == 401 and "Log in" in script.get_json()["error"]
    with app.app_context():
        assert db.session.get(Thread, thread.id).score == 0


def test_concurrent_votes_keep_score_equal_to_the_sum_of_votes(app):
    """Many members vote, switch and take back at once; no update is lost."""
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        post = make_reply(thread, author)
        voters = [make_user() for _ in range(8)]
    errors = []
    start = threading.Barrier(len(voters))

    def run(voter, n):
        try:
            with app.app_context():
                start.wait()
                for step in range(6):  # up, switch, take back... several times over
                    value = 1 if (n + step) % 3 else -1
                    for target in (post, thread):
                        _vote(voter, target, value)
                        db.session.remove()
        except Exception as error:  # reported below, with the thread's failure
            errors.append(error)

    workers = [threading.Thread(target=run, args=(voter, n)) for n, voter in enumerate(voters)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    with app.app_context():
        saved = db.session.get(Post, post.id)
        post_votes = db.session.scalars(select(Vote.value).where(Vote.post_id == post.id)).all()
        assert saved.score == sum(post_votes)
        assert saved.up_count == post_votes.count(1) and saved.down_count == post_votes.count(-1)
        thread_votes = db.session.scalars(select(Vote.value).where(Vote.thread_id == thread.id)).all()
        assert db.session.get(Thread, thread.id).score == sum(thread_votes)
        assert len(post_votes) > 0


def test_same_member_voting_twice_at_once_stays_consistent(app):
    with app.app_context():
        author, voter = make_user(), make_user()
        post = make_reply(make_thread(author), author)
    errors = []
    start = threading.Barrier(6)

    def run():
        try:
            with app.app_context():
                start.wait()
                _vote(voter, post, 1)
                db.session.remove()
        except Exception as error:
            errors.append(error)

    workers = [threading.Thread(target=run) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    with app.app_context():
        rows = db.session.scalars(select(Vote.value).where(Vote.post_id == post.id)).all()
        assert db.session.get(Post, post.id).score == sum(rows) and len(rows) <= 1
