"""A rebuild's bulk segment writer writes what Whoosh's own writer writes, term for term."""
from datetime import datetime, timedelta, timezone

import pytest
from whoosh import index as whoosh_index

from forum.search.whoosh import index as windex, patches
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


@pytest.mark.parametrize("paired", [None, frozenset({"gradient", "descent", "neural", "network"})])
def test_the_bulk_writer_writes_whoosh_s_terms_postings_and_columns(tmp_path, paired):
    patches.apply()
    docs = _documents()
    options = {"compound": False, "codec": windex._codec()}
    theirs = _write(tmp_path / "whoosh", lambda ix: ix.writer(**options), docs, paired)
    ours = _write(tmp_path / "bulk", lambda ix: BulkWriter(ix, **options), docs, paired)
    terms = list(theirs.all_terms())
    assert terms == list(ours.all_terms())
    assert any(theirs.doc_frequency(f, t) > 1024 for f, t in terms)  # several blocks
    for fieldname, text in terms:
        a, b = theirs._terms.term_info(fieldname, text), ours._terms.term_info(fieldname, text)
        assert (a.weight(), a.doc_frequency(), a.min_length(), a.max_length(), a.max_weight(),
                a.min_id(), a.max_id()) == (b.weight(), b.doc_frequency(), b.min_length(),
                                            b.max_length(), b.max_weight(), b.min_id(), b.max_id())
        assert list(theirs.postings(fieldname, text).all_items()) == \
            list(ours.postings(fieldname, text).all_items())
    for fieldname in ("text", "shingles", "author"):
        assert theirs.field_length(fieldname) == ours.field_length(fieldname)
        assert [theirs.doc_field_length(d, fieldname) for d in range(len(docs))] == \
            [ours.doc_field_length(d, fieldname) for d in range(len(docs))]
    for column in ("key", "kind", "thread_id", "score", "created", "sequence"):
        assert list(theirs.column_reader(column, translate=False)) == \
            list(ours.column_reader(column, translate=False))
    assert [theirs.stored_fields(d) for d in range(len(docs))] == \
        [ours.stored_fields(d) for d in range(len(docs))]


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
