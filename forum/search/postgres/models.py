"""The PostgreSQL engine's tables: one search document per public thread, reply and paper,
the vocabulary did-you-mean and prefixes read, and whether a rebuild is owed.

They exist on SQLite too (one schema, so ``flask db check`` agrees on both
databases), where they stay empty: the PostgreSQL engine refuses SQLite.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from forum.database import UTCDateTime
from forum.extensions import db

GIN_PENDING_KB = 256  # gin_pending_list_limit of the tsvector indexes (kB)
TsVector = TSVECTOR().with_variant(Text(), "sqlite")
TextArray = ARRAY(Text()).with_variant(JSON(), "sqlite")


class SearchDocument(db.Model):
    """A document of ``forum.search.documents`` with its weighted ``tsvector``
    (title A, body and a paper's extra words D) and its adjacent word pairs (``pairs``, no
    positions: what narrows a phrase's candidates, see the comment above ``writes.UPSERT``).
    ``facets`` holds every equality filter as ``name:value`` (``tag:rl``, ``author:ada``,
    ``paper:2301.12345``, ``repo:owner/name``, ``stance:challenges``) so one GIN index
    serves them all."""

    __tablename__ = "search_documents"
    __table_args__ = (
        # Documents are written in the changing transaction; GIN's fast update files them in
        # a pending list first, which every search reads through in full: a short one
        # (migration 0020p) is flushed long before it costs a search much.
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin",
              postgresql_with={"gin_pending_list_limit": GIN_PENDING_KB}),
        # a phrase's adjacent word pairs (``pairs``): its candidates before the exact test
        Index("ix_search_documents_pairs", "pairs", postgresql_using="gin",
              postgresql_with={"gin_pending_list_limit": GIN_PENDING_KB}),
        Index("ix_search_documents_facets", "facets", postgresql_using="gin"),
        # papers are few: the box above the debates must not sift every matching reply
        Index("ix_search_documents_paper_tsv", "tsv", postgresql_using="gin",
              postgresql_with={"gin_pending_list_limit": GIN_PENDING_KB},
              postgresql_where=text("kind = 'paper'")),
        Index("ix_search_documents_thread_id", "thread_id"),
        Index("ix_search_documents_created", "created"),
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # "post:42"
    kind: Mapped[str] = mapped_column(String(8))  # thread | reply | paper
    thread_id: Mapped[int | None] = mapped_column(Integer)
    post_id: Mapped[int | None] = mapped_column(Integer)
    paper_id: Mapped[int | None] = mapped_column(Integer)
    facets: Mapped[list] = mapped_column(TextArray, default=list)
    created: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int] = mapped_column(Integer, default=0)
    tsv: Mapped[str] = mapped_column(TsVector)
    pairs: Mapped[str] = mapped_column(TsVector)  # search_pairs(tsv), migration 0023pp


class SearchText(db.Model):
    """A document's title and plain text, read by ``ts_headline`` for the hits on a page only.
    Kept apart so the rows searches scan hold little more than their ``tsvector``, which then
    stays in the row (compressed) instead of moving to TOAST: ranking a common word's
    thousands of matches reads a third of the pages."""

    __tablename__ = "search_texts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


class SearchWord(db.Model):
    """Words as written (lower case, unstemmed) with the documents holding them when the
    index was last rebuilt; words written since are added with ``ndoc`` 1. Read by
    did-you-mean (``pg_trgm``) and by prefix expansion; a word never leaves (a
    suggestion is checked against the documents before it is offered)."""

    __tablename__ = "search_words"
    __table_args__ = (
        Index("ix_search_words_trgm", "word", postgresql_using="gin",
              postgresql_ops={"word": "gin_trgm_ops"}),
        Index("ix_search_words_prefix", "word", postgresql_ops={"word": "text_pattern_ops"}),
    )

    word: Mapped[str] = mapped_column(String(40), primary_key=True)
    ndoc: Mapped[int] = mapped_column(Integer, default=1)


class SearchState(db.Model):
    """One row while the documents are owed a rebuild (the migration adds it when it
    finds posts written before the engine existed); ``flask search reindex`` removes it."""

    __tablename__ = "search_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    needs_rebuild: Mapped[bool] = mapped_column(Boolean, default=True)
