"""Benchmark: the thread page with 1,000 replies, and the front page, against /healthz.

Run by ``make bench`` (or ``.venv/bin/python bench/thread_page.py``). It builds
a throw-away SQLite database with the real migrations, seeds 50 members, one
thread with 1,000 replies in a realistic nested mix (Markdown rendered once,
as the services do) and about 200 other threads, then:

1. In process, through ``app.test_client()``: times ``/healthz`` (the
   hello-world baseline), ``/`` and the thread page, interleaved, and prints
   p50/p95 in ms, the SQL statements each request runs, and the ratio of each
   p50 to the baseline's.
2. Under gunicorn (``-w 2``, loopback, same database, ``PAGE_CACHE_SECONDS=0``
   so every page is drawn): loads ``/healthz``, ``/`` for a visitor and ``/``
   for a logged-in member with the same load generator (bench/_loadgen.py), in
   alternating slices, and prints requests/s of each and the ratios to
   ``/healthz``. ``SEARCH_INDEXER=off`` there too: no page timed searches, and
   with it on each worker would build the whole search index in the background
   while being measured, its CPU time counted against every route.

The member is logged in through the real log-in form (GET for the form's CSRF
token, POST with the password), over HTTP from the same address and with the
same headers as the load generator, and the cookie jar it ends with is what
every member request sends: the session a real browser holds (``_user_id``,
``_id``, ``_fresh``, ``csrf_token``). A hand-made cookie without ``_id`` or
``csrf_token`` made every request rewrite the session and send ``Set-Cookie``,
work no browser causes, so the bench refuses a member answer that sets a
cookie.

Targets (issue 12): thread page p50 <= 35 ms in process, drawn for a member, with
the same queries as a small thread; the front page drawn for a member under
gunicorn >= 25% of /healthz's throughput. ``--strict`` exits 1 when one is missed.
Everything is bounded in time, and gunicorn is stopped on every exit path.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import http.client
import io
import os
import pstats
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _gunicorn as gunicorn  # noqa: E402
import _loadgen as loadgen  # noqa: E402
import _report as report  # noqa: E402
from flask import current_app  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, insert  # noqa: E402

from forum import create_app  # noqa: E402
from forum.accounts.hashing import hash_password  # noqa: E402
from forum.accounts.models import LoginSession, User  # noqa: E402
from forum.accounts.sessions import token_hash  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.threads.models import Post, Thread  # noqa: E402
from forum.threads.rendering import render_post_body  # noqa: E402

USERS = 50
REPLIES = 1_000
OTHER_THREADS = 200
TOP_LEVEL_SHARE = 0.3  # the rest answer an earlier reply, mostly a recent one
THREAD_P50_TARGET_MS = 35.0
FRONT_THROUGHPUT_TARGET = 0.25  # of /healthz's requests per second, drawn for a member
GUNICORN_START_SECONDS = 30.0
SECRET_KEY = "bench-secret-not-for-production"

WORDS = ("attention scaling benchmark baseline ablation gradient dataset variance "
         "prior posterior estimator kernel sparse dense recall retrieval token "
         "optimizer schedule convergence regime replication evidence claim model "
         "loss curve compute inference latency memory throughput noise seed").split()


def main() -> int:
    args = _arguments()
    rng = random.Random(2)
    with tempfile.TemporaryDirectory(prefix="forum-bench-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY,
            "SEARCH_INDEX_DIR": str(Path(folder) / "index"), "MAIL_BACKEND": "console",
            "RATELIMIT_ENABLED": False,
            # No pages timed here search; the background indexer would build the whole index
            # in this process meanwhile, and its CPU time would count against each request.
            "SEARCH_INDEXER": "off",
        })
        started = time.perf_counter()
        with app.app_context():
            upgrade(revision="heads")
            thread_id, slug, page_one_rows = _seed(rng)
        print(f"Seeded {USERS} users, 1 thread with {REPLIES} replies and {OTHER_THREADS} other "
              f"threads in {time.perf_counter() - started:.1f} s ({database_url}).")
        thread_path = f"/t/{thread_id}/{slug}"
        print(f"The thread page draws {page_one_rows} of the {REPLIES} replies on page 1 "
              f"(REPLIES_PER_PAGE={app.config['REPLIES_PER_PAGE']} top-level replies, "
              "each with its subtree).\n")

        gc.collect()
        gc.freeze()  # as wsgi.py does once the app is built
        thread_p50 = _in_process(app, thread_path, args.requests, args.all_on_one_page)
        if args.profile:
            _profile(app, thread_path)
        with app.app_context():
            db.engine.dispose()
        ratio = None
        if not args.skip_gunicorn:
            ratio = _under_gunicorn(database_url, folder, args.seconds, args.workers,
                                    args.connections)

    met = [thread_p50 <= THREAD_P50_TARGET_MS]
    report.row("thread_page", "thread page, 1,000 replies, member: p50 in process",
               f"{thread_p50:.1f} ms", target=f"<= {THREAD_P50_TARGET_MS:.0f} ms", met=met[0])
    print(f"\nTarget: thread page p50 <= {THREAD_P50_TARGET_MS:.0f} ms in process (member): "
          f"{thread_p50:.1f} ms -> {'MET' if met[0] else 'MISSED'}")
    if ratio is not None:
        met.append(ratio >= FRONT_THROUGHPUT_TARGET)
        report.row("thread_page", "front page drawn for a member, gunicorn -w 2: share of "
                   "/healthz req/s", f"{ratio:.1%}", target=f">= {FRONT_THROUGHPUT_TARGET:.0%}",
                   met=met[-1])
        print(f"Target: front page drawn for a member >= {FRONT_THROUGHPUT_TARGET:.0%} of /healthz's "
              f"throughput under gunicorn: {ratio:.1%} -> {'MET' if met[-1] else 'MISSED'}")
    return 1 if args.strict and not all(met) else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per route")
    parser.add_argument("--seconds", type=float, default=5.0, help="gunicorn load per route")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=4, help="load generator connections")
    parser.add_argument("--all-on-one-page", action="store_true",
                        help="also time the thread page with all 1,000 replies on one page")
    parser.add_argument("--skip-gunicorn", action="store_true", help="in-process figures only")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the thread page and the front page drawn for a member")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args()


# -- seeding ---------------------------------------------------------------

def _seed(rng: random.Random) -> tuple[int, str, int]:
    """Rows inserted directly (one argon2 hash for all), bodies rendered as the services do."""
    password_hash = hash_password("bench password")
    now = datetime.now(timezone.utc)
    db.session.execute(insert(User), [
        {"id": n, "username": f"member{n}", "email": f"member{n}@bench.example",
         "password_hash": password_hash, "display_name": f"Member {n}",
         "affiliation": rng.choice(["", "Lab of Ideas", "Institute of Evidence"]),
         "session_key": f"bench-session-{n}", "email_confirmed_at": now - timedelta(days=60),
         "approved_at": now - timedelta(days=60)}
        for n in range(1, USERS + 1)])
    db.session.execute(insert(LoginSession), [  # a log-in per member: its token opens a session
        {"user_id": n, "token_hash": token_hash(f"bench-session-{n}")} for n in range(1, USERS + 1)])
    start = now - timedelta(days=30)
    thread = {"id": 1, "title": "A long debate: does scaling alone explain emergent abilities?",
              "body": _body(rng), "author_id": 1, "created_at": start,
              "last_activity_at": now - timedelta(minutes=5), "reply_count": REPLIES}
    thread["body_html"] = render_post_body(thread["body"])
    db.session.execute(insert(Thread), [thread])

    replies = []
    for n in range(1, REPLIES + 1):
        parent_id = None
        if n > 1 and rng.random() > TOP_LEVEL_SHARE:
            # answer a recent reply more often than an old one, as conversations go
            parent_id = max(1, n - 1 - int(rng.expovariate(1 / 20)))
        body = _body(rng)
        replies.append({
            "id": n, "thread_id": 1, "parent_id": parent_id, "author_id": rng.randint(1, USERS),
            "body": body, "body_html": render_post_body(body),
            "stance": rng.choice([None, None, "supports", "challenges", "question", "evidence"]),
            "score": rng.randint(0, 40),
            "created_at": start + timedelta(seconds=n * 2500),
            "edited_at": start + timedelta(seconds=n * 2500 + 60) if n % 17 == 0 else None,
            "deleted_at": start + timedelta(seconds=n * 2500 + 90) if n % 97 == 0 else None,
        })
    db.session.execute(insert(Post), replies)
    _seed_other_threads(rng, now, first_post_id=REPLIES + 1)
    db.session.commit()

    from forum.threads import queries
    tree = queries.reply_tree(1, 1, current_app.config["REPLIES_PER_PAGE"])
    slug = db.session.get(Thread, 1).slug
    db.session.remove()
    return 1, slug, len(tree.rows)


def _seed_other_threads(rng: random.Random, now: datetime, first_post_id: int) -> None:
    """About 200 other threads with a few replies each; bodies from a small rendered pool."""
    pool = []
    for _ in range(40):
        body = _body(rng)
        pool.append((body, render_post_body(body)))
    threads, posts, post_id = [], [], first_post_id
    for n in range(2, OTHER_THREADS + 2):
        created = now - timedelta(days=rng.uniform(1, 90))
        reply_total = rng.choice([0, 0, 1, 2, 3, 5, 8, 13])
        body, html = rng.choice(pool)
        threads.append({
            "id": n, "title": f"Question {n}: {' '.join(rng.sample(WORDS, 5))}",
            "body": body, "body_html": html, "author_id": rng.randint(1, USERS),
            "created_at": created, "reply_count": reply_total, "pinned": n == 2,
            "last_activity_at": created + timedelta(hours=reply_total * 3),
            "deleted_at": created if n % 50 == 0 else None,
        })
        for k in range(reply_total):
            body, html = rng.choice(pool)
            posts.append({"id": post_id, "thread_id": n, "parent_id": None,
                          "author_id": rng.randint(1, USERS), "body": body, "body_html": html,
                          "created_at": created + timedelta(hours=(k + 1) * 3)})
            post_id += 1
    db.session.execute(insert(Thread), threads)
    db.session.execute(insert(Post), posts)


def _body(rng: random.Random) -> str:
    """A Markdown reply as researchers write them: prose, lists, code, links, mentions."""
    def sentence() -> str:
        words = rng.sample(WORDS, rng.randint(6, 14))
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    parts = [" ".join(sentence() for _ in range(rng.randint(1, 4)))]
    kind = rng.random()
    if kind < 0.15:
        parts.append("\n".join(f"- {sentence()}" for _ in range(rng.randint(2, 4))))
    elif kind < 0.25:
        parts.append("```python\nfor step in range(steps):\n    loss = model(batch)\n"
                     "    loss.backward()\n```")
    elif kind < 0.40:
        parts.append(f"See arXiv:{rng.randint(1501, 2412)}.{rng.randint(10000, 99999)} and "
                     f"https://github.com/example/repo{rng.randint(1, 30)} for the *details*.")
    elif kind < 0.55:
        parts.append(f"@member{rng.randint(1, USERS)} what **baseline** did you use?")
    elif kind < 0.65:
        parts.append("> " + sentence())
    if rng.random() < 0.3:
        parts.append(" ".join(sentence() for _ in range(rng.randint(2, 5))))
    return "\n\n".join(parts)


# -- in process ------------------------------------------------------------

def _in_process(app, thread_path: str, requests: int, all_on_one_page: bool) -> float:
    """Interleaved timings of each route; returns the thread page's p50 in ms (as a member).

    Logged-out visitors get the front page and thread pages from the page cache
    (forum/pagecache.py) most of the time; members always get them drawn. Both
    are timed, and the target is checked on the drawn page a member sees, with
    its vote forms.
    """
    routes = [("/healthz (baseline)", "/healthz", "anonymous"),
              ("/ (front page, logged out: cached)", "/", "anonymous"),
              ("/ (front page, member: drawn)", "/", "member"),
              ("thread page 1, logged out: cached", thread_path, "anonymous"),
              ("thread page 1, member: drawn", thread_path, "member")]
    if all_on_one_page:
        routes.append(("thread, all 1,000 on one page, member", thread_path + "?all", "member"))
    clients = {"anonymous": app.test_client(), "member": app.test_client()}
    _log_in_test_client(clients["member"])
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    samples = {label: [] for label, _, _ in routes}
    cpu = {label: [] for label, _, _ in routes}  # CPU time: robust when other work shares the CPUs
    queries = {}
    try:
        for _ in range(20):  # warm-up: templates compiled, connections pooled
            for _, path, who in routes:
                _get(app, clients[who], path)
        for _ in range(requests):
            for label, path, who in routes:
                statements.clear()
                started, cpu_started = time.perf_counter(), time.process_time()
                _get(app, clients[who], path)
                samples[label].append(time.perf_counter() - started)
                cpu[label].append(time.process_time() - cpu_started)
                queries[label] = sum(1 for s in statements if s.strip().upper() != "BEGIN")
    finally:
        event.remove(engine, "before_cursor_execute", count)

    baseline = statistics.median(samples[routes[0][0]])
    print(f"In process (app.test_client), {requests} requests per route, interleaved:")
    print(f"{'route':40} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'queries':>8} {'p50 ratio':>10}")
    for label, _, _ in routes:
        p50, p95 = _ms(samples[label], 0.5), _ms(samples[label], 0.95)
        if "drawn" in label or "baseline" in label:
            cpu_p50, cpu_baseline = _ms(cpu[label], 0.5), _ms(cpu[routes[0][0]], 0.5)
            report.row("thread_page", f"{label}: p50 wall, CPU (ratio to /healthz CPU), queries",
                       f"{p50:.2f} ms, {cpu_p50:.2f} ms ({cpu_p50 / cpu_baseline:.1f}x), "
                       f"{queries[label]} queries")
        print(f"{label:40} {p50:8.2f} {p95:8.2f} {_ms(cpu[label], 0.5):8.2f} {queries[label]:8d} "
              f"{statistics.median(samples[label]) / baseline:9.1f}x")
    print("(p50/p95: wall time; CPU p50: this process's CPU time, which other work on the\n"
          " machine inflates less; queries: SQL statements per request, BEGIN not counted;\n"
          " 'cached' pages come from the page cache, which any write in the process clears)")
    load = os.getloadavg()[0]
    print(f"Load average {load:.1f} on {os.cpu_count()} CPUs"
          + (": other work competes, wall times are inflated." if load > (os.cpu_count() or 1) else "."))
    return _ms(samples["thread page 1, member: drawn"], 0.5)


def _get(app, client, path: str):
    """GET a path; ``?all`` asks for every reply on one page by raising REPLIES_PER_PAGE."""
    everything = path.endswith("?all")
    saved = app.config["REPLIES_PER_PAGE"]
    if everything:
        app.config["REPLIES_PER_PAGE"] = REPLIES
    try:
        response = client.get(path.removesuffix("?all"))
    finally:
        app.config["REPLIES_PER_PAGE"] = saved
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    return response


def _ms(samples: list[float], quantile: float) -> float:
    if quantile == 0.5:
        return statistics.median(samples) * 1000
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000


def _profile(app, thread_path: str) -> None:
    """cProfile of the two pages a member gets drawn: the thread page and the front page."""
    client = app.test_client()
    _log_in_test_client(client)
    for label, path, times in (("thread-page", thread_path, 30), ("front-page", "/", 300)):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(times):
            _get(app, client, path)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(25)
        print(f"\ncProfile of {times} {label} requests drawn for a member:\n" + out.getvalue())


# -- under gunicorn --------------------------------------------------------

MEMBER_LOGIN = "member2"  # every seeded member's password is "bench password" (see _seed)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _log_in_test_client(client) -> None:
    """Log the in-process member in through the real form; the client keeps the cookie."""
    form = client.get("/auth/login").get_data(as_text=True)
    answer = client.post("/auth/login", data={"login": MEMBER_LOGIN, "password": "bench password",
                                              "csrf_token": CSRF_FIELD.search(form).group(1)})
    if answer.status_code != 302:
        raise SystemExit(f"in-process log-in failed: {answer.status_code}")
    client.get("/")  # as a browser follows the redirect
    if "Set-Cookie" in client.get("/").headers:
        raise SystemExit("the member's front page rewrites the session on every request")


def _log_in_over_http(port: int) -> str:
    """Log in through the real form on the server, as a browser would, and return the
    ``Cookie`` header its cookie jar then sends (headers as the load generator's)."""
    jar: dict[str, str] = {}

    def request(method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode()
            for set_cookie in answer.headers.get_all("Set-Cookie") or []:
                name, _, rest = set_cookie.partition("=")
                value = rest.split(";", 1)[0]
                if "Expires=Thu, 01 Jan 1970" in set_cookie or not value:
                    jar.pop(name, None)
                else:
                    jar[name] = value
            return answer.status, text
        finally:
            connection.close()

    _, form = request("GET", "/auth/login")
    status, _ = request("POST", "/auth/login", urllib.parse.urlencode({
        "login": MEMBER_LOGIN, "password": "bench password",
        "csrf_token": CSRF_FIELD.search(form).group(1)}))
    if status != 302:
        raise SystemExit(f"log-in over HTTP failed: {status}")
    request("GET", "/")  # the redirect, followed
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    before = dict(jar)
    status, page = request("GET", "/")
    if status != 200 or jar != before or "Log out" not in page:
        raise SystemExit("the member's front page is not drawn for the member, or rewrites "
                         "the session on every request")
    return cookie


def _under_gunicorn(database_url: str, folder: str, seconds: float, workers: int,
                    connections: int) -> float | None:
    """Requests/s of /healthz and of the front page drawn (no page cache) for a visitor
    and for a member; returns the member's share of /healthz's."""
    port = gunicorn.free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
           "SEARCH_INDEX_DIR": str(Path(folder) / "index"), "MAIL_BACKEND": "console",
           "RATELIMIT_ENABLED": "false", "PAGE_CACHE_SECONDS": "0",
           "SEARCH_INDEXER": "off"}  # see the docstring at the top
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(workers),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    previous = {sig: signal.signal(sig, gunicorn.stop_on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        gunicorn.wait_until_up(server, port, GUNICORN_START_SECONDS)
        routes = [("/healthz (baseline)", "/healthz", {}), ("/ (visitor, drawn)", "/", {}),
                  ("/ (member, drawn)", "/", {"Cookie": _log_in_over_http(port)})]
        # warm-up: every worker imports templates and opens its connection
        loadgen.measure(port, routes, 1.0, connections=connections)
        results = loadgen.measure(port, routes, seconds, connections=connections)
    finally:
        gunicorn.stop(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    print(f"\nUnder gunicorn (-w {workers} sync, 127.0.0.1:{port}), {connections} connections, "
          f"{seconds:.0f} s per route in alternating 1 s slices:")
    baseline = results["/healthz (baseline)"].per_second
    print(f"{'route':20} {'req/s':>9} {'p50 ms':>8} {'errors':>7} {'client CPU':>11} {'of /healthz':>12}")
    for label, result in results.items():
        report.row("thread_page", f"gunicorn {label}: req/s", f"{result.per_second:.0f} "
                   f"({result.per_second / baseline:.1%} of /healthz)")
        bad = result.errors + sum(c for s, c in result.statuses.items() if s != 200)
        print(f"{label:20} {result.per_second:9.0f} {result.median_ms:8.2f} {bad:7d} "
              f"{result.client_cpu_share:10.0%} {result.per_second / baseline:11.1%}")
        if bad:
            raise SystemExit(f"{label}: {bad} failed requests ({result.statuses})")
    print(f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
    return results["/ (member, drawn)"].per_second / baseline



if __name__ == "__main__":
    sys.exit(main())
