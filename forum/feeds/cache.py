"""A few seconds of memory for answers that are the same for everyone: feeds and the API.

Unlike pages (``forum/pagecache.py``), a feed or an API answer never depends
on the session: no CSRF token, no "logged in as", no held post shown to its
author. So one rendered answer can serve every visitor, members included, for
``PAGE_CACHE_SECONDS``. It is forgotten with the page cache, at the first
commit in this process that wrote anything (``pagecache.generation()``).
Only 200 answers are kept, at most ``MAX_ENTRIES`` per process.

Conditional GET is answered here, after the cache, so a reader polling with
``If-None-Match`` gets a 304 without the body being drawn again; answers
that set no ETag of their own (the API's) get one from their body.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from functools import wraps
from threading import Lock

from flask import Response, current_app, make_response, request

from forum import pagecache

MAX_ENTRIES = 512
_KEY = "shared_answers"
_lock = Lock()


def shared(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        seconds = current_app.config.get("PAGE_CACHE_SECONDS", 0)
        if not seconds or request.method not in ("GET", "HEAD"):
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200 and "ETag" not in response.headers:
                response.add_etag()
            return response.make_conditional(request)
        store = current_app.extensions.setdefault(_KEY, OrderedDict())
        # The host is part of the key: answers hold absolute links built from it, and a request
        # with a forged Host header must not put its links in everyone's answer.
        key = request.url
        now = time.monotonic()
        entry = store.get(key)
        if entry is not None and entry[1] > now and entry[2] == pagecache.generation():
            response = Response(entry[0], headers=entry[3])
        else:
            generation = pagecache.generation()  # read before drawing: a write meanwhile makes it stale
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200 and not response.direct_passthrough:
                if "ETag" not in response.headers:
                    response.add_etag()  # computed once per cached answer, then compared
                with _lock:
                    store[key] = (response.get_data(), now + seconds, generation,
                                  list(response.headers.items()))
                    store.move_to_end(key)
                    while len(store) > MAX_ENTRIES:
                        store.popitem(last=False)
        return response.make_conditional(request)
    return wrapper
