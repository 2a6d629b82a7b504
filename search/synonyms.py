"""The synonym rules in ``search/synonyms.txt`` (Solr format), read by both backends.

Elasticsearch gets the rule lines as they are (``synonym_graph`` filter);
PostgreSQL expands queries with the parsed rules (``search.analysis``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SYNONYMS_PATH = Path(__file__).resolve().parent / "synonyms.txt"

_WORD_RE = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """Split text into lower-case letter/digit runs ("Hand-crafted" -> ["hand", "crafted"])."""
    return _WORD_RE.findall(text.lower())


@dataclass(frozen=True)
class SynonymRule:
    """``inputs`` are the phrases that trigger the rule; a query for one also finds every ``outputs`` phrase."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def parse_rules(text: str) -> list[SynonymRule]:
    """Parse Solr synonym lines: "a, b, c" (equivalent) and "a, b => c" (one-way)."""
    rules: list[SynonymRule] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            left, right = line.split("=>", 1)
            inputs = _phrases(left)
            outputs = _phrases(right)
        else:
            inputs = outputs = _phrases(line)
        if inputs and outputs:
            rules.append(SynonymRule(inputs=inputs, outputs=outputs))
    return rules


def _phrases(part: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in part.split(","):
        phrase = " ".join(tokenize(item))
        if phrase:
            seen.setdefault(phrase, None)
    return tuple(seen)


@lru_cache(maxsize=1)
def load_rules() -> tuple[SynonymRule, ...]:
    return tuple(parse_rules(SYNONYMS_PATH.read_text(encoding="utf-8")))


def solr_lines() -> list[str]:
    """Return the file's rule lines without comments, for Elasticsearch's inline ``synonyms``."""
    lines = []
    for raw in SYNONYMS_PATH.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines
