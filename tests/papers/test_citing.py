"""Every way of citing counts, and nothing else does: read from the rendered HTML and titles."""
import re

import pytest

from forum.markup import render_markdown
from forum.papers.citing import annotate, citations_in_html, citations_of


def cited(markdown: str, title: str | None = None):
    citations = citations_of(title, render_markdown(markdown))
    return citations.papers, sorted(citations.repos.values())


CITING = [
    # (Markdown source, {arXiv id: versions}, repositories)
    ("Bare 1706.03762 and arXiv:2312.00752v2", {"1706.03762": [], "2312.00752": [2]}, []),
    ("arXiv's own form arXiv:1706.03762v7 [cs.CL].", {"1706.03762": [7]}, []),
    ("Versions v2 and v5: 1706.03762v2 then arXiv:1706.03762v5", {"1706.03762": [2, 5]}, []),
    ("[Attention](https://arxiv.org/abs/1706.03762v3)", {"1706.03762": [3]}, []),
    ("[the PDF](https://arxiv.org/pdf/2312.00752v1.pdf)", {"2312.00752": [1]}, []),
    ("[html](https://arxiv.org/html/2312.00752v2) [export](http://export.arxiv.org/abs/2005.14165)",
     {"2312.00752": [2], "2005.14165": []}, []),
    ("<https://arxiv.org/abs/1706.03762>", {"1706.03762": []}, []),
    ("Autolinked https://arxiv.org/abs/hep-th/9901001v2 in text", {"hep-th/9901001": [2]}, []),
    ("[Mamba][m] by reference.\n\n[m]: https://arxiv.org/abs/2312.00752", {"2312.00752": []}, []),
    ("[DOI](https://doi.org/10.48550/arXiv.2005.14165) and 10.48550/arXiv.2001.08361",
     {"2005.14165": [], "2001.08361": []}, []),
    ("[our page](/papers/1706.03762)", {"1706.03762": []}, []),
    ("Both 1706.03762/2312.00752 and _2005.14165_", {"1706.03762": [], "2312.00752": [],
                                                      "2005.14165": []}, []),
    ("[code](https://github.com/karpathy/nanoGPT) and <https://github.com/pallets/flask/tree/main>",
     {}, ["karpathy/nanoGPT", "pallets/flask"]),
    ("[repo][r]\n\n[r]: https://github.com/state-spaces/mamba.git", {}, ["state-spaces/mamba"]),
    ("Clone git@github.com:Dao-AILab/flash-attention.git today", {}, ["Dao-AILab/flash-attention"]),
    # nothing else
    ("Code `1706.03762` and `https://github.com/a/b` stay code", {}, []),
    ("```\narXiv:1706.03762\nhttps://github.com/a/b\n```", {}, []),
    ("    indented code 2312.00752", {}, []),
    ("Math $x = 1706.03762$ is a number", {}, []),
    ("On 2024.01.15 we released v2.3.1; DOI 10.1145/3292500.3330701", {}, []),
    ("[a paper](https://doi.org/10.1103/PhysRevD.1234.56789)", {}, []),
    ("Search https://example.com/?q=1706.03762 is not a citation", {}, []),
    ("[text 1706.03762](https://example.com/)", {"1706.03762": []}, []),
    ("https://github.com/settings/profile and https://gist.github.com/a/b", {}, []),
    ("A bare pallets/flask in prose", {}, []),
]


@pytest.mark.parametrize(("markdown", "papers", "repos"), CITING)
def test_what_cites_and_what_does_not(markdown, papers, repos):
    assert cited(markdown) == (papers, repos)


def test_a_thread_title_cites_too():
    assert cited("No ids in the body.", title="Revisiting arXiv:2312.00752 at long context")[0] == {
        "2312.00752": []}
    assert cited("Body", title="Release 2023.10.1 notes")[0] == {}


def _no_titles(ids):
    return {}


def test_an_arxiv_link_keeps_pointing_to_arxiv_with_our_page_beside_it():
    html = annotate(render_markdown("[Attention](https://arxiv.org/abs/1706.03762v5)"), _no_titles)
    assert re.search(r'<a href="https://arxiv.org/abs/1706.03762v5"[^>]*>Attention</a> '
                     r'<a href="/papers/1706.03762" class="paper-page"', html)


def test_a_github_link_keeps_pointing_to_github_with_our_page_beside_it():
    html = annotate(render_markdown("see https://github.com/pallets/flask/issues/1"), _no_titles)
    assert re.search(r'<a href="https://github.com/pallets/flask/issues/1"[^>]*>[^<]*</a> '
                     r'<a href="/repos/pallets/flask" class="repo-page"', html)


def test_bare_ids_link_to_our_page_and_code_is_left_alone():
    html = annotate(render_markdown("Read arXiv:1706.03762 not `2312.00752`"),
                    lambda ids: {"1706.03762": 'A <b>"title"</b> & more'})
    assert '<a href="/papers/1706.03762" class="paper-link"' in html
    assert "<code>2312.00752</code>" in html and "/papers/2312.00752" not in html
    assert "<b>" not in html and "&lt;b&gt;" in html  # titles are untrusted text


def test_annotating_twice_adds_nothing_and_cites_the_same():
    once = annotate(render_markdown("https://arxiv.org/abs/1706.03762 and https://github.com/a/b"),
                    _no_titles)
    assert annotate(once, _no_titles) == once
    assert citations_in_html(once).papers == {"1706.03762": []}
