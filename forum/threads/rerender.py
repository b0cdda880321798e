"""``flask --app wsgi markup rerender``: store every post's HTML again after the renderer changes.

Rendered HTML is derived data (DESIGN.md: computed on write, stored,
rebuildable). When ``forum/markup`` changes, run this once after deploying:
every live thread body and reply is rendered again through the same path as a
new post (``render_post_body``: mentions and paper titles resolved) and stored
when it differs.

Rows are read in id order in batches and each batch is committed on its own,
so a run stopped halfway keeps what it did and a rerun simply redoes it.
A body that is now too complex to render within the CPU budget keeps the HTML
it has and is listed in the summary (``--budget`` gives the offline run more
CPU than a web request gets). Only ``body_html`` changes: the search index and
the paper links depend on the source text, which stays as it was.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from forum.extensions import db
from forum.markup import RenderTooComplex, cpu_budget
from forum.threads.models import Post, Thread
from forum.threads.rendering import render_post_body

BATCH_SIZE = 200


@dataclass
class RerenderSummary:
    rendered: int = 0
    changed: int = 0
    too_complex: list[str] = field(default_factory=list)  # "thread:12", "post:40"

    def line(self) -> str:
        kept = f"; {len(self.too_complex)} too complex to render, kept as they were" \
               f" ({', '.join(self.too_complex[:10])}{', ...' if len(self.too_complex) > 10 else ''})" \
            if self.too_complex else ""
        return (f"{self.rendered} posts rendered again: {self.changed} changed, "
                f"{self.rendered - self.changed - len(self.too_complex)} unchanged{kept}.")


def live_count() -> int:
    """How many thread bodies and replies a rerender will visit."""
    return sum(db.session.scalar(select(func.count(model.id)).where(model.deleted_at.is_(None)))
               for model in (Thread, Post))


def rerender_all(progress: Callable[[int], None] | None = None,
                 budget_seconds: float | None = None) -> RerenderSummary:
    """Render every live thread body and reply again; store the HTML that changed."""
    summary = RerenderSummary()
    for model, kind in ((Thread, "thread"), (Post, "post")):
        last_id = 0
        while True:
            rows = list(db.session.scalars(
                select(model).where(model.id > last_id, model.deleted_at.is_(None))
                .order_by(model.id).limit(BATCH_SIZE)))
            if not rows:
                break
            for row in rows:
                _rerender(row, f"{kind}:{row.id}", summary, budget_seconds)
            last_id = rows[-1].id
            db.session.commit()  # per batch: a stopped run keeps its work
            if progress:
                progress(len(rows))
    return summary


def _rerender(row: Thread | Post, key: str, summary: RerenderSummary, budget_seconds: float | None) -> None:
    summary.rendered += 1
    try:
        with cpu_budget(budget_seconds):
            html = render_post_body(row.body)
    except RenderTooComplex:
        summary.too_complex.append(key)
        return
    if html != row.body_html:
        row.body_html = html
        summary.changed += 1
