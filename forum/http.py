"""The one outbound HTTP client (arXiv, GitHub), and a replay double for tests.

Decisions:

- stdlib ``urllib`` only; every request carries a descriptive ``User-Agent``
  and a timeout (arXiv and GitHub both ask for an identifying agent).
- Redirects are *not* followed: a 3xx comes back as a ``Response`` so the
  caller decides (GitHub answers 301 for a renamed repository and we want
  to record the new name, not silently follow it).
- Any HTTP status is a ``Response``, never an exception; ``HttpError`` means
  no usable answer (DNS, refused connection, timeout, TLS, truncated body).
- Retries: network errors and 502/503/504 are retried ``retries`` times with
  a short exponential backoff; 4xx and other statuses are returned at once.
- Bodies are capped at ``max_bytes`` so a misbehaving server cannot exhaust
  memory.
- Tests use ``ReplayClient``: it answers from recorded responses and raises
  ``UnrecordedRequest`` for anything else, so a test can never reach the
  network by accident.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Headers", "Response", "HttpError", "HttpClient", "ReplayClient",
           "ReplayTransport", "UnrecordedRequest"]

RETRY_STATUSES = frozenset({502, 503, 504})


class HttpError(Exception):
    """No usable HTTP answer: network failure, timeout, or unreadable response."""


class UnrecordedRequest(LookupError):
    """ReplayClient was asked for a URL it has no recording for."""


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (repeated names joined by ", ")."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None = None):
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, Mapping) else (items or ())
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                value = f"{self._items[key][1]}, {value}"
            self._items[key] = (name, str(value))

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True)
class Response:
    status: int
    headers: Headers
    body: bytes
    url: str

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None  # urllib then raises HTTPError carrying the 3xx, which we return


class HttpClient:
    """``get(url, headers=None) -> Response`` over urllib, with timeout and retries."""

    def __init__(self, user_agent: str, timeout: float = 10.0, retries: int = 2,
                 backoff: float = 1.0, max_bytes: int = 20_000_000, sleep=time.sleep):
        if not user_agent:
            raise ValueError("a descriptive User-Agent is required")
        self.user_agent, self.timeout, self.retries = user_agent, timeout, retries
        self.backoff, self.max_bytes, self._sleep = backoff, max_bytes, sleep
        self._opener = urllib.request.build_opener(_NoRedirect)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"not an http(s) URL: {url!r}")
        sent = {"User-Agent": self.user_agent, **(headers or {})}
        for attempt in range(self.retries + 1):
            try:
                response = self._once(url, sent)
            except HttpError:
                if attempt == self.retries:
                    raise
            else:
                if response.status not in RETRY_STATUSES or attempt == self.retries:
                    return response
            self._sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str]) -> Response:
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return Response(answer.status, Headers(answer.headers.items()),
                                self._read(answer), answer.geturl())
        except urllib.error.HTTPError as answer:  # 3xx/4xx/5xx: still an answer
            try:
                body = self._read(answer)
            finally:
                answer.close()
            return Response(answer.code, Headers(answer.headers.items()), body, url)
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            raise HttpError(f"GET {url} failed: {error}") from error

    def _read(self, answer) -> bytes:
        try:
            body = answer.read(self.max_bytes + 1)
        except (OSError, TimeoutError) as error:
            raise HttpError(f"reading the response failed: {error}") from error
        if len(body) > self.max_bytes:
            raise HttpError(f"response larger than {self.max_bytes} bytes")
        return body


@dataclass
class ReplayClient:
    """Answers ``get`` from recordings: ``{url: (status, headers, body)}``.

    ``headers`` may be a dict or a list of pairs; ``body`` bytes, str, or a
    JSON-able value. ``requests`` lists every ``(url, headers)`` asked for.
    """

    recordings: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(self, url: str, status: int, headers=None, body: Any = b"") -> None:
        self.recordings[url] = (status, headers or {}, body)

    def add_file(self, path: str | Path, url: str | None = None) -> None:
        """Load a PyGithub-style ``{request, status, headers, body}`` JSON file
        or an octokit/nock-style list of ``{scope, method, path, status,
        response, rawHeaders}`` (GET exchanges only). ``url`` re-keys a
        single recording."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            self.add(url or data["request"]["url"], data["status"], data.get("headers"), data.get("body"))
            return
        for exchange in data:
            if exchange.get("method", "get").lower() != "get":
                continue
            raw = exchange.get("rawHeaders") or []
            pairs = list(zip(raw[::2], raw[1::2])) if raw and isinstance(raw[0], str) else raw
            scope = exchange["scope"].replace(":443", "")
            self.add(url or scope + exchange["path"], exchange["status"], pairs, exchange.get("response"))

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        self.requests.append((url, dict(headers or {})))
        if url not in self.recordings:
            raise UnrecordedRequest(f"no recording for GET {url}")
        status, recorded_headers, body = self.recordings[url]
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is None or not isinstance(body, bytes):
            body = b"" if body in (None, "") else json.dumps(body).encode("utf-8")
        return Response(status, Headers(recorded_headers), body, url)


ReplayTransport = ReplayClient
