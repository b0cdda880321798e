"""Hostile shapes are rendered fast or refused fast: never a stalled worker, never a 500.

Each shape runs under a small CPU budget; it must either render or raise
``RenderTooComplex``, having spent less than a second of this thread's CPU
(a bound four times the budget, so a loaded machine does not make it flaky;
thread CPU time, not wall-clock). Shapes that are plausible in real posts
must render within the default budget.
"""
from __future__ import annotations

import time

import pytest

from forum.markup import RenderTooComplex, find_mentions, render_markdown
from forum.markup.budget import cpu_budget

LIMIT = 50_000  # the body length limit: longer bodies never reach the renderer
SMALL_BUDGET = 0.25
CPU_CEILING = 1.0

SHAPES = {
    "brackets": "[" * 50_000,
    "bracket-parens": "[(" * 25_000,
    "unclosed links": "[a](" * 12_500,
    "closing brackets": "](" * 25_000,
    "images": "![" * 25_000,
    "stars": "*" * 50_000,
    "star-words": "*a" * 25_000,
    "strong-em": "**a*" * 12_500,
    "underscores": "_a" * 25_000,
    "tildes": "~~a" * 16_000,
    "backticks": "`" * 50_000,
    "backtick runs": "``a`" * 12_500,
    "spaced backticks": "` a" * 16_000,
    "angle brackets": "<" * 50_000,
    "open tags": "<a" * 25_000,
    "autolink starts": "<http://a " * 5_000,
    "setext underlines": "a\n=\n" * 12_500,
    "setext dashes": "a\n-\n" * 12_500,
    "headings": "# h\n" * 10_000,
    "deep list": "".join("  " * i + "- a\n" for i in range(1_000)),
    "deep list, one space": "".join(" " * i + "- a\n" for i in range(1_000)),
    "deep ordered markers": "1. " * 5_000 + "a",
    "nested quotes": ">" * 5_000 + " a",
    "growing quotes": "".join(">" * i + " a\n" for i in range(1, 300)),
    "repeated formulas": "$a$ " * 10_000,
    "distinct formulas": "".join(f"$a_{{{i}}}$ " for i in range(4_000)),
    "display formulas": "$$x$$ " * 5_000,
    "unclosed dollars": "$a " * 16_000,
    "link definitions": "".join(f"[l{i}]: http://x.org/{i}\n" for i in range(1_500))
                        + "".join(f"[l{i}] " for i in range(1_500)),
    "entities": "&amp;" * 10_000,
    "numeric entities": "&#123;" * 8_000,
    "ampersands": "&" * 50_000,
    "escapes": "\\*" * 25_000,
    "backslashes": "\\" * 50_000,
    "bare urls": "http://a.org " * 3_800,
    "url with parens": "http://a.org/" + ")" * 49_000,
    "mentions": "@alice " * 7_000,
    "table rows": "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 5_000,
    "wide table": "|" + "a|" * 5_000 + "\n|" + "-|" * 5_000 + "\n",
    "footnotes": "".join(f"[^{i}] " for i in range(2_000)) + "\n\n"
                 + "".join(f"[^{i}]: n\n" for i in range(2_000)),
    "code block": "```python\n" + "x = 1\n" * 8_000 + "```",
    "fences": "```\n" * 12_000,
    "list items": "- a\n" * 12_000,
    "task items": "- [ ] a\n" * 6_000,
    "lazy quote": "> a\n" + "b\n" * 20_000,
    "spaces": " " * 49_999 + "x",
    "tabs": "\t" * 49_999 + "x",
    "pipes": "|" * 50_000,
    "emphasis mix": "*_" * 25_000,
    "arxiv ids": "arXiv:1706.03762 " * 2_900,
}

MUST_RENDER = ["stars", "backticks", "deep list", "deep list, one space", "deep ordered markers",
               "nested quotes", "link definitions", "display formulas", "spaces", "tabs",
               "url with parens", "lazy quote", "unclosed dollars", "repeated formulas"]


@pytest.mark.parametrize("name", SHAPES)
def test_shape_is_rendered_or_refused_fast(name):
    text = SHAPES[name][:LIMIT]
    start = time.thread_time()
    try:
        with cpu_budget(SMALL_BUDGET):
            out = render_markdown(text, mentions={"alice": "/u/alice"}.get, papers={}.get)
        assert isinstance(out, str)
    except RenderTooComplex as error:
        assert error.message.startswith("this text is too complex to display: ")
    assert time.thread_time() - start < CPU_CEILING


@pytest.mark.parametrize("name", ["brackets", "headings", "setext underlines", "mentions"])
def test_mentions_pass_is_bounded_too(name):
    start = time.thread_time()
    try:
        with cpu_budget(SMALL_BUDGET):
            find_mentions(SHAPES[name])
    except RenderTooComplex:
        pass
    assert time.thread_time() - start < CPU_CEILING


@pytest.mark.parametrize("name", MUST_RENDER)
def test_plausible_shapes_render(name):
    with cpu_budget(5.0):  # generous: this checks the outcome, the test above checks the cost
        out = render_markdown(SHAPES[name][:LIMIT])
    assert out


def test_deep_nesting_is_capped_not_recursed():
    with cpu_budget(5.0):
        out = render_markdown(SHAPES["nested quotes"])
        assert out.count("<blockquote>") == 32  # deeper ">" are text
        out = render_markdown(SHAPES["deep list"])
    assert out.count("<ul>") <= 16


def test_repeated_formulas_are_converted_once(monkeypatch):
    from forum.markup import math as math_module

    calls = []
    original = math_module.latex_to_mathml

    def counting(source, **kwargs):
        calls.append(source)
        return original(source, **kwargs)

    monkeypatch.setattr(math_module, "latex_to_mathml", counting)
    text = "".join(f"$q_{{{i % 3}}} + z$ " for i in range(300))
    import forum.markup as markup
    markup._local.__dict__.clear()  # a fresh converter, so its cache starts empty
    out = render_markdown(text)
    assert out.count("<math") == 300
    assert len(calls) == 3
