"""arXiv identifiers: every documented form accepted, look-alikes rejected."""
from __future__ import annotations

import pytest

from forum.papers.arxiv import ArxivMention, find_arxiv_ids, iter_arxiv_mentions, normalize_arxiv_id

ACCEPTED = [
    # new style, 4-digit numbers (0704..1412)
    ("0704.0001", "0704.0001"),
    ("0704.0001v1", "0704.0001"),
    ("1412.9999", "1412.9999"),
    ("1201.4869v1", "1201.4869"),
    ("0807.2873", "0807.2873"),
    # new style, 5-digit numbers (1501 on)
    ("1501.00001", "1501.00001"),
    ("1706.03762", "1706.03762"),
    ("1706.03762v5", "1706.03762"),
    ("2301.12345v12", "2301.12345"),
    ("2412.99999", "2412.99999"),
    ("  2005.14165  ", "2005.14165"),
    # arXiv: prefix, any case, optional space
    ("arXiv:1706.03762", "1706.03762"),
    ("arxiv:1706.03762v2", "1706.03762"),
    ("ARXIV:2301.12345", "2301.12345"),
    ("arXiv: 2301.12345", "2301.12345"),
    ("arXiv:hep-th/9901001", "hep-th/9901001"),
    ("arXiv:math.GT/0309136v2", "math/0309136"),
    # old style
    ("hep-th/9901001", "hep-th/9901001"),
    ("hep-th/9901001v3", "hep-th/9901001"),
    ("math.GT/0309136", "math/0309136"),
    ("cs.AI/0102001", "cs/0102001"),
    ("cond-mat/0412498", "cond-mat/0412498"),
    ("cond-mat.str-el/0412498", "cond-mat/0412498"),
    ("astro-ph/0703999", "astro-ph/0703999"),
    ("hep-th/9108001", "hep-th/9108001"),
    ("quant-ph/9512001", "quant-ph/9512001"),
    ("q-bio/0401001", "q-bio/0401001"),
    ("HEP-TH/9901001", "hep-th/9901001"),
    ("solv-int/9901001", "solv-int/9901001"),
    ("physics/0001001", "physics/0001001"),
    # URLs
    ("https://arxiv.org/abs/1706.03762", "1706.03762"),
    ("http://arxiv.org/abs/1706.03762v5", "1706.03762"),
    ("arxiv.org/abs/1706.03762", "1706.03762"),
    ("www.arxiv.org/abs/1706.03762", "1706.03762"),
    ("https://www.arxiv.org/pdf/1706.03762", "1706.03762"),
    ("https://arxiv.org/pdf/1706.03762v5.pdf", "1706.03762"),
    ("https://arxiv.org/pdf/1706.03762.pdf", "1706.03762"),
    ("https://arxiv.org/html/2301.12345v1", "2301.12345"),
    ("https://export.arxiv.org/abs/2301.12345", "2301.12345"),
    ("http://export.arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
    ("https://arxiv.org/abs/math.GT/0309136", "math/0309136"),
    ("https://arxiv.org/pdf/hep-th/9901001v2.pdf", "hep-th/9901001"),
    ("https://arxiv.org/abs/1706.03762/", "1706.03762"),
    ("https://arxiv.org/abs/1501.00001?context=cs", "1501.00001"),
    ("https://arxiv.org/abs/1501.00001#S2", "1501.00001"),
    ("HTTPS://ARXIV.ORG/ABS/1706.03762", "1706.03762"),
    # DOIs
    ("10.48550/arXiv.1706.03762", "1706.03762"),
    ("10.48550/ARXIV.1706.03762", "1706.03762"),
    ("doi:10.48550/arXiv.2301.12345", "2301.12345"),
    ("https://doi.org/10.48550/arXiv.2301.12345", "2301.12345"),
    ("https://dx.doi.org/10.48550/arXiv.2301.12345", "2301.12345"),
    ("doi.org/10.48550/arXiv.hep-th/9901001", "hep-th/9901001"),
    # arXiv's own citation form, with a version and a category
    ("arXiv:1706.03762v7 [cs.CL]", "1706.03762"),
    ("arXiv:1706.03762 [cs.CL]", "1706.03762"),
    ("arXiv:2312.00752v2 [cs.LG] ", "2312.00752"),
    ("arXiv:hep-th/9901001v2 [hep-th]", "hep-th/9901001"),
    ("arXiv:1501.00001 [cond-mat.str-el]", "1501.00001"),
    ("1706.03762v7 [cs.CL]", "1706.03762"),
    # what a person pastes: wrapping brackets, quotes, emphasis, trailing punctuation
    ("<https://arxiv.org/abs/1706.03762>", "1706.03762"),
    ("<1706.03762>", "1706.03762"),
    ("(arXiv:1706.03762)", "1706.03762"),
    ("[1706.03762]", "1706.03762"),
    ("1706.03762.", "1706.03762"),
    ("1706.03762#", "1706.03762"),
    ("1706.03762)", "1706.03762"),
    ("1706.03762,", "1706.03762"),
    ("https://arxiv.org/abs/1706.03762#", "1706.03762"),
    ("https://arxiv.org/abs/1706.03762.", "1706.03762"),
    ('"arXiv:1706.03762"', "1706.03762"),
    ("“1706.03762”", "1706.03762"),
    ("`1706.03762`", "1706.03762"),
    ("_1706.03762_", "1706.03762"),
    ("**arXiv:1706.03762v3**", "1706.03762"),
    ("https://arxiv.org/pdf/1706.03762v7.pdf#page=3", "1706.03762"),
    ("https://browse.arxiv.org/abs/2301.12345", "2301.12345"),
    ("https://arxiv.org/format/2301.12345", "2301.12345"),
    ("(https://doi.org/10.48550/arXiv.1706.03762).", "1706.03762"),
]

REJECTED = [
    "", "   ", "abc", "1706", "1706.", ".03762",
    "1700.12345",          # month 00
    "1713.12345",          # month 13
    "0001.0001",           # before new style started
    "0703.0001",           # new style began 0704
    "1412.12345",          # 5 digits before 1501
    "1501.1234",           # 4 digits from 1501 on
    "2301.123456",         # 6 digits
    "2301.1234",           # 4 digits in 2023
    "2301.00000",          # number zero
    "1706.03762v0",        # versions start at 1
    "1706.03762v01",       # no leading zero
    "1706.03762v",         # empty version
    "1706.03762x",
    "hep-th/9901001v0",
    "foo-bar/9901001",     # unknown archive
    "hepth/9901001",
    "hep-th/99010011",     # 8 digits
    "hep-th/990100",       # 6 digits
    "hep-th/9013001",      # month 13
    "hep-th/9000001",      # month 00
    "hep-th/9901000",      # number zero
    "hep-th/0801001",      # old style ended 0703
    "hep-th/9001001",      # before 9108
    "arXiv:",
    "arXiv:1713.12345",
    "https://arxiv.org/list/hep-th/9901001",
    "https://example.org/abs/1706.03762",
    "https://notarxiv.org/abs/1706.03762",
    "10.1103/PhysRevD.1234.56789",
    "10.1234/arXiv.1706.03762",
    "1706.03762 1706.03762",
    "see 1706.03762",
    "v1.2.3",
    "3.11",
    "2023.01.15",
    "1.1706.03762",
    # look-alikes that stay rejected whatever wraps them
    "<1713.12345>", "(2023.01.15)", "[v1.2.3]", "1706.03762 [cs.CL] 2005.14165",
    "1706.03762/2312.00752",  # two ids are not one
    "10.1000/182", "doi:10.1145/3292500.3330701", "2024-01-15", "1706-03762",
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_normalize_accepts(text, expected):
    assert normalize_arxiv_id(text) == expected


@pytest.mark.parametrize("text", REJECTED)
def test_normalize_rejects(text):
    assert normalize_arxiv_id(text) is None


def test_tables_are_large_enough():
    assert len(ACCEPTED) + len(REJECTED) >= 60
    assert len(ACCEPTED) >= 30 and len(REJECTED) >= 30


PROSE = [
    ("Builds on arXiv:1706.03762v5 and https://arxiv.org/abs/2005.14165, code elsewhere.",
     ["1706.03762", "2005.14165"]),
    ("and https://github.com/huggingface/transformers with 1706.03762", ["1706.03762"]),
    ("Cite (hep-th/9901001) and math.GT/0309136.", ["hep-th/9901001", "math/0309136"]),
    ("Dedup: 1706.03762, arXiv:1706.03762v2, https://arxiv.org/pdf/1706.03762v1.pdf", ["1706.03762"]),
    ("Upgrade to v1.2.3 on Python 3.11 by 2023.01.15.", []),
    ("The speed was 1501.12345 m/s and 1706.03762 GeV, or 2005.14165% of it.", []),
    ("It cost $1706.03762 or €2005.14165 or + 1501.00001.", []),
    ("The DOI 10.1103/PhysRevD.1234.56789 is not ours, 10.48550/arXiv.2301.12345 is.", ["2301.12345"]),
    ("A month 13 id 1713.12345 and a v0 1706.03762v0 do not count.", []),
    ("Numbers like 1,1706.03762 or 1706.03762.5 or 1706.03762e5 or 1706.03762-1 are not ids.", []),
    ("At https://example.com/1706.03762 a path, not an id.", []),
    ("Old-style paper cond-mat/0412498v1; new 1201.4869.", ["cond-mat/0412498", "1201.4869"]),
    ("Markdown [Attention](https://arxiv.org/abs/1706.03762) link.", ["1706.03762"]),
    ("In docs/0102001 'docs' is not an archive.", []),
    ("Compare 1706.03762 with 1706.03762.", ["1706.03762"]),
    ("Both 1706.03762/2312.00752 agree.", ["1706.03762", "2312.00752"]),
    ("Emphasis _1706.03762_ and *2312.00752* and __2005.14165__.",
     ["1706.03762", "2312.00752", "2005.14165"]),
    ("As arXiv:1706.03762v7 [cs.CL] shows.", ["1706.03762"]),
    ("See <https://arxiv.org/abs/2312.00752>.", ["2312.00752"]),
    ("Cite 1706.03762# or 1706.03762. or (2312.00752)", ["1706.03762", "2312.00752"]),
    ("On 2024-01-15 we shipped v2.3.1 (DOI 10.1145/3292500.3330701).", []),
    ("Release 2023.10.12345 and build 1706.03762.1 are not ids.", []),
]


@pytest.mark.parametrize(("text", "expected"), PROSE)
def test_find_in_prose(text, expected):
    assert find_arxiv_ids(text) == expected


def test_mentions_carry_spans_and_versions():
    text = "See https://arxiv.org/abs/1706.03762v5?x=1. Also arXiv:2005.14165 and hep-th/9901001v2!"
    mentions = list(iter_arxiv_mentions(text))
    assert [(m.arxiv_id, m.version) for m in mentions] == [
        ("1706.03762", 5), ("2005.14165", None), ("hep-th/9901001", 2)]
    assert [text[m.start:m.end] for m in mentions] == [
        "https://arxiv.org/abs/1706.03762v5?x=1", "arXiv:2005.14165", "hep-th/9901001v2"]
    assert isinstance(mentions[0], ArxivMention)


def test_find_handles_empty_and_none_like_input():
    assert find_arxiv_ids("") == []
    assert normalize_arxiv_id(None) is None
