"""How researchers actually type, and what each habit must render to (issue 14).

Each row: the text as typed, fragments the HTML must contain, fragments it must
not contain. The HTML is compared after dropping newlines between tags, so a
row reads like the page.
"""
from __future__ import annotations

import re

import pytest

from forum.markup import render_markdown

USERS = {"bob": "/u/bob", "alice": "/u/alice"}.get
PAPERS = {"1706.03762": "Attention Is All You Need"}.get

HABITS = [
    # --- lists right under a paragraph line, and numbering styles
    ("weaknesses list", "Weaknesses:\n- too small\n- no baseline",
     ["<p>Weaknesses:</p><ul><li>too small</li><li>no baseline</li></ul>"], []),
    ("strengths with stars", "Strengths:\n* clear\n* novel", ["<p>Strengths:</p><ul><li>clear</li>"], []),
    ("numbered under a line", "Questions:\n1. why?\n2. how?", ["<p>Questions:</p><ol><li>why?</li>"], []),
    ("paren numbering", "1) first\n2) second", ["<ol><li>first</li><li>second</li></ol>"], []),
    ("numbering from 3", "3. third\n4. fourth", ['<ol start="3">'], []),
    ("a number mid-paragraph is not a list", "We ran\n2. epochs only", ["<p>We ran\n2. epochs only</p>"], ["<ol"]),
    ("plus bullets", "+ a\n+ b", ["<ul><li>a</li><li>b</li></ul>"], []),
    ("change of bullet starts a new list", "- a\n* b", ["<ul><li>a</li></ul><ul><li>b</li></ul>"], []),
    # --- nesting
    ("2-space nesting", "- outer\n  - inner", ["<li>outer<ul><li>inner</li></ul></li>"], []),
    ("3-space nesting under 1.", "1. outer\n   - inner", ["<li>outer<ul><li>inner</li></ul></li>"], []),
    ("4-space nesting still works", "- outer\n    - inner", ["<li>outer<ul><li>inner</li></ul></li>"], []),
    ("three levels", "- a\n  - b\n    - c", ["<li>b<ul><li>c</li></ul></li>"], []),
    ("second paragraph of an item", "- first\n\n  more about first\n- second",
     ["<li><p>first</p><p>more about first</p></li>"], []),
    ("numbered with sub-bullets", "1. Method\n   - ablation\n2. Results", ["<li>Method<ul><li>ablation</li></ul></li><li>Results</li>"], []),
    ("loose list", "- a\n\n- b", ["<li><p>a</p></li><li><p>b</p></li>"], []),
    # --- code
    ("fence in a list item", "- run:\n  ```\n  make\n  ```", ["<li>run:<pre tabindex=\"0\"><code>make\n</code></pre></li>"], []),
    ("fence in a quote", "> ```\n> x = 1\n> ```", ["<blockquote><pre tabindex=\"0\"><code>x = 1\n</code></pre></blockquote>"], []),
    ("python fence highlighted", "```python\nimport torch\n```", ['<div class="codehilite">', '<span class="kn">import</span>'], []),
    ("unknown language stays plain", "```mylang\nfoo\n```", ['<pre tabindex="0"><code class="language-mylang">foo'], []),
    ("tilde fence", "~~~\ncode\n~~~", ["<pre tabindex=\"0\"><code>code\n</code></pre>"], ["<del>"]),
    ("longer closing fence", "```\na\n`````", ["<pre tabindex=\"0\"><code>a\n</code></pre>"], []),
    ("unclosed fence runs to the end", "```\na\nb", ["<pre tabindex=\"0\"><code>a\nb\n</code></pre>"], []),
    ("indented code", "    x = 1", ["<pre tabindex=\"0\"><code>x = 1\n</code></pre>"], []),
    ("math in code stays code", "`$x$` and\n```\n$$y$$\n```", ["<code>$x$</code>", "$$y$$"], ["<math"]),
    ("html in code is text", "`<b>x</b>`", ["<code>&lt;b&gt;x&lt;/b&gt;</code>"], ["<b>"]),
    # --- headings
    ("#1 concern is not a heading", "#1 concern is scale", ["<p>#1 concern is scale</p>"], ["<h1"]),
    ("#hashtag is not a heading", "#hashtag", ["<p>#hashtag</p>"], ["<h1"]),
    ("indented heading", " ## Heading", ["<h2>Heading</h2>"], []),
    ("three-space heading", "   ### Three", ["<h3>Three</h3>"], []),
    ("closing hashes dropped", "## Title ##", ["<h2>Title</h2>"], []),
    ("setext heading", "Summary\n=======", ["<h1>Summary</h1>"], []),
    ("dash underline after text is a heading", "Review\n---", ["<h2>Review</h2>"], []),
    ("rule on its own", "a\n\n---\n\nb", ["<hr>"], []),
    # --- tables
    ("table after a paragraph line", "Results:\n| a | b |\n|---|---|\n| 1 | 2 |",
     ["<p>Results:</p><table tabindex=\"0\">", "<td>2</td>"], []),
    ("right aligned column is a class", "| n |\n|--:|\n| 3 |", ['<td class="align-right">3</td>'], ["style="]),
    ("center and left", "| a | b |\n|:-:|:--|\n| 1 | 2 |",
     ['<th class="align-center">a</th>', '<td class="align-left">2</td>'], ["style="]),
    ("escaped pipe in code in a cell", "| op |\n|---|\n| `a \\| b` |", ["<td><code>a | b</code></td>"], []),
    ("table without outer pipes", "a | b\n--|--\n1 | 2", ["<th>a</th>", "<td>1</td>"], []),
    ("missing cells are empty", "| a | b |\n|---|---|\n| 1 |", ["<td>1</td><td></td>"], []),
    ("math in a table cell", "| loss |\n|---|\n| $x^2$ |", ["<td><math"], []),
    # --- GFM extras
    ("strikethrough", "~~wrong~~ right", ["<del>wrong</del> right"], []),
    ("footnote with back-link", "Claim[^1].\n\n[^1]: Source.",
     ['class="footnote-ref"', 'class="footnote-backref"', '<div class="footnotes">'], []),
    ("footnote named", "See[^note].\n\n[^note]: The note.", ["The note.", ">1</a></sup>"], []),
    ("undefined footnote stays text", "See [^nope].", ["See [^nope]."], ["footnote"]),
    ("task list open", "- [ ] rerun", ['<input aria-label="to do" disabled type="checkbox"> rerun'], []),
    ("task list done", "- [x] ablation", ['<input aria-label="done" checked disabled type="checkbox"> ablation'], []),
    ("hard break with backslash", "line one\\\nline two", ["line one<br>line two"], []),
    ("hard break with two spaces", "line one  \nline two", ["line one<br>line two"], []),
    # --- links
    ("url ending a sentence", "See https://example.org/paper.", ['>https://example.org/paper</a>.'], []),
    ("url with question mark after", "Is it https://example.org?", ['>https://example.org</a>?'], []),
    ("url in parentheses", "(code: https://github.com/a/b)", ['>https://github.com/a/b</a>)'], []),
    ("url with balanced parens", "https://en.wikipedia.org/wiki/Bias_(statistics)", ['/wiki/Bias_(statistics)</a>'], []),
    ("url then semicolon", "https://a.org/x; then", ['>https://a.org/x</a>; then'], []),
    ("url then exclamation", "https://a.org!", ['>https://a.org</a>!'], []),
    ("www address", "www.example.org/data", ['href="http://www.example.org/data"'], []),
    ("arxiv category is not a link", "arXiv:1706.03762v7 [cs.CL]", ["[cs.CL]"], ["http://cs.CL", 'href="http://cs']),
    ("dotted words are not links", "we call model.fit and e.g. torch.nn here", ["model.fit"], ["<a"]),
    ("linked mention stays one link", "[@bob](https://x.org)", ['<a href="https://x.org" rel="nofollow ugc noopener">@bob</a>'], ['class="mention"']),
    ("mention still works", "thanks @bob!", ['<a class="mention" href="/u/bob">@bob</a>!'], []),
    ("reference link", "see [the paper][p]\n\n[p]: https://example.org", ['<a href="https://example.org" rel="nofollow ugc noopener">the paper</a>'], []),
    ("angle autolink", "<https://example.org>", ['href="https://example.org"'], []),
    # --- math and money
    ("inline math", "loss $\\mathcal{L}$ drops", ['<math display="inline">'], []),
    ("display math block", "$$\n\\sum_i x_i\n$$", ['<math display="block">'], []),
    ("bracket math", "\\[ a^2 \\]", ['<math display="block">'], []),
    ("paren math", "\\(a\\)", ['<math display="inline">'], []),
    ("emphasis does not reach into math", "$a_1 * b_2 * c$", ["<math"], ["<em>"]),
    ("prices stay text", "costs $5 and $10", ["costs $5 and $10"], ["<math"]),
    ("escaped dollar", "\\$x\\$", ["$x$"], ["<math"]),
    ("snake_case never italic", "use my_var_name, x_i_j and dev_set_v2 here", ["my_var_name, x_i_j and dev_set_v2"], ["<em>", "<strong>"]),
    ("emphasis still works", "*very* **much**", ["<em>very</em> <strong>much</strong>"], []),
    # --- entities, escapes, raw html
    ("named entity", "&copy; &amp; &alpha;", ["&copy; &amp; &alpha;"], []),
    ("unknown entity stays text", "&madeup;", ["&amp;madeup;"], []),
    ("escaped star", "\\*not emphasis\\*", ["*not emphasis*"], ["<em>"]),
    ("typed tags are text", "<div>x</div>", ["&lt;div&gt;x&lt;/div&gt;"], ["<div>"]),
    ("less than in prose", "a < b > c", ["a &lt; b &gt; c"], []),
    # --- quotes
    ("quote with a list", "> - a\n> - b", ["<blockquote><ul><li>a</li><li>b</li></ul></blockquote>"], []),
    ("lazy quote continuation", "> first\nsecond", ["<blockquote><p>first\nsecond</p></blockquote>"], []),
    ("nested quote", "> a\n>> b", ["<blockquote><p>a</p><blockquote><p>b</p></blockquote></blockquote>"], []),
]


def _flat(html: str) -> str:
    return re.sub(r">\n+<", "><", html)


@pytest.mark.parametrize(("name", "source", "present", "absent"), HABITS, ids=[h[0] for h in HABITS])
def test_habit(name, source, present, absent):
    out = _flat(render_markdown(source, mentions=USERS))
    for fragment in present:
        assert fragment in out, out
    for fragment in absent:
        assert fragment not in out, out


def test_the_table_is_wide():
    assert len(HABITS) >= 60


def test_arxiv_id_with_category_links_the_paper_only():
    out = render_markdown("arXiv:1706.03762v7 [cs.CL]", papers=PAPERS)
    assert '<a href="/papers/1706.03762" class="paper-link"' in out
    assert out.count("<a ") == 1 and "[cs.CL]" in out


def test_bare_arxiv_url_links_our_page():
    out = render_markdown("see https://arxiv.org/abs/1706.03762.", papers=PAPERS)
    assert 'href="/papers/1706.03762"' in out and 'href="https://arxiv.org' not in out


def test_footnote_ids_differ_between_posts():
    one = render_markdown("a[^1]\n\n[^1]: x")
    two = render_markdown("b[^1]\n\n[^1]: y")
    ids = lambda html: set(re.findall(r'id="([^"]+)"', html))  # noqa: E731
    assert ids(one) and not ids(one) & ids(two)
    for fn_id in ids(one):
        other = fn_id.replace("fnref-", "fn-") if fn_id.startswith("fnref-") else fn_id.replace("fn-", "fnref-")
        assert f'href="#{other}"' in one  # every reference and back-link lands on an id
