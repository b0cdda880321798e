"""Phrase checks read each document's ``sequence`` column (its words as hashes): the
answers are those of the check on the stored text, in bulk-written and updated segments,
and a hash that two words share sends the check back to the stored text."""
import random

from forum.search.whoosh import index as windex
from forum.search.whoosh.analysis import analyzed, has_phrase
from forum.search.whoosh.wquery import PhraseCheck, ambiguous_hashes, stored_text

WORDS = ("gradient descent neural network the of attention kernel policy reward tokens "
         "Généralisation naïve self-attention O'Brien x_1 2301.12345 generalizing").split()


def _doc(i: int, body: str, title: str = "") -> dict:
    return {"key": f"post:{i}", "kind": "reply", "thread_id": i // 3 + 1, "post_id": i,
            "title": title, "body": body, "authors": ["ada"], "tags": [], "papers": [],
            "repos": []}


def _index(tmp_path, docs):
    index = windex.SearchIndex(tmp_path)
    folder = index.new_generation()
    index.build(folder, iter(docs))
    index.switch_to(folder)
    return index


def test_the_sequence_check_agrees_with_the_stored_text_check(tmp_path):
    rng = random.Random(7)
    docs = [_doc(i, " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))),
                 title=" ".join(rng.sample(WORDS, 3)) if i % 4 == 0 else "")
            for i in range(300)]
    index = _index(tmp_path, docs)
    # a segment written by Whoosh's own writer (an update) has the column too
    index.apply([("post:5", _doc(5, "neural gradient descent of the network")),
                 ("post:400", _doc(400, "kernel policy reward naïve tokens"))])
    reader = index.searcher().reader()
    assert len(reader.leaf_readers()) == 2
    phrases = ["gradient descent", "neural network", "descent gradient", "the kernel policy",
               "naïve tokens", "self attention", "generalizing gradient", "x_1 2301.12345",
               "reward tokens gradient", "o brien"] + [
        " ".join(rng.sample(WORDS, rng.randint(2, 3))) for _ in range(30)]
    checked = 0
    for phrase in phrases:
        words = analyzed(phrase)
        if len(words) < 2:
            continue
        check = PhraseCheck(words)
        assert check._prepared(reader)[1] is not None  # the sequence, not the stored text
        for docnum in reader.all_doc_ids():
            expected = has_phrase(stored_text(reader.stored_fields(docnum)), words)
            assert check.check(reader, docnum) == expected, (phrase, docnum)
            checked += expected
    assert checked > 20  # the phrases are found, not only missed


def test_a_hash_two_words_share_is_checked_on_the_stored_text(tmp_path):
    # "plumless" and "buckeroo" have the same CRC-32
    docs = [_doc(1, "plumless talk then buckeroo gradient"), _doc(2, "plumless gradient here")]
    index = _index(tmp_path, docs)
    reader = index.searcher().reader()
    leaf = reader.leaf_readers()[0][0]
    assert ambiguous_hashes(leaf)
    check = PhraseCheck(analyzed("plumless gradient"))
    assert check._prepared(reader) == (None, None)
    assert [d for d in reader.all_doc_ids() if check.check(reader, d)] == [1]
