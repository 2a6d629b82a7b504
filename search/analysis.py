"""Turn a shopper's query into PostgreSQL full-text terms.

The pipeline mirrors the Elasticsearch analyzer (tokenize, lowercase, synonyms,
stem) and adds spelling correction against the indexed vocabulary:

1. split into lower-case, accent-free words;
2. look every word up in ``search_vocabulary`` in one query: its English stem,
   how many listings use that stem, and the closest indexed word by trigram
   similarity (``pg_trgm``);
3. correct a word nobody uses, and widen a rare word that looks like a misspelling
   of a far more common one (both offer "did you mean");
4. expand synonyms from ``search/synonyms.txt`` (multi-word phrases matched on stems);
5. return one group of alternatives per concept; a listing must match every group.

Words only ever reach SQL as bind parameters, and the tsquery text handed to
``to_tsquery`` is assembled from ``[^\\W_]+`` words and our own operators only.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from threading import Lock

from django.db import connection

from search.synonyms import load_rules, tokenize

MAX_WORDS = 10
MAX_WORD_LENGTH = 40
MAX_PHRASE_WORDS = 4
# An unknown word is replaced by the closest indexed word at least this similar.
CORRECTION_SIMILARITY = 0.4
# A known but rare word is widened with a similar word used this many times more often.
MISSPELLING_SIMILARITY = 0.5
MISSPELLING_RATIO = 20


@dataclass(frozen=True)
class TermGroup:
    """Alternatives for one concept of the query; each is a phrase of words."""

    alternatives: tuple[str, ...]

    def tsquery_text(self) -> str:
        parts = []
        for phrase in self.alternatives:
            words = phrase.split()
            parts.append(" <-> ".join(words) if len(words) > 1 else words[0])
        return " | ".join(f"({part})" for part in parts)


@dataclass
class AnalyzedQuery:
    words: list[str]
    groups: list[TermGroup] = field(default_factory=list)
    suggestion: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.groups


@dataclass
class _Word:
    text: str
    stem: str | None  # None for a stop word
    stem_count: int = 0  # listings that use a word with this stem
    corrected: str | None = None  # replaces ``text`` (an unknown word)
    also: str | None = None  # searched beside ``text`` (a likely misspelling)
    corrected_stem: str | None = None


def fold(text: str) -> str:
    """Lower-case and strip accents ("Café" -> "cafe"), keeping non-Latin letters."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def query_words(q: str) -> list[str]:
    return [w[:MAX_WORD_LENGTH] for w in tokenize(fold(q))][:MAX_WORDS]


_LOOKUP_SQL = """
WITH t AS (
    SELECT w.tok, w.ord, (ts_lexize('english_stem', w.tok))[1] AS stem
      FROM unnest(%s::text[]) WITH ORDINALITY AS w(tok, ord)
)
SELECT t.ord, t.tok, t.stem,
       coalesce((SELECT sum(v.ndoc) FROM search_vocabulary v WHERE v.lexeme = t.stem), 0) AS stem_count,
       c.word, c.lexeme, c.ndoc, c.sim
  FROM t
  LEFT JOIN LATERAL (
        SELECT v.word, v.lexeme, v.ndoc, similarity(v.word, t.tok) AS sim
          FROM search_vocabulary v
         WHERE v.word %% t.tok AND v.lexeme IS DISTINCT FROM t.stem AND t.tok !~ '[0-9]'
         ORDER BY similarity(v.word, t.tok) DESC, v.ndoc DESC
         LIMIT 1
  ) c ON true
 ORDER BY t.ord
"""

_STEMS_SQL = "SELECT w, (ts_lexize('english_stem', w))[1] FROM unnest(%s::text[]) AS w"


class _SynonymIndex:
    """The synonym rules keyed by the stems of their input phrases (built once per process)."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._by_stems: dict[tuple[str, ...], list[str]] | None = None
        self.known_stems: set[str] = set()

    def get(self) -> dict[tuple[str, ...], list[str]]:
        if self._by_stems is None:
            with self._lock:
                if self._by_stems is None:
                    self._build()
        return self._by_stems  # type: ignore[return-value]

    def _build(self) -> None:
        rules = load_rules()
        words = sorted({w for rule in rules for phrase in rule.inputs for w in phrase.split()})
        with connection.cursor() as cursor:
            cursor.execute(_STEMS_SQL, [words])
            stems = {w: (s or "") for w, s in cursor.fetchall()}
        by_stems: dict[tuple[str, ...], list[str]] = {}
        for rule in rules:
            for phrase in rule.inputs:
                key = tuple(stems[w] for w in phrase.split())
                outputs = by_stems.setdefault(key, [])
                for out in (phrase, *rule.outputs):
                    if out not in outputs:
                        outputs.append(out)
        self.known_stems = {s for s in stems.values() if s}
        self._by_stems = by_stems

    def reset(self) -> None:
        with self._lock:
            self._by_stems = None


synonym_index = _SynonymIndex()


def analyze(q: str) -> AnalyzedQuery:
    """Return the query's term groups and a "did you mean" suggestion (one database query)."""
    words = query_words(q)
    analyzed = AnalyzedQuery(words=words)
    if not words:
        return analyzed
    by_stems = synonym_index.get()
    looked_up = _look_up(words)

    if any(w.corrected or w.also for w in looked_up):
        analyzed.suggestion = " ".join(w.corrected or w.also or w.text for w in looked_up)

    analyzed.groups = _expand(looked_up, by_stems)
    return analyzed


def _look_up(words: list[str]) -> list[_Word]:
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUP_SQL, [words])
        rows = cursor.fetchall()
    result = []
    for _ord, tok, stem, stem_count, cand, cand_lexeme, cand_count, sim in rows:
        word = _Word(text=tok, stem=stem or None, stem_count=int(stem_count or 0))
        if word.stem is not None and cand is not None and cand_lexeme:
            known = word.stem_count > 0 or word.stem in synonym_index.known_stems
            if not known and sim >= CORRECTION_SIMILARITY:
                word.corrected, word.corrected_stem = cand, cand_lexeme
            elif (
                known
                and word.stem not in synonym_index.known_stems
                and sim >= MISSPELLING_SIMILARITY
                and cand_count >= MISSPELLING_RATIO * max(word.stem_count, 1)
            ):
                word.also, word.corrected_stem = cand, cand_lexeme
        result.append(word)
    return result


def _expand(words: list[_Word], by_stems: dict[tuple[str, ...], list[str]]) -> list[TermGroup]:
    """Group the words into concepts, matching the longest synonym phrase first."""
    stems = [(w.corrected_stem if w.corrected else w.stem) or "" for w in words]
    groups: list[TermGroup] = []
    i = 0
    while i < len(words):
        matched = False
        for length in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            key = tuple(stems[i : i + length])
            if not any(key) or key not in by_stems:
                continue
            alternatives = list(by_stems[key])
            if length == 1 and words[i].also:
                alternatives.extend(by_stems.get((words[i].corrected_stem or "",), [words[i].also]))
            groups.append(TermGroup(alternatives=tuple(dict.fromkeys(alternatives))))
            i += length
            matched = True
            break
        if matched:
            continue
        word = words[i]
        i += 1
        if word.stem is None:
            continue
        if word.corrected:
            alternatives = by_stems.get((word.corrected_stem or "",), [word.corrected])
        else:
            alternatives = [word.text]
            if word.also:
                alternatives.extend(by_stems.get((word.corrected_stem or "",), [word.also]))
        groups.append(TermGroup(alternatives=tuple(dict.fromkeys(alternatives))))
    return groups
