"""Benchmark: the front-page feed and ``/api/v1/threads`` under gunicorn, against /healthz.

Run by ``make bench`` (or ``.venv/bin/python bench/openweb.py``). It builds a
throw-away SQLite database with the real migrations, seeds 50 members, 500
threads with tags and one thread with 1,000 replies, then:

1. In process: the SQL statements of each open-web answer (front-page feed,
   thread feed of the 1,000-reply thread, ``/api/v1/threads``, the API's
   1,000-reply thread), drawn without the answer cache, with p50 in ms.
2. Under gunicorn (``-w 2``, loopback, same database, the default
   ``PAGE_CACHE_SECONDS``): loads ``/healthz``, ``/feed.atom?tab=hot`` and
   ``/api/v1/threads`` side by side in alternating one-second slices
   (bench/_loadgen.py) and prints requests/s and each ratio to /healthz.

Target (issue 17): both >= 50% of /healthz's throughput. ``--strict`` exits 1
when missed. The API's rate limit is switched off for the run: one load
generator is one address, and the limit would refuse it within a second.
Everything is bounded in time, and gunicorn is stopped on every exit path.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _gunicorn as gunicorn  # noqa: E402
import _loadgen as loadgen  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402

from forum import create_app  # noqa: E402
from forum.accounts.models import User  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.threads.models import Post, Tag, Thread, thread_tags  # noqa: E402

USERS = 50
THREADS = 500
REPLIES = 1_000
TAGS = ("cs.lg", "cs.cl", "stat.ml", "transformers", "scaling", "rl", "theory", "reproduction")
THROUGHPUT_TARGET = 0.50  # of /healthz's requests per second
GUNICORN_START_SECONDS = 30.0
SECRET_KEY = "bench-secret-not-for-production"
ROUTES = ["/healthz", "/feed.atom?tab=hot", "/api/v1/threads"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="gunicorn load per route")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=4, help="client connections")
    parser.add_argument("--requests", type=int, default=30, help="in-process requests per answer")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forum-bench-openweb-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY,
                          "SEARCH_INDEX_DIR": str(Path(folder) / "index"),
                          "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": False,
                          "PAGE_CACHE_SECONDS": 0})
        with app.app_context():
            upgrade(revision="heads")
            big = _seed(random.Random(17))
            db.engine.dispose()
        _in_process(app, big, args.requests)
        ratios = _under_gunicorn(database_url, folder, args.seconds, args.workers, args.connections)
    missed = [path for path, ratio in ratios.items() if ratio < THROUGHPUT_TARGET]
    for path, ratio in ratios.items():
        print(f"target {path}: >= {THROUGHPUT_TARGET:.0%} of /healthz -> {ratio:.1%} "
              f"{'MET' if ratio >= THROUGHPUT_TARGET else 'MISSED'}")
    return 1 if missed and args.strict else 0


def _seed(rng: random.Random) -> int:
    no_login = "!bench: nobody logs in"  # not an argon2 hash, so no password matches it
    now = datetime.now(timezone.utc)
    db.session.execute(insert(User), [
        {"username": f"member{n}", "email": f"member{n}@bench.example", "password_hash": no_login,
         "display_name": f"Member {n}", "affiliation": "", "bio": "", "role": "member",
         "banned": False, "created_at": now - timedelta(days=400), "session_key": f"bench-{n}",
         "approved_at": now} for n in range(USERS)])
    users = list(db.session.scalars(select(User.id)))
    threads = []
    for n in range(THREADS):
        created = now - timedelta(days=365) * rng.random() ** 2
        body = " ".join(rng.choice(("attention", "scaling", "loss", "recall", "tokens", "compute"))
                        for _ in range(rng.randint(20, 200)))
        threads.append({"title": f"Thread {n}: does <scaling> explain emergent ability {n}?",
                        "body": body, "body_html": f"<p>{body}</p>", "author_id": rng.choice(users),
                        "created_at": created, "last_activity_at": created,
                        "score": int(rng.gauss(3, 6)), "reply_count": 0, "locked": False,
                        "pinned": False})
    db.session.execute(insert(Thread), threads)
    db.session.execute(insert(Tag), [{"name": name} for name in TAGS])
    tags = list(db.session.scalars(select(Tag.id)))
    thread_ids = list(db.session.scalars(select(Thread.id)))
    db.session.execute(insert(thread_tags), [{"thread_id": t, "tag_id": tag} for t in thread_ids
                                             for tag in rng.sample(tags, rng.randint(0, 3))])
    big = thread_ids[0]
    ids: list[int] = []
    for n in range(REPLIES):
        parent = rng.choice(ids[-20:]) if ids and rng.random() > 0.3 else None
        ids.append(db.session.execute(insert(Post).values(
            thread_id=big, parent_id=parent, author_id=rng.choice(users), body=f"Reply {n}",
            body_html=f"<p>Reply {n} with <em>some</em> text.</p>",
            stance=rng.choice(("supports", "challenges", "question", "evidence", None)),
            created_at=now - timedelta(minutes=REPLIES - n)).returning(Post.id)).scalar_one())
    db.session.execute(Thread.__table__.update().where(Thread.id == big)
                       .values(reply_count=REPLIES, last_activity_at=now))
    db.session.commit()
    return big


def _in_process(app, big: int, requests: int) -> None:
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    print(f"In process ({THREADS} threads, one with {REPLIES:,} replies), no answer cache:")
    print(f"{'answer':34} {'p50 ms':>8} {'queries':>8}")
    for path in ("/healthz", "/feed.atom?tab=hot", f"/t/{big}.atom", "/api/v1/threads",
                 f"/api/v1/threads/{big}"):
        statements = []

        def record(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
                statements.append(statement)

        for _ in range(2):
            assert client.get(path).status_code == 200, path
        event.listen(engine, "before_cursor_execute", record)
        client.get(path)
        event.remove(engine, "before_cursor_execute", record)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
        print(f"{path:34} {statistics.median(timings):8.1f} {len(statements):8d}")


def _under_gunicorn(database_url: str, folder: str, seconds: float, workers: int,
                    connections: int) -> dict[str, float]:
    port = gunicorn.free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
           "SEARCH_INDEX_DIR": str(Path(folder) / "index"), "MAIL_BACKEND": "console",
           "RATELIMIT_ENABLED": "false"}
    env.pop("PAGE_CACHE_SECONDS", None)  # the default, as deployed
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(workers),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    previous = {sig: signal.signal(sig, gunicorn.stop_on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        gunicorn.wait_until_up(server, port, GUNICORN_START_SECONDS)
        loadgen.measure(port, ROUTES, 1.0, connections=connections)  # warm every worker
        results = loadgen.measure(port, ROUTES, seconds, connections=connections)
    finally:
        gunicorn.stop(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"\nUnder gunicorn (-w {workers} sync, 127.0.0.1:{port}), {connections} connections, "
          f"{seconds:.0f} s per route in alternating 1 s slices:")
    print(f"{'route':24} {'req/s':>9} {'p50 ms':>8} {'errors':>7} {'client CPU':>11} {'ratio':>7}")
    baseline = results["/healthz"].per_second
    ratios = {}
    for path, result in results.items():
        bad = result.errors + sum(c for s, c in result.statuses.items() if s != 200)
        ratio = result.per_second / baseline if baseline else 0.0
        print(f"{path:24} {result.per_second:9.0f} {result.median_ms:8.2f} {bad:7d} "
              f"{result.client_cpu_share:10.0%} {ratio:7.1%}")
        if bad:
            raise SystemExit(f"{path}: {bad} failed requests ({result.statuses})")
        if path != "/healthz":
            ratios[path] = ratio
    return ratios



if __name__ == "__main__":
    sys.exit(main())
