"""Benchmark: full-text search engines side by side, on the same posts, in one run.

Run by ``make bench`` (with ``-n 20000``, so that the whole bench stays within a
few minutes) or, for the issue's figures at the default N of 100,000::

    .venv/bin/python bench/search.py                     # generated corpus
    .venv/bin/python bench/search.py --corpus ../shared/data/openreview_neurips2023_reviews.jsonl.gz

``--workdir DIR`` keeps the databases and indexes in DIR and reuses the
database on the next run with the same corpus and N (``--no-reindex`` also
reuses the index), for quick iterations. ``--engines whoosh,fts5`` picks the
engines; each is one ``Engine`` subclass in ``ENGINES`` (``build``, ``search``,
``reply``), so adding one (the PostgreSQL backend: a ``ForumEngine`` with
``SEARCH_BACKEND=postgres`` and a PostgreSQL URL) is one class and one line.

The machine is shared, so timings are printed as wall and CPU time
(``time.process_time``), and every figure is compared with SQLite FTS5 measured
in the same run.

1. Threads have a realistic spread of replies (``thread_sizes``): most have a
   few, a long tail has hundreds (one reaches ``MAX_THREAD``), so grouping by
   thread and counting matching threads are exercised as on a real forum. With
   ``--corpus`` (the OpenReview reviews), each paper is a thread and its
   reviews the replies, as they came.
2. Times each engine's full rebuild, wall and CPU time. The forum's engines rebuild
   from the forum's database (``outbox.rebuild``: read every row, rendered HTML to
   plain text, build and write the index; with ``--procs``, the Whoosh rebuild's
   workers' CPU included). FTS5 is timed twice, with ``--rebuilds`` turns of all
   three in a row: ``fts5`` is the INSERT of rows prepared in Python from the
   in-memory corpus (no database read, the raw text; kept so ratios stay
   comparable with the issue's first baseline), ``fts5 from the database``
   reads the same documents the forum's rebuild indexes (``documents.iter_all``: the rendered posts as plain text, tags,
   dates) and inserts them, the same work up to the index itself: the fair baseline.
3. Times each query kind through the engine's whole search path: for the
   forum's engines ``services.search`` (parse, rank, group per thread with the
   exact count, highlight, load the threads); for FTS5 the equivalent SQL (one
   grouped page with snippets, plus the count of matching threads). A second
   baseline, ``fts5+page`` (added whenever ``fts5`` runs beside a forum engine),
   then loads the page's threads with the forum's own loader, so that both sides
   do the whole path; the ratios to both are printed.
4. Times a reply through ``threads.services.reply`` (the outbox row; the index
   is written beside it by the background indexer).
5. Relevance (``--corpus`` only): the known-item test. For ``--known-items``
   reviews, three of its rarer words (in 2 to 50 reviews) are the query; a hit is
   the review's thread in the top 10. Reported as a percentage per engine.
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from markupsafe import escape  # noqa: E402
from sqlalchemy import select  # noqa: E402

from forum import create_app  # noqa: E402
from forum.accounts.models import User  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.search import outbox, services  # noqa: E402
from forum.threads import services as threads  # noqa: E402
from forum.threads.models import Post, Tag, Thread, thread_tags  # noqa: E402

MAX_THREAD = 1_000  # the longest thread's posts (the "1,000-reply thread")
AUTHORS = 500
TAGS = ["rl", "nlp", "cv", "theory", "optimization", "gp", "qa", "graphs", "diffusion", "llm"]
VOCABULARY = """model training data learning neural network gradient descent loss function
attention transformer layer parameter optimization convergence generalization benchmark dataset
evaluation baseline experiment result ablation architecture representation embedding token
sequence language vision image policy reward agent environment reinforcement supervised
unsupervised contrastive pretraining finetuning inference sampling diffusion score kernel
gaussian process bayesian posterior prior variational likelihood estimator variance bias
regularization dropout normalization batch stochastic adam momentum learning-rate schedule
warmup scaling law compute budget efficiency memory throughput latency hardware accelerator
graph node edge message passing convolution pooling recurrent memory retrieval augmented
prompt instruction alignment preference feedback human safety robustness adversarial attack
defense privacy federated distributed parallel theorem proof bound lemma assumption claim
evidence reproduce replicate code repository implementation hyperparameter seed variance
significance statistical test table figure appendix section paper authors reviewer question
weakness strength novelty clarity motivation related work limitation future direction""".split()
FILLER = "the a of and to in is that for on with as this we it be are by not".split()
def _rare_words(count: int, rng: random.Random) -> list[str]:
    syllables = ("ka lo mi ner tu vex dra pol sen qui ra to bel cor dim fa gen hy is jor lu mor ni "
                 "op pra sto ul ven wi zor").split()
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    return ordered


RARE_WORDS = 20_000
MIX = (40, 53, 7)  # % of words: function words, long-tail words, research vocabulary
PHRASES = (("gradient descent", 0.03), ("neural network", 0.10))  # share of posts with each


def rarer_word_phrase(corpus: Path | None) -> str:
    """A phrase whose first word is in fewer posts than the index pairs (index.PAIRED_MIN_DOCS),
    so it is found by its words and checked on each candidate's words: the phrase path's slow case."""
    if corpus:
        return '"mixture of experts"'
    rare = _rare_words(RARE_WORDS, random.Random(5))  # as generated_corpus draws them
    return f'"{rare[500]} gradient"'  # Zipf rank 500 of the long tail: ~900 of 100,000 posts


def generated_corpus(n: int, seed: int = 5):
    rng = random.Random(seed)
    rare = _rare_words(RARE_WORDS, rng)
    research_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(VOCABULARY))))
    rare_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(rare))))
    for _ in range(n):
        kinds = rng.choices((0, 1, 2), weights=MIX, k=rng.randint(20, 160))
        research = iter(rng.choices(VOCABULARY, cum_weights=research_weights, k=kinds.count(2)))
        tail = iter(rng.choices(rare, cum_weights=rare_weights, k=kinds.count(1)))
        words = [rng.choice(FILLER) if kind == 0 else next(tail) if kind == 1 else next(research)
                 for kind in kinds]
        for phrase, share in PHRASES:
            if rng.random() < share:
                words.insert(rng.randrange(len(words) + 1), phrase)
        yield " ".join(words).capitalize() + "."


def real_corpus(path: Path, n: int) -> list[dict]:
    """The first ``n`` reviews: text, the paper (forum_id) they discuss and its title."""
    found = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            row = json.loads(line)
            # NUL bytes, which some reviews hold, never reach the forum's database: its
            # forms refuse them (and PostgreSQL's text cannot store them)
            found.append({"text": row["text"].replace("\x00", "")[:6000], "thread": row["forum_id"],
                          "title": row["paper_title"].replace("\x00", "")[:200]})
            if len(found) >= n:
                break
    return found


def thread_sizes(n: int, rng: random.Random) -> list[int]:
    """Posts per thread, summing to ``n``: a long tail (Pareto), one thread of ``MAX_THREAD``
    when the corpus is large enough, most threads with a handful."""
    sizes = [MAX_THREAD] if n >= 20 * MAX_THREAD else []
    while sum(sizes) < n:
        sizes.append(min(MAX_THREAD // 2, int(rng.paretovariate(1.1))))
    sizes[-1] -= sum(sizes) - n
    return [s for s in sizes if s > 0]


@dataclass
class Corpus:
    """Threads (title, tag) and posts (thread index, text, date); post 0 of a thread opens it."""
    label: str
    titles: list[str] = field(default_factory=list)
    posts: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def make(cls, args) -> "Corpus":
        if args.corpus:
            corpus = cls(label=f"--corpus {args.corpus.name}")
            index: dict[str, int] = {}
            for row in real_corpus(args.corpus, args.posts):
                if row["thread"] not in index:
                    index[row["thread"]] = len(corpus.titles)
                    corpus.titles.append(row["title"])
                corpus.posts.append((index[row["thread"]], row["text"]))
            corpus.posts.sort(key=lambda p: p[0])  # stable: each thread's posts together, in order
            return corpus
        corpus = cls(label="generated")
        texts = iter(generated_corpus(args.posts))
        for number, size in enumerate(thread_sizes(args.posts, random.Random(11))):
            first = next(texts)
            corpus.titles.append(" ".join(first.split()[:8])[:200])
            corpus.posts += [(number, first)] + [(number, next(texts)) for _ in range(size - 1)]
        return corpus

    def spread(self) -> str:
        counts: dict[int, int] = {}
        for thread, _ in self.posts:
            counts[thread] = counts.get(thread, 0) + 1
        ordered = sorted(counts.values())
        return (f"{len(self.posts):,} posts in {len(ordered):,} threads; posts per thread: median "
                f"{statistics.median(ordered):.0f}, p99 {ordered[int(len(ordered) * 0.99)]}, "
                f"max {ordered[-1]}")


START = datetime(2023, 1, 1, tzinfo=timezone.utc)


def post_dates(count: int, rng: random.Random) -> list[datetime]:
    """When each post was written: over three years (the FTS5 table gets the same dates)."""
    return [START + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60)) for _ in range(count)]


def seed_database(corpus: Corpus) -> None:
    """Users, tags, threads and replies with plain Core inserts (no ORM events, no outbox)."""
    rng = random.Random(7)
    when = post_dates(len(corpus.posts), rng)
    conn = db.session.connection()
    conn.execute(User.__table__.insert(), [
        {"username": f"user{i}", "email": f"user{i}@example.org", "password_hash": "x",
         "display_name": f"User {i}", "created_at": START} for i in range(AUTHORS)])
    conn.execute(Tag.__table__.insert(), [{"name": t} for t in TAGS])
    user_ids = list(db.session.scalars(select(User.id)))
    tag_ids = list(db.session.scalars(select(Tag.id)))
    openers = {}
    for at, (thread, _) in enumerate(corpus.posts):
        openers.setdefault(thread, at)
    rows = []
    for thread, title in enumerate(corpus.titles):
        at = openers[thread]
        text = corpus.posts[at][1]
        rows.append({"id": thread + 1, "title": title or "Untitled", "body": text,
                     "body_html": f"<p>{escape(text)}</p>", "author_id": rng.choice(user_ids),
                     "created_at": when[at], "last_activity_at": when[at],
                     "score": rng.randint(-3, 40), "reply_count": 0})
    conn.execute(Thread.__table__.insert(), rows)
    conn.execute(thread_tags.insert(), [{"thread_id": t + 1, "tag_id": tag_ids[thread_tag(t)]}
                                        for t in range(len(corpus.titles))])
    conn.execute(Post.__table__.insert(), [
        {"thread_id": thread + 1, "author_id": rng.choice(user_ids), "body": text,
         "body_html": f"<p>{escape(text)}</p>", "created_at": when[at],
         "score": rng.randint(-2, 20), "up_count": 0, "down_count": 0,
         "stance": rng.choice([None, "supports", "challenges", "question", "evidence"])}
        for at, (thread, text) in enumerate(corpus.posts) if openers[thread] != at])
    db.session.commit()


def thread_tag(thread: int) -> int:
    return thread % len(TAGS)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000)


class Timer:
    """Wall and CPU time of one call: (wall seconds, CPU seconds of this process)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


# ---------------------------------------------------------------------------
# Engines: each builds its index over the same posts and answers the same queries.

# name: (the forum's query, sort, page, FTS5 MATCH, FTS5 tag, FTS5 date)
QUERIES = {
    "one word": ("gradient", "relevance", 1, "gradient", None, None),
    "two words (highlighted top 10)": ("gradient descent", "relevance", 1, "gradient descent", None, None),
    "phrase": ('"neural network"', "relevance", 1, '"neural network"', None, None),
    "phrase, three words": ('"neural network gradient"', "relevance", 1, '"neural network gradient"', None, None),
    "phrase, rarer word": None,  # set by main(): a word of about 900 posts next to "gradient"
    "filter": ("tag:rl policy", "relevance", 1, "policy", "rl", None),
    "date filter": ("gradient after:2024-06-01", "relevance", 1, "gradient", None, "2024-06-01"),
    "two words, newest first": ("gradient descent", "newest", 1, "gradient descent", None, None),
    "prefix": ("optim*", "relevance", 1, "optim*", None, None),
    "two words, page 5": ("gradient descent", "relevance", 5, "gradient descent", None, None),
}
PER_PAGE = services.PER_PAGE


@dataclass
class Rebuild:
    """One rebuild: what it wrote, its wall time and CPU time (workers included)."""
    count: int
    what: str
    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.count:,} {self.what} in {self.wall:.1f} s wall, {self.cpu:.1f} s CPU"


class Engine:
    name = ""

    def build(self) -> Rebuild:
        """Rebuild the whole index."""
        raise NotImplementedError

    def search(self, text: str, sort: str = "relevance", page: int = 1, spec=None) -> list[int]:
        """Thread ids of the page, best first (thread id = corpus thread index + 1)."""
        raise NotImplementedError

    def reply(self, number: int) -> None:
        """Post one reply as a member would (engines without a forum path skip it)."""

    def close(self) -> None:
        pass


class ForumEngine(Engine):
    """The forum's own search path (``services.search``) over one of its backends."""

    def __init__(self, name: str, app, procs: int):
        self.name, self.app, self.procs = name, app, procs

    def build(self) -> Rebuild:
        with self.app.app_context():
            before, started = os.times(), time.perf_counter()
            options = {"procs": self.procs} if self.name == "whoosh" else {}
            count = outbox.rebuild(**options)
            wall, after = time.perf_counter() - started, os.times()
        return Rebuild(count, "documents", wall, sum(after[:4]) - sum(before[:4]))

    def search(self, text, sort="relevance", page=1, spec=None):
        with self.app.test_request_context():
            outcome = services.search(text, sort=sort, page=page)
            found = [r.group.thread_id for r in outcome.results]
            db.session.remove()
        return found

    def reply(self, number: int) -> None:
        with self.app.app_context():
            thread = db.session.get(Thread, 1 + number % 50)
            author = db.session.get(User, 1 + number % AUTHORS)
            threads.reply(thread, author, f"A fresh benchmark reply number {number} on gradient noise.")
            db.session.remove()


class Fts5Engine(Engine):
    """SQLite FTS5 (porter stemmer; title weighs twice) answering the same page the forum
    shows: threads grouped by their best post, the count of matching threads, snippets."""

    name = "fts5"
    CREATE = ("CREATE VIRTUAL TABLE fts USING fts5(title, body, thread UNINDEXED, "
              "tag UNINDEXED, created UNINDEXED, tokenize='porter unicode61')")

    def __init__(self, corpus: Corpus, path: Path, app=None):
        self.corpus, self.path, self.conn, self.app = corpus, path, None, app

    def build(self) -> Rebuild:
        """The earlier baseline: only the INSERT of rows made in Python from the corpus in
        memory (the raw text; no database read), this process's CPU."""
        self.path.unlink(missing_ok=True)
        dates = [d.date().isoformat() for d in post_dates(len(self.corpus.posts), random.Random(7))]
        conn = sqlite3.connect(self.path)
        conn.execute(self.CREATE)
        seen: set[int] = set()
        rows = []
        for at, (thread, text) in enumerate(self.corpus.posts):
            title = self.corpus.titles[thread] if thread not in seen else ""
            seen.add(thread)
            rows.append((title, text, thread + 1, TAGS[thread_tag(thread)], dates[at]))
        started, cpu = time.perf_counter(), time.process_time()
        conn.executemany("INSERT INTO fts VALUES (?, ?, ?, ?, ?)", rows)
        conn.commit()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        conn.close()
        return Rebuild(len(rows), "rows", wall, cpu)

    def build_from_database(self) -> Rebuild:
        """The fair baseline: the documents the forum's rebuild indexes, read from the
        forum's database as it reads them (``documents.iter_all``: rows, rendered HTML to
        plain text, tags, dates), inserted into a table of their own (the queries keep
        the ``build`` table). Timed from the first read to the commit."""
        from sqlalchemy.orm import Session
        from forum.search import documents
        path = self.path.with_name("fts-db.db")
        path.unlink(missing_ok=True)
        with self.app.app_context():
            before, started = os.times(), time.perf_counter()
            conn = sqlite3.connect(path)
            conn.execute(self.CREATE)
            reading = db.engine.execution_options(forum_read_only=True)
            conn.executemany("INSERT INTO fts VALUES (?, ?, ?, ?, ?)", (
                (doc["title"], doc["body"], doc.get("thread_id") or 0, ",".join(doc["tags"]),
                 doc["created"].date().isoformat())
                for doc in documents.iter_all(lambda: Session(reading))))
            conn.commit()
            wall, after = time.perf_counter() - started, os.times()
        count = conn.execute("SELECT count(*) FROM fts").fetchone()[0]
        conn.close()
        return Rebuild(count, "documents", wall, sum(after[:4]) - sum(before[:4]))

    def search(self, text, sort="relevance", page=1, spec=None):
        return self.page_of(text, sort, page, spec)[0]

    def page_of(self, text, sort="relevance", page=1, spec=None) -> tuple[list[int], list]:
        """The page's thread ids, and (thread, snippet) rows of their matching posts."""
        match, tag, after = (spec[3], spec[4], spec[5]) if spec else (fts_words(text), None, None)
        if self.conn is None:
            self.conn = sqlite3.connect(self.path)
        where, args = "fts MATCH ?", [match]
        if tag:
            where, args = where + " AND tag = ?", args + [tag]
        if after:
            where, args = where + " AND created >= ?", args + [after]
        order = "max(created) DESC" if sort == "newest" else "min(score)"
        page_rows = self.conn.execute(
            f"WITH hits AS MATERIALIZED (SELECT thread, created, bm25(fts, 2.0, 1.0) AS score "
            f"FROM fts WHERE {where}) SELECT thread FROM hits GROUP BY thread ORDER BY {order} "
            f"LIMIT {PER_PAGE} OFFSET {(page - 1) * PER_PAGE}", args).fetchall()
        self.conn.execute(f"SELECT count(DISTINCT thread) FROM fts WHERE {where}", args).fetchone()
        shown = [row[0] for row in page_rows]
        snippets = []
        if shown:
            marks = ",".join("?" * len(shown))
            snippets = self.conn.execute(
                f"SELECT thread, snippet(fts, 1, '<mark>', '</mark>', '…', 24) FROM fts "
                f"WHERE {where} AND thread IN ({marks})", args + shown).fetchall()
        return shown, snippets

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class Fts5PageEngine(Fts5Engine):
    """A second FTS5 baseline, labelled ``fts5+page``: FTS5's page as above, then the page's
    threads loaded as the forum shows them (titles, authors, tags, cited papers), by the
    forum's own loader (``services.shown_results``) in a request context, as
    ``ForumEngine.search`` does. The plain ``fts5`` figure loads nothing to show, so
    against it the forum's whole path also pays for loading the page; against this one
    both sides do the whole path. Both ratios are printed. Its snippets stand for the
    threads' (FTS5 has no post ids), so the shown replies' authors are not asked."""

    name = "fts5+page"

    def __init__(self, corpus: Corpus, path: Path, app):
        super().__init__(corpus, path)
        self.app = app

    def build(self) -> str:
        if self.path.exists():
            return "the fts5 engine's table, shared"
        return super().build()

    def search(self, text, sort="relevance", page=1, spec=None):
        from forum.search.backend import ResultGroup, Snippet
        shown, snippets = self.page_of(text, sort, page, spec)
        first: dict[int, str] = {}
        for thread, html in snippets:
            first.setdefault(thread, html)
        groups = [ResultGroup(kind="thread", thread_id=thread, keys=[f"thread:{thread}"],
                              snippets=[Snippet(key=f"thread:{thread}", kind="thread",
                                                post_id=None, html=first.get(thread, ""))])
                  for thread in shown]
        with self.app.test_request_context():
            services.shown_results(groups)
            db.session.remove()
        return shown


def fts_words(text: str) -> str:
    """Plain words to an FTS5 query (AND of quoted words)."""
    return " ".join(f'"{w}"' for w in text.split())


def time_queries(engine: Engine, repeats: int) -> dict:
    """Query name -> ((wall p50, p95), (CPU p50, p95)) in ms."""
    out = {}
    for name, spec in QUERIES.items():
        text, sort, page = spec[0], spec[1], spec[2]
        engine.search(text, sort, page, spec)  # warm
        walls, cpus = [], []
        for _ in range(repeats):
            with Timer() as timer:
                engine.search(text, sort, page, spec)
            walls.append(timer.wall)
            cpus.append(timer.cpu)
        out[name] = (percentiles(walls), percentiles(cpus))
    return out


def time_replies(engine: Engine, count: int):
    walls, cpus = [], []
    for number in range(count):
        with Timer() as timer:
            engine.reply(number)
        walls.append(timer.wall)
        cpus.append(timer.cpu)
    return percentiles(walls), percentiles(cpus)


# ---------------------------------------------------------------------------
# Relevance: the known-item test on real reviews

KNOWN_ITEM_TOP = 10
RARE_DF = (2, 50)  # "rarer words": in this many reviews


def known_items(corpus: Corpus, count: int, seed: int = 13) -> list[tuple[str, int]]:
    """(query of three rarer words of a review, its thread id) for ``count`` reviews."""
    import re
    words_of = [set(re.findall(r"[a-z]{4,}", text.lower())) for _, text in corpus.posts]
    frequency: dict[str, int] = {}
    for words in words_of:
        for word in words:
            frequency[word] = frequency.get(word, 0) + 1
    rng = random.Random(seed)
    chosen = []
    for at in rng.sample(range(len(corpus.posts)), min(count * 2, len(corpus.posts))):
        rare = sorted(w for w in words_of[at] if RARE_DF[0] <= frequency[w] <= RARE_DF[1])
        if len(rare) >= 3:
            chosen.append((" ".join(rng.sample(rare, 3)), corpus.posts[at][0] + 1))
        if len(chosen) >= count:
            break
    return chosen


def relevance(engine: Engine, items: list[tuple[str, int]]) -> float:
    found = sum(1 for query, thread in items if thread in engine.search(query)[:KNOWN_ITEM_TOP])
    return 100.0 * found / max(1, len(items))


# ---------------------------------------------------------------------------


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def forum_app(folder: Path, corpus: Corpus, args, **config):
    """The forum over a seeded SQLite database in ``folder`` (reused when it matches)."""
    meta = {"posts": args.posts, "corpus": corpus.label, "version": 4}
    meta_file = folder / "meta.json"
    reuse = meta_file.exists() and json.loads(meta_file.read_text()) == meta
    if not reuse:
        for name in ("forum.db", "forum.db-wal", "forum.db-shm"):
            (folder / name).unlink(missing_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'forum.db'}",
                      "SEARCH_INDEX_DIR": str(folder / "index"), "SECRET_KEY": "bench",
                      "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": False,
                      "SEARCH_INDEXER": "background", **config})
    if not reuse:
        with app.app_context():
            upgrade(revision="heads")
            seed_database(corpus)
        meta_file.write_text(json.dumps(meta))
    return app


def make_engines(names: list[str], folder: Path, corpus: Corpus, args) -> list[Engine]:
    engines: list[Engine] = []
    app = forum_app(folder, corpus, args)  # FTS5's fair baseline reads its database too
    for name in names:
        if name == "whoosh":
            engines.append(ForumEngine("whoosh", app, args.procs))
        elif name == "fts5":
            engines.append(Fts5Engine(corpus, folder / "fts.db", app))
        else:  # the PostgreSQL backend joins here: ForumEngine("postgres", app over PostgreSQL)
            raise SystemExit(f"unknown engine {name!r}; known: whoosh, fts5")
    forum = next((e for e in engines if isinstance(e, ForumEngine)), None)
    if "fts5" in names and forum is not None:  # the second baseline: FTS5 plus the page's threads
        engines.append(Fts5PageEngine(corpus, folder / "fts.db", forum.app))
    return engines


def compare_rebuilds(rebuilds: dict[str, list[Rebuild]]) -> None:
    """Each forum engine's median rebuild against each FTS5 baseline's, wall and CPU."""
    medians = {name: (statistics.median(r.wall for r in done), statistics.median(r.cpu for r in done))
               for name, done in rebuilds.items()}
    for name, (wall, cpu) in medians.items():
        if name.startswith("fts5"):
            continue
        for base in ("fts5", "fts5 from the database"):
            if base in medians:
                bwall, bcpu = medians[base]
                print(f"rebuild {name} / {base} (median of {len(rebuilds[name])}): wall {wall:.1f} / "
                      f"{bwall:.1f} s = {wall / max(bwall, 1e-3):.1f}x, CPU {cpu:.1f} / {bcpu:.1f} s "
                      f"= {cpu / max(bcpu, 1e-3):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--posts", type=int, default=100_000)
    parser.add_argument("--corpus", type=Path, help="the reviews JSONL.gz (text, forum_id, paper_title)")
    parser.add_argument("--engines", default="whoosh,fts5")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--replies", type=int, default=100)
    parser.add_argument("--known-items", type=int, default=300)
    parser.add_argument("--procs", type=int, default=2,
                        help="the Whoosh rebuild's processes (search reindex --procs)")
    parser.add_argument("--rebuilds", type=int, default=1,
                        help="rebuild each engine this many times, in turns; medians compared")
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the database and index here")
    parser.add_argument("--no-reindex", action="store_true",
                        help="with --workdir: reuse the indexes too instead of timing rebuilds")
    args = parser.parse_args()

    rare = rarer_word_phrase(args.corpus)
    QUERIES["phrase, rarer word"] = (rare, "relevance", 1, rare, None, None)
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="bench-search-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"start: {load()}")
    started = time.perf_counter()
    corpus = Corpus.make(args)
    print(f"corpus ({corpus.label}): {corpus.spread()}")
    engines = make_engines(args.engines.split(","), folder, corpus, args)
    print(f"ready in {time.perf_counter() - started:.1f} s")
    rebuilds: dict[str, list[Rebuild]] = {}
    for turn in range(args.rebuilds):
        for engine in engines:
            if isinstance(engine, Fts5PageEngine):  # it reads the fts5 engine's table
                continue
            if args.no_reindex and (engine.name != "fts5" or (folder / "fts.db").exists()) \
                    and (engine.name == "fts5" or (folder / "index" / "current").exists()):
                print(f"{engine.name} rebuild: skipped (--no-reindex)")
                continue
            builds = [(engine.name, engine.build)]
            if isinstance(engine, Fts5Engine) and engine.app is not None:
                builds.append(("fts5 from the database", engine.build_from_database))
            for name, build in builds:
                done = build()
                rebuilds.setdefault(name, []).append(done)
                print(f"{name} rebuild: {done} ({load()})")
    compare_rebuilds(rebuilds)
    timings = {engine.name: time_queries(engine, args.repeats) for engine in engines}
    replies = {engine.name: time_replies(engine, args.replies)
               for engine in engines if isinstance(engine, ForumEngine)}
    for engine in engines:
        if isinstance(engine, ForumEngine):
            from forum.search import indexer
            indexer.wait_until_indexed(engine.app, timeout=60)
    print()
    bases = [name for name in timings if name.startswith("fts5")]  # fts5, and fts5+page
    pairs = [(name, base) for base in bases for name in timings if name not in bases]
    header = f"{'query':32}" + "".join(f" {name + ' p50':>12} {'p95':>7}" for name in timings)
    print(header + "".join(f" {name + '/' + base:>16}" for name, base in pairs) + "   (CPU ms)")
    for query in QUERIES:
        row = f"{query:32}"
        for name in timings:
            (_, _), (c50, c95) = timings[name][query]
            row += f" {c50:10.1f}ms {c95:5.1f}ms"
        for name, base in pairs:
            row += f" {timings[name][query][1][0] / max(timings[base][query][1][0], 1e-3):15.1f}x"
        print(row)
    for name, ((w50, w95), (c50, c95)) in replies.items():
        print(f"{'reply (' + name + ')':32} wall p50 {w50:.1f} ms, p95 {w95:.1f} ms; "
              f"CPU p50 {c50:.1f} ms")
    if args.corpus:
        items = known_items(corpus, args.known_items)
        for engine in (e for e in engines if not isinstance(e, Fts5PageEngine)):  # = fts5's
            print(f"relevance ({engine.name}): {relevance(engine, items):.1f}% of {len(items)} "
                  f"reviews in the top {KNOWN_ITEM_TOP} for three of their rarer words")
    print(f"(the forum's engines: the whole search path: parse, rank, group per thread with the "
          f"exact count, highlight, load threads; fts5: the grouped page, the count and "
          f"snippets in SQL; fts5+page: the same, then the page's threads loaded by the "
          f"forum's loader; end: {load()})")
    for engine in engines:
        engine.close()


if __name__ == "__main__":
    main()
