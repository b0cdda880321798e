"""Benchmark: the weekly digest to 10,000 subscribers through a local SMTP server.

Run by ``make bench`` (or ``.venv/bin/python bench/digest.py [--subscribers N]``).
Builds a throw-away SQLite database with the real migrations, a week of
activity (30 threads with replies, a third of them tagged), N confirmed
subscribers (a tenth of them following a tag, so personal digests are
rendered too), starts a counting SMTP server in a separate process
(``_smtpsink.py``; ``--aiosmtpd`` uses aiosmtpd's Sink instead, about ten
times slower), then times ``sending.send_week``: the whole real path (issue,
deliveries, claims, rendering, SMTP, bookkeeping). Prints messages per second,
total time and the CPU seconds of the sender and of the server, per 1,000
messages too (load-independent, unlike the rate: other processes share the
cores), and a baseline from the same run: ``mail.send_many`` alone sending as
many pre-built messages of the same size into the same server (the SMTP
floor: no database, no rendering), so the ratio says what the digest's own
work costs whatever the machine's load. Checks that the server received
exactly one message per subscriber (plus the baseline's).
Target (issue 16): at least 1,000 messages/s. ``--strict`` exits 1 when the
target is missed.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report as report  # noqa: E402

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from forum import create_app  # noqa: E402
from forum.accounts import services as accounts  # noqa: E402
from forum.accounts.models import User  # noqa: E402
from forum.database import utcnow  # noqa: E402
from forum.digest import selection, sending  # noqa: E402
from forum.digest.models import DigestDelivery, Subscription, new_token  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.threads import services as threads  # noqa: E402

TARGET_PER_SECOND = 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"aiosmtpd did not start on port {port}")


def seed(subscribers: int) -> None:
    # Established members, whose posts are public at once (the columns exist once the
    # accounts and moderation features are in).
    now = utcnow()
    standing = {name: now for name in ("email_confirmed_at", "approved_at") if hasattr(User, name)}
    people = [accounts.register(f"member{n}", f"member{n}@example.org", "correct horse battery", **standing)
              for n in range(6)]
    for n in range(30):
        thread = threads.start_thread(people[n % 6], f"Debate number {n}: is scale all you need?",
                                      "An *argument* with a claim and some evidence.",
                                      tags=["ml"] if n % 3 == 0 else None)
        for r in range(n % 7):
            threads.reply(db.session.get(type(thread), thread.id), people[(n + r + 1) % 6], f"Reply {r}")
    rows = [{"email": f"reader{n}@example.org", "token": new_token(), "confirmed_at": now,
             "created_at": now,
             "follows": {"tags": ["ml"], "papers": []} if n % 10 == 0 else {}}
            for n in range(subscribers)]
    db.session.execute(insert(Subscription), rows)
    db.session.commit()


def smtp_floor(count: int, size: int) -> float:
    """Messages per second of ``mail.send_many`` alone: pre-built messages, same SMTP path and server."""
    from forum import mail
    body = ("x" * 75 + "\r\n") * max(size // 77, 1)
    messages = (mail.RawMessage("digest@forum.example.org", (f"floor{n}@example.org",),
                                (f"From: digest@forum.example.org\r\nTo: floor{n}@example.org\r\n"
                                 f"Subject: floor\r\nMessage-ID: <floor.{n}@forum.example.org>\r\n\r\n{body}").encode(),
                                f"<floor.{n}@forum.example.org>") for n in range(count))
    started = time.perf_counter()
    sent = sum(1 for _message, error in mail.send_many(messages) if error is None)
    return sent / (time.perf_counter() - started)


def start_server(use_aiosmtpd: bool) -> tuple[subprocess.Popen, int]:
    if use_aiosmtpd:
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                                   "-c", "aiosmtpd.handlers.Sink"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(port)
        return server, port
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_smtpsink.py"))],
                              stdout=subprocess.PIPE, text=True)
    ready = server.stdout.readline().split()  # "ready <port>"
    if ready[:1] != ["ready"]:
        raise SystemExit("the SMTP sink did not start")
    return server, int(ready[1])


def stop_server(server: subprocess.Popen, use_aiosmtpd: bool) -> dict | None:
    """Stop the server; the sink's own count and CPU seconds (None for aiosmtpd)."""
    server.terminate()
    output, _ = server.communicate(timeout=30)
    return None if use_aiosmtpd else json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=sending.DEFAULT_BATCH_SIZE,
                        help="DIGEST_BATCH_SIZE: deliveries claimed per transaction")
    parser.add_argument("--aiosmtpd", action="store_true", help="receive with aiosmtpd's Sink")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    server, port = start_server(args.aiosmtpd)
    try:
        with tempfile.TemporaryDirectory() as folder:
            app = create_app({
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                "SEARCH_INDEX_DIR": f"{folder}/index", "MAIL_BACKEND": "smtp",
                "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "SERVER_NAME": "forum.example.org",
                "PREFERRED_URL_SCHEME": "https", "MAIL_DEFAULT_SENDER": "digest@forum.example.org",
                "DIGEST_BATCH_SIZE": args.batch_size,
            })
            with app.app_context():
                upgrade(revision="heads")
                seed(args.subscribers)
                week = selection.week_label(utcnow())
                started, cpu_started = time.perf_counter(), time.process_time()
                summary = sending.send_week(week)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
                sent_rows = db.session.scalar(select(func.count()).select_from(DigestDelivery)
                                              .where(DigestDelivery.status == "sent"))
                floor = smtp_floor(summary.sent, 13_000)
                db.engine.dispose()
    finally:
        received = stop_server(server, args.aiosmtpd)

    rate = summary.sent / elapsed if elapsed else 0.0
    per_thousand = 1000 / summary.sent if summary.sent else 0.0
    print(f"digest: {args.subscribers} subscribers, {summary.sent} messages sent "
          f"({summary.failed} failed, {summary.bounced} bounced, {summary.cancelled} cancelled), "
          f"{sent_rows} deliveries done")
    print(f"digest: total {elapsed:.2f} s, {rate:.0f} messages/s (target >= {TARGET_PER_SECOND}/s); "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"digest: baseline, the SMTP floor in the same run: {floor:.0f} messages/s; "
          f"the digest runs at {rate / floor:.2f} of it")
    line = f"digest: sender CPU {cpu:.2f} s ({cpu * per_thousand:.2f} s per 1,000 messages)"
    if received is not None:
        line += (f", SMTP server CPU {received['cpu_seconds']:.2f} s, baseline included "
                 f"({received['cpu_seconds'] * per_thousand:.2f} s per 1,000)")
    print(line)
    if received is not None:
        print(f"digest: the SMTP server received {received['messages']} messages, half of them the baseline's "
              f"({received['bytes'] / max(received['messages'], 1) / 1024:.1f} KiB each) "
              f"over {received['connections']} connection(s)")
        if (received["messages"] != 2 * summary.sent or received["malformed"]
                or summary.sent != args.subscribers):
            print(f"digest: MISMATCH: expected {args.subscribers} messages (and as many for the baseline), "
                  f"{summary.sent} reported sent, {received['messages']} received, "
                  f"{received['malformed']} malformed")
            return 1
    report.row("digest", f"messages/s to {args.subscribers:,} subscribers through a local SMTP server",
               f"{rate:.0f}/s ({rate / floor:.2f} of mail.send_many alone, {cpu * per_thousand:.2f} s CPU "
               f"per 1,000)", target=f">= {TARGET_PER_SECOND}/s", met=rate >= TARGET_PER_SECOND)
    return 1 if args.strict and rate < TARGET_PER_SECOND else 0


if __name__ == "__main__":
    sys.exit(main())
