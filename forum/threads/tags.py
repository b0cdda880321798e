"""Tag rules: what a tag may look like, and turning typed text into tag rows.

A tag is lower case letters, digits, ``-`` and ``.`` (so arXiv categories
such as ``cs.lg`` work), starts with a letter or digit, and is at most 32
characters. A thread carries at most five.

Typed text is parsed in linear time: the field is refused past
``MAX_TAGS_INPUT`` characters before it is split, and de-duplication uses a
set (a list lookup per tag made 10,000 typed tags cost seconds).
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.threads.models import Tag

MAX_TAGS = 5
MAX_TAG_LENGTH = 32
MAX_TAGS_INPUT = 500  # characters: five longest tags with separators fit with room to spare
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
SEPARATORS = re.compile(r"[,\s]+")


class TagError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def normalize_tag(text: str) -> str | None:
    """One tag as stored, or None when it is not a valid tag."""
    name = text.strip().lower().lstrip("#")
    if not name or len(name) > MAX_TAG_LENGTH or not TAG_PATTERN.match(name):
        return None
    return name


def parse_tags(text: str | None) -> list[str]:
    """Tags typed as ``a, b c``: normalized, deduplicated in order; TagError says what is wrong."""
    text = text or ""
    if len(text) > MAX_TAGS_INPUT:
        raise TagError(f"The tags field is too long ({len(text):,} characters): use at most "
                       f"{MAX_TAGS} tags of up to {MAX_TAG_LENGTH} characters each.")
    names: list[str] = []
    seen: set[str] = set()
    for word in SEPARATORS.split(text):
        if not word:
            continue
        name = normalize_tag(word)
        if name is None:
            raise TagError(f"{word[:40]!r} is not a tag: use up to {MAX_TAG_LENGTH} letters, "
                           "digits, '-' or '.' (like cs.lg).")
        if name not in seen:
            seen.add(name)
            names.append(name)
    if len(names) > MAX_TAGS:
        raise TagError(f"Use at most {MAX_TAGS} tags (you gave {len(names)}).")
    return names


def tags_named(names: list[str]) -> list[Tag]:
    """The Tag rows for ``names``, creating missing ones (inside the caller's transaction)."""
    if not names:
        return []
    found = {tag.name: tag for tag in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name in found:
            continue
        try:
            with db.session.begin_nested():  # another thread may create the same tag right now
                tag = Tag(name=name)
                db.session.add(tag)
            found[name] = tag
        except IntegrityError:
            found[name] = db.session.scalar(select(Tag).where(Tag.name == name))
    return [found[name] for name in names]
