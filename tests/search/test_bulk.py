"""A rebuild's bulk segment writer writes what Whoosh's own writer writes, term for term."""
import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from forum.search.whoosh import analysis, bulk, index as windex, patches
from forum.search.whoosh.bulk import BulkWriter

WORDS = ("gradient descent neural network attention kernel policy reward token graph "
         "Généralisation naïve self-attention O'Brien x_1 2301.12345").split()


def _documents():
    docs = []
    for i in range(1500):  # "the", "gradient", "post" reach more than one block of 1,024
        words = [WORDS[(i * 7 + k * k) % len(WORDS)] for k in range(i % 40 + 1)]
        doc = {"key": f"post:{i}", "kind": "reply", "thread_id": i // 4 + 1, "post_id": i,
               "title": "" if i % 4 else f"Thread {i} on {WORDS[i % len(WORDS)]}",
               "body": "the " + " ".join(words) + (" gradient" * (i % 3)),
               "authors": [f"User{i % 9}"] if i % 17 else [],
               "tags": ["rl", " NLP "] if i % 5 == 0 else ["cv"], "papers": ["2301.1234"] * (i % 2),
               "repos": [], "stance": "supports" if i % 6 == 0 else None, "score": i % 11 - 4}
        if i % 13:
            doc["created"] = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(hours=i)
        docs.append(doc)
    docs.append({"key": "paper:1", "kind": "paper", "title": "Attention Is All You Need",
                 "body": "The dominant sequence transduction models", "extra": "1706.03762\nVaswani",
                 "authors": [], "tags": [], "papers": ["1706.03762"], "repos": [], "score": 0,
                 "created": datetime(2017, 6, 12, tzinfo=timezone.utc)})
    return docs


def _write(folder, writer_of, docs, paired):
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), windex.make_schema(paired))
    writer = writer_of(ix)
    spelled: set = set()
    for number, doc in enumerate(docs):
        if number % 500 == 0:
            spelled = set()
        writer.add_document(**windex.to_whoosh_document(doc, spelled))
    writer.commit()
    return whoosh_index.open_dir(str(folder)).reader()


REVIEWS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / \
    "openreview_neurips2023_reviews.jsonl.gz"
ODD = ["İstanbul IŞIK ışık straße STRASSE ǅemal ﬁnance ΣΊΣΥΦΟΣ σίσυφος café cafe\u0301",
       "x² ٣٤ 漢字テスト emoji 🙂 zero\u200bwidth self-attention O'Brien's naïve NAÏVE",
       "", "   ", "the of and", "Ǆ ǆ ǅ ß ẞ K Å ﬀ ﬃ \u0130\u0307 ΐ ΰ", "a\nb\r\nc\td"]


def _real_and_odd_documents() -> list[dict]:
    """The first reviews of the shared data (when present) and odd Unicode, titled or not."""
    docs = []
    if REVIEWS.exists():
        with gzip.open(REVIEWS, "rt") as handle:
            for number, line in zip(range(400), handle):
                row = json.loads(line)
                docs.append({"key": f"post:{5000 + number}", "kind": "reply",
                             "thread_id": 9000 + number // 5, "post_id": 5000 + number,
                             "title": row["paper_title"] if number % 5 == 0 else "",
                             "body": row["text"], "authors": ["Reviewer"], "tags": ["ml"],
                             "papers": [], "repos": [], "score": number % 7})
    for number, text in enumerate(ODD):
        docs.append({"key": f"post:{7000 + number}", "kind": "reply", "thread_id": 9999,
                     "post_id": 7000 + number, "title": ODD[-1 - number] if number % 2 else "",
                     "body": text, "authors": [], "tags": [], "papers": [], "repos": [],
                     "score": 0})
    return docs


def _by_whoosh_document_by_document(folder, docs, paired):
    """Each document through Whoosh's own writer, every field analyzed afresh (no word
    handed from one field to the next), spelling chunks as ``SearchIndex.build``'s."""
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), windex.make_schema(paired))
    writer = ix.writer(compound=False, codec=windex._codec())
    spelled: set = set()
    for number, doc in enumerate(docs):
        if number % windex.SPELLING_CHUNK == 0:
            spelled = set()
        values = windex.to_whoosh_document(doc, spelled)
        analysis._last.entry = None
        assert analysis.analyzed(values["text"], analysis.whoosh_chain()) == \
            analysis.analyzed(values["text"])  # the fast analyzer on this text: Whoosh's terms
        analysis._last.entry = None
        values["shingles"] = (" " + values["text"])[1:]  # another string: analyzed again
        assert values["sequence"] == analysis.word_sequence(
            analysis.analyzed(windex.stored_text(doc), analysis.whoosh_chain()))
        writer.add_document(**values)
    writer.commit()
    return whoosh_index.open_dir(str(folder)).reader()


COMMON = frozenset({"gradient", "descent", "the", "model", "paper", "result"})


@pytest.mark.parametrize("paired, batch", [(None, 2000), (frozenset(), 2000), (COMMON, 2000),
                                           (COMMON, 7)])
def test_a_rebuild_writes_what_whoosh_writes_document_by_document(tmp_path, monkeypatch,
                                                                  paired, batch):
    """``SearchIndex.build`` (the rebuild's words handed to ``BulkWriter.add_analyzed``, and
    recorded ``batch`` documents at a time) against Whoosh's writer given each document's
    fields, on real reviews and odd Unicode."""
    patches.apply()
    monkeypatch.setattr(bulk, "PENDING_DOCS", batch)
    docs = _documents() + _real_and_odd_documents()
    theirs = _by_whoosh_document_by_document(tmp_path / "whoosh", docs, paired)
    index = windex.SearchIndex(tmp_path / "ours")
    folder = index.new_generation(paired)
    assert index.build(folder, iter(docs)) == len(docs)
    _assert_same_index(theirs, whoosh_index.open_dir(str(folder)).reader(), len(docs))


@pytest.mark.parametrize("paired", [None, frozenset({"gradient", "descent", "neural", "network"})])
def test_the_bulk_writer_writes_whoosh_s_terms_postings_and_columns(tmp_path, paired):
    patches.apply()
    docs = _documents()
    options = {"compound": False, "codec": windex._codec()}
    theirs = _write(tmp_path / "whoosh", lambda ix: ix.writer(**options), docs, paired)
    ours = _write(tmp_path / "bulk", lambda ix: BulkWriter(ix, **options), docs, paired)
    _assert_same_index(theirs, ours, len(docs))
    assert any(theirs.doc_frequency(f, t) > 1024 for f, t in theirs.all_terms())  # several blocks


def _assert_same_index(theirs, ours, count, *, term_statistics: bool = True,
                       skip_fields: tuple = ()):
    """The same index, segments aside: each term's postings, the fields' lengths, the
    columns and the stored fields. ``term_statistics``: also every statistic the term index
    stores (one writer's segments; several processes' segments keep their own maxima, so
    only frequencies compare). ``skip_fields``: fields whose postings may differ."""
    terms = list(theirs.all_terms())
    assert terms == list(ours.all_terms())
    for fieldname, text in terms:
        if fieldname in skip_fields:
            continue
        if term_statistics:
            a, b = theirs._terms.term_info(fieldname, text), ours._terms.term_info(fieldname, text)
            assert (a.weight(), a.doc_frequency(), a.min_length(), a.max_length(), a.max_weight(),
                    a.min_id(), a.max_id()) == (b.weight(), b.doc_frequency(), b.min_length(),
                                                b.max_length(), b.max_weight(), b.min_id(), b.max_id())
        else:
            assert theirs.doc_frequency(fieldname, text) == ours.doc_frequency(fieldname, text)
            assert theirs.frequency(fieldname, text) == ours.frequency(fieldname, text)
        assert list(theirs.postings(fieldname, text).all_items()) == \
            list(ours.postings(fieldname, text).all_items())
    for fieldname in ("text", "shingles", "author"):
        assert theirs.field_length(fieldname) == ours.field_length(fieldname)
        assert [theirs.doc_field_length(d, fieldname) for d in range(count)] == \
            [ours.doc_field_length(d, fieldname) for d in range(count)]
    for column in ("key", "kind", "thread_id", "score", "created", "sequence"):
        assert list(theirs.column_reader(column, translate=False)) == \
            list(ours.column_reader(column, translate=False))
    assert [theirs.stored_fields(d) for d in range(count)] == \
        [ours.stored_fields(d) for d in range(count)]


def test_a_bulk_segment_takes_updates_deletions_and_merges(tmp_path):
    """Whoosh's own writer later updates, deletes and merges what the bulk writer wrote."""
    index = windex.SearchIndex(tmp_path)
    folder = index.new_generation()
    docs = _documents()
    assert index.build(folder, iter(docs)) == len(docs)
    index.switch_to(folder)
    index.apply([("post:3", None), ("post:4", dict(docs[4], body="a fresh kernel"))])
    index.writer().commit(optimize=True)  # merge the bulk segment with Whoosh's
    reader = index.searcher().reader()
    assert reader.doc_count() == len(docs) - 1
    assert "post:4" in {reader.stored_fields(d)["key"]
                        for d in reader.postings("text", "fresh").all_ids()}
