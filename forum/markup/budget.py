"""A CPU budget for rendering user text: no input may stall a worker.

Every render runs inside ``cpu_budget()``; the parsers call ``check()`` at
their natural steps (a line of block parsing, an inline pattern match, a
formula, a batch of sanitizer tokens). Once the thread has spent more than
the budget, ``check()`` raises ``RenderTooComplex`` and the caller answers
422 with the typed text kept.

Why cooperative checks and not a signal: ``SIGPROF``/``setitimer`` only
interrupts the main thread, and threaded servers (gunicorn's gthread, the
development server) render in other threads. ``time.thread_time()`` is the
CPU time of the calling thread, so one slow request cannot charge its
neighbours, and in a one-thread process it equals the process's render CPU.
The parsers are written so that no single step between two checks is more
than linear in the input, which is what makes the checks enough.

Garbage collection is not charged: a full collection of a large process can
take longer than the whole budget, and it runs in whichever thread happened
to allocate, whatever its text (``gc.callbacks`` time each collection that
runs during a budget, and the deadline moves by that much).

Budgets nest: an inner ``cpu_budget()`` (``render_markdown`` called by
``render_post_body``) shares the outer deadline, so a post's mentions pass
and its render together stay within one budget.
"""
from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_BUDGET_SECONDS = 0.5

_state = threading.local()


class RenderTooComplex(ValueError):
    """The text would take more CPU to render than ``RENDER_CPU_BUDGET`` allows."""

    def __init__(self, reason: str):
        self.reason = reason
        self.message = f"this text is too complex to display: {reason}"
        super().__init__(self.message)

    @property
    def sentence(self) -> str:
        """The message as a sentence, for a page."""
        return self.message[0].upper() + self.message[1:] + "."


def configured_budget() -> float:
    """``RENDER_CPU_BUDGET`` of the current app, or the default outside an app."""
    try:
        from flask import current_app
        return float(current_app.config.get("RENDER_CPU_BUDGET") or DEFAULT_BUDGET_SECONDS)
    except RuntimeError:  # no application context: CLI scripts, benchmarks
        return DEFAULT_BUDGET_SECONDS


@contextmanager
def cpu_budget(seconds: float | None = None) -> Iterator[None]:
    """Run the block under a CPU deadline (the outer one wins when nested)."""
    if getattr(_state, "deadline", None) is not None:
        yield
        return
    limit = configured_budget() if seconds is None else seconds
    _state.deadline = time.thread_time() + limit
    _state.reason = "it would take too long to render; shorten it or split it into parts"
    try:
        yield
    except RecursionError:
        raise RenderTooComplex("it is nested too deeply") from None
    finally:
        _state.deadline = None
        _state.collecting_since = None


def check(reason: str | None = None) -> None:
    """Raise ``RenderTooComplex`` when this thread's render is over its budget."""
    deadline = getattr(_state, "deadline", None)
    if deadline is not None and time.thread_time() > deadline:
        raise RenderTooComplex(reason or _state.reason)


def _exclude_collections(phase: str, info: dict) -> None:
    """A ``gc`` callback: move the running budget's deadline by the time each collection took."""
    if getattr(_state, "deadline", None) is None:
        return
    if phase == "start":
        _state.collecting_since = time.thread_time()
    elif getattr(_state, "collecting_since", None) is not None:
        _state.deadline += time.thread_time() - _state.collecting_since
        _state.collecting_since = None


gc.callbacks.append(_exclude_collections)
