"""Did-you-mean from the vocabulary (``search_words``) with ``pg_trgm``.

For each word no document matches, the words sharing trigrams with it
(``%``, served by the trigram GIN index) are narrowed to those within two
edits, the most frequent first, and the first that is a real, different word
is offered: letters only, three or more of them, not a stop word, another stem
than the typed word, and found in a document now (the vocabulary keeps words
whose posts were deleted). Words of one or two letters (RL, GP) are never
corrected: too many words are one edit from them.
"""
from __future__ import annotations

from sqlalchemy import text

from forum.search.postgres.tsquery import CONFIG

MIN_LETTERS = 3
MAX_EDITS = 2
CANDIDATES = 20

KNOWN = (f"SELECT plainto_tsquery('{CONFIG}', :w)::text AS stem, EXISTS (SELECT 1 FROM "
         f"search_documents d WHERE d.tsv @@ plainto_tsquery('{CONFIG}', :w)) AS found")
NEIGHBOURS = ("SELECT word, ndoc FROM search_words WHERE word % :w AND word <> :w "
              "ORDER BY similarity(word, :w) DESC, ndoc DESC, word LIMIT :n")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def suggest(connection, words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in dict.fromkeys(words):
        lowered = word.lower()
        if len(lowered) < MIN_LETTERS or not lowered.isalpha():
            continue
        stem, found = connection.execute(text(KNOWN), {"w": lowered}).one()
        if found or not stem:  # known, or a stop word
            continue
        neighbours = connection.execute(text(NEIGHBOURS), {"w": lowered, "n": CANDIDATES}).all()
        close = sorted((n for n in neighbours if edit_distance(n.word, lowered) <= MAX_EDITS),
                       key=lambda n: (-n.ndoc, edit_distance(n.word, lowered), n.word))
        for candidate in close:
            other, real = connection.execute(text(KNOWN), {"w": candidate.word}).one()
            if real and other and other != stem:
                out[word] = candidate.word
                break
    return out
