"""Load with faults: 16 logged-in members read, reply and vote while workers are killed.

Run by ``make bench`` (or ``.venv/bin/python bench/load.py [--seconds 60]``).
For each database (a throw-away SQLite file; PostgreSQL when ``--postgres-url``
or ``LOAD_DATABASE_URL`` names one: its schema ``forum_load`` is DROPPED and rebuilt), it
builds the schema with the real migrations, seeds 8 debates by a member who
takes no part, and starts gunicorn (sync workers) on 127.0.0.1. Each client
logs in through the real form (CSRF on) and then, until time is up, picks:
a read (thread page, front page or search), a reply (with a unique marker word
and the form's submission token), or a vote (asking for JSON). Every 5 s a
random worker is killed with SIGKILL mid-request; gunicorn starts another.

A request cut off by a kill is retried as a browser would: a reply with the
same submission token (so a reply that committed before the kill is not made
twice) until it is answered (at most 120 s), a read simply again. A vote is not retried (the same vote again takes
it back): the member's vote on that target is then unknown and not checked.

Afterwards, with gunicorn stopped, it checks:
- errors: any 5xx, any unexpected 4xx, any reply never acknowledged after retries;
- lost: an acknowledged reply missing from the database, or an acknowledged
  vote (the member's vote as the JSON answer gave it) not what the database holds;
- duplicated: a marker found in more than one reply;
- counts and scores: each thread's reply count, and each thread's and reply's
  score (and up/down counts) against the vote rows they are rebuilt from;
- search: after ``outbox.drain()``, each acknowledged marker (up to 40) is found
  through the public search page.
Exits 1 when any of these is not zero. Bounded in time; loopback only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _gunicorn as gunicorn  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

HOST = "127.0.0.1"
CLIENTS = 16
KILL_EVERY_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 20.0
REPLY_RETRIES = 6  # log-in attempts
REPLY_GIVE_UP_SECONDS = 120.0  # a reply is retried (same token) until answered or this long
SEARCH_SAMPLE = 40
PG_SCHEMA = "forum_load"  # the bench's own schema in the given database, dropped and rebuilt
THREADS, REPLIES_PER_THREAD = 8, 6
PASSWORD = "load test password"
# Real hashing (not test-grade): gunicorn runs a production app, which refuses weaker settings.
HASHING = {"PASSWORD_HASH_TIME_COST": "2", "PASSWORD_HASH_MEMORY_KIB": str(19 * 1024),
           "PASSWORD_HASH_PARALLELISM": "1"}
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                  r'name="csrf_token" value="([^"]+)"')


@dataclass
class Tally:
    reads: int = 0
    replies_acked: int = 0
    votes_acked: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)
    markers: dict[str, bool] = field(default_factory=dict)  # marker -> acknowledged
    votes: dict[tuple[str, str, int], int | None] = field(default_factory=dict)  # None: unknown
    lock: threading.Lock = field(default_factory=threading.Lock)


class Browser:
    """One member's cookies and CSRF token, over fresh loopback connections."""

    def __init__(self, port: int):
        self.port, self.cookies, self.csrf = port, {}, ""

    def request(self, method: str, path: str, form: dict | None = None, json: bool = False):
        connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_SECONDS)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({"csrf_token": self.csrf, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json:
            headers["Accept"] = "application/json"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data.decode("utf-8", "replace")

    def log_in(self, username: str) -> None:
        status, _, page = self.request("GET", "/auth/login")
        self.csrf = _csrf(page)
        status, headers, _ = self.request("POST", "/auth/login",
                                          {"login": username, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"{username} could not log in: {status}")
        _, _, page = self.request("GET", "/settings")
        self.csrf = _csrf(page)


def _csrf(page: str) -> str:
    match = CSRF.search(page)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


def _marker(rng: random.Random) -> str:
    return "lm" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))


def logged_in(n: int, port: int) -> Browser:
    for attempt in range(REPLY_RETRIES):
        browser = Browser(port)
        try:
            browser.log_in(f"loader{n}")
            return browser
        except (OSError, http.client.HTTPException):
            time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"loader{n} could not log in")


def client_loop(n: int, browser: Browser, targets: dict, deadline: float, tally: Tally) -> None:
    try:
        _client_loop(n, browser, targets, deadline, tally)
    except BaseException as error:  # noqa: BLE001  (a client that dies is an error, not silence)
        with tally.lock:
            tally.errors.append(f"client {n} stopped: {type(error).__name__}: {error}")


def _client_loop(n: int, browser: Browser, targets: dict, deadline: float, tally: Tally) -> None:
    rng = random.Random(n)
    username = f"loader{n}"
    while time.monotonic() < deadline:
        roll = rng.random()
        try:
            if roll < 0.55:
                _read(browser, rng, targets, tally)
            elif roll < 0.80:
                _reply(browser, rng, targets, tally, username)
            else:
                _vote(browser, rng, targets, tally, username)
        except (OSError, http.client.HTTPException):
            with tally.lock:
                tally.retried += 1  # a read cut off by a kill: the next one goes on


def _read(browser, rng, targets, tally) -> None:
    path = rng.choice([f"/t/{rng.choice(targets['threads'])}/x", "/", "/search?q=evidence"])
    status, headers, _ = browser.request("GET", path)
    if status == 301:
        status, _, _ = browser.request("GET", urlsplit(headers["Location"]).path)
    with tally.lock:
        tally.reads += 1
        if status != 200:
            tally.errors.append(f"GET {path}: {status}")


def _reply(browser, rng, targets, tally, username) -> None:
    marker = _marker(rng)
    thread_id = rng.choice(targets["threads"])
    form = {"body": f"A reply under load, {marker}, from {username}.",
            "submission_token": secrets.token_urlsafe(18)}
    with tally.lock:
        tally.markers[marker] = False
    give_up = time.monotonic() + REPLY_GIVE_UP_SECONDS
    while time.monotonic() < give_up:
        try:
            status, headers, page = browser.request("POST", f"/t/{thread_id}/reply", form)
        except (OSError, http.client.HTTPException):
            with tally.lock:
                tally.retried += 1
            time.sleep(0.5)
            continue
        with tally.lock:
            if status == 302 and "#p" in headers.get("Location", ""):
                tally.markers[marker] = True
                tally.replies_acked += 1
            else:
                tally.errors.append(f"reply: {status} {page[:120]!r}")
        return
    with tally.lock:
        tally.errors.append(f"reply {marker}: no answer in {REPLY_GIVE_UP_SECONDS:.0f} s")


def _vote(browser, rng, targets, tally, username) -> None:
    kind = rng.choice(["thread", "post", "post"])
    target = rng.choice(targets["threads" if kind == "thread" else "posts"])
    path = f"/t/{target}/vote" if kind == "thread" else f"/p/{target}/vote"
    key = (username, kind, target)
    try:
        status, _, body = browser.request("POST", path, {"value": rng.choice(["up", "down"])},
                                          json=True)
    except (OSError, http.client.HTTPException):
        with tally.lock:
            tally.votes[key] = None  # it may or may not have counted
            tally.retried += 1
        return
    with tally.lock:
        if status == 200:  # the answer is the member's vote now, earlier cut-off ones included
            tally.votes_acked += 1
            tally.votes[key] = json.loads(body)["vote"]
        else:
            tally.errors.append(f"vote {path}: {status} {body[:120]!r}")


# -- the run ------------------------------------------------------------------

def run(label: str, database_url: str, seconds: float, workers: int, folder: Path) -> bool:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "load-bench-secret",
           "SEARCH_INDEX_DIR": str(folder / "index"), "MAIL_BACKEND": "console",
           "RATELIMIT_ENABLED": "false", **HASHING}
    os.environ.update(env)
    app, targets = _prepare(database_url)
    port = gunicorn.free_port()
    server = subprocess.Popen(
        # --preload: a killed worker is replaced by a fork of the loaded app in milliseconds,
        # as in production; without it each replacement imports the app again.
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--preload", "-w", str(workers),
         "-b", f"{HOST}:{port}",
         "--graceful-timeout", "2", "--timeout", "30", "--log-level", "critical", "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True)
    tally, kills = Tally(), []
    try:
        gunicorn.wait_until_up(server, port)
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:  # log in before the clock starts
            browsers = list(pool.map(lambda n: logged_in(n, port), range(CLIENTS)))
        started = time.monotonic()
        deadline = started + seconds
        stop = threading.Event()
        killer = threading.Thread(target=_kill_workers, args=(server.pid, stop, kills), daemon=True)
        clients = [threading.Thread(target=client_loop,
                                    args=(n, browsers[n], targets, deadline, tally))
                   for n in range(CLIENTS)]
        killer.start()
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=seconds + REPLY_GIVE_UP_SECONDS + 2 * REQUEST_TIMEOUT_SECONDS)
        stop.set()
        killer.join(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        gunicorn.stop(server)
    report = _check(app, tally)
    print(f"{label:11} {elapsed:5.0f} s {tally.reads / elapsed:7.1f} {tally.replies_acked:8d} "
          f"{tally.votes_acked:6d} {len(kills):6d} {tally.retried:8d} {len(tally.errors):7d} "
          f"{report['lost']:5d} {report['duplicated']:6d} {report['mismatched']:9d} "
          f"{report['search_missing']}/{report['search_checked']:>3}")
    for line in (tally.errors[:5] + report["details"][:5]):
        print(f"    {line}")
    return not (tally.errors or report["lost"] or report["duplicated"] or report["mismatched"]
                or report["search_missing"])


def _prepare(database_url: str):
    from flask_migrate import upgrade
    from forum import create_app
    from forum.accounts import services as accounts
    from forum.database import utcnow
    from forum.extensions import db
    from forum.threads import services as threads
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        if database_url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        upgrade()
        standing = {"email_confirmed_at": utcnow(), "approved_at": utcnow()}
        host = accounts.register("host", "host@load.example", PASSWORD, **standing)
        for n in range(CLIENTS):
            accounts.register(f"loader{n}", f"loader{n}@load.example", PASSWORD, **standing)
        targets = {"threads": [], "posts": []}
        for t in range(THREADS):
            thread = threads.start_thread(host, f"Debate number {t} under load",
                                          "Does this hold up? Bring evidence.")
            targets["threads"].append(thread.id)
            for r in range(REPLIES_PER_THREAD):
                targets["posts"].append(threads.reply(thread, host, f"Seed reply {r}.").id)
        db.session.remove()
        db.engine.dispose()
    return app, targets


def _check(app, tally: Tally) -> dict:
    from forum.accounts.models import User
    from forum.extensions import db
    from forum.search import outbox
    from forum.threads.models import Post, Thread, Vote
    report = {"lost": 0, "duplicated": 0, "mismatched": 0, "search_missing": 0,
              "search_checked": 0, "details": []}
    with app.app_context():
        bodies = db.session.scalars(select(Post.body).where(Post.body.like("%lm%"))).all()
        found: dict[str, int] = {}
        for body in bodies:
            for marker in re.findall(r"\blm[a-z]{10}\b", body):
                found[marker] = found.get(marker, 0) + 1
        for marker, acked in tally.markers.items():
            if acked and not found.get(marker):
                report["lost"] += 1
                report["details"].append(f"lost reply {marker}")
        for marker, count in found.items():
            if count > 1:
                report["duplicated"] += 1
                report["details"].append(f"{marker} appears {count} times")
        ids = dict(db.session.execute(select(User.username, User.id)).all())
        for (username, kind, target), expected in tally.votes.items():
            if expected is None:
                continue
            column = Vote.thread_id if kind == "thread" else Vote.post_id
            value = db.session.scalar(select(Vote.value).where(
                Vote.user_id == ids[username], column == target)) or 0
            if value != expected:
                report["lost"] += 1
                report["details"].append(f"vote of {username} on {kind} {target}: {value} != {expected}")
        report["mismatched"] += _mismatches(db, Thread, Post, Vote, report["details"])
        db.session.rollback()  # end this read (on SQLite it holds the write lock) before draining
        outbox.drain()
        client = app.test_client()
        sample = [m for m, acked in tally.markers.items() if acked][:SEARCH_SAMPLE]
        for marker in sample:
            page = client.get(f"/search?q={marker}").get_data(as_text=True)
            report["search_checked"] += 1
            if marker not in page:
                report["search_missing"] += 1
                report["details"].append(f"search does not find {marker}")
        db.session.remove()
        db.engine.dispose()
    return report


def _mismatches(db, Thread, Post, Vote, details: list[str]) -> int:
    public_replies = (select(Post.thread_id, func.count(Post.id)).where(
        Post.deleted_at.is_(None), Post.held_at.is_(None), Post.hidden_at.is_(None))
        .group_by(Post.thread_id))
    counted = dict(db.session.execute(public_replies).all())
    sums = {kind: {row[0]: row[1:] for row in db.session.execute(
        select(column, func.sum(Vote.value), func.count(Vote.id).filter(Vote.value == 1),
               func.count(Vote.id).filter(Vote.value == -1))
        .where(column.is_not(None)).group_by(column))}
        for kind, column in (("thread", Vote.thread_id), ("post", Vote.post_id))}
    bad = 0
    for thread_id, reply_count, score in db.session.execute(
            select(Thread.id, Thread.reply_count, Thread.score)):
        if reply_count != counted.get(thread_id, 0) or score != (sums["thread"].get(thread_id) or (0,))[0]:
            bad += 1
            details.append(f"thread {thread_id}: reply_count {reply_count}, score {score}")
    for post_id, score, up, down in db.session.execute(
            select(Post.id, Post.score, Post.up_count, Post.down_count)):
        expected = tuple(int(v or 0) for v in sums["post"].get(post_id, (0, 0, 0)))
        if (score, up, down) != expected:
            bad += 1
            details.append(f"post {post_id}: {(score, up, down)} != {expected}")
    return bad


def _kill_workers(master: int, stop: threading.Event, kills: list[int]) -> None:
    """Every few seconds, SIGKILL one worker (gunicorn's master starts another)."""
    rng = random.Random(7)
    while not stop.wait(KILL_EVERY_SECONDS):
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            return
        if children:
            victim = int(rng.choice(children))
            try:
                os.kill(victim, signal.SIGKILL)
                kills.append(victim)
            except ProcessLookupError:
                pass



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load time per database")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--postgres-url", default=os.environ.get("LOAD_DATABASE_URL"),
                        help=f"a PostgreSQL database; the bench DROPS and rebuilds its schema "
                             f"{PG_SCHEMA!r} there (default: $LOAD_DATABASE_URL; without one only "
                             "SQLite runs)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="which to run")
    args = parser.parse_args()
    print(f"{CLIENTS} clients, gunicorn -w {args.workers} on {HOST}, a worker SIGKILLed every "
          f"{KILL_EVERY_SECONDS:.0f} s")
    print(f"{'database':11} {'time':>7} {'reads/s':>7} {'replies':>8} {'votes':>6} {'kills':>6} "
          f"{'retried':>8} {'errors':>7} {'lost':>5} {'dupl.':>6} {'counts':>9} search-miss")
    ok = True
    with tempfile.TemporaryDirectory(prefix="forum-load-") as tmp:
        folder = Path(tmp)
        if "sqlite" in args.databases:
            ok &= run("SQLite", f"sqlite:///{folder / 'forum.db'}", args.seconds, args.workers,
                      folder / "sqlite")
        if "postgresql" not in args.databases:
            pass
        elif args.postgres_url:
            from forum.config import normalize_database_url
            url = normalize_database_url(args.postgres_url)
            url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{PG_SCHEMA}"
            ok &= run("PostgreSQL", url, args.seconds, args.workers, folder / "postgresql")
        else:
            print("PostgreSQL: skipped (set LOAD_DATABASE_URL or --postgres-url)")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
