"""Benchmark: a reply POST end to end, with 4 members writing at once, on both search engines.

Run by ``make bench`` (or ``.venv/bin/python bench/reply_post.py [--seconds 20]``).
For each engine it builds a throw-away forum with the real migrations:

- ``whoosh``: SQLite (WAL) in a temporary folder, the Whoosh index beside it;
  the reply's request writes an outbox row, and each gunicorn worker's
  background indexer applies it (the indexer's work is on the same CPUs);
- ``postgres``: a database ``bench_reply_post`` on the server of
  ``BENCH_DATABASE_URL`` (default the local one), DROPPED and created afresh,
  ``SEARCH_BACKEND=postgres``: the search documents are written in the reply's
  own transaction. Skipped, with one line, when no server answers.

It seeds ``THREADS`` debates (a few replies each) and starts gunicorn (``-w
4`` sync workers, ``--preload``) on loopback. Four members log in through the
real form (CSRF on), keep the session's CSRF token as a browser keeps the
form's, and then each POSTs replies to a random debate, one after another
(``/t/<id>/reply`` with a fresh submission token: the form a browser sends),
for ``--seconds`` in all. Only answers of 302 to the new reply count; any
other answer is an error and fails the bench.

Time is measured in alternating slices: one second of the four writers, one
second of four clients asking ``/healthz`` (no database, no template), so a
burst of other work on the shared machine hits both alike; the ratio of the
reply's p50 to ``/healthz``'s is the figure to compare across days. Printed
per engine: replies, p50/p95 of the POST, ``/healthz`` p50 and the ratio;
each is a row of ``bench/_report.py``'s Speed table (issue 13's target: p50
<= 50 ms on both engines). Bounded: about ``--seconds`` x 1.5 plus the
start, per engine; loopback only.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _gunicorn as gunicorn  # noqa: E402
import _report as report  # noqa: E402
from _loadgen import PathLoad, measure  # noqa: E402
from load import HASHING, PASSWORD, Browser  # noqa: E402  (log-in through the real form)
from sqlalchemy import create_engine, text  # noqa: E402

HOST = "127.0.0.1"
WRITERS = 4
WORKERS = 4  # gunicorn sync workers: one per writer, so a reply never queues behind another
THREADS, REPLIES_PER_THREAD = 40, 3
SLICE_SECONDS = 1.0
TARGET_P50_MS = 50.0
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "bench_reply_post"


def postgres_url() -> str | None:
    """A fresh ``bench_reply_post`` database, or None when no PostgreSQL server answers."""
    try:
        engine = create_engine(SERVER, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        engine.dispose()
    except Exception as error:  # noqa: BLE001  (any reason: say it and go on with SQLite)
        print(f"postgres: skipped ({type(error).__name__}: {str(error).splitlines()[0]})")
        return None
    return SERVER.rsplit("/", 1)[0] + "/" + PG_DATABASE


def drop_postgres() -> None:
    engine = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    engine.dispose()


def prepare(database_url: str, engine: str, index_dir: Path) -> list[int]:
    """Schema by the migrations, the writers' accounts and the debates; returns thread ids."""
    from flask_migrate import upgrade

    from forum import create_app
    from forum.accounts import services as accounts
    from forum.database import utcnow
    from forum.extensions import db
    from forum.threads import services as threads
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SEARCH_BACKEND": engine,
                      "SEARCH_INDEX_DIR": str(index_dir), "SEARCH_INDEXER": "inline"})
    with app.app_context():
        upgrade()
        standing = {"email_confirmed_at": utcnow(), "approved_at": utcnow()}
        host = accounts.register("host", "host@reply.example", PASSWORD, **standing)
        for n in range(WRITERS):
            accounts.register(f"loader{n}", f"loader{n}@reply.example", PASSWORD, **standing)
        ids = []
        for t in range(THREADS):
            thread = threads.start_thread(host, f"Debate {t}: does gradient noise help?",
                                          "Bring evidence: papers, code, numbers.")
            ids.append(thread.id)
            for r in range(REPLIES_PER_THREAD):
                threads.reply(thread, host, f"Seed reply {r} on debate {t}, about noise scales.")
        db.session.remove()
        db.engine.dispose()
    return ids


def writer(browser: Browser, thread_ids: list[int], rng: random.Random, deadline: float,
           result: PathLoad, failures: list[str], lock: threading.Lock) -> None:
    """POST replies one after another until the deadline, as a member submitting the form."""
    latencies, errors = [], []
    while time.perf_counter() < deadline:
        thread_id = rng.choice(thread_ids)
        form = {"body": f"A reply on noise scales, {secrets.token_hex(4)}: see the appendix.",
                "submission_token": secrets.token_urlsafe(18)}
        sent = time.perf_counter()
        try:
            status, headers, page = browser.request("POST", f"/t/{thread_id}/reply", form)
        except (OSError, http.client.HTTPException) as error:
            errors.append(f"{type(error).__name__}: {error}")
            continue
        if status == 302 and "#p" in headers.get("Location", ""):
            latencies.append(time.perf_counter() - sent)
        else:
            errors.append(f"{status} {page[:100]!r}")
    with lock:
        result.latencies.extend(latencies)
        result.requests += len(latencies)
        result.errors += len(errors)
        failures.extend(errors)


def run(label: str, database_url: str, engine: str, seconds: float, folder: Path) -> bool:
    index_dir = folder / "index"
    thread_ids = prepare(database_url, engine, index_dir)
    env = {**os.environ, "DATABASE_URL": database_url, "SEARCH_BACKEND": engine,
           "SEARCH_INDEX_DIR": str(index_dir), "SECRET_KEY": "reply-bench-secret",
           "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": "false", **HASHING}
    port = gunicorn.free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--preload", "-w", str(WORKERS),
         "-b", f"{HOST}:{port}", "--timeout", "30", "--log-level", "critical", "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True)
    replies, healthz, failures = PathLoad("/t/<id>/reply"), PathLoad("/healthz"), []
    try:
        gunicorn.wait_until_up(server, port)
        browsers = []
        for n in range(WRITERS):
            browser = Browser(port)
            browser.log_in(f"loader{n}")
            browsers.append(browser)
        rngs = [random.Random(n) for n in range(WRITERS)]
        lock = threading.Lock()
        for _ in range(max(1, round(seconds / SLICE_SECONDS))):
            deadline = time.perf_counter() + SLICE_SECONDS
            started = time.perf_counter()
            writers = [threading.Thread(target=writer, args=(browsers[n], thread_ids, rngs[n],
                                                             deadline, replies, failures, lock))
                       for n in range(WRITERS)]
            for thread in writers:
                thread.start()
            for thread in writers:
                thread.join()
            replies.seconds += time.perf_counter() - started
            slice_ = measure(port, ["/healthz"], SLICE_SECONDS, connections=WRITERS)["/healthz"]
            healthz.latencies.extend(slice_.latencies)
            healthz.requests += slice_.requests
            healthz.errors += slice_.errors
            healthz.seconds += slice_.seconds
    finally:
        gunicorn.stop(server)
    p50, p95, base = replies.latency_ms(0.5), replies.latency_ms(0.95), healthz.latency_ms(0.5)
    print(f"{label:9} {replies.requests:8d} {replies.per_second:8.1f} {p50:7.1f} {p95:7.1f} "
          f"{base:8.2f} {p50 / base:7.0f}x {replies.errors + healthz.errors:7d}")
    if failures:
        print(f"    first error: {failures[0]}")
    report.row("reply_post", f"reply POST, {WRITERS} concurrent writers, {label}: p50 (p95)",
               f"{p50:.1f} ms ({p95:.1f} ms)", target=f"p50 <= {TARGET_P50_MS:.0f} ms",
               met=p50 <= TARGET_P50_MS)
    report.row("reply_post", f"reply POST, {label}: p50 / same-run /healthz p50",
               f"{p50:.1f} / {base:.2f} ms = {p50 / base:.0f}x")
    return not (replies.errors or healthz.errors) and replies.requests > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="seconds of writing per engine (as many again of /healthz)")
    parser.add_argument("--engines", default="whoosh,postgres")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, gunicorn.stop_on_signal)
    print(f"{WRITERS} members POST replies at once to gunicorn -w {WORKERS} on {HOST}, "
          f"{args.seconds:.0f} s per engine in {SLICE_SECONDS:.0f} s slices beside /healthz; "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'engine':9} {'replies':>8} {'per s':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'healthz':>8} {'ratio':>8} {'errors':>7}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="forum-reply-") as tmp:
        folder = Path(tmp)
        if "whoosh" in args.engines:
            ok &= run("whoosh", f"sqlite:///{folder / 'forum.db'}", "whoosh", args.seconds,
                      folder / "whoosh")
        url = postgres_url() if "postgres" in args.engines else None
        if url:
            try:
                ok &= run("postgres", url, "postgres", args.seconds, folder / "postgres")
            finally:
                drop_postgres()
    print(f"(end: load average {', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
