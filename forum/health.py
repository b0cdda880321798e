"""``/healthz``: a liveness probe that answers "ok" without touching the database.

Load balancers and uptime checks poll it; the benchmarks use it as the
hello-world baseline that every other route's time is compared with.
"""
from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
