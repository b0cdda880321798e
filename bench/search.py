"""Benchmark: full-text search at scale, Whoosh (as the forum runs it) against SQLite FTS5.

Run by ``make bench`` or ``.venv/bin/python bench/search.py [-n N] [--corpus PATH]``.

1. Builds a throw-away SQLite database with the real migrations and N posts
   (one thread per 10 posts), generated (Zipf-distributed research vocabulary,
   500 authors, tags, three years of dates) or read from ``--corpus`` (the
   OpenReview reviews JSONL.gz in ../shared/data: one review per post).
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
import json
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
    "filter": "tag:rl policy",
    "prefix": "optim*",
    "two words, page 5": "gradient descent",
}


def generated_corpus(n: int, seed: int = 5):
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
    for i in range(n):
        words = []
        for _ in range(rng.randint(20, 160)):
            words.append(rng.choice(FILLER) if rng.random() < 0.35
                         else rng.choices(VOCABULARY, weights)[0])
            if rng.random() < 0.02:
                words += ["neural", "network"]
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


def seed_database(texts: list[str]) -> None:
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(7)
    conn = db.session.connection()  # plain Core inserts: no ORM events, no outbox rows
    conn.execute(User.__table__.insert(), [
        {"username": f"user{i}", "email": f"user{i}@example.org", "password_hash": "x",
         "display_name": f"User {i}", "created_at": start} for i in range(AUTHORS)])
    conn.execute(Tag.__table__.insert(), [{"name": t} for t in TAGS])
    user_ids = list(db.session.scalars(select(User.id)))
    tag_ids = list(db.session.scalars(select(Tag.id)))
    n_threads = max(1, len(texts) // POSTS_PER_THREAD)
    when = [start + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60)) for _ in texts]
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


def time_whoosh(app, repeats: int) -> dict[str, tuple[float, float]]:
    out = {}
    for name, text in QUERIES.items():
        page = 5 if "page 5" in name else 1
        samples = []
        with app.test_request_context():
            services.search(text, page=page)  # warm
            for _ in range(repeats):
                started = time.perf_counter()
                services.search(text, page=page)
                samples.append(time.perf_counter() - started)
                db.session.remove()
        out[name] = percentiles(samples)
    return out


FTS_QUERIES = {
    "one word": ("body MATCH ?", ["gradient"], 0),
    "two words (highlighted top 10)": ("body MATCH ?", ["gradient descent"], 0),
    "phrase": ("body MATCH ?", ['"neural network"'], 0),
    "filter": ("body MATCH ? AND tag = ?", ["policy", "rl"], 0),
    "prefix": ("body MATCH ?", ["optim*"], 0),
    "two words, page 5": ("body MATCH ?", ["gradient descent"], 40),
}


def time_fts5(texts: list[str], tags: list[str], folder: Path, repeats: int):
    conn = sqlite3.connect(folder / "fts.db")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(body, tag UNINDEXED, "
                 "tokenize='porter unicode61')")
    started = time.perf_counter()
    conn.executemany("INSERT INTO fts(body, tag) VALUES (?, ?)", zip(texts, tags))
    conn.commit()
    build = time.perf_counter() - started
    out = {}
    for name, (where, args, offset) in FTS_QUERIES.items():
        sql = (f"SELECT rowid, snippet(fts, 0, '<mark>', '</mark>', '…', 24) FROM fts "
               f"WHERE {where} ORDER BY rank LIMIT 10 OFFSET {offset}")
        conn.execute(sql, args).fetchall()
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            conn.execute(sql, args).fetchall()
            samples.append(time.perf_counter() - started)
        out[name] = percentiles(samples)
    size = (folder / "fts.db").stat().st_size
    conn.close()
    return build, size, out


def time_replies(app, count: int) -> tuple[float, float]:
    samples = []
    with app.app_context():
        for i in range(count):
            thread = db.session.get(Thread, 1 + i % 50)
            author = db.session.get(User, 1 + i % AUTHORS)
            started = time.perf_counter()
            threads.reply(thread, author, f"A fresh benchmark reply number {i} on gradient noise.")
            samples.append(time.perf_counter() - started)
            db.session.remove()
        assert outbox.pending_count() == 0
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--posts", type=int, default=100_000)
    parser.add_argument("--corpus", type=Path, help="JSONL.gz with a 'text' field per line")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--replies", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-search-"))
    texts = list(real_corpus(args.corpus, args.posts) if args.corpus
                 else generated_corpus(args.posts))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'forum.db'}",
                      "SEARCH_INDEX_DIR": str(folder / "index"), "SECRET_KEY": "bench",
                      "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(revision="heads")
        started = time.perf_counter()
        seed_database(texts)
        print(f"corpus: {len(texts):,} posts ({'--corpus ' + str(args.corpus) if args.corpus else 'generated'}),"
              f" seeded in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        count = outbox.rebuild(procs=args.procs)
        build = time.perf_counter() - started
        size = outbox.get_index().size_on_disk()
    print(f"whoosh reindex: {count:,} documents in {build:.1f} s with {args.procs} processes; "
          f"{size / 1e6:.1f} MB on disk")
    whoosh = time_whoosh(app, args.repeats)
    reply_p50, reply_p95 = time_replies(app, args.replies)
    rng = random.Random(3)
    fts_build, fts_size, fts = time_fts5(texts, [rng.choice(TAGS) for _ in texts], folder,
                                         args.repeats)
    print(f"fts5 build: {fts_build:.1f} s; {fts_size / 1e6:.1f} MB on disk")
    print()
    print(f"{'query':34} {'whoosh p50':>11} {'p95':>8} {'fts5 p50':>10} {'p95':>8} {'ratio p50':>10}")
    for name, (p50, p95) in whoosh.items():
        f50, f95 = fts[name]
        print(f"{name:34} {p50:9.1f}ms {p95:6.1f}ms {f50:8.1f}ms {f95:6.1f}ms {p50 / max(f50, 1e-3):9.1f}x")
    print(f"{'reply incl. index update':34} {reply_p50:9.1f}ms {reply_p95:6.1f}ms")
    print("(whoosh: the forum's whole search path: parse, query, group by thread, highlight, "
          "load threads; fts5: one SELECT with snippet())")


if __name__ == "__main__":
    main()
