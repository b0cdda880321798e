"""``/healthz`` (liveness) and ``/readyz`` (readiness), for load balancers and uptime checks.

``/healthz`` answers "ok" without touching the database: the process is alive.
The benchmarks use it as the hello-world baseline that every other route's time
is compared with.

``/readyz`` says whether this process can serve pages now: the database
answers a ``SELECT 1``, and the search engine answers its cheap ``status()``
(a stat or one small query, ``forum/search/backend.py``) without an error;
for Whoosh the index folder must first exist and be readable (a probe creates nothing). An index being
rebuilt is ready: every other page works, and search says it is rebuilding
(503 on that page only), so hosts are not taken out of service by a rebuild.
Each check
that fails is named in the plain-text answer, with status 503, so a load
balancer stops sending traffic and a person reading it sees why. A failure
is logged with its cause; the answer gives no more than the check's name.
"""
from __future__ import annotations

import logging
import os

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from forum.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
PLAIN = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    return "ok", 200, PLAIN


@bp.get("/readyz")
def readyz():
    failed = [name for name, check in (("database", database_is_ready),
                                       ("search index", search_index_is_ready)) if not check()]
    if failed:
        return "not ready: " + ", ".join(failed) + " unavailable", 503, PLAIN
    return "ready", 200, PLAIN


def database_is_ready() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as error:
        log.warning("readyz: database unavailable: %s", error)
        db.session.rollback()
        return False


def search_index_is_ready() -> bool:
    if current_app.config.get("SEARCH_BACKEND", "whoosh") == "whoosh":
        folder = current_app.config["SEARCH_INDEX_DIR"]  # checked first: a probe creates nothing
        if not (os.path.isdir(folder) and os.access(folder, os.R_OK | os.X_OK)):
            log.warning("readyz: search index folder %s missing or unreadable", folder)
            return False
    from forum.search.backend import get_backend
    try:
        get_backend(current_app).status()
    except Exception as error:  # any engine failure means: not ready
        log.warning("readyz: search engine unavailable: %s", error)
        db.session.rollback()
        return False
    return True
