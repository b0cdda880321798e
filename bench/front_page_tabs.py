"""Benchmark: the front page on each tab (Hot, Active, New, Top per period) with 5,000 threads.

Run by ``make bench`` (or ``.venv/bin/python bench/front_page_tabs.py``). It
builds a throw-away SQLite database with the real migrations (or uses
``--database-url``, e.g. a scratch PostgreSQL database, which it fills), seeds
50 members, 5,000 threads (``--threads``: 100,000 shows how the listings grow
with the forum) spread over two years with scores, reply counts and up to
three tags each, titled and written with real arXiv titles and abstracts
where ``../shared/data`` has them (``--papers``; a listing must not read
them), then times ``/healthz`` and each tab in process
through ``app.test_client()``, with the page cache off so every request draws
the page, and prints p50/p95 in ms, the SQL statements per request and each
p50's ratio to ``/healthz``'s. Hot is computed in SQL at query time, so this
is its worst case: every live thread is scored on every request. Imports only
``bench/_report.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report as report  # noqa: E402
from flask import current_app  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from markupsafe import escape  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402

from forum import create_app  # noqa: E402
from forum.accounts.hashing import password_hasher  # noqa: E402
from forum.accounts.models import User  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.threads.models import Tag, Thread, thread_tags  # noqa: E402

USERS = 50
THREADS = 5_000
TAGS = ("cs.lg", "cs.cl", "stat.ml", "transformers", "scaling", "rl", "theory", "reproduction",
        "datasets", "hep-th", "q-bio.nc", "optimization")
SPAN = timedelta(days=730)
TABS = [("hot", None), ("active", None), ("new", None), ("top", "day"), ("top", "week"),
        ("top", "month"), ("top", "year"), ("top", "all")]
SECRET_KEY = "bench-secret-not-for-production"
PAPERS = ROOT.parent / "shared" / "data" / "arxiv_cs_2603_500_papers.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40, help="timed requests per tab")
    parser.add_argument("--database-url", help="fill and use this (empty) database instead of SQLite")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads to seed")
    parser.add_argument("--papers", type=Path, default=PAPERS,
                        help="arXiv metadata (JSON) whose titles and abstracts the threads take")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forum-bench-tabs-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                          "SEARCH_INDEX_DIR": str(Path(folder) / "index"),
                          "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": False,
                          "PAGE_CACHE_SECONDS": 0,  # every request draws the page
                          # no page timed searches: the background indexer would index every
                          # thread meanwhile, in this process, its time counted against each tab
                          "SEARCH_INDEXER": "off"})
        started = time.perf_counter()
        with app.app_context():
            upgrade(revision="heads")
            _seed(random.Random(3), args.threads, _texts(args.papers))
            dialect = db.engine.dialect.name
            if dialect == "postgresql":  # as autovacuum leaves a table soon after a bulk load:
                with db.engine.connect() as connection:  # statistics, and the visibility map
                    connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE")  # index-only scans need
        print(f"Front page tabs, {args.threads:,} threads on {dialect} "
              f"(seeded in {time.perf_counter() - started:.1f} s), {args.requests} requests each")
        baseline = _time_path(app, "/healthz", args.requests)
        rows = [_time_tab(app, tab, period, args.requests) for tab, period in TABS]
        with app.app_context():
            db.engine.dispose()
    print(f"{'tab':<12} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'p50 ratio':>10}")
    print(f"{'/healthz':<12} {baseline:>8.1f} {'':>8} {0:>8} {1:>9.1f}x")
    for name, p50, p95, queries in rows:
        print(f"{name:<12} {p50:>8.1f} {p95:>8.1f} {queries:>8} {p50 / baseline:>9.1f}x")
        report.row("front_page_tabs", f"{name} tab, {args.threads:,} threads, drawn: p50, queries",
                   f"{p50:.1f} ms = {p50 / baseline:.0f}x /healthz, {queries} queries")
    print(f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
    return 0


def _time_path(app, path: str, requests: int) -> float:
    """p50 in ms of a plain GET: the baseline the tabs are compared with."""
    client = app.test_client()
    for _ in range(3):
        client.get(path)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _texts(path: Path) -> list[tuple[str, str]]:
    """(title, body) pairs: real arXiv titles and abstracts, or generated ones without the file."""
    if path.is_file():
        return [(paper["title"][:200], paper["abstract"]) for paper in json.loads(path.read_text())]
    print(f"({path} not found: generated titles and bodies)")
    return [(f"does scaling explain emergent ability {n}?", "Body text. " * 120) for n in range(50)]


def _seed(rng: random.Random, count: int, texts: list[tuple[str, str]]) -> None:
    hasher_hash = password_hasher(current_app).hash("bench-password")  # one hash: argon2 is slow on purpose
    now = datetime.now(timezone.utc)
    db.session.execute(insert(User), [
        {"username": f"member{n}", "email": f"member{n}@bench.example", "password_hash": hasher_hash,
         "display_name": f"Member {n}", "affiliation": "", "bio": "", "role": "member",
         "banned": False, "created_at": now - SPAN, "session_key": f"bench-session-{n}"}
        for n in range(USERS)])
    user_ids = list(db.session.scalars(select(User.id)))
    threads = []
    for n in range(count):
        created = now - SPAN * rng.random() ** 2  # more recent threads than old ones
        replies = int(rng.paretovariate(1.5)) - 1
        title, body = texts[n % len(texts)]
        threads.append({
            "title": f"Thread {n}: {title}"[:200], "body": body, "body_html": f"<p>{escape(body)}</p>",
            "author_id": rng.choice(user_ids), "created_at": created,
            "last_activity_at": created + (now - created) * rng.random() * (replies > 0),
            "score": int(rng.gauss(3, 6)), "reply_count": replies, "locked": False,
            "pinned": n < 2, "deleted_at": now if rng.random() < 0.01 else None})
    db.session.execute(insert(Thread), threads)
    db.session.execute(insert(Tag), [{"name": name} for name in TAGS])
    tag_ids = list(db.session.scalars(select(Tag.id)))
    thread_ids = list(db.session.scalars(select(Thread.id)))
    db.session.execute(insert(thread_tags), [
        {"thread_id": thread_id, "tag_id": tag_id}
        for thread_id in thread_ids for tag_id in rng.sample(tag_ids, rng.randint(0, 3))])
    db.session.commit()


def _time_tab(app, tab: str, period: str | None, requests: int):
    url = f"/?tab={tab}" + (f"&period={period}" if period else "")
    client = app.test_client()
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    for _ in range(3):  # warm caches and compiled statements
        assert client.get(url).status_code == 200, url
    event.listen(engine, "before_cursor_execute", record)
    client.get(url)
    event.remove(engine, "before_cursor_execute", record)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))]
    return (f"{tab} {period}" if period else tab), statistics.median(timings), p95, len(statements)


if __name__ == "__main__":
    sys.exit(main())
