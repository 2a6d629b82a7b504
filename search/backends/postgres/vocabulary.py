"""The spelling vocabulary of the searchable listings, and word completion for suggestions as you type."""

from __future__ import annotations

from django.db import connections, router

from catalog.models import Category


def refresh_vocabulary() -> None:
    """Rebuild the spelling-correction vocabulary from the searchable listings."""
    with connections[router.db_for_read(Category)].cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY search_vocabulary")


# Words of the vocabulary starting with the typed letters, one per stem (its most used spelling),
# most used stems first: a search for a word matches every listing using its stem.
# Stop words (no stem) are left out. Migration 0005 indexes ``word`` for this prefix lookup.
_COMPLETE_SQL = r"""
SELECT (array_agg(word ORDER BY ndoc DESC, word))[1] AS word, sum(ndoc) AS listings
  FROM search_vocabulary
 WHERE word LIKE %s ESCAPE '\' AND lexeme IS NOT NULL
 GROUP BY lexeme
 ORDER BY listings DESC, word
 LIMIT %s
"""


def _like_prefix(text: str) -> str:
    """Return a LIKE pattern matching values that start with ``text`` literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


TYPO_SHARE = 3  # a word one edit from a word used this many times more often is taken for its misspelling
TYPO_MIN_LENGTH = 5  # shorter words one edit apart are usually different words ("mud", "mug")


def complete_word(*, prefix: str, limit: int) -> list[str]:
    """Return up to ``limit`` indexed words starting with ``prefix``, those of the most listings first.

    Sellers' misspellings are indexed too (so "walet" finds its listing), but are not
    offered: a word of five letters or more one edit away from a word used by at least
    three times as many listings ("walet", "wallet") is left out.
    """
    with connections[router.db_for_read(Category)].cursor() as cursor:
        cursor.execute(_COMPLETE_SQL, [_like_prefix(prefix), limit * 3])
        rows = cursor.fetchall()
    kept: list[tuple[str, int]] = []
    for word, listings in rows:
        if len(word) < TYPO_MIN_LENGTH or not any(
            count >= TYPO_SHARE * listings and _one_edit_apart(word, other) for other, count in kept
        ):
            kept.append((word, listings))
    return [word for word, _ in kept[:limit]]


def _one_edit_apart(a: str, b: str) -> bool:
    """Return whether one insertion, deletion, substitution or swap of neighbours turns ``a`` into ``b``."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i + 1 :] or (
        a[i + 1 : i + 2] == b[i : i + 1] and a[i : i + 1] == b[i + 1 : i + 2] and a[i + 2 :] == b[i + 2 :]
    )
