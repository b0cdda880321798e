"""Any form a person pastes reaches the canonical paper or repository page with a 301."""
import urllib.parse

import pytest

from tests.factories import make_thread, make_user


@pytest.mark.parametrize(("pasted", "target"), [
    ("arXiv:1706.03762v7 [cs.CL]", "/papers/1706.03762"),
    ("<https://arxiv.org/abs/1706.03762>", "/papers/1706.03762"),
    ("1706.03762.", "/papers/1706.03762"),
    ("1706.03762#", "/papers/1706.03762"),
    ("(1706.03762)", "/papers/1706.03762"),
    ("10.48550/arXiv.1706.03762", "/papers/1706.03762"),
    ("https://arxiv.org/pdf/1706.03762v5.pdf", "/papers/1706.03762"),
    ("arXiv:math.GT/0309136v2", "/papers/math/0309136"),
    ("arXiv:1706.03762v2.bib", "/papers/1706.03762.bib"),
])
def test_any_paper_form_redirects_to_the_canonical_page(app, client, pasted, target):
    response = client.get("/papers/" + urllib.parse.quote(pasted, safe="/:"))
    assert response.status_code == 301 and response.headers["Location"] == target


@pytest.mark.parametrize(("path", "target"), [
    ("/repos/KARPATHY/NANOGPT", "/repos/karpathy/nanoGPT"),
    ("/repos/karpathy/nanogpt", "/repos/karpathy/nanoGPT"),
    ("/repos/karpathy/nanoGPT.git", "/repos/karpathy/nanoGPT"),
    ("/repos/karpathy/nanoGPT/tree/master/model.py", "/repos/karpathy/nanoGPT"),
])
def test_any_repository_case_redirects_to_the_spelling_first_cited(app, client, path, target):
    with app.app_context():
        make_thread(make_user(), body="Code: https://github.com/karpathy/nanoGPT")
    response = client.get(path)
    assert response.status_code == 301 and response.headers["Location"] == target
    assert "Debates mentioning it" in client.get(target).get_data(as_text=True)


def test_a_repository_nobody_cited_keeps_the_name_as_typed(app, client):
    assert client.get("/repos/Pallets/Flask").status_code == 200
    assert client.get("/repos/pallets/flask.git").headers["Location"] == "/repos/pallets/flask"
    assert client.get("/repos/settings/profile").status_code == 404
