"""Which characters a username, display name or affiliation may not contain, and why.

Names are shown beside every post and written into other members' emails, so
characters that change how the text *around* them reads are refused:

- bidirectional controls (U+202A-U+202E embeddings and overrides, U+2066-U+2069
  isolates, and the invisible marks U+200E, U+200F, U+061C): "‮ecalevoL adA"
  displays as "Ada Lovelace" reversed into place, and an unclosed override
  reorders the rest of the line it is shown in;
- zero-width characters (U+200B-U+200D, U+2060, U+FEFF, U+180E): "Ada
  Love\u200blace" looks exactly like "Ada Lovelace" and is another name;
- control characters, CR and LF above all: a newline in a name becomes a new
  line, or a new header, in the emails that quote it.

The zero-width joiner and non-joiner are refused too, although some scripts
(Persian, emoji sequences) use them: a name must look like exactly one thing.
Usernames are plain ASCII anyway (services.USERNAME_PATTERN); this check gives
them the clearer message.
"""
from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")


def name_problem(text: str, what: str = "A name") -> str | None:
    """Why ``text`` cannot be a name (``what`` is how the message calls it), or None."""
    for ch in text:
        if ch in ("\r", "\n"):
            return f"{what} must fit on one line: remove the line break."
        if ch in BIDI_CONTROLS:
            return (f"{what} may not contain invisible text-direction characters "
                    f"(U+{ord(ch):04X}); type it without them.")
        if ch in ZERO_WIDTH:
            return (f"{what} may not contain invisible zero-width characters "
                    f"(U+{ord(ch):04X}); type it without them.")
        if unicodedata.category(ch) == "Cc":
            return f"{what} may not contain control characters (U+{ord(ch):04X})."
    return None
