"""Atom feeds (RFC 4287) for every listing: front page tabs, tags, threads, papers,
repositories, members and searches, plus the digest's feed.

Decisions:

- ``feedgen`` writes the XML (through lxml), so titles and content are always
  escaped text nodes: a title cannot close an element or inject a link, and a
  post's rendered HTML travels as escaped ``type="html"`` content. Characters
  XML 1.0 forbids (control characters a paste can carry) are dropped first;
  they would otherwise make the document invalid.
- Each feed lives next to the page it follows, with ``.atom`` appended:
  ``/tags/rl.atom``, ``/t/42.atom``, ``/papers/1706.03762.atom``,
  ``/repos/owner/name.atom``, ``/u/ada.atom``, ``/search.atom?q=...``, and
  ``/feed.atom?tab=hot`` for the front page. Every page links its feed in the
  head (autodiscovery).
- Only public content appears: the listings reuse the queries the pages use
  and the models' one definition of public (``Moderated.public()``, not
  deleted, not in a deleted thread). Feeds never depend on who asks, so one
  rendered answer serves every reader (``forum/feeds/cache.py``) and carries a
  strong ETag and Last-Modified for conditional GET (304).
"""
