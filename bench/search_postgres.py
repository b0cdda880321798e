"""Benchmark: the PostgreSQL search engine beside SQLite FTS5, on the same generated posts.

    .venv/bin/python bench/search_postgres.py -n 100000
    .venv/bin/python bench/search_postgres.py -n 1000000 --repeats 50

Each run creates (or, with ``--reuse``, keeps) the database ``pg_bench_<n>`` on
the server of ``BENCH_DATABASE_URL`` (default the local one), migrates it,
bulk-loads the posts with COPY (texts from ``bench/search.py``'s calibrated
generator), with an uneven spread of replies per thread: most threads have a
few replies, one in a hundred has hundreds. Then:

1. times a full rebuild (``flask search reindex``'s path: documents read in
   batches, COPY, tsvectors and indexes built after the rows, table swap);
2. times every query kind of ``bench/search.py`` through the whole search path
   (``services.search``: parse, tsquery, rank, group per thread with the exact
   count, ts_headline, load the threads shown): p50/p95, wall and CPU;
3. runs the same queries on an FTS5 table over the same texts, in turns with
   the PostgreSQL ones (so a shared machine's load weighs on both), for the ratio.

Reply POSTs are timed by ``bench/search.py`` (both engines write in the reply's
own transaction here, so the reply figure includes the document write).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from markupsafe import escape  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from forum import create_app  # noqa: E402
from forum.extensions import db  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
whoosh_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(whoosh_bench)

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AUTHORS = 500
TAGS = whoosh_bench.TAGS


def thread_sizes(posts: int, rng: random.Random) -> list[int]:
    """Posts per thread (the opening post included): one in a hundred threads has 100 to
    1,000, the rest 1 to 12; summing to ``posts``."""
    sizes, left = [], posts
    while left > 0:
        size = rng.randint(100, 1000) if rng.random() < 0.01 else rng.randint(1, 12)
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


def database_url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


def create_database(name: str, reuse: bool) -> bool:
    """True when an existing database is reused."""
    engine = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and reuse:
            return True
        if exists:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return False


def seed(texts: list[str], rng: random.Random) -> list[str]:
    """COPY users, tags, threads and posts; returns each text's tag (for the FTS5 table)."""
    when = whoosh_bench.post_dates(len(texts), random.Random(7))
    sizes = thread_sizes(len(texts), rng)
    tags_of_text: list[str] = []
    from forum.accounts.models import User
    db.session.execute(User.__table__.insert(), [
        {"id": i + 1, "username": f"user{i}", "email": f"user{i}@example.org", "password_hash": "x",
         "display_name": f"User {i}", "created_at": whoosh_bench.START} for i in range(AUTHORS)])
    db.session.commit()
    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy("COPY tags (id, name) FROM STDIN") as copy:
            for i, name in enumerate(TAGS):
                copy.write_row((i + 1, name))
        at = 0
        with cursor.copy("COPY threads (id, title, body, body_html, author_id, created_at, "
                         "last_activity_at, score, reply_count, locked, pinned) FROM STDIN") as copy:
            for thread_id, size in enumerate(sizes, 1):
                body = texts[at]
                copy.write_row((thread_id, " ".join(body.split()[:8])[:200], body,
                                f"<p>{escape(body)}</p>", rng.randint(1, AUTHORS), when[at],
                                when[at] + timedelta(days=1), rng.randint(-3, 40), size - 1,
                                False, False))
                at += size
        thread_tag = [rng.randrange(len(TAGS)) for _ in sizes]
        with cursor.copy("COPY thread_tags (thread_id, tag_id) FROM STDIN") as copy:
            for thread_id, tag in enumerate(thread_tag, 1):
                copy.write_row((thread_id, tag + 1))
        at = 0
        with cursor.copy("COPY posts (thread_id, author_id, body, body_html, stance, score, "
                         "up_count, down_count, created_at) FROM STDIN") as copy:
            for thread_id, size in enumerate(sizes, 1):
                tags_of_text.append(TAGS[thread_tag[thread_id - 1]])
                for i in range(at + 1, at + size):
                    copy.write_row((thread_id, rng.randint(1, AUTHORS), texts[i],
                                    f"<p>{escape(texts[i])}</p>",
                                    rng.choice([None, "supports", "challenges", "question"]),
                                    rng.randint(-2, 20), 0, 0, when[i]))
                    tags_of_text.append(TAGS[thread_tag[thread_id - 1]])
                at += size
        for table in ("users", "tags", "threads", "posts"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
        raw.commit()
    finally:
        raw.close()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return tags_of_text


def time_queries(app, fts_path: Path, repeats: int) -> dict:
    """Query name -> (postgres (wall p50, p95), postgres CPU p50, fts5 (wall p50, p95)), the two
    engines timed in turns, so that the load of a shared machine weighs on both alike."""
    from forum.search import services
    fts = sqlite3.connect(fts_path)
    out = {}
    for name, query in whoosh_bench.QUERIES.items():
        page = 5 if "page 5" in name else 1
        sort = "newest" if "newest" in name else "relevance"
        where, args, order, offset = whoosh_bench.FTS_QUERIES[name]
        fts_sql = (f"SELECT rowid, snippet(fts, 0, '<mark>', '</mark>', '…', 24) FROM fts "
                   f"WHERE {where} ORDER BY {order} LIMIT 10 OFFSET {offset}")
        walls, cpus, fts_walls = [], [], []
        with app.test_request_context():
            services.search(query, sort=sort, page=page)  # warm
            fts.execute(fts_sql, args).fetchall()
            db.session.remove()
            for _ in range(repeats):
                with whoosh_bench.Timer() as timer:
                    services.search(query, sort=sort, page=page)
                walls.append(timer.wall)
                cpus.append(timer.cpu)
                db.session.remove()
                with whoosh_bench.Timer() as timer:
                    fts.execute(fts_sql, args).fetchall()
                fts_walls.append(timer.wall)
        out[name] = (whoosh_bench.percentiles(walls), whoosh_bench.percentiles(cpus)[0],
                     whoosh_bench.percentiles(fts_walls))
    fts.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--posts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--reuse", action="store_true",
                        help="keep pg_bench_<n> and its documents if they exist (no seeding, no rebuild)")
    args = parser.parse_args()
    whoosh_bench.QUERIES["phrase, rarer word"] = whoosh_bench.rarer_word_phrase(None)
    whoosh_bench.FTS_QUERIES["phrase, rarer word"][1][0] = whoosh_bench.QUERIES["phrase, rarer word"]
    name = f"pg_bench_{args.posts}"
    print(f"start: {whoosh_bench.load()}")
    reused = create_database(name, args.reuse)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(name), "SEARCH_BACKEND": "postgres",
                      "SECRET_KEY": "bench", "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": False})
    folder = Path(tempfile.gettempdir()) / f"bench-search-pg-{args.posts}"  # the FTS5 table
    fts_ready = reused and (folder / "fts.db").exists()
    texts: list[str] = []
    if not fts_ready:
        started = time.perf_counter()
        texts = list(whoosh_bench.generated_corpus(args.posts))
        print(f"corpus: {len(texts):,} posts generated in {time.perf_counter() - started:.1f} s")
    from forum.search.backend import get_backend
    with app.app_context():
        if not reused:
            upgrade()
            started = time.perf_counter()
            tags = seed(texts, random.Random(3))
            print(f"database {name}: seeded with COPY in {time.perf_counter() - started:.1f} s")
        else:
            tags = [random.Random(3).choice(TAGS) for _ in texts]  # only if fts5 is rebuilt
        if not reused:
            started, before = time.perf_counter(), os.times()
            count = get_backend().rebuild()
            wall, after = time.perf_counter() - started, os.times()
            print(f"postgres rebuild: {count:,} documents in {wall:.1f} s wall "
                  f"({after.user + after.system - before.user - before.system:.1f} s CPU in Python); "
                  f"{whoosh_bench.load()}")
        size = db.session.execute(text("SELECT pg_total_relation_size('search_documents')")).scalar()
        print(f"search_documents: {size / 1e6:.0f} MB with its indexes")
        db.session.remove()
    if not fts_ready:
        folder.mkdir(exist_ok=True)
        (folder / "fts.db").unlink(missing_ok=True)
        dates = [d.date().isoformat() for d in whoosh_bench.post_dates(len(texts), random.Random(7))]
        fts_build = whoosh_bench.build_fts5(texts, tags, dates, folder / "fts.db")
        print(f"fts5 build: {fts_build:.1f} s")
    timings = time_queries(app, folder / "fts.db", args.repeats)
    print()
    print(f"{'query':32} {'pg p50':>8} {'p95':>7} {'cpu p50':>8} {'fts5 p50':>9} {'p95':>7} "
          f"{'ratio p50':>9}")
    for query, ((p50, p95), c50, (f50, f95)) in timings.items():
        print(f"{query:32} {p50:6.1f}ms {p95:5.1f}ms {c50:6.1f}ms {f50:7.1f}ms {f95:5.1f}ms "
              f"{p50 / max(f50, 1e-3):8.1f}x")
    print(f"(postgres: services.search, the whole path; fts5: one SELECT with snippet(); "
          f"end: {whoosh_bench.load()})")


if __name__ == "__main__":
    main()
