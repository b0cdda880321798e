"""Benchmark: full-text search at scale, Whoosh (as the forum runs it) against SQLite FTS5.

Run by ``make bench`` (with ``-n 20000``, so that the whole bench stays within a
few minutes) or, for the issue's figures at the default N of 100,000::

    .venv/bin/python bench/search.py                     # generated corpus
    .venv/bin/python bench/search.py --corpus ../shared/data/openreview_neurips2023_reviews.jsonl.gz

``--workdir DIR`` keeps the database, the FTS5 table and the index in DIR and
reuses the database on the next run with the same corpus and N
(``--no-reindex`` also reuses the index), for quick iterations.

The machine is shared, so every timing is printed twice: wall time and the
process's own CPU time (``time.process_time``; children's CPU for the rebuild's
worker processes), which other work on the machine does not inflate. The load
average is printed with the figures.

1. Builds a SQLite database with the real migrations and N posts (one thread
   per 10 posts), generated or read from ``--corpus`` (the OpenReview reviews
   JSONL.gz in ../shared/data: one review per post). The generated text mixes
   function words, a research vocabulary (Zipf) and a long tail of 20,000
   rarer words (Zipf), calibrated against that real corpus: "gradient" is in
   about 17% of posts (12% of the real reviews) and "gradient descent" in
   about 5% (3%). A 200-word vocabulary alone would put every common word in
   half the posts, which no real forum has.
2. Times the real ``flask search reindex`` path (``outbox.rebuild``: database
   reads in short batches, a fresh generation folder, both cores) and the size
   on disk.
3. Times typical queries through ``services.search`` (parse, Whoosh, grouping
   by thread, highlighted snippets, loading the threads shown): p50/p95.
4. Times posting a reply through ``threads.services.reply``, which includes
   the outbox row and the index update after commit.
5. Runs the same queries on an FTS5 table over the same texts, for the ratio.

Targets at 100,000 posts (issue 5): two words highlighted top 10 p50 <= 15 ms
and p95 <= 60 ms; phrase p95 <= 200 ms; reply incl. index update p50 <= 50 ms;
full reindex <= 150 s.
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

POSTS_PER_THREAD = 10
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
QUERIES = {
    "one word": "gradient",
    "two words (highlighted top 10)": "gradient descent",
    "phrase": '"neural network"',
    "phrase, three words": '"neural network gradient"',
    "phrase, rarer word": None,  # set by main(): a word of about 900 posts next to "gradient"
    "filter": "tag:rl policy",
    "date filter": "gradient after:2024-06-01",
    "two words, newest first": "gradient descent",
    "prefix": "optim*",
    "two words, page 5": "gradient descent",
}


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
    so it is found by its words and checked on the stored text: the phrase path's slow case."""
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


def real_corpus(path: Path, n: int):
    count = 0
    while count < n:  # repeat the file when N is larger than it
        with gzip.open(path, "rt") as handle:
            for line in handle:
                yield json.loads(line)["text"][:6000]
                count += 1
                if count >= n:
                    return


START = datetime(2023, 1, 1, tzinfo=timezone.utc)


def post_dates(count: int, rng: random.Random) -> list[datetime]:
    """When each post was written: over three years (the FTS5 table gets the same dates)."""
    return [START + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60)) for _ in range(count)]


def seed_database(texts: list[str]) -> None:
    start = START
    rng = random.Random(7)
    when = post_dates(len(texts), rng)
    conn = db.session.connection()  # plain Core inserts: no ORM events, no outbox rows
    conn.execute(User.__table__.insert(), [
        {"username": f"user{i}", "email": f"user{i}@example.org", "password_hash": "x",
         "display_name": f"User {i}", "created_at": start} for i in range(AUTHORS)])
    conn.execute(Tag.__table__.insert(), [{"name": t} for t in TAGS])
    user_ids = list(db.session.scalars(select(User.id)))
    tag_ids = list(db.session.scalars(select(Tag.id)))
    n_threads = max(1, len(texts) // POSTS_PER_THREAD)
    conn.execute(Thread.__table__.insert(), [
        {"id": t + 1, "title": " ".join(texts[t * POSTS_PER_THREAD].split()[:8])[:200],
         "body": texts[t * POSTS_PER_THREAD], "body_html": str(escape(texts[t * POSTS_PER_THREAD])),
         "author_id": rng.choice(user_ids), "created_at": when[t * POSTS_PER_THREAD],
         "last_activity_at": when[t * POSTS_PER_THREAD], "score": rng.randint(-3, 40),
         "reply_count": POSTS_PER_THREAD - 1} for t in range(n_threads)])
    conn.execute(thread_tags.insert(), [
        {"thread_id": t + 1, "tag_id": rng.choice(tag_ids)} for t in range(n_threads)])
    conn.execute(Post.__table__.insert(), [
        {"thread_id": i // POSTS_PER_THREAD + 1, "author_id": rng.choice(user_ids),
         "body": texts[i], "body_html": str(escape(texts[i])), "created_at": when[i],
         "score": rng.randint(-2, 20), "up_count": 0, "down_count": 0,
         "stance": rng.choice([None, "supports", "challenges", "question", "evidence"])}
        for i in range(len(texts)) if i % POSTS_PER_THREAD and i // POSTS_PER_THREAD < n_threads])
    db.session.commit()


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


def time_whoosh(app, repeats: int) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Query name -> ((wall p50, p95), (CPU p50, p95)) in ms."""
    out = {}
    for name, text in QUERIES.items():
        page = 5 if "page 5" in name else 1
        sort = "newest" if "newest" in name else "relevance"
        walls, cpus = [], []
        with app.test_request_context():
            services.search(text, sort=sort, page=page)  # warm
            for _ in range(repeats):
                with Timer() as timer:
                    services.search(text, sort=sort, page=page)
                walls.append(timer.wall)
                cpus.append(timer.cpu)
                db.session.remove()
        out[name] = (percentiles(walls), percentiles(cpus))
    return out


FTS_QUERIES = {  # name: (WHERE, arguments, ORDER BY, OFFSET)
    "one word": ("body MATCH ?", ["gradient"], "rank", 0),
    "two words (highlighted top 10)": ("body MATCH ?", ["gradient descent"], "rank", 0),
    "phrase": ("body MATCH ?", ['"neural network"'], "rank", 0),
    "phrase, three words": ("body MATCH ?", ['"neural network gradient"'], "rank", 0),
    "phrase, rarer word": ("body MATCH ?", [None], "rank", 0),
    "filter": ("body MATCH ? AND tag = ?", ["policy", "rl"], "rank", 0),
    "date filter": ("body MATCH ? AND created >= ?", ["gradient", "2024-06-01"], "rank", 0),
    "two words, newest first": ("body MATCH ?", ["gradient descent"], "created DESC", 0),
    "prefix": ("body MATCH ?", ["optim*"], "rank", 0),
    "two words, page 5": ("body MATCH ?", ["gradient descent"], "rank", 40),
}


def build_fts5(texts: list[str], tags: list[str], dates: list[str], path: Path) -> float:
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(body, tag UNINDEXED, created UNINDEXED, "
                 "tokenize='porter unicode61')")
    started = time.perf_counter()
    conn.executemany("INSERT INTO fts(body, tag, created) VALUES (?, ?, ?)", zip(texts, tags, dates))
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def time_fts5(path: Path, repeats: int):
    conn = sqlite3.connect(path)
    out = {}
    for name, (where, args, order, offset) in FTS_QUERIES.items():
        sql = (f"SELECT rowid, snippet(fts, 0, '<mark>', '</mark>', '…', 24) FROM fts "
               f"WHERE {where} ORDER BY {order} LIMIT 10 OFFSET {offset}")
        conn.execute(sql, args).fetchall()
        walls, cpus = [], []
        for _ in range(repeats):
            with Timer() as timer:
                conn.execute(sql, args).fetchall()
            walls.append(timer.wall)
            cpus.append(timer.cpu)
        out[name] = (percentiles(walls), percentiles(cpus))
    conn.close()
    return out


def time_replies(app, count: int):
    walls, cpus = [], []
    with app.app_context():
        for i in range(count):
            thread = db.session.get(Thread, 1 + i % 50)
            author = db.session.get(User, 1 + i % AUTHORS)
            with Timer() as timer:
                threads.reply(thread, author, f"A fresh benchmark reply number {i} on gradient noise.")
            walls.append(timer.wall)
            cpus.append(timer.cpu)
            db.session.remove()
        assert outbox.pending_count() == 0
    return percentiles(walls), percentiles(cpus)


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def prepare(args, folder: Path) -> tuple[object, str]:
    """The app over a seeded database in ``folder`` (reused when it matches), and its label."""
    label = f"--corpus {args.corpus}" if args.corpus else "generated"
    meta = {"posts": args.posts, "corpus": label, "version": 3}
    meta_file = folder / "meta.json"
    reuse = meta_file.exists() and json.loads(meta_file.read_text()) == meta
    if not reuse:
        for name in ("forum.db", "forum.db-wal", "forum.db-shm", "fts.db"):
            (folder / name).unlink(missing_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'forum.db'}",
                      "SEARCH_INDEX_DIR": str(folder / "index"), "SECRET_KEY": "bench",
                      "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": False})
    if reuse:
        return app, f"{label}, database reused from {folder}"
    texts = list(real_corpus(args.corpus, args.posts) if args.corpus
                 else generated_corpus(args.posts))
    with app.app_context():
        upgrade(revision="heads")
        seed_database(texts)
    rng = random.Random(3)
    dates = [d.date().isoformat() for d in post_dates(len(texts), random.Random(7))]  # as seeded
    fts_build = build_fts5(texts, [rng.choice(TAGS) for _ in texts], dates, folder / "fts.db")
    print(f"fts5 build: {fts_build:.1f} s; {(folder / 'fts.db').stat().st_size / 1e6:.1f} MB on disk")
    meta_file.write_text(json.dumps(meta))
    return app, label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--posts", type=int, default=100_000)
    parser.add_argument("--corpus", type=Path, help="JSONL.gz with a 'text' field per line")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--replies", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the database and index here")
    parser.add_argument("--no-reindex", action="store_true",
                        help="with --workdir: reuse the index too instead of timing a rebuild")
    args = parser.parse_args()

    QUERIES["phrase, rarer word"] = rarer_word_phrase(args.corpus)
    FTS_QUERIES["phrase, rarer word"][1][0] = QUERIES["phrase, rarer word"]
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="bench-search-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"start: {load()}")
    started = time.perf_counter()
    app, label = prepare(args, folder)
    print(f"corpus: {args.posts:,} posts ({label}), ready in {time.perf_counter() - started:.1f} s")
    with app.app_context():
        if args.no_reindex and outbox.get_index().exists():
            print("whoosh reindex: skipped (--no-reindex), index reused")
        else:
            before, started = os.times(), time.perf_counter()
            count = outbox.rebuild(procs=args.procs)
            build, after = time.perf_counter() - started, os.times()
            own = after.user + after.system - before.user - before.system
            children = (after.children_user + after.children_system
                        - before.children_user - before.children_system)
            size = outbox.get_index().size_on_disk()
            print(f"whoosh reindex: {count:,} documents in {build:.1f} s wall with {args.procs} "
                  f"processes; CPU {own:.1f} s main + {children:.1f} s workers; "
                  f"{size / 1e6:.1f} MB on disk ({load()})")
    whoosh = time_whoosh(app, args.repeats)
    (reply_p50, reply_p95), (reply_c50, reply_c95) = time_replies(app, args.replies)
    fts = time_fts5(folder / "fts.db", args.repeats)
    print()
    print(f"{'query':32} {'whoosh p50':>10} {'p95':>7} {'cpu p50':>8} {'p95':>7} "
          f"{'fts5 p50':>9} {'p95':>7} {'cpu p50':>8} {'cpu ratio':>9}")
    for name, ((p50, p95), (c50, c95)) in whoosh.items():
        (f50, f95), (fc50, _) = fts[name]
        print(f"{name:32} {p50:8.1f}ms {p95:5.1f}ms {c50:6.1f}ms {c95:5.1f}ms "
              f"{f50:7.1f}ms {f95:5.1f}ms {fc50:6.1f}ms {c50 / max(fc50, 1e-3):8.1f}x")
    print(f"{'reply incl. index update':32} {reply_p50:8.1f}ms {reply_p95:5.1f}ms "
          f"{reply_c50:6.1f}ms {reply_c95:5.1f}ms")
    print(f"(whoosh: the forum's whole search path: parse, query, group by thread, highlight, "
          f"load threads; fts5: one SELECT with snippet(); end: {load()})")


if __name__ == "__main__":
    main()
