"""Stored post HTML that shows paper titles: rendered again when titles arrive.

A post citing a paper nobody fetched yet is stored with a plain link to
``/papers/<id>``; once ``flask papers refresh`` records the title, every
thread body and reply citing the paper (``PaperMention.source_key``) is
rendered again in the same transaction, so pages show the title. Only
``body_html`` changes, which the link-syncing listener does not watch.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from forum.extensions import db
from forum.markup import RenderTooComplex
from forum.papers.models import PaperMention
from forum.threads.models import Post, Thread
from forum.threads.rendering import render_post_body


def rerender_citing_posts(paper_ids: Iterable[int]) -> int:
    """Render again the thread bodies and replies citing these papers; returns how many changed."""
    paper_ids = list(paper_ids)
    if not paper_ids:
        return 0
    keys = set(db.session.scalars(
        select(PaperMention.source_key).where(PaperMention.paper_id.in_(paper_ids))))
    thread_ids = [int(key.split(":")[1]) for key in keys if key.startswith("thread:")]
    post_ids = [int(key.split(":")[1]) for key in keys if key.startswith("post:")]
    sources: list[Thread | Post] = []
    if thread_ids:
        sources += db.session.scalars(select(Thread).where(Thread.id.in_(thread_ids)))
    if post_ids:
        sources += db.session.scalars(select(Post).where(Post.id.in_(post_ids)))
    changed = 0
    for source in sources:
        if source.deleted_at is not None:
            continue
        try:
            html = render_post_body(source.body)
        except RenderTooComplex:  # keep the stored HTML rather than fail the whole refresh
            continue
        if html != source.body_html:
            source.body_html = html
            changed += 1
    return changed
