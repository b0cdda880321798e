"""GitHub repository links: URL forms accepted, non-repository pages rejected."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from forum.papers.github import find_repos, iter_repo_mentions, normalize_repo
from forum.papers.github_reserved import MOTTIE, RESERVED

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github"

ACCEPTED = [
    ("https://github.com/pallets/flask", "pallets/flask"),
    ("http://github.com/pallets/flask", "pallets/flask"),
    ("github.com/pallets/flask", "pallets/flask"),
    ("www.github.com/pallets/flask", "pallets/flask"),
    ("https://www.github.com/pallets/flask", "pallets/flask"),
    ("HTTPS://GitHub.com/pallets/flask", "pallets/flask"),
    ("https://github.com/pallets/flask/", "pallets/flask"),
    ("https://github.com/pallets/flask.git", "pallets/flask"),
    ("https://github.com/pallets/flask.git/", "pallets/flask"),
    ("https://github.com/pallets/flask/tree/main/src", "pallets/flask"),
    ("https://github.com/pallets/flask/blob/main/README.md#L10", "pallets/flask"),
    ("https://github.com/pallets/flask/issues/5000", "pallets/flask"),
    ("https://github.com/pallets/flask/pull/42", "pallets/flask"),
    ("https://github.com/pallets/flask?tab=readme-ov-file", "pallets/flask"),
    ("https://github.com/pallets/flask#readme", "pallets/flask"),
    ("git@github.com:pallets/flask.git", "pallets/flask"),
    ("git@github.com:pallets/flask", "pallets/flask"),
    ("ssh://git@github.com/pallets/flask.git", "pallets/flask"),
    ("git://github.com/pallets/flask.git", "pallets/flask"),
    ("git+https://github.com/owner/name.git@v1.2#egg=name", "owner/name"),
    ("git+https://github.com/owner/name@main", "owner/name"),
    ("git+ssh://git@github.com/owner/name.git", "owner/name"),
    ("https://github.com/karpathy/nanoGPT", "karpathy/nanoGPT"),
    ("https://github.com/Dao-AILab/flash-attention", "Dao-AILab/flash-attention"),
    ("https://github.com/state-spaces/mamba.", "state-spaces/mamba"),
    ("https://github.com/a/b)", "a/b"),
    ("https://github.com/owner/name.with.dots", "owner/name.with.dots"),
    ("https://github.com/owner/.github", "owner/.github"),
    ("https://github.com/owner/_underscore_", "owner/_underscore_"),
    ("https://github.com/a1-b2-c3/x", "a1-b2-c3/x"),
    ("https://github.com/" + "a" * 39 + "/x", "a" * 39 + "/x"),
    ("https://github.com/x/" + "r" * 100, "x/" + "r" * 100),
    ("https://github.com/actions/checkout", "actions/checkout"),
    ("https://github.com/github/gitignore", "github/gitignore"),
    ("  https://github.com/pallets/flask  ", "pallets/flask"),
    # what a person pastes: owner/name alone, wrapped, with trailing punctuation
    ("pallets/flask", "pallets/flask"),
    ("Pallets/Flask", "Pallets/Flask"),
    ("owner/name.git", "owner/name"),
    ("state-spaces/mamba.", "state-spaces/mamba"),
    ("(karpathy/nanoGPT)", "karpathy/nanoGPT"),
    ("<https://github.com/pallets/flask>", "pallets/flask"),
    ("(https://github.com/pallets/flask),", "pallets/flask"),
    ("[https://github.com/pallets/flask]", "pallets/flask"),
    ('"github.com/pallets/flask"', "pallets/flask"),
    ("https://github.com/pallets/flask#", "pallets/flask"),
    ("https://github.com/pallets/flask/tree/main/src/flask/app.py#L1-L20", "pallets/flask"),
    ("https://github.com/pallets/flask/releases/tag/3.1.0", "pallets/flask"),
    ("https://github.com/pallets/flask/archive/refs/heads/main.zip", "pallets/flask"),
    ("git@github.com:Dao-AILab/flash-attention.git", "Dao-AILab/flash-attention"),
    ("`pallets/flask`", "pallets/flask"),
]

REJECTED = [
    "", "flask", "settings/profile", "topics/python", "-abc/x", "a/b/c d",
    "pallets/flask and more", "a_b/x", "owner/.", "owner/..", "/name", "owner/",
    "https://github.com", "https://github.com/", "https://github.com/torvalds",
    "https://github.com/torvalds/", "https://github.com/torvalds?tab=repositories",
    "https://gist.github.com/torvalds/abc123", "https://api.github.com/repos/a/b",
    "https://raw.githubusercontent.com/a/b/main/x", "https://notgithub.com/a/b",
    "https://github.com.evil.example/a/b", "https://gitlab.com/a/b",
    "https://github.com/settings/profile", "https://github.com/features/actions",
    "https://github.com/marketplace/actions/checkout", "https://github.com/topics/python",
    "https://github.com/sponsors/torvalds", "https://github.com/orgs/python/repositories",
    "https://github.com/login/oauth", "https://github.com/collections/machine-learning",
    "https://github.com/apps/dependabot", "https://github.com/trending/python",
    "https://github.com/explore/x", "https://github.com/codespaces/new",
    "https://github.com/solutions/ci-cd", "https://github.com/enterprises/acme",
    "https://github.com/users/x/projects", "https://github.com/Settings/x",
    "https://github.com/-abc/x", "https://github.com/abc-/x", "https://github.com/a--b/x",
    "https://github.com/" + "a" * 40 + "/x", "https://github.com/x/" + "r" * 101,
    "https://github.com/a_b/x", "https://github.com/a.b/x",
    "https://github.com/owner/.", "https://github.com/owner/..",
    "https://github.com/owner/.git", "https://github.com/owner/name extra words",
    "see https://github.com/owner/name", "https://github.com/owner/na!me",
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_normalize_accepts(text, expected):
    assert normalize_repo(text) == expected


@pytest.mark.parametrize("text", REJECTED)
def test_normalize_rejects(text):
    assert normalize_repo(text) is None


def test_tables_are_large_enough():
    assert len(ACCEPTED) >= 30 and len(REJECTED) >= 30
    assert len(ACCEPTED) + len(REJECTED) >= 60


PROSE = [
    ("Code at https://github.com/karpathy/nanoGPT.", ["karpathy/nanoGPT"]),
    ("(arXiv:2312.00752, code at https://github.com/state-spaces/mamba) claim", ["state-spaces/mamba"]),
    ("Try github.com/a/b, github.com/cc/d; github.com/e/f: and 'github.com/g/h' \"github.com/i/j\"",
     ["a/b", "cc/d", "e/f", "g/h", "i/j"]),
    ("Same repo twice: https://github.com/Pallets/Flask and github.com/pallets/flask.git",
     ["Pallets/Flask"]),
    ("pip install git+https://github.com/owner/name.git@v1#egg=name and git@github.com:cc/d.git",
     ["owner/name", "cc/d"]),
    ("A bare pallets/flask or TCP/IP or and/or is not a link.", []),
    ("Profile github.com/torvalds and gist.github.com/x/y and github.com/topics/ml.", []),
    ("[flask](https://github.com/pallets/flask/issues/1) then <https://github.com/psf/black>",
     ["pallets/flask", "psf/black"]),
    ("End of sentence github.com/a/b...", ["a/b"]),
    ("Email me at someone@github.com/a/b", []),
    ("Clone <git@github.com:cc/d.git> or (https://github.com/e/f/tree/main).", ["cc/d", "e/f"]),
    ("A path src/models or owner/name in prose stays text.", []),
]


@pytest.mark.parametrize(("text", "expected"), PROSE)
def test_find_repos_in_prose(text, expected):
    assert find_repos(text) == expected


def test_mention_spans_cover_the_link_without_trailing_punctuation():
    text = "See https://github.com/a/b.git. And git@github.com:cc/d!"
    spans = [text[m.start:m.end] for m in iter_repo_mentions(text)]
    assert spans == ["https://github.com/a/b.git", "git@github.com:cc/d"]


def test_reserved_names_include_the_recorded_list():
    recorded = json.loads((FIXTURES / "github_reserved_names_Mottie.json").read_text())
    assert len(recorded) == 293 and MOTTIE == frozenset(recorded)
    assert MOTTIE <= RESERVED
    assert not {"actions", "github", "torvalds", "pallets"} & RESERVED
    for name in recorded:
        if "." not in name:
            assert normalize_repo(f"https://github.com/{name}/x") is None, name
