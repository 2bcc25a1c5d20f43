"""Words as the search index holds them (SPEC D19: no stemming, the same hits on both databases).

A word is a run of letters and digits; case is folded and accents dropped ("Café" -> "cafe"),
everything else separates words. Words longer than MAX_WORD are left out (a base64 blob is not a
word), and a document keeps its first MAX_WORDS words: PostgreSQL's tsvector counts positions up
to 16,383, so both databases index the same prefix of a very long message.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORD = 64
MAX_WORDS = 16_000
_WORD = re.compile(r"[^\W_]+")
_MAX_CHARS = 1_000_000  # more than MAX_WORDS words of any language


def fold(text: str) -> str:
    """Lower case without accents; NFKC first so full-width letters are plain ones."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str, limit: int = MAX_WORDS) -> list[str]:
    """The words of `text` in order, at most `limit` of them."""
    found = _WORD.findall(fold(text[:_MAX_CHARS]))
    if any(len(word) > MAX_WORD for word in found):
        found = [word for word in found if len(word) <= MAX_WORD]
    return found[:limit]
