"""The one-pass analyzers give exactly Whoosh's chain's terms; snippets mark and escape."""
import re

import pytest

from forum.search.whoosh.analysis import FastWordAnalyzer, common_words, has_phrase, whoosh_chain
from forum.search.whoosh.snippets import snippet

TEXTS = [
    "".join(map(chr, range(128))) + " ab_c" + "".join(map(chr, range(127, -1, -1))),  # every ASCII
    "Gradient descent with momentum converges; gradients explode without clipping.",
    "Self-attention isn't O(n²): RL, GP & QA in the U.S.A. — naïve Über-Straße",
    "İstanbul ǅemal ﬁne x86-64 3.14 cs.LG hep-th/9901001 arXiv:1706.03762v2",
    "the of and to", "a", "", "word", "two words", "  spaced\n\nout\ttext  ",
    "Training trained trains; optimization optimizer optimizing. It can, US may.",
]


@pytest.mark.parametrize("shingles", [False, True])
@pytest.mark.parametrize("options", [{}, {"mode": "index"}, {"mode": "query"}, {"no_morph": True},
                                     {"positions": True}, {"chars": True}])
@pytest.mark.parametrize("text", TEXTS)
def test_fast_analyzer_matches_whoosh_chain(text, options, shingles):
    def terms(analyzer):
        return [(t.text, getattr(t, "pos", None), getattr(t, "startchar", None))
                for t in analyzer(text, **options)]
    assert terms(FastWordAnalyzer(shingles)) == terms(whoosh_chain(shingles))


def test_second_field_reuses_the_words_of_the_same_string():
    text = "Gradient descent again and again"
    assert [t.text for t in FastWordAnalyzer(True)(text)] == ["gradient descent", "descent again",
                                                              "again again"]
    assert [t.text for t in FastWordAnalyzer()(text)] == ["gradient", "descent", "again", "again"]
    assert [t.text for t in FastWordAnalyzer()(text, no_morph=True)] == [
        "gradient", "descent", "again", "again"]


@pytest.mark.parametrize("text, terms, expected", [
    ("Gradients <b>explode</b> & vanish", {"gradient"}, "<mark>Gradients</mark> &lt;b&gt;explode"),
    ("nothing here", {"gradient"}, None),
    ("the of", {"the"}, None),  # stop words never match
])
def test_snippet_marks_stems_and_escapes(text, terms, expected):
    html = snippet(text, frozenset(terms))
    assert html == expected if expected is None else expected in html


def test_snippet_picks_the_densest_window():
    text = "gradient " + "filler " * 60 + "gradient descent momentum " + "filler " * 60
    html = snippet(text, frozenset({"gradient", "descent", "momentum"}), width=80)
    assert html.count("<mark>") == 3 and html.startswith("…") and html.endswith("…")


def test_only_pairs_of_common_words_are_made_when_a_set_is_given():
    text = "Neural networks train; the neural network generalizes. Rare zorvex network."
    common = frozenset({"neural", "network", "train"})
    fast = [t.text for t in FastWordAnalyzer(True, common)(text)]
    assert fast == ["neural network", "network train", "train neural", "neural network"]
    # Whoosh's own chain (positions asked for) is filtered the same way
    slow = [t.text for t in FastWordAnalyzer(True, common)(text, positions=True)]
    assert slow == fast
    assert [t.text for t in FastWordAnalyzer(True, frozenset())(text)] == []
    assert [t.text for t in FastWordAnalyzer(True, common)("neural")] == []  # no one-word "pair"


@pytest.mark.parametrize("text, phrase, expected", [
    ("Training the neural networks quickly", ["neural", "network"], True),  # stems, stop words
    ("A network of neural cells", ["neural", "network"], False),  # both words, wrong order
    ("neural nets and a network", ["neural", "network"], False),
    ("spectral x mixture kernels; spectral mixture kernels", ["spectral", "mixtur", "kernel"], True),
    ("spectral mixture, mixture kernels", ["spectral", "mixtur", "kernel"], False),  # pairs apart
    ("", ["neural", "network"], False),
])
def test_has_phrase_checks_words_in_a_row(text, phrase, expected):
    assert has_phrase(text, phrase) is expected


def test_common_words_counts_documents_not_occurrences():
    texts = ["gradient gradient gradient descent", "gradient noise", "momentum", "descent noise"]
    assert common_words(texts, 0.5) == {"gradient", "descent", "nois"}
    assert common_words(texts, 0.75) == frozenset()


@pytest.mark.parametrize("text, terms, phrases, marked", [
    ("The neural network overfits; the network is neural only by name.", set(),
     [("neural", "network")], ["neural network"]),
    ("A mixture of experts, and experts of a mixture.", set(), [("mixtur", "expert")],
     ["mixture of experts"]),
    ("Neural networks: a network, neural.", {"network"}, [("neural", "network")],
     ["Neural networks", "network"]),  # a word inside the phrase is marked once, with it
    ("Training large models <fast>", {"train"}, [("larg", "model")], ["Training", "large models"]),
])
def test_snippet_marks_phrases_as_one_and_only_where_the_words_follow(text, terms, phrases, marked):
    html = snippet(text, frozenset(terms), phrases=tuple(phrases))
    assert re.findall(r"<mark>(.*?)</mark>", html) == marked
    assert "<fast>" not in html  # escaped


def _random_text(rng, vocabulary, longest: int) -> str:
    """Up to ``longest`` words of ``vocabulary``, joined by one kind of separator."""
    return rng.choice([" ", ", ", "-", ".\n"]).join(rng.choices(vocabulary, k=rng.randint(1, longest)))


def test_the_phrase_check_on_ascii_text_agrees_with_analyzing_the_whole_text():
    """``has_phrase`` stems only the words that start like the phrase; it must answer as the
    whole analyzed text does, stop words between the words, hyphens and odd forms included."""
    import random
    from forum.search.whoosh.analysis import _has_phrase_analyzed, analyzed
    vocabulary = ("generalization generalizing generalize general dying die lying ties skies sky "
                  "happy happiness possibility possible the of and a in gradient-descent descent "
                  "x_1 Gradient GRADIENT 2301 self-attention attention O'Neil early ugly").split()
    rng = random.Random(3)
    checked = 0
    for _ in range(3000):
        text = _random_text(rng, vocabulary, 12)
        words = analyzed(" ".join(rng.choices(vocabulary, k=rng.randint(1, 3))))
        if words:
            checked += 1
            assert has_phrase(text, words) is _has_phrase_analyzed(text, words), (text, words)
    assert checked > 2000


@pytest.mark.parametrize("title", ["", "Généralisation of self-attention", "RL: A-B test"])
def test_a_document_s_words_handed_to_the_analyzers_are_the_ones_they_would_find(title):
    from forum.search.whoosh.analysis import _words
    from forum.search.whoosh.index import spelling_words, to_whoosh_document
    body = "İstanbul naïve Gradient-descent; the O'Brien x_1 networks.\nMixture of experts"
    doc = {"key": "post:1", "kind": "reply", "title": title, "body": body, "extra": "2301.12345"}
    out = to_whoosh_document(doc)
    handed = _words(out["text"], morph=True)
    fresh = _words("".join(list(out["text"])), morph=True)  # an equal string, not the same one
    assert handed == fresh and handed
    assert [t.text for t in whoosh_chain()(out["text"])] == fresh
    assert out["spelling"] == spelling_words("".join(list(out["text"][len(title) + 1:] if title
                                                         else out["text"])))


def test_highlighting_ascii_text_marks_what_stemming_every_word_marks():
    """Snippets of ASCII text stem only the words that start like a searched term; the
    marks must be those of stemming every word."""
    import random
    from forum.search.whoosh import snippets
    from forum.search.whoosh.analysis import STOP_WORDS, TOKEN, analyzed, stem_word
    vocabulary = ("generalization generalizing general dying die lying skies sky happy the of "
                  "Gradient-descent descent x_1 GRADIENT 2301 self-attention O'Neil early").split()
    rng = random.Random(5)
    for _ in range(2000):
        text = _random_text(rng, vocabulary, 15)
        terms = frozenset(w for word in rng.choices(vocabulary, k=3) for w in analyzed(word))
        every_word = [m.span() for m in TOKEN.finditer(text) if (w := m.group(0).lower())
                      not in STOP_WORDS and stem_word(w) in terms]
        assert snippets._matches(text, terms) == every_word, (text, terms)


def test_highlighting_phrases_in_ascii_text_marks_what_stemming_every_word_marks():
    """With phrases, snippets of ASCII text stem only the words that start like a searched
    term or phrase word; the marks must be those of stemming every word."""
    import random
    from forum.search.whoosh import snippets
    from forum.search.whoosh.analysis import STOP_WORDS, TOKEN, analyzed, stem_word

    def every_word(text, terms, phrases):  # the marks of stemming every word
        stems, spans = [], []
        for match in TOKEN.finditer(text):
            if (word := match.group(0).lower()) not in STOP_WORDS:
                stems.append(stem_word(word))
                spans.append(match.span())
        found = [span for stem, span in zip(stems, spans) if stem in terms]
        for phrase in phrases:
            for at in range(len(stems)):
                if tuple(stems[at:at + len(phrase)]) == phrase:
                    found.append((spans[at][0], spans[at + len(phrase) - 1][1]))
        merged = []
        for begin, end in sorted(found):
            if merged and begin < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((begin, end))
        return merged
    vocabulary = ("generalization generalizing general dying die lying skies sky happy the of "
                  "Gradient-descent descent x_1 GRADIENT 2301 self-attention O'Neil early neural "
                  "network networks mixture experts").split()
    rng = random.Random(7)
    marked = 0
    for _ in range(2000):
        text = _random_text(rng, vocabulary, 15)
        terms = frozenset(w for word in rng.choices(vocabulary, k=rng.randint(0, 2))
                          for w in analyzed(word))
        words = text.replace(",", " ").replace("-", " ").replace(".", " ").split()
        picked = [rng.choices(vocabulary, k=3) if rng.random() < 0.3 else  # mostly from the text
                  words[(at := rng.randrange(len(words))):at + rng.randint(2, 3)]
                  for _ in range(rng.randint(1, 2))]
        phrases = tuple(tokens for chosen in picked
                        if len(tokens := tuple(analyzed(" ".join(chosen)))) > 1)
        expected = every_word(text, terms, phrases)
        marked += bool(expected)
        assert snippets._matches(text, terms, phrases) == expected, (text, terms, phrases)
    assert marked > 1000  # most texts have something marked: the phrases were found
