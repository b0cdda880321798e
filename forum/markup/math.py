"""Formulas to sanitized MathML, each distinct formula converted once.

Arithmatex leaves each formula as ``<span|div class="arithmatex">\\(...\\)</...>``
(raw HTML is off, so users cannot forge that markup). Each is swapped for a
random per-call placeholder before sanitizing, converted by ``latex2mathml``
and cleaned by a separate MathML allow-list cleaner (latex2mathml passes
``\\text{<...>}`` through unescaped and turns ``\\href``/``\\style`` into
attributes: no href and no style survive). A formula latex2mathml rejects is
shown as its escaped source in ``<code>``.

Conversion is the costly part of a post full of math ("$a$ " ten thousand
times took seconds), so conversions are memoised: within a post through the
per-call dict, across posts through a bounded LRU cache. Each new conversion
checks the render's CPU budget.
"""
from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from functools import lru_cache

from latex2mathml.converter import convert as latex_to_mathml

from forum.markup import budget

ARITHMATEX_RE = re.compile(
    r'<(span|div) class="arithmatex">\\([(\[])(.*?)\\[)\]]</\1>', re.DOTALL
)
MAX_FORMULA_LENGTH = 5_000


def make_converter(clean: Callable[[str], str]) -> Callable[[str, bool], str]:
    """A memoised formula converter whose MathML goes through ``clean``."""

    @lru_cache(maxsize=4096)
    def convert(source: str, display: bool) -> str:
        budget.check()
        if len(source) > MAX_FORMULA_LENGTH:
            return f'<code class="math-error">{html.escape(source)}</code>'
        try:
            mathml = latex_to_mathml(source, display="block" if display else "inline")
        except RecursionError:
            raise
        except Exception:  # latex2mathml raises many unrelated types on bad input
            return f'<code class="math-error">{html.escape(source)}</code>'
        return clean(mathml)

    return convert


def extract_math(rendered: str) -> tuple[str, str, dict[str, tuple[str, bool]]]:
    """Swap each formula for a placeholder the sanitizer leaves alone; return the formulas."""
    nonce = f"math{secrets.token_hex(8)}x"
    formulas: dict[str, tuple[str, bool]] = {}

    def swap(m: re.Match) -> str:
        key = f"{nonce}{len(formulas)}"
        formulas[key] = (html.unescape(m.group(3)), m.group(2) == "[")
        return key

    return ARITHMATEX_RE.sub(swap, rendered), nonce, formulas


def put_back(cleaned: str, nonce: str, formulas: dict[str, tuple[str, bool]],
             convert: Callable[[str, bool], str]) -> str:
    """Placeholders replaced by MathML in one pass (a replace per formula would be quadratic)."""
    if not formulas:
        return cleaned
    return re.sub(nonce + "[0-9]+", lambda m: convert(*formulas[m.group(0)])
                  if m.group(0) in formulas else m.group(0), cleaned)
