"""The JSON API v1: read-only, public, described by ``/api/openapi.json``.

Decisions:

- It shows exactly what a logged-out visitor can see, through the same
  queries and the same definition of public the pages use; it never looks at
  who is asking, so one answer serves everyone (``forum/feeds/cache.py``).
  No email address, role, ban or setting is ever serialized.
- Errors are JSON ``{"error": {"status": 404, "message": "..."}}`` with the
  status code the matching page would answer, including for addresses under
  ``/api/`` that do not exist and methods other than GET.
- Listings page by an opaque, signed cursor (``next`` holds the whole next
  URL). A cursor fixes the moment the listing was ranked, so "hot" pages do
  not shuffle between requests; a cursor that was altered, or that belongs
  to another listing, answers 400.
- Every answer carries ``Access-Control-Allow-Origin: *``: the data is public
  and no cookie is needed to read it. Requests are limited per address
  (``forum.ratelimits.API``), separately from posting limits.
"""
