"""Starting and stopping a server process for a bench: a free port, wait until it answers,
stop its whole process group (gunicorn's master and workers), even on Ctrl-C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

START_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(server: subprocess.Popen, port: int, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before serving")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within {seconds:.0f} s")


def stop(server: subprocess.Popen) -> None:
    """TERM the whole process group (master and workers), KILL it if it lingers."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
    except ProcessLookupError:
        pass


def stop_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the finally that stops the server
