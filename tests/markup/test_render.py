"""forum.markup: features, math, mentions, and a wide table of hostile inputs."""
import re

import pytest
from bleach._vendor import html5lib  # bleach's own parser: the same one browsers' rules are modelled on

from forum.markup import find_mentions, render_markdown

USERS = {"alice": "/u/alice", "bob_1": "/u/bob_1"}
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "style", "form", "base", "meta", "link", "frame", "frameset"}
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "data"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


def elements(fragment: str):
    """Every element of the fragment as (local tag name, {attribute name: value}), as a browser would see them."""
    tree = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        attrs = {re.sub(r"^\{[^}]*\}", "xlink:" if "xlink" in k else "", k): v for k, v in el.attrib.items()}
        yield re.sub(r"^\{[^}]*\}", "", el.tag).lower(), attrs


def assert_safe(output: str) -> None:
    for tag, attrs in elements(output):
        assert tag not in FORBIDDEN_TAGS, output
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), output
            if name.lower() in URL_ATTRS:
                squashed = re.sub(r"[\x00-\x20\x7f]+", "", value).lower()
                assert not squashed.startswith(BAD_SCHEMES), output
            assert name.lower() != "style" or "expression" not in value.lower(), output


# --- features ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello *world*", "<em>world</em>"),
        ("**bold**", "<strong>bold</strong>"),
        ("- one\n- two", "<li>two</li>"),
        ("1. one\n2. two", "<ol>"),
        ("> quoted", "<blockquote>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<td>2</td>"),
        ("| a |\n|:-:|\n| 1 |", '<td class="align-center">1</td>'),  # a class: the CSP forbids style=
        ("```python\ndef f():\n    pass\n```", '<div class="codehilite">'),
        ("```python\ndef f():\n    pass\n```", '<span class="k">def</span>'),
        ("`x < y`", "<code>x &lt; y</code>"),
        ("see https://example.org/a?b=1", '<a href="https://example.org/a?b=1" rel="nofollow ugc noopener">'),
        ("[site](https://example.org)", 'rel="nofollow ugc noopener"'),
        ("<https://example.org>", 'href="https://example.org"'),
        ("[rel](/threads/1)", 'href="/threads/1"'),
        ("[mail](mailto:a@example.org)", 'href="mailto:a@example.org"'),
        ("![alt](https://example.org/x.png)", 'src="https://example.org/x.png"'),
    ],
)
def test_feature_renders(source, expected):
    assert expected in render_markdown(source)


def test_links_inside_code_are_not_linkified():
    assert "<a" not in render_markdown("`https://example.org`\n\n```\nhttps://example.org\n```")


def test_empty_input():
    assert render_markdown("") == ""


# --- math --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "display"),
    [
        ("$x^2$", "inline"),
        (r"\(x^2\)", "inline"),
        ("$$x^2$$", "block"),
        ("$$\n\\sum_i x_i\n$$", "block"),
        (r"\[x^2\]", "block"),
        ("text $$\\frac{1}{2}$$ more", "block"),
        ("text \\[\\frac{1}{2}\\] more", "block"),
        (r"$\sqrt{a} + \alpha$", "inline"),
        ("$a < b$", "inline"),
    ],
)
def test_math_becomes_mathml(source, display):
    out = render_markdown(source)
    assert f'<math display="{display}">' in out
    assert "$" not in out and "\\(" not in out and "\\[" not in out


def test_math_content_survives():
    out = render_markdown(r"$\frac{a}{b} < \sqrt{c}$")
    for tag in ("<mfrac>", "<msqrt>", "<mi>a</mi>", "<mo>&#x0003C;</mo>"):
        assert tag in out


@pytest.mark.parametrize(
    "source",
    ["`$x$`", "```\n$x$ and $$y$$\n```", "    $x$ indented code", "costs $5 and $10", r"escaped \$x\$"],
)
def test_dollars_left_alone(source):
    assert "<math" not in render_markdown(source)


def test_dollar_amounts_stay_text():
    assert "costs $5 and $10" in render_markdown("costs $5 and $10")


@pytest.mark.parametrize(
    ("source", "absent"),
    [
        (r"$\text{<script>alert(1)</script>}$", "<script"),
        (r"$\text{<img src=x onerror=alert(1)>}$", "<img"),
        (r"$\href{javascript:alert(1)}{x}$", "javascript"),
        (r"$\style{color:red;background:url(javascript:alert(1))}{y}$", "style="),
        (r"$$\href{data:text/html,<script>alert(1)</script>}{x}$$", "href"),
    ],
)
def test_math_output_is_sanitized(source, absent):
    out = render_markdown(source)
    assert "<math" in out
    assert absent not in out
    assert_safe(out)


def test_text_in_math_is_shown_escaped():
    assert "<mtext>&lt;script&gt;" in render_markdown(r"$\text{<script>}$")


def test_bad_latex_shows_escaped_source():
    out = render_markdown(r"$\left( <b>$")
    assert '<code class="math-error">' in out and "&lt;b&gt;" in out


# --- mentions ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("hi @alice", '<a href="/u/alice" class="mention">@alice</a>'),
        ("@bob_1, thoughts?", '<a href="/u/bob_1" class="mention">@bob_1</a>'),
        ("hi @carol", "hi @carol"),
        ("`@alice`", "<code>@alice</code>"),
        ("```\n@alice\n```", "@alice\n"),
        ("mail alice@alice.org", "alice@alice.org"),
    ],
)
def test_mentions(source, expected):
    out = render_markdown(source, mentions=USERS.get)
    normalized = out.replace('class="mention" href="/u/alice"', 'href="/u/alice" class="mention"').replace(
        'class="mention" href="/u/bob_1"', 'href="/u/bob_1" class="mention"'
    )
    assert expected in normalized
    if "`" in source or "alice.org" in source or "carol" in source:
        assert "mention" not in out


def test_mentions_without_lookup_stay_text():
    assert "<a" not in render_markdown("hi @alice")


def test_mention_link_has_no_rel():
    assert "rel=" not in render_markdown("@alice", mentions=USERS.get)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("@alice and @bob", ["alice", "bob"]),
        ("@alice @Alice @alice", ["alice"]),
        ("@bob then @alice then @bob", ["bob", "alice"]),
        ("`@alice` @bob", ["bob"]),
        ("```\n@alice\n```\n@carol", ["carol"]),
        ("a@example.org @ab", []),
        ("@" + "x" * 31, []),
        ("@" + "x" * 30, ["x" * 30]),
        ("@dash-name_1.", ["dash-name_1"]),
        ("", []),
    ],
)
def test_find_mentions(source, expected):
    assert find_mentions(source) == expected


# --- hostile input -----------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x ONERROR=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><p><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<iframe src=https://evil.example></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<base href=javascript:alert(1)//>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<link rel=stylesheet href=javascript:alert(1)>",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="javascript:alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](java&#9;script:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    '![x](https://example.org/a.png "onerror=alert(1)")',
    '[x](https://example.org "a\\" onmouseover=\\"alert(1)")',
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "[x][ref]\n\n[ref]: data:text/html,<script>alert(1)</script>",
    "![x][img]\n\n[img]: javascript:alert(1)",
    "javascript:alert(1)",
    "<a href=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)\">x</a>",
    "[x](&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1))",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "<div>\n<script>alert(1)</script>\n</div>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?xml version=1?><script>alert(1)</script>",
    "$\\text{<script>alert(1)</script>}$",
    "$$\\text{<img src=x onerror=alert(1)>}$$",
    "$\\href{javascript:alert(1)}{x}$",
    "$\\href{JaVaScRiPt:alert(1)}{x}$",
    "\\[\\style{background:url(javascript:alert(1))}{x}\\]",
    "$\\text{</math><img src=x onerror=alert(1)>}$",
    "$\\text{<mglyph><style><img src=x onerror=alert(1)>}$",
    "| <script>alert(1)</script> |\n|---|\n| [x](javascript:alert(1)) |",
    "> <img src=x onerror=alert(1)>\n> [x](javascript:alert(1))",
    "- [x](javascript:alert(1))\n- <iframe>",
    "**<script>**alert(1)**</script>**",
    "@<script>alert(1)</script>",
    "\x02wzxhzdk:0\x03<script>alert(1)</script>",
    "https://example.org/\"onmouseover=\"alert(1)",
    "www.example.org/<script>alert(1)</script>",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_input_is_neutralized(source):
    assert_safe(render_markdown(source))


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_input_with_mentions_is_neutralized(source):
    assert_safe(render_markdown(source + " @alice", mentions=USERS.get))


def test_hostile_mention_lookup_url_is_sanitized():
    out = render_markdown("@alice", mentions=lambda name: "javascript:alert(1)")
    assert_safe(out)


def test_hostile_table_is_wide():
    assert len(HOSTILE) >= 40


# --- paper links ---------------------------------------------------------------------------------

TITLES = {"1706.03762": "Attention Is All You Need"}


def links(output: str) -> list[dict]:
    return [attrs for tag, attrs in elements(output) if tag == "a"]


def test_arxiv_mentions_link_to_our_paper_page_with_known_titles():
    out = render_markdown("See arXiv:1706.03762 and 2101.00001v2, also hep-th/9901001.", papers=TITLES.get)
    assert links(out) == [
        {"href": "/papers/1706.03762", "class": "paper-link", "title": "Attention Is All You Need"},
        {"href": "/papers/2101.00001", "class": "paper-link", "title": "arXiv:2101.00001"},
        {"href": "/papers/hep-th/9901001", "class": "paper-link", "title": "arXiv:hep-th/9901001"},
    ]
    assert ">arXiv:1706.03762</a> <span class=\"paper-title\">(Attention Is All You Need)</span> and" in out
    assert ">2101.00001v2</a>, also" in out  # original text kept; no title span while unknown
    assert out.count("paper-title") == 1
    assert "rel=" not in out  # our own pages are not user-supplied links


def test_arxiv_url_links_to_our_page_instead_of_arxiv():
    for url in ("https://arxiv.org/abs/1706.03762v5", "arxiv.org/pdf/1706.03762.pdf",
                "https://doi.org/10.48550/arXiv.1706.03762"):
        out = render_markdown(f"Read ({url}).", papers=TITLES.get)
        assert links(out) == [{"href": "/papers/1706.03762", "class": "paper-link",
                               "title": "Attention Is All You Need"}], out
        assert f">{url}</a>" in out and "arxiv.org\"" not in out


def test_code_and_existing_links_are_left_alone():
    source = ("`arXiv:1706.03762`\n\n```\n1706.03762\n```\n\n    hep-th/9901001\n\n"
              "[the paper](https://arxiv.org/abs/1706.03762) and $x = 1706.03762$")
    out = render_markdown(source, papers=TITLES.get)
    assert "paper-link" not in out and "paper-title" not in out
    assert [a["href"] for a in links(out)] == ["https://arxiv.org/abs/1706.03762"]
    assert "<code>arXiv:1706.03762</code>" in out


def test_ids_inside_other_urls_stay_part_of_those_urls():
    out = render_markdown("https://example.com/?q=1706.03762 and example.com/1706.03762", papers=TITLES.get)
    # Without a scheme or www. a dotted word is not linked (issue 14), but still not a paper link.
    assert [a["href"] for a in links(out)] == ["https://example.com/?q=1706.03762"]
    assert "paper-link" not in out


def test_mentions_and_paper_links_together():
    out = render_markdown("@alice see 1706.03762", mentions=USERS.get, papers=TITLES.get)
    assert [a["href"] for a in links(out)] == ["/u/alice", "/papers/1706.03762"]


def test_without_papers_lookup_rendering_is_unchanged():
    source = "arXiv:1706.03762 and https://arxiv.org/abs/1706.03762"
    out = render_markdown(source)
    assert "paper-link" not in out
    assert [a["href"] for a in links(out)] == ["https://arxiv.org/abs/1706.03762"]
    assert out == render_markdown(source, papers=None)
    render_markdown(source, papers=TITLES.get)  # the lookup does not leak into the next call
    assert render_markdown(source) == out


HOSTILE_TITLES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</span></a><iframe src=javascript:alert(1)>",
    "javascript:alert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<svg/onload=alert(1)>",
    'A &lt;b&gt; & c &amp; "q"',  # single-quoted attribute
    "Q&A: \"quoted\" & 'single' &amp; &#x3C;",  # double-quoted attribute with both quotes
    "Fermi & Dirac, &copy",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_are_escaped_and_shown_literally(title):
    out = render_markdown("cites arXiv:1706.03762 here", papers=lambda arxiv_id: title)
    assert_safe(out)
    found = links(out)
    assert found == [{"href": "/papers/1706.03762", "class": "paper-link", "title": title}]
    spans = [el for el in html5lib.parseFragment(out, treebuilder="etree", namespaceHTMLElements=False).iter()
             if el.tag == "span"]
    assert len(spans) == 1 and "".join(spans[0].itertext()) == f"({title})"


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_input_with_paper_links_is_neutralized(source):
    assert_safe(render_markdown(source + " arXiv:1706.03762", papers=lambda arxiv_id: "<b>x</b>"))


@pytest.mark.parametrize("text", ["```python\nx = 1\n```", "```\nplain\n```", "    indented code",
                                  "| a | b |\n|---|---|\n| 1 | 2 |"])
def test_code_blocks_and_tables_take_keyboard_focus(text):
    html = render_markdown(text)
    assert 'tabindex="0"' in html


def test_a_post_cannot_set_its_own_tab_order():
    html = render_markdown('<pre tabindex="5">x</pre>\n\n[a](https://x.org){tabindex=1}')
    assert "<pre tabindex" not in html and "<a tabindex" not in html and 'tabindex="1"' not in html
