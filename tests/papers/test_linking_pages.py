"""Posts record the papers and repositories they cite; paper and repo pages show them."""
import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from tests.factories import make_reply, make_thread, make_user

BODY = ("Builds on arXiv:1706.03762v5 and https://arxiv.org/abs/2005.14165, "
        "code at https://github.com/karpathy/nanoGPT.")


def mentions(model, **where):
    return db.session.scalars(select(model).filter_by(**where)).all()


def test_writing_a_thread_records_papers_versions_and_repos(app):
    with app.app_context():
        thread = make_thread(make_user(), title="Transformers again", body=BODY)
        cited = {m.paper_id: m.versions for m in mentions(PaperMention, thread_id=thread.id)}
        papers = {p.id: p.arxiv_id for p in db.session.scalars(select(Paper))}
        assert {papers[pid]: v for pid, v in cited.items()} == {"1706.03762": [5], "2005.14165": []}
        repo = db.session.scalar(select(Repository))
        assert repo.full_name == "karpathy/nanoGPT" and repo.is_pending
        assert len(mentions(RepoMention, thread_id=thread.id)) == 1


def test_edits_and_deletes_update_links(app, client, login):
    with app.app_context():
        user = make_user()
        thread = make_thread(user, title="Linking thread")
        post = make_reply(thread, user, "See hep-th/9901001 and arXiv:1706.03762")
    login(user)
    client.post(f"/p/{post.id}/edit", data={"body": "Only https://github.com/pallets/flask now"})
    with app.app_context():
        assert mentions(PaperMention, post_id=post.id) == []
        assert len(mentions(RepoMention, post_id=post.id)) == 1
    client.post(f"/p/{post.id}/delete")
    with app.app_context():
        assert mentions(RepoMention, post_id=post.id) == []
        # the paper rows stay: other posts may cite them later
        assert db.session.scalar(select(func.count(Paper.id))) == 2


def test_two_posts_citing_one_paper_share_its_row(app):
    with app.app_context():
        user = make_user()
        thread = make_thread(user, body="arXiv:1706.03762")
        make_reply(thread, user, "Also 1706.03762v2 here")
        assert db.session.scalar(select(func.count(Paper.id))) == 1
        assert db.session.scalar(select(func.count(PaperMention.id))) == 2


def test_paper_page_lists_citations_with_pending_details(app, client):
    with app.app_context():
        user = make_user()
        thread = make_thread(user, title="Attention debate", body="arXiv:1706.03762v5")
        make_reply(thread, user, "and https://github.com/huggingface/transformers with 1706.03762")
    page = client.get("/papers/1706.03762").get_data(as_text=True)
    assert "Details pending" in page and "Attention debate" in page and "cites v5" in page
    assert "huggingface/transformers" in page
    assert "Start a debate about this paper" in page


@pytest.mark.parametrize("ident, target", [
    ("1706.03762v5", "/papers/1706.03762"),
    ("arXiv:1706.03762", "/papers/1706.03762"),
    ("hep-th/9901001v2", "/papers/hep-th/9901001"),
])
def test_non_canonical_paper_urls_redirect(app, client, ident, target):
    assert client.get(f"/papers/{ident}").headers["Location"] == target


def test_old_style_ids_work_with_their_slash(app, client):
    response = client.get("/papers/hep-th/9901001")
    assert response.status_code == 200 and "hep-th/9901001" in response.get_data(as_text=True)


@pytest.mark.parametrize("ident", ["not-an-id", "1713.00001", "2301.1234", "foo/9901001"])
def test_malformed_paper_id_is_a_clear_404(app, client, ident):
    response = client.get(f"/papers/{ident}")
    assert response.status_code == 404
    assert "is not an arXiv identifier" in response.get_data(as_text=True)


def test_repo_page_and_bad_repo_name(app, client):
    with app.app_context():
        make_thread(make_user(), title="Flask thread", body="https://github.com/pallets/flask and 2005.14165")
    assert client.get("/repos/Pallets/Flask").headers["Location"] == "/repos/pallets/flask"
    page = client.get("/repos/pallets/flask").get_data(as_text=True)
    assert "Flask thread" in page and "Details pending" in page and "arXiv:2005.14165" in page
    assert client.get("/repos/-bad-/x").status_code == 404


def test_papers_index_lists_most_discussed(app, client):
    with app.app_context():
        user = make_user()
        thread = make_thread(user, body="1706.03762 and 2005.14165")
        make_reply(thread, user, "1706.03762 again")
    page = client.get("/papers").get_data(as_text=True)
    assert page.index("arXiv:1706.03762") < page.index("arXiv:2005.14165")
    assert "2 citations" in page


def test_deleted_thread_is_not_listed_on_the_paper_page(app, client, login):
    with app.app_context():
        user = make_user()
        thread = make_thread(user, title="Soon deleted thread", body="arXiv:1706.03762")
    login(user)
    client.post(f"/t/{thread.id}/delete")
    assert "Soon deleted thread" not in client.get("/papers/1706.03762").get_data(as_text=True)


def test_start_a_debate_about_a_paper_prefills_the_form(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    page = client.get("/t/new?paper=arXiv:1706.03762v2").get_data(as_text=True)
    assert "Discussing arXiv:1706.03762" in page
    assert "Discussing" not in client.get("/t/new?paper=nonsense").get_data(as_text=True)
