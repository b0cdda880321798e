"""A small, bounded HTTP load generator for loopback benchmarks.

``measure(port, paths, seconds)`` keeps a few keep-alive ``http.client``
connections busy from a thread pool, for a fixed time per path, and returns
requests per second. A path may carry request headers (``(path, headers)``),
e.g. a member's session cookie, so a page drawn for a member can be loaded
beside the same page for a visitor. The paths are measured in alternating one-second slices
(A, B, A, B, ...) so that a burst of other work on the machine falls on both
routes alike and the ratio between them stays fair.

It refuses any host but loopback: it is a benchmark tool, not a load tester
to point at someone's server. The client's own CPU use is reported, because on
a small machine a Python client can become the bottleneck for the fastest
route; a client near 100% of one core means the fast route's figure is a
lower bound. (The leading underscore keeps ``make bench`` from running this
helper as a benchmark of its own.)
"""
from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
SLICE_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass
class PathLoad:
    """What one path got: counts, wall time and latencies across every slice."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def client_cpu_share(self) -> float:
        """The client's CPU time over wall time: 1.0 is one full core."""
        return self.client_cpu_seconds / self.seconds if self.seconds else 0.0

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


def measure(port: int, paths: list, seconds: float, *, connections: int = 4,
            host: str = "127.0.0.1") -> dict[str, PathLoad]:
    """Load each path for ``seconds`` in total, in alternating slices; bounded in time.

    ``paths`` holds paths, or ``(label, path, headers)`` for a request that
    carries headers; the results are keyed by path, or by label.
    """
    if host not in LOOPBACK:
        raise ValueError(f"refusing to load {host!r}: loopback only")
    results = {}
    for entry in paths:
        label, path, headers = (entry, entry, {}) if isinstance(entry, str) else entry
        results[label] = PathLoad(path, dict(headers))
    slices = max(1, round(seconds / SLICE_SECONDS))
    with ThreadPoolExecutor(max_workers=connections) as pool:
        for _ in range(slices):
            for result in results.values():
                _one_slice(pool, host, port, result, seconds / slices, connections)
    return results


def _one_slice(pool, host: str, port: int, result: PathLoad, seconds: float,
               connections: int) -> None:
    lock = threading.Lock()
    cpu_before = _process_cpu_seconds()
    started = time.perf_counter()
    deadline = started + seconds
    futures = [pool.submit(_hammer, host, port, result, deadline, lock)
               for _ in range(connections)]
    for future in futures:
        future.result()
    result.seconds += time.perf_counter() - started
    result.client_cpu_seconds += _process_cpu_seconds() - cpu_before


def _hammer(host: str, port: int, result: PathLoad, deadline: float, lock) -> None:
    """One connection's loop: request, read, repeat, until the deadline passes."""
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    latencies, statuses, errors = [], {}, 0
    try:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                connection.request("GET", result.path, headers=result.headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()  # http.client reconnects on the next request
                continue
            latencies.append(time.perf_counter() - sent)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.will_close:  # gunicorn's sync workers close after each response
                connection.close()
    finally:
        connection.close()
    with lock:
        result.requests += len(latencies)
        result.errors += errors
        result.latencies.extend(latencies)
        for status, count in statuses.items():
            result.statuses[status] = result.statuses.get(status, 0) + count


def _process_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system
