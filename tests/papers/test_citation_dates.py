"""Dates and versions that stay true: a citation keeps the date it was first made through
edits, and every version a post names is kept."""
from datetime import timedelta

from sqlalchemy import select, update

from forum.database import utcnow
from forum.extensions import db
from forum.papers import queries
from forum.papers.models import Paper, PaperMention, RepoMention
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user

LONG_AGO = timedelta(days=400)


def _age_everything():
    then = utcnow() - LONG_AGO
    db.session.execute(update(PaperMention).values(created_at=then))
    db.session.execute(update(RepoMention).values(created_at=then))
    db.session.commit()
    return then


def _cited_by(source_key):
    return {arxiv_id: (versions, created) for arxiv_id, versions, created in db.session.execute(
        select(Paper.arxiv_id, PaperMention.versions, PaperMention.created_at)
        .join(Paper, Paper.id == PaperMention.paper_id).where(PaperMention.source_key == source_key))}


def test_editing_an_old_reply_keeps_the_date_its_citations_were_first_made(app, client):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Old debate", body="Nothing cited.")
        post = make_reply(thread, author, "arXiv:1706.03762v2 and https://github.com/pallets/flask")
        then = _age_everything()
        threads.edit_post(db.session.get(Post, post.id),
                          "arXiv:1706.03762v2, also v5: 1706.03762v5, https://github.com/pallets/flask "
                          "and now 2312.00752")
        cited = _cited_by(f"post:{post.id}")
        assert cited["1706.03762"] == ([2, 5], then)  # same row, same date, both versions
        assert cited["2312.00752"][1] > then  # newly cited: cited now
        repo_dates = db.session.scalars(select(RepoMention.created_at)).all()
        assert repo_dates == [then]
        # the old paper does not jump into this week's most discussed; the new one does
        this_week = [paper.arxiv_id for paper, _ in queries.most_discussed_this_week()]
        assert this_week == ["2312.00752"]
    page = client.get("/papers/1706.03762").get_data(as_text=True)
    assert "cites v2 and v5" in page


def test_editing_a_thread_title_and_body_diffs_its_citations(app):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="About arXiv:2312.00752", body="and 1706.03762")
        then = _age_everything()
        threads.edit_thread(db.session.get(Thread, thread.id), "About arXiv:2312.00752 again",
                            "now 2005.14165 instead")
        cited = _cited_by(f"thread:{thread.id}")
        assert set(cited) == {"2312.00752", "2005.14165"}
        assert cited["2312.00752"][1] == then and cited["2005.14165"][1] > then


def test_removing_a_version_keeps_the_row_and_updates_its_versions(app):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "1706.03762v2 vs 1706.03762v5")
        row_id = db.session.scalar(select(PaperMention.id))
        threads.edit_post(db.session.get(Post, post.id), "only arXiv:1706.03762 now")
        row = db.session.scalar(select(PaperMention))
        assert (row.id, row.versions) == (row_id, [])


def test_a_thread_whose_title_alone_cites_a_paper_appears_on_its_page(app, client):
    with app.app_context():
        make_thread(make_user(), title="Revisiting arXiv:2312.00752 at long context",
                    body="Does it hold up past 100k tokens?")
    page = client.get("/papers/2312.00752").get_data(as_text=True)
    assert "Revisiting arXiv:2312.00752 at long context" in page
    assert "No debates cite this yet." not in page


def test_the_paper_page_lists_versions_and_which_debates_discuss_which(app, client):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="First version debate", body="arXiv:1706.03762v1")
        make_reply(thread, author, "The v3 changed a lot: 1706.03762v3")
        db.session.execute(update(Paper).values(
            latest_version=4, title="Attention Is All You Need", fetched_at=utcnow(),
            versions=[{"version": 1, "date": "2017-06-12T17:57:34+00:00"},
                      {"version": 4, "date": "2017-12-06T03:30:32+00:00"}]))
        db.session.commit()
    page = client.get("/papers/1706.03762").get_data(as_text=True)
    versions = page[page.index('id="versions-heading"'):page.index('id="cited-heading"')]
    for n in (1, 2, 3, 4):
        assert f'href="https://arxiv.org/abs/1706.03762v{n}"' in versions
    assert "2017-06-12" in versions and "2017-12-06" in versions
    assert versions.count("date not given by the arXiv API") == 2
    v1 = versions[versions.index('id="v1"'):versions.index('id="v2"')]
    v3 = versions[versions.index('id="v3"'):versions.index('id="v4"')]
    assert "First version debate" in v1 and "First version debate" in v3
    assert "discussed in" not in versions[versions.index('id="v2"'):versions.index('id="v3"')]
